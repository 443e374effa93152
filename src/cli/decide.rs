//! `request approve` and `request deny`, for one request or many. Many is the same command run once
//! per id: each decision goes through the engine (or the service) on its own, with its own audit
//! record and notices, so a refusal of one stops none of the others, and each id gets its own line.

use std::process::ExitCode;

use super::args::{Cli, DecideArgs};
use super::show::Times;
use super::{Output, ok, print, report, viewer};
use crate::client::Backend;
use crate::client::Result;
use crate::domain::list::MAX_LIMIT;
use crate::domain::{AccessRequest, RequestState};
use crate::domain::{approvers, rules};
use crate::engine::Decide;
use crate::engine::{RequestFilter, Viewer};

pub async fn run(
    backend: &Backend,
    cli: &Cli,
    args: &DecideArgs,
    approve: bool,
    times: &Times,
) -> Result<Output> {
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let viewer = viewer(backend, cli).await?;
    let decide = |id| Decide { id, approve, reason: args.reason.clone() };
    let mut all = Decisions { backend, viewer: &viewer, times, tried: 0, refused: 0 };
    if let ([id], None) = (args.ids.as_slice(), &args.app) {
        // One request: its refusal is the command's error, as it always was.
        return ok(all.decided(&backend.run(&actor, decide(*id)).await?).await?);
    }
    let Some(app) = &args.app else {
        for id in &args.ids {
            all.record(*id, backend.run(&actor, decide(*id)).await).await;
        }
        return Ok((String::new(), all.code()));
    };
    // --all-pending: the pending requests of the application that the caller may decide, found
    // through the caller's own view; someone who approves nothing there is refused before any.
    let doing = if approve { "approve" } else { "deny" };
    let upn = backend.need_user(cli.as_user.as_deref()).await?;
    let app = backend.app(&viewer, app).await?;
    if !approvers::approves(&app.policy, &upn, &backend.member_of(&upn).await?) {
        return Err(approvers::not_approver(&app, &upn).into());
    }
    // A page at a time, walking on by id: deciding a request never moves the others.
    let mut after = None;
    loop {
        let filter = RequestFilter {
            state: Some(RequestState::Pending),
            app: Some(app.name.clone()),
            limit: Some(MAX_LIMIT),
            after,
            ..RequestFilter::default()
        };
        let page = backend.requests(&viewer, filter).await?;
        for r in &page.items {
            // One the caller already approved waits for others, not for them.
            if rules::refuse_own(&upn, r, doing).is_ok() && !rules::has_approved(r, &upn) {
                all.record(r.id, backend.run(&actor, decide(r.id)).await).await;
            }
        }
        after = page.next();
        if after.is_none() {
            break;
        }
    }
    if all.tried == 0 {
        print(&format!("no pending requests on {} that you can decide\n", app.name));
    }
    Ok((String::new(), all.code()))
}

/// Decisions, one or in bulk: each outcome is told as it happens, and any refusal fails the whole.
struct Decisions<'a> {
    backend: &'a Backend,
    viewer: &'a Viewer,
    times: &'a Times,
    tried: usize,
    refused: usize,
}

impl Decisions<'_> {
    /// One decision's outcome line: the access it granted, or how far its approvals are while
    /// it waits for more.
    async fn decided(&self, r: &AccessRequest) -> Result<String> {
        let apps = self.backend.apps_of(self.viewer, std::slice::from_ref(r)).await?;
        let detail = match r.window() {
            Some((from, end)) => {
                format!(": access from {} until {}", self.times.time(from), self.times.time(end))
            }
            None => String::new(),
        };
        Ok(format!("request {} {}{detail}\n", r.id, super::show::state(r, &apps)))
    }

    async fn record(&mut self, id: u64, outcome: Result<AccessRequest>) {
        self.tried += 1;
        match outcome {
            Ok(r) => match self.decided(&r).await {
                Ok(line) => print(&line),
                Err(e) => {
                    // The decision is made; only its line could not be worded in full.
                    print(&format!("request {} {}\n", r.id, r.state));
                    report(&format!("request {id}: {}", super::worded(&e)));
                }
            },
            Err(e) => {
                self.refused += 1;
                report(&format!("request {id}: {}", super::worded(&e)));
            }
        }
    }

    fn code(&self) -> ExitCode {
        if self.refused == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}
