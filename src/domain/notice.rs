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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::model::{RequestState, Target, Verdict};
    use crate::domain::period::Period;
    use crate::domain::rules::POLICY_AUTO_REASON;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    fn record(action: Action, actor: &str, reason: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: 42,
            at: t0() + TimeDelta::minutes(5),
            actor: actor.into(),
            action,
            target: Target::Request(1),
            app: Some("a".into()),
            reason: reason.map(Into::into),
            before: None,
            after: None,
        }
    }

    #[test]
    fn a_notification_is_its_records_change_told_to_one_user() {
        let r = request(RequestState::Pending, None);
        let n = Notification::of("a@x.com", &record(Action::RequestCanceled, "p@x.com", None), &r);
        assert_eq!((n.id, n.to.as_str(), n.at), (42, "a@x.com", t0() + TimeDelta::minutes(5)));
        assert_eq!((n.request, n.app.as_str(), n.action), (r.id, r.app.as_str(), Action::RequestCanceled));
        assert_eq!(n.message, format!("request {} on {} was canceled by p@x.com", r.id, r.app));
    }

    #[test]
    fn a_new_request_says_it_was_approved_automatically_only_when_the_mode_approved_it() {
        let created = record(Action::RequestCreated, "p@x.com", None);
        let decided = |by: &str, reason: &str| AccessRequest {
            decision: Some(Verdict { by: by.into(), at: t0(), reason: reason.into() }),
            ..request(RequestState::Approved, Some(t0()))
        };
        let asks = |r: &AccessRequest| Notification::of("a@x.com", &created, r).message;
        let plain = format!("p@x.com asks for Owner on a for {}", Period::from_hours(2));
        assert_eq!(asks(&AccessRequest { decision: None, ..request(RequestState::Pending, None) }), plain);
        assert_eq!(asks(&decided(SYSTEM, AUTO_APPROVAL_REASON)), format!("{plain} (approved automatically)"));
        // The system approving after a change of policy, or a person giving the mode's words as
        // their reason, is no automatic approval of the new request.
        assert_eq!(asks(&decided(SYSTEM, POLICY_AUTO_REASON)), plain);
        assert_eq!(asks(&decided("a@x.com", AUTO_APPROVAL_REASON)), plain);
    }

    #[test]
    fn started_access_says_when_it_is_planned_to_end() {
        let from = t0() + TimeDelta::hours(1);
        let r = request(RequestState::Approved, Some(from));
        let n = Notification::of("p@x.com", &record(Action::AccessStarted, SYSTEM, None), &r);
        let until = TimeStyle::utc().full(from + TimeDelta::hours(2));
        assert_eq!(n.message, format!("your access to a (request 1) is active until {until}"));
    }
}
