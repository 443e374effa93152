//! A notification is made, not stored: a store keeps only who it is for and the audit record of
//! the change it tells of, and its sentence is worded here from that record (and its request, for
//! a change to one) when it is read. The store keeps no second copy of what the audit log holds,
//! and every door words a change the same way.

use super::extension;
use super::model::{
    AccessRequest, Action, AuditRecord, Extension, ExtensionState, JitPolicy, Notification, SYSTEM, Verdict,
};
use super::period::Period;
use super::rules::{APPROVALS_LABEL, AUTO_APPROVAL_REASON};
use super::time_style::TimeStyle;

impl Notification {
    /// What `to` is told of the change `record` recorded: on `request` (the request its target
    /// names, as it is now: what a message says of it never changes once the change is made), or,
    /// with no request, on the application the record names (a change of its JIT settings).
    pub fn of(to: &str, record: &AuditRecord, request: Option<&AccessRequest>) -> Notification {
        Notification {
            id: record.id,
            to: to.to_string(),
            at: record.at,
            request: request.map(|r| r.id),
            app: request.map(|r| r.app.clone()).or_else(|| record.app.clone()).unwrap_or_default(),
            action: record.action,
            message: match request {
                Some(request) => message(record, request),
                None => unrequested(record),
            },
        }
    }
}

/// Who is told of a change of an application's JIT settings, each once: its approvers before and
/// after the change, and the requesters of its open (pending or approved) requests, whose
/// decisions or access it may change. Not `by`, who made it.
pub fn told_of_policy_change<'r>(
    by: &str,
    before: &JitPolicy,
    after: &JitPolicy,
    open: impl IntoIterator<Item = &'r AccessRequest>,
) -> Vec<String> {
    let mut told: Vec<String> = Vec::new();
    let requesters = open.into_iter().map(|r| &r.requester);
    for upn in before.approvers.iter().chain(&after.approvers).chain(requesters) {
        if upn != by && !told.contains(upn) {
            told.push(upn.clone());
        }
    }
    told
}

/// One sentence about a change that names no request: a change of an application's JIT settings,
/// told to its approvers and to the requesters of its open requests.
fn unrequested(record: &AuditRecord) -> String {
    let app = record.app.as_deref().unwrap_or_default();
    match record.action {
        Action::PolicyChanged => {
            let before = record.before.as_deref().unwrap_or_default();
            let after = record.after.as_deref().unwrap_or_default();
            format!("JIT settings of {app} changed by {}: {}", record.actor, policy_changes(before, after))
        }
        Action::DeliveryFailed => format!("a notice could not be delivered over {}", failure(record)),
        other => format!("{} on {app} by {}", other.name(), record.actor),
    }
}

