//! A notification is made, not stored: a store keeps only who it is for and the audit record of
//! the change it tells of, and its sentence is worded here from that record and its request when
//! it is read. The store keeps no second copy of what the audit log holds, and every door words
//! a change the same way.

use super::model::{AccessRequest, Action, AuditRecord, Notification, SYSTEM};
use super::rules::AUTO_APPROVAL_REASON;
use super::time_style::TimeStyle;

impl Notification {
    /// What `to` is told of the change `record` recorded on `request` (the request its target
    /// names, as it is now: what a message says of it never changes once the change is made).
    pub fn of(to: &str, record: &AuditRecord, request: &AccessRequest) -> Notification {
        Notification {
            id: record.id,
            to: to.to_string(),
            at: record.at,
            request: request.id,
            app: request.app.clone(),
            action: record.action,
            message: message(record, request),
        }
    }
}

/// One sentence saying what happened: to approvers of a new or withdrawn request, to the
/// requester of everything else. Its words come from what a change leaves unchanged (the
/// request's asking, its grant's start) and from the record's actor and reason, so later changes
/// to the request do not reword it.
fn message(record: &AuditRecord, r: &AccessRequest) -> String {
    let by_reason =
        record.reason.as_ref().map(|reason| format!(" by {}: {reason}", record.actor)).unwrap_or_default();
    match record.action {
        Action::RequestCreated => {
            let auto =
                r.decision.as_ref().is_some_and(|v| v.by == SYSTEM && v.reason == AUTO_APPROVAL_REASON);
            format!(
                "{} asks for {} on {} for {}{}",
                r.requester,
                r.roles.join(", "),
                r.app,
                r.duration,
                if auto { " (approved automatically)" } else { "" }
            )
        }
        Action::RequestCanceled => format!("request {} on {} was canceled by {}", r.id, r.app, record.actor),
        Action::RequestApproved => format!("request {} on {} approved{by_reason}", r.id, r.app),
        Action::RequestDenied => format!("request {} on {} denied{by_reason}", r.id, r.app),
        Action::RequestTimedOut => format!("request {} on {} timed out with no decision", r.id, r.app),
        Action::AccessStarted => {
            // The planned end: access revoked later still started with this end in view.
            let until = r
                .granted_from
                .map(|from| TimeStyle::utc().full(from + r.duration.to_delta()))
                .unwrap_or_default();
            format!("your access to {} (request {}) is active until {until}", r.app, r.id)
        }
        Action::AccessExpired => format!("your access to {} (request {}) has ended", r.app, r.id),
        Action::AccessRevoked => {
            format!("your access to {} (request {}) was revoked{by_reason}", r.app, r.id)
        }
        other => format!("request {} on {}: {}", r.id, r.app, other.name()),
    }
}
