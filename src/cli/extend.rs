//! `request extend` and `request extension approve|deny`: more time on a grant, and an approver's
//! decision on it. Each is one engine call (or one call to the service); the lines printed say
//! where the extension stands and, once the end moved, until when access now runs.

use super::args::{Cli, ExtensionCmd};
use super::show::Times;
use super::{Output, ok, viewer};
use crate::client::{Backend, Result};
use crate::domain::approvals::Tally;
use crate::domain::{AccessRequest, ExtensionState, Period};
use crate::engine::{DecideExtension, Extend};

/// The requester asks for `by` more on request `id`.
pub async fn extend(
    backend: &Backend,
    cli: &Cli,
    id: u64,
    by: Period,
    reason: &str,
    times: &Times,
) -> Result<Output> {
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let r = backend.run(&actor, Extend { id, by, reason: reason.to_string() }).await?;
    ok(outcome(&r, None, times))
}

/// An approver approves or denies the extension waiting on a request.
pub async fn decide(backend: &Backend, cli: &Cli, cmd: &ExtensionCmd, times: &Times) -> Result<Output> {
    let (id, approve, reason) = match cmd {
        ExtensionCmd::Approve { id, reason } => (*id, true, reason),
        ExtensionCmd::Deny { id, reason } => (*id, false, reason),
    };
    let actor = backend.actor(cli.as_user.as_deref()).await?;
    let r = backend.run(&actor, DecideExtension { id, approve, reason: reason.clone() }).await?;
    // An approval that still waits for others says how far it is, by the policy's count.
    let need = match r.pending_extension() {
        Some(_) => Some(backend.app(&viewer(backend, cli).await?, &r.app).await?.policy.approvals_required),
        None => None,
    };
    ok(outcome(&r, need, times))
}

/// Where the request's last extension stands: waiting (with its approvals so far of `need`, when
/// known), or decided and what access is now.
fn outcome(r: &AccessRequest, need: Option<u32>, times: &Times) -> String {
    let Some(last) = r.extensions.last() else { return format!("request {} has no extension\n", r.id) };
    let end = r.end().map(|end| times.time(end)).unwrap_or_default();
    match last.state {
        ExtensionState::Pending => {
            let progress = match need {
                Some(need) => format!(", {}", Tally::progress(last.approvals.len() as u32, need.max(1))),
                None => String::new(),
            };
            format!(
                "extension of request {} by {} waits for a decision until {}{progress}\n",
                r.id,
                last.by,
                times.time(last.decide_by)
            )
        }
        ExtensionState::Approved => {
            format!("extension of request {} approved: access now until {end}\n", r.id)
        }
        ExtensionState::Denied => {
            format!("extension of request {} denied: access still ends at {end}\n", r.id)
        }
        ExtensionState::Lapsed => format!("extension of request {} lapsed: access ends at {end}\n", r.id),
    }
}