/// What differs between two policies as `rules::describe_policy` summarises them: each setting
/// that changed, with its old value, and the approvers added and removed.
fn policy_changes<'a>(before: &'a str, after: &'a str) -> String {
    let whole = || format!("{after} (was {before})");
    let (Some(was), Some(is)) = (settings(before), settings(after)) else { return whole() };
    let mut out: Vec<String> = ["mode", "max", "timeout", "approvals required", "extensions"]
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| was[i] != is[i])
        .map(|(i, label)| format!("{label} {} (was {})", is[i], was[i]))
        .collect();
    let approvers = |list: &'a str| -> Vec<&'a str> {
        if list == "none" { Vec::new() } else { list.split(", ").collect() }
    };
    let (old, new) = (approvers(was[5]), approvers(is[5]));
    let added: Vec<&str> = new.iter().copied().filter(|a| !old.contains(a)).collect();
    let removed: Vec<&str> = old.iter().copied().filter(|a| !new.contains(a)).collect();
    if !added.is_empty() {
        out.push(format!("approvers added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("approvers removed: {}", removed.join(", ")));
    }
    if out.is_empty() { whole() } else { out.join("; ") }
}

/// The settings a `rules::describe_policy` summary names, without their labels: mode, maximum
/// duration, request timeout, approvals required (`1` in summaries older than the setting),
/// extensions beyond the maximum (`0` when it names none) and
/// approvers (a list, or `none`). None for a summary of another shape (JIT off, which never
/// changes).
fn settings(summary: &str) -> Option<[&str; 6]> {
    let mut parts = summary.splitn(4, ", ");
    let mode = parts.next()?;
    let max = parts.next()?.strip_prefix("max ")?;
    let timeout = parts.next()?.strip_prefix("timeout ")?;
    let rest = parts.next()?;
    let (approvals, rest) = match rest.strip_prefix(APPROVALS_LABEL) {
        Some(rest) => rest.split_once(", ")?,
        None => ("1", rest),
    };
    let (extensions, rest) = match rest.strip_prefix("extensions ") {
        Some(named) => named.split_once(", ")?,
        None => ("0", rest),
    };
    let approvers = rest.strip_prefix("approvers: ")?;
    Some([mode, max, timeout, approvals, extensions, approvers])
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
            let auto = is_auto(r.decision.as_ref());
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
        Action::ApprovalGiven => {
            let reason = record.reason.as_deref().unwrap_or_default();
            let progress = record.after.as_deref().unwrap_or_default();
            format!("{} approved request {} on {}: {reason} ({progress})", record.actor, r.id, r.app)
        }
        Action::RequestTimedOut => format!("request {} on {} timed out with no decision", r.id, r.app),
        Action::AccessStarted => {
            format!("your access to {} (request {}) is active until {}", r.app, r.id, planned_end(r, record))
        }
        Action::AccessEndingSoon => {
            format!("your access to {} (request {}) ends at {}", r.app, r.id, planned_end(r, record))
        }
        Action::AccessExpired => format!("your access to {} (request {}) has ended", r.app, r.id),
        Action::AccessRevoked => {
            format!("your access to {} (request {}) was revoked{by_reason}", r.app, r.id)
        }
        Action::ExtensionAsked => match extension_of(record, r) {
            Some((_, e)) => format!(
                "{} asks for {} more on request {} on {}: {}{}",
                r.requester,
                e.by,
                r.id,
                r.app,
                e.asked.reason,
                if is_auto(e.decision.as_ref()) { " (approved automatically)" } else { "" }
            ),
            None => format!("{} asks for more time on request {} on {}", r.requester, r.id, r.app),
        },
        Action::ExtensionApproved => {
            let until = extension_of(record, r)
                .map(|(i, _)| format!("; access now until {}", end_after(r, i)))
                .unwrap_or_default();
            format!("extension of request {} on {} approved{by_reason}{until}", r.id, r.app)
        }
        Action::ExtensionDenied => format!("extension of request {} on {} denied{by_reason}", r.id, r.app),
        Action::ExtensionLapsed => {
            let why = record.reason.as_ref().map(|reason| format!(": {reason}")).unwrap_or_default();
            format!("extension of request {} on {} lapsed{why}", r.id, r.app)
        }
        Action::DeliveryFailed => {
            format!(
                "a notice of request {} on {} could not be delivered over {}",
                r.id,
                r.app,
                failure(record)
            )
        }
        other => format!("request {} on {}: {}", r.id, r.app, other.name()),
    }
}

/// The channel and the reason a delivery was given up on, as its record keeps them.
fn failure(record: &AuditRecord) -> &str {
    record.reason.as_deref().unwrap_or("one of your tenant's channels")
}

/// Whether a verdict is the system's approval in automatic mode.
fn is_auto(verdict: Option<&Verdict>) -> bool {
    verdict.is_some_and(|v| v.by == SYSTEM && v.reason == AUTO_APPROVAL_REASON)
}

/// The extension an extension's audit record names (`extension::described_index`), with its place.
fn extension_of<'r>(record: &AuditRecord, r: &'r AccessRequest) -> Option<(usize, &'r Extension)> {
    let index = extension::described_index(record.after.as_deref()?)?;
    Some((index, r.extensions.get(index)?))
}

