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
use crate::domain::rules;
use crate::domain::{AccessRequest, RequestState};
use crate::engine::Decide;
use crate::engine::RequestFilter;

pub async fn run(
    backend: &Backend,
    cli: &Cli,
    args: &DecideArgs,
    approve: bool,
    times: &Times,
) -> Result<Output> {
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let decide = |id| Decide { id, approve, reason: args.reason.clone() };
    if let ([id], None) = (args.ids.as_slice(), &args.app) {
        // One request: its refusal is the command's error, as it always was.
        return ok(decided(&backend.run(&actor, decide(*id)).await?, times));
    }
    let mut all = Decisions::default();
    let Some(app) = &args.app else {
        for id in &args.ids {
            all.record(*id, backend.run(&actor, decide(*id)).await, times);
        }
        return Ok((String::new(), all.code()));
    };
    // --all-pending: the pending requests of the application that the caller may decide, found
    // through the caller's own view; someone who approves nothing there is refused before any.
    let doing = if approve { "approve" } else { "deny" };
    let upn = backend.need_user(cli.as_user.as_deref()).await?;
    let viewer = viewer(backend, cli).await?;
    let app = backend.app(&viewer, app).await?;
    rules::need_approver(&app, &upn)?;
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
            if rules::need_decider(&app, &upn, r, doing).is_ok() {
                all.record(r.id, backend.run(&actor, decide(r.id)).await, times);
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

/// One decision's outcome line.
fn decided(r: &AccessRequest, times: &Times) -> String {
    let detail = match r.window() {
        Some((from, end)) => format!(": access from {} until {}", times.time(from), times.time(end)),
        None => String::new(),
    };
    format!("request {} {}{detail}\n", r.id, r.state)
}

/// Decisions in bulk: each outcome is told as it happens, and any refusal fails the whole.
#[derive(Default)]
struct Decisions {
    tried: usize,
    refused: usize,
}

impl Decisions {
    fn record(&mut self, id: u64, outcome: Result<AccessRequest>, times: &Times) {
        self.tried += 1;
        match outcome {
            Ok(r) => print(&decided(&r, times)),
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