/// When a grant's access is planned to end, in UTC with its zone, as it stood when `record` was
/// made: the duration and the extensions approved by then. Access revoked later still started,
/// and was warned of its end, with this end in view.
fn planned_end(r: &AccessRequest, record: &AuditRecord) -> String {
    let approved = r.extensions.iter().rposition(|e| {
        e.state == ExtensionState::Approved && e.decision.as_ref().is_some_and(|v| v.at <= record.at)
    });
    match approved {
        Some(index) => end_after(r, index),
        None => end_with(r, r.duration),
    }
}

/// When a grant's access ends once its extensions up to `index` are counted, in UTC.
fn end_after(r: &AccessRequest, index: usize) -> String {
    let extended = r.extensions.iter().take(index + 1).filter(|e| e.state == ExtensionState::Approved);
    end_with(r, extended.fold(r.duration, |total, e| total.saturating_add(e.by)))
}

fn end_with(r: &AccessRequest, granted: Period) -> String {
    r.granted_from.map(|from| TimeStyle::utc().full(from + granted.to_delta())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, TimeZone, Utc};

    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::model::{ApprovalMode, JitPolicy, RequestState, Target, Verdict};
    use crate::domain::period::Period;
    use crate::domain::rules::{POLICY_AUTO_REASON, describe_policy};

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
        let n = Notification::of("a@x.com", &record(Action::RequestCanceled, "p@x.com", None), Some(&r));
        assert_eq!((n.id, n.to.as_str(), n.at), (42, "a@x.com", t0() + TimeDelta::minutes(5)));
        assert_eq!(
            (n.request, n.app.as_str(), n.action),
            (Some(r.id), r.app.as_str(), Action::RequestCanceled)
        );
        assert_eq!(n.message, format!("request {} on {} was canceled by p@x.com", r.id, r.app));
    }

    /// A grant from t0 for 2h, its first extension (+1h) approved at t0 + 30m, its second (+30m)
    /// asked at t0 + 40m and still pending.
    fn extended() -> AccessRequest {
        use crate::domain::model::{Extension, ExtensionState};
        let verdict = |by: &str, minutes: i64, reason: &str| Verdict {
            by: by.into(),
            at: t0() + TimeDelta::minutes(minutes),
            reason: reason.into(),
        };
        let extension = |by: Period, asked: Verdict, state, decision| Extension {
            by,
            decide_by: t0() + TimeDelta::hours(2),
            asked,
            state,
            approvals: Vec::new(),
            decision,
        };
        AccessRequest {
            extensions: vec![
                extension(
                    Period::from_hours(1),
                    verdict("p@x.com", 20, "more"),
                    ExtensionState::Approved,
                    Some(verdict("a@x.com", 30, "ok")),
                ),
                extension(
                    Period::from_minutes(30),
                    verdict("p@x.com", 40, "again"),
                    ExtensionState::Pending,
                    None,
                ),
            ],
            ..request(RequestState::Approved, Some(t0()))
        }
    }

    #[test]
    fn each_move_of_an_extension_is_told_with_the_end_it_gave() {
        let r = extended();
        let told = |action, actor: &str, reason: Option<&str>, index: usize, minutes: i64| {
            let record = AuditRecord {
                at: t0() + TimeDelta::minutes(minutes),
                after: Some(crate::domain::extension::describe(index, &r.extensions[index])),
                ..record(action, actor, reason)
            };
            Notification::of("p@x.com", &record, Some(&r)).message
        };
        assert_eq!(
            told(Action::ExtensionAsked, "p@x.com", Some("again"), 1, 40),
            "p@x.com asks for 30m more on request 1 on a: again"
        );
        assert_eq!(
            told(Action::ExtensionApproved, "a@x.com", Some("ok"), 0, 30),
            "extension of request 1 on a approved by a@x.com: ok; access now until 2026-11-26 13:00 UTC"
        );
        assert_eq!(
            told(Action::ExtensionDenied, "a@x.com", Some("no"), 1, 50),
            "extension of request 1 on a denied by a@x.com: no"
        );
        assert_eq!(
            told(Action::ExtensionLapsed, SYSTEM, Some("no decision"), 1, 60),
            "extension of request 1 on a lapsed: no decision"
        );
        // A start or a warning says the end as it stood then: before the extension, and after.
        let start = Notification::of("p@x.com", &record(Action::AccessStarted, SYSTEM, None), Some(&r));
        assert!(start.message.ends_with("until 2026-11-26 12:00 UTC"), "{}", start.message);
        let warning = AuditRecord {
            at: t0() + TimeDelta::minutes(170),
            ..record(Action::AccessEndingSoon, SYSTEM, None)
        };
        let warned = Notification::of("p@x.com", &warning, Some(&r)).message;
        assert!(warned.ends_with("ends at 2026-11-26 13:00 UTC"), "{warned}");
    }

    #[test]
    fn an_approval_of_several_says_who_gave_it_why_and_how_far_the_request_is() {
        let r = request(RequestState::Pending, None);
        let given = AuditRecord {
            after: Some("1 of 2 approvals".into()),
            ..record(Action::ApprovalGiven, "c@x.com", Some("fine by me"))
        };
        let n = Notification::of("p@x.com", &given, Some(&r));
        assert_eq!(
            n.message,
            format!("c@x.com approved request {} on {}: fine by me (1 of 2 approvals)", r.id, r.app)
        );
    }

    #[test]
    fn a_new_request_says_it_was_approved_automatically_only_when_the_mode_approved_it() {
        let created = record(Action::RequestCreated, "p@x.com", None);
        let decided = |by: &str, reason: &str| AccessRequest {
            decision: Some(Verdict { by: by.into(), at: t0(), reason: reason.into() }),
            ..request(RequestState::Approved, Some(t0()))
        };
        let asks = |r: &AccessRequest| Notification::of("a@x.com", &created, Some(r)).message;
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
        let n = Notification::of("p@x.com", &record(Action::AccessStarted, SYSTEM, None), Some(&r));
        let until = TimeStyle::utc().full(from + TimeDelta::hours(2));
        assert_eq!(n.message, format!("your access to a (request 1) is active until {until}"));
    }

    #[test]
    fn access_ending_soon_says_when_it_ends_in_utc() {
        let from = t0() + TimeDelta::hours(1);
        let r = request(RequestState::Approved, Some(from));
        let n = Notification::of("p@x.com", &record(Action::AccessEndingSoon, SYSTEM, None), Some(&r));
        let end = TimeStyle::utc().full(from + TimeDelta::hours(2));
        assert!(end.contains("UTC"), "the time says its zone: {end}");
        assert_eq!(n.message, format!("your access to a (request 1) ends at {end}"));
        assert_eq!(n.request, Some(1));
    }

    fn policy(mode: ApprovalMode, max: i64, approvers: &[&str]) -> String {
        policy_needing(mode, max, approvers, 1)
    }

    fn policy_needing(mode: ApprovalMode, max: i64, approvers: &[&str], approvals_required: u32) -> String {
        describe_policy(&JitPolicy {
            enabled: true,
            mode,
            max_duration: Period::from_hours(max),
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            request_timeout: Period::from_hours(24),
            approvals_required,
            approver_groups: Vec::new(),
            max_extensions: 0,
        })
    }

    fn policy_record(before: String, after: String) -> AuditRecord {
        AuditRecord {
            target: Target::App("crm".into()),
            app: Some("crm".into()),
            before: Some(before),
            after: Some(after),
            ..record(Action::PolicyChanged, "admin@x.com", None)
        }
    }

    #[test]
    fn a_policy_change_names_no_request_and_says_what_changed_from_what() {
        let before = policy(ApprovalMode::ManualApprove, 8, &["a@x.com", "b@x.com"]);
        let after = policy(ApprovalMode::AutoApprove, 4, &["a@x.com", "c@x.com"]);
        let n = Notification::of("b@x.com", &policy_record(before, after), None);
        assert_eq!((n.request, n.app.as_str(), n.action), (None, "crm", Action::PolicyChanged));
        assert_eq!(
            n.message,
            "JIT settings of crm changed by admin@x.com: mode AutoApprove (was ManualApprove); \
             max PT4H (was PT8H); approvers added: c@x.com; approvers removed: b@x.com"
        );
    }

    #[test]
    fn a_policy_change_of_approvers_alone_says_only_that() {
        let before = policy(ApprovalMode::ManualApprove, 8, &[]);
        let after = policy(ApprovalMode::ManualApprove, 8, &["a@x.com", "b@x.com"]);
        let n = Notification::of("a@x.com", &policy_record(before.clone(), after.clone()), None);
        assert_eq!(
            n.message,
            "JIT settings of crm changed by admin@x.com: approvers added: a@x.com, b@x.com"
        );
        let back = Notification::of("a@x.com", &policy_record(after, before), None);
        assert_eq!(
            back.message,
            "JIT settings of crm changed by admin@x.com: approvers removed: a@x.com, b@x.com"
        );
    }

    #[test]
    fn every_summary_describe_policy_writes_is_read_back_setting_by_setting() {
        let summary = policy(ApprovalMode::AutoApprove, 3, &["a@x.com", "b@x.com"]);
        let timeout = Period::from_hours(24).iso();
        assert_eq!(
            settings(&summary),
            Some(["AutoApprove", "PT3H", timeout.as_str(), "1", "0", "a@x.com, b@x.com"])
        );
        assert_eq!(settings(&policy(ApprovalMode::ManualApprove, 1, &[])).map(|s| s[5]), Some("none"));
    }

    #[test]
    fn a_change_of_the_extensions_allowed_beyond_the_maximum_is_told() {
        let with = |n: u32| {
            describe_policy(&JitPolicy {
                max_extensions: n,
                enabled: true,
                mode: ApprovalMode::AutoApprove,
                max_duration: Period::from_hours(8),
                approvers: vec!["a@x.com".into()],
                request_timeout: Period::from_hours(24),
                approvals_required: 1,
                approver_groups: Vec::new(),
            })
        };
        assert_eq!(settings(&with(2)).map(|s| (s[4], s[5])), Some(("2", "a@x.com")));
        let n = Notification::of("a@x.com", &policy_record(with(0), with(2)), None);
        assert_eq!(n.message, "JIT settings of crm changed by admin@x.com: extensions 2 (was 0)");
    }

    #[test]
    fn a_change_of_approvals_required_says_it_and_older_summaries_meant_one() {
        let approvers = ["a@x.com", "b@x.com"];
        let two = policy_needing(ApprovalMode::ManualApprove, 8, &approvers, 2);
        assert!(two.contains("approvals 2, approvers: a@x.com, b@x.com"), "{two}");
        let n = Notification::of(
            "a@x.com",
            &policy_record(policy(ApprovalMode::ManualApprove, 8, &approvers), two.clone()),
            None,
        );
        assert_eq!(n.message, "JIT settings of crm changed by admin@x.com: approvals required 2 (was 1)");
        // Summaries written before the setting existed have no approvals part.
        let older = "ManualApprove, max PT8H, timeout P1D, approvers: a@x.com, b@x.com".to_string();
        let n = Notification::of("a@x.com", &policy_record(older, two), None);
        assert_eq!(n.message, "JIT settings of crm changed by admin@x.com: approvals required 2 (was 1)");
    }

    #[test]
    fn a_summary_of_another_shape_is_told_whole() {
        let off = "JIT off (permanent publisher access)".to_string();
        let on = policy(ApprovalMode::AutoApprove, 3, &[]);
        let n = Notification::of("a@x.com", &policy_record(off.clone(), on.clone()), None);
        assert_eq!(n.message, format!("JIT settings of crm changed by admin@x.com: {on} (was {off})"));
    }
}
