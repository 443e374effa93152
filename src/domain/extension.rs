//! Extending a grant: its requester asks for more time on approved access that has not ended,
//! and the application's policy decides it as it decides requests (at once in automatic mode, by
//! its approvers otherwise). The rules for how long a grant may grow, who may ask and decide, and
//! when an undecided extension lapses live here, apart from the rules of requests, so each reads
//! on its own.

use chrono::{DateTime, Utc};

use super::approvals::{self, Tally};
use super::approvers::need_approver;
use super::error::RuleError;
use super::model::{
    AccessRequest, Action, Application, ApprovalMode, Extension, ExtensionState, RequestState, SYSTEM, User,
    Verdict,
};
use super::period::Period;
use super::rules::{AUTO_APPROVAL_REASON, Lookup, POLICY_AUTO_REASON, can_see, no_request};
use super::text::{MAX_TEXT, check_text};
use super::time_style::TimeStyle;
use super::when::check_within_range;

/// The reason the system gives when an extension gets no decision before its deadline.
pub const NO_DECISION: &str = "no decision before the extension's deadline";

/// The reason the system gives when the access an extension would lengthen ends first.
pub const ACCESS_ENDED: &str = "the access it extends has ended";

/// How an extension is named in the audit log's before and after: its number (from 1), its
/// length and its state, e.g. `extension 2 (+1h) Approved`.
pub fn describe(index: usize, extension: &Extension) -> String {
    format!("extension {} (+{}) {:?}", index + 1, extension.by, extension.state)
}

/// The place of the extension a `describe`d text names, back from the audit log.
pub fn described_index(text: &str) -> Option<usize> {
    let number = text.strip_prefix("extension ")?.split(' ').next()?;
    number.parse::<usize>().ok()?.checked_sub(1)
}

/// The request with a new pending extension of `by`, asked for by its requester with a reason.
/// Only approved access that has not ended may be extended, one extension at a time, and never
/// longer than the policy allows (`check_length`). The extension lapses at the request timeout
/// after it is asked, or when the access ends if that comes first.
pub fn extend(
    app: &Application,
    actor: &User,
    req: AccessRequest,
    by: Period,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<AccessRequest, RuleError> {
    if !can_see(actor, app) {
        return Err(no_request(req.id));
    }
    if actor.upn != req.requester {
        return Err(RuleError::forbidden(format!(
            "request {} is not yours: only its requester can extend it",
            req.id
        )));
    }
    let end = need_running(&req, "extend")?;
    if now >= end {
        return Err(RuleError::conflict(format!(
            "cannot extend request {}: its access has already ended; ask for access again",
            req.id
        )));
    }
    if let Some((_, waiting)) = req.pending_extension() {
        return Err(RuleError::conflict(format!(
            "request {} already has an extension of {} waiting for a decision until {}: wait for it",
            req.id,
            waiting.by,
            TimeStyle::utc().full(waiting.decide_by)
        )));
    }
    check_length(app, &req, by)?;
    check_within_range(
        "the new end",
        end.checked_add_signed(by.to_delta()).unwrap_or(DateTime::<Utc>::MAX_UTC),
    )?;
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let decide_by = now.checked_add_signed(app.policy.request_timeout.to_delta()).unwrap_or(end).min(end);
    let mut req = req;
    req.extensions.push(Extension {
        by,
        asked: Verdict { by: actor.upn.clone(), at: now, reason },
        decide_by,
        state: ExtensionState::Pending,
        approvals: Vec::new(),
        decision: None,
    });
    Ok(req)
}

/// Whether the application's policy approves extensions at once, as it does requests.
pub fn is_automatic(app: &Application) -> bool {
    app.policy.mode == ApprovalMode::AutoApprove
}

/// Automatic mode: the system approves the pending extension right after it is asked.
pub fn approve_automatically(mut req: AccessRequest, now: DateTime<Utc>) -> AccessRequest {
    if let Some(index) = req.pending_extension().map(|(i, _)| i) {
        let extension = &mut req.extensions[index];
        extension.state = ExtensionState::Approved;
        extension.decision =
            Some(Verdict { by: SYSTEM.to_string(), at: now, reason: AUTO_APPROVAL_REASON.to_string() });
    }
    req
}

/// The request after an approver's approval or denial of its pending extension, and what it
/// was: `ExtensionApproved` once enough approvers approved (counted by `approvals::count`),
/// `ApprovalGiven` while more are needed, `ExtensionDenied` at the first denial. Only an approver
/// other than the requester decides, only before the extension's deadline and the access's end,
/// and an approval only while the grant's new length is still within today's policy.
pub fn decide<L: Lookup + ?Sized>(
    l: &L,
    app: &Application,
    actor: &User,
    req: AccessRequest,
    approve: bool,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(AccessRequest, Action), L::Error> {
    if !can_see(actor, app) {
        return Err(no_request(req.id).into());
    }
    let doing = if approve { "approve" } else { "deny" };
    if actor.upn == req.requester {
        return Err(
            RuleError::forbidden(format!("you cannot {doing} the extension of your own request")).into()
        );
    }
    need_approver(l, app, &actor.upn)?;
    let end = need_running(&req, &format!("{doing} the extension of"))?;
    let Some((index, waiting)) = req.pending_extension() else {
        return Err(RuleError::conflict(format!(
            "request {} has no extension waiting for a decision: see `jitdesk request show {}`",
            req.id, req.id
        ))
        .into());
    };
    if now >= end {
        return Err(RuleError::conflict(format!(
            "cannot {doing} the extension of request {}: its access has already ended",
            req.id
        ))
        .into());
    }
    if now >= waiting.decide_by {
        return Err(RuleError::conflict(format!(
            "the extension of request {} waited past its deadline and has lapsed",
            req.id
        ))
        .into());
    }
    if approve {
        let mut before = req.clone();
        before.extensions.remove(index);
        check_length(app, &before, waiting.by)?;
    }
    let reason = check_text("reason", reason, MAX_TEXT)?;
    let verdict = Verdict { by: actor.upn.clone(), at: now, reason };
    let mut req = req;
    let extension = &mut req.extensions[index];
    let action = if !approve {
        extension.state = ExtensionState::Denied;
        extension.decision = Some(verdict);
        Action::ExtensionDenied
    } else {
        match approvals::count(&mut extension.approvals, verdict.clone(), app.policy.approvals_required)? {
            Tally::Approved => {
                extension.state = ExtensionState::Approved;
                extension.decision = Some(verdict);
                Action::ExtensionApproved
            }
            Tally::Waiting { .. } => Action::ApprovalGiven,
        }
    };
    Ok((req, action))
}

/// The request with its pending extension, if any, lapsed by the system at `at`.
pub fn lapse(mut req: AccessRequest, at: DateTime<Utc>, reason: &str) -> AccessRequest {
    if let Some(index) = req.pending_extension().map(|(i, _)| i) {
        let extension = &mut req.extensions[index];
        extension.state = ExtensionState::Lapsed;
        extension.decision = Some(Verdict { by: SYSTEM.to_string(), at, reason: reason.to_string() });
    }
    req
}

/// What a change of policy does to a grant's pending extension, judged by the new policy in the
/// same transaction, as `rules::reevaluate` judges pending requests: one the new policy no longer
/// allows (`check_length`) is denied by the system with the reason; automatic mode approves it; in
/// manual mode it is approved once its approvals reach the number now required. None when it still
/// waits, or when there is none, or its deadline or the access's end has passed (the ticker lapses it).
pub fn reevaluate(
    app: &Application,
    req: &AccessRequest,
    now: DateTime<Utc>,
) -> Option<(AccessRequest, Action)> {
    let (index, waiting) = req.pending_extension()?;
    if req.state != RequestState::Approved
        || now >= waiting.decide_by
        || req.end().is_none_or(|end| now >= end)
    {
        return None;
    }
    let mut before = req.clone();
    before.extensions.remove(index);
    let policy = &app.policy;
    let (state, reason, action) = if let Err(refused) = check_length(app, &before, waiting.by) {
        (ExtensionState::Denied, format!("policy changed: {}", refused.message), Action::ExtensionDenied)
    } else if policy.mode == ApprovalMode::AutoApprove {
        (ExtensionState::Approved, POLICY_AUTO_REASON.to_string(), Action::ExtensionApproved)
    } else {
        let reason = approvals::now_enough(waiting.approvals.len(), policy.approvals_required)?;
        (ExtensionState::Approved, reason, Action::ExtensionApproved)
    };
    let mut req = req.clone();
    let extension = &mut req.extensions[index];
    extension.state = state;
    extension.decision = Some(Verdict { by: SYSTEM.to_string(), at: now, reason });
    Some((req, action))
}

/// The end of approved access, which is what an extension lengthens; refuses every other state,
/// saying what `doing` needs.
fn need_running(req: &AccessRequest, doing: &str) -> Result<DateTime<Utc>, RuleError> {
    match (req.state, req.end()) {
        (RequestState::Approved, Some(end)) => Ok(end),
        (state, _) => Err(RuleError::conflict(format!(
            "cannot {doing} request {}: it is {state}, and only approved access that has not ended can be extended",
            req.id
        ))),
    }
}

/// How long a grant may grow by `by`: never zero, never more than the policy's maximum at once,
/// and the grant's whole length within the maximum, unless the policy allows a number of
/// extensions beyond it (`max_extensions`) and the grant has not used them all.
pub fn check_length(app: &Application, req: &AccessRequest, by: Period) -> Result<(), RuleError> {
    let max = app.policy.max_duration;
    if by.is_zero() {
        return Err(RuleError::invalid("the extension must be longer than zero"));
    }
    if by > max {
        return Err(RuleError::invalid(format!(
            "{by} is longer than `{}` allows at once: ask for at most {max} more",
            app.name
        )));
    }
    let granted = req.granted();
    if granted.saturating_add(by) <= max {
        return Ok(());
    }
    let allowed = app.policy.max_extensions as usize;
    if allowed == 0 {
        let left = Period::from_secs(max.as_secs() - granted.as_secs());
        return Err(RuleError::invalid(if left.is_zero() {
            format!("no more time can be added: the maximum is {max} and {granted} is granted")
        } else {
            format!("at most {left} more: the maximum is {max} and {granted} is granted")
        }));
    }
    let beyond = beyond_maximum(req, max);
    if beyond >= allowed {
        return Err(RuleError::invalid(format!(
            "no more extensions beyond the maximum: `{}` allows {allowed} past its {max}, and request {} has had {beyond} ({granted} granted)",
            app.name, req.id
        )));
    }
    Ok(())
}

/// How many of a grant's approved extensions took it past `max`: each one from the first whose
/// running total went over it.
fn beyond_maximum(req: &AccessRequest, max: Period) -> usize {
    let mut total = req.duration;
    let mut beyond = 0;
    for extension in req.extensions.iter().filter(|e| e.state == ExtensionState::Approved) {
        total = total.saturating_add(extension.by);
        if total > max {
            beyond += 1;
        }
    }
    beyond
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::domain::approvers::NoDirectory;
    use crate::domain::model::tests::request;
    use crate::domain::model::{DeadlineKind, JitPolicy};
    use crate::domain::rules;

    const REQUESTER: &str = "p@x.com";
    const APPROVER: &str = "a@x.com";
    const SECOND: &str = "b@x.com";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    fn minutes(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    fn user(upn: &str, tenant: &str) -> User {
        User {
            upn: upn.into(),
            display_name: upn.into(),
            tenant: tenant.into(),
            admin: false,
            login: None,
            object_id: String::new(),
        }
    }

    fn requester() -> User {
        user(REQUESTER, "pub")
    }

    fn approver(upn: &str) -> User {
        user(upn, "cust")
    }

    /// An application with an 8h maximum and a 1h request timeout, decided by two approvers.
    fn app(mode: ApprovalMode, max_extensions: u32) -> Application {
        Application {
            name: "a".into(),
            offer: "o".into(),
            customer_tenant: "cust".into(),
            publisher_tenant: "pub".into(),
            resource_group: "mrg-a".into(),
            policy: JitPolicy {
                enabled: true,
                mode,
                max_duration: Period::from_hours(8),
                approvers: vec![APPROVER.into(), SECOND.into()],
                request_timeout: Period::from_hours(1),
                approver_groups: Vec::new(),
                approvals_required: 1,
                max_extensions,
            },
            deployed_by: "admin@x.com".into(),
            deployed_at: t0(),
            resource_id: String::new(),
        }
    }

    /// Running access granted from t0 for `hours`, its start announced.
    fn grant(hours: i64) -> AccessRequest {
        AccessRequest {
            duration: Period::from_hours(hours),
            started: true,
            ..request(RequestState::Approved, Some(t0()))
        }
    }

    fn ask(app: &Application, req: AccessRequest, by: Period) -> Result<AccessRequest, RuleError> {
        extend(app, &requester(), req, by, "more work", t0() + minutes(30))
    }

    fn approve(app: &Application, req: AccessRequest, by: &str) -> (AccessRequest, Action) {
        decide(&NoDirectory, app, &approver(by), req, true, "fine", t0() + minutes(40)).unwrap()
    }

    #[test]
    fn an_extension_within_the_maximum_moves_the_end_once_approved() {
        let app = app(ApprovalMode::ManualApprove, 0);
        assert!(!is_automatic(&app), "approvers decide it");
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        let (_, pending) = asked.pending_extension().unwrap();
        assert_eq!(pending.decide_by, t0() + minutes(90), "the request timeout after asking");
        assert_eq!(asked.end(), Some(t0() + TimeDelta::hours(2)), "a pending extension moves nothing");
        let (approved, action) = approve(&app, asked, APPROVER);
        assert_eq!(action, Action::ExtensionApproved);
        assert_eq!(approved.end(), Some(t0() + TimeDelta::hours(3)));
        assert!(approved.pending_extension().is_none());
    }

    #[test]
    fn a_refusal_past_the_maximum_says_how_much_is_left() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let granted = AccessRequest { duration: Period::from_minutes(7 * 60 + 15), ..grant(0) };
        let err = ask(&app, granted.clone(), Period::from_hours(1)).unwrap_err();
        assert_eq!(err.message, "at most 45m more: the maximum is 8h and 7h 15m is granted");
        assert!(ask(&app, granted, Period::from_minutes(45)).is_ok(), "exactly up to the maximum");
        let full = ask(&app, grant(8), Period::from_minutes(1)).unwrap_err();
        assert!(full.message.starts_with("no more time can be added"), "{}", full.message);
    }

    #[test]
    fn max_extensions_allows_that_many_beyond_the_maximum_each_at_most_the_maximum() {
        let app = app(ApprovalMode::ManualApprove, 1);
        let too_long = ask(&app, grant(2), Period::from_hours(9)).unwrap_err();
        assert!(too_long.message.contains("at most 8h more"), "{}", too_long.message);
        // Within the maximum: not counted against the allowance.
        let (within, _) = approve(&app, ask(&app, grant(2), Period::from_hours(6)).unwrap(), APPROVER);
        // The first beyond the maximum is allowed; the second is not.
        let (beyond, _) = approve(&app, ask(&app, within, Period::from_hours(8)).unwrap(), APPROVER);
        assert_eq!(beyond.granted(), Period::from_hours(16));
        let again = ask(&app, beyond, Period::from_minutes(5)).unwrap_err();
        assert!(again.message.contains("allows 1 past its 8h"), "{}", again.message);
    }

    #[test]
    fn only_the_requester_extends_and_never_their_own_approver() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let by = Period::from_hours(1);
        let other = extend(&app, &approver(APPROVER), grant(2), by, "r", t0()).unwrap_err();
        assert!(other.message.contains("only its requester"), "{}", other.message);
        let stranger = extend(&app, &user("o@y.com", "elsewhere"), grant(2), by, "r", t0()).unwrap_err();
        assert_eq!(stranger, no_request(1), "a stranger learns nothing of the request");
        let asked = ask(&app, grant(2), by).unwrap();
        let own = decide(&NoDirectory, &app, &requester(), asked.clone(), true, "me", t0()).unwrap_err();
        assert!(own.message.contains("your own request"), "{}", own.message);
        let outsider =
            decide(&NoDirectory, &app, &user("c@x.com", "cust"), asked, true, "r", t0()).unwrap_err();
        assert!(outsider.message.contains("not an approver"), "{}", outsider.message);
    }

    #[test]
    fn only_approved_access_that_has_not_ended_is_extended_one_extension_at_a_time() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let by = Period::from_hours(1);
        let pending = AccessRequest { decision: None, ..request(RequestState::Pending, None) };
        assert!(ask(&app, pending, by).unwrap_err().message.contains("it is Pending"));
        let over = extend(&app, &requester(), grant(2), by, "r", t0() + TimeDelta::hours(2)).unwrap_err();
        assert!(over.message.contains("already ended"), "{}", over.message);
        let asked = ask(&app, grant(2), by).unwrap();
        let twice = ask(&app, asked, by).unwrap_err();
        assert!(twice.message.contains("already has an extension of 1h waiting"), "{}", twice.message);
        // Scheduled access may be extended before it starts.
        let scheduled = request(RequestState::Approved, Some(t0() + TimeDelta::hours(5)));
        assert!(ask(&app, scheduled, by).is_ok());
    }

    #[test]
    fn approvals_are_counted_and_one_denial_denies() {
        let mut app = app(ApprovalMode::ManualApprove, 0);
        app.policy.approvals_required = 2;
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        let (first, action) = approve(&app, asked, APPROVER);
        assert_eq!(action, Action::ApprovalGiven);
        assert_eq!(first.end(), Some(t0() + TimeDelta::hours(2)), "one of two approvals moves nothing");
        let again =
            decide(&NoDirectory, &app, &approver(APPROVER), first.clone(), true, "again", t0() + minutes(41));
        assert!(again.unwrap_err().message.contains("1 of 2 approvals"));
        let (both, action) = approve(&app, first.clone(), SECOND);
        assert_eq!((action, both.end()), (Action::ExtensionApproved, Some(t0() + TimeDelta::hours(3))));
        let (denied, action) =
            decide(&NoDirectory, &app, &approver(SECOND), first, false, "no", t0() + minutes(41)).unwrap();
        assert_eq!(action, Action::ExtensionDenied);
        assert_eq!(denied.extensions[0].state, ExtensionState::Denied);
        assert_eq!(denied.end(), Some(t0() + TimeDelta::hours(2)));
    }

    #[test]
    fn an_approval_after_the_deadline_or_the_end_is_refused() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        let late =
            decide(&NoDirectory, &app, &approver(APPROVER), asked.clone(), true, "r", t0() + minutes(90));
        assert!(late.unwrap_err().message.contains("lapsed"));
        let ended = AccessRequest { duration: Period::from_hours(1), ..asked };
        let after = decide(&NoDirectory, &app, &approver(APPROVER), ended, true, "r", t0() + minutes(60));
        assert!(after.unwrap_err().message.contains("already ended"));
    }

    #[test]
    fn the_ticker_lapses_an_undecided_extension_at_its_deadline_and_the_access_runs_on() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        assert_eq!(asked.deadline(), Some((t0() + minutes(90), DeadlineKind::ExtensionLapse)));
        assert_eq!(rules::advance(&asked, t0() + minutes(89)), None);
        let (lapsed, action) = rules::advance(&asked, t0() + minutes(90)).unwrap();
        assert_eq!(action, Action::ExtensionLapsed);
        assert_eq!(lapsed.state, RequestState::Approved);
        assert_eq!(lapsed.extensions[0].state, ExtensionState::Lapsed);
        assert_eq!(lapsed.extensions[0].decision.as_ref().map(|v| v.reason.as_str()), Some(NO_DECISION));
        assert_eq!(lapsed.deadline(), Some((t0() + TimeDelta::hours(2), DeadlineKind::End)));
    }

    #[test]
    fn an_extension_asked_near_the_end_lapses_with_the_access() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let asked =
            extend(&app, &requester(), grant(1), Period::from_hours(1), "r", t0() + minutes(50)).unwrap();
        let end = t0() + TimeDelta::hours(1);
        assert_eq!(asked.pending_extension().unwrap().1.decide_by, end, "never after the access ends");
        assert_eq!(
            asked.deadline(),
            Some((end, DeadlineKind::End)),
            "the end comes first and takes it along"
        );
        let (expired, action) = rules::advance(&asked, end).unwrap();
        assert_eq!((action, expired.state), (Action::AccessExpired, RequestState::Expired));
        assert_eq!(expired.extensions[0].state, ExtensionState::Lapsed);
        assert_eq!(expired.extensions[0].decision.as_ref().map(|v| v.reason.as_str()), Some(ACCESS_ENDED));
    }

    #[test]
    fn revoking_access_lapses_its_pending_extension() {
        let app = app(ApprovalMode::ManualApprove, 0);
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        let revoked =
            rules::revoke(&NoDirectory, &app, &approver(APPROVER), asked, "done", t0() + minutes(45))
                .unwrap();
        assert_eq!(revoked.state, RequestState::Revoked);
        assert_eq!(revoked.extensions[0].state, ExtensionState::Lapsed);
        assert_eq!(revoked.deadline(), None);
    }

    #[test]
    fn automatic_mode_approves_at_once_and_the_audit_names_each_extension() {
        let app = app(ApprovalMode::AutoApprove, 0);
        assert!(is_automatic(&app));
        let asked = ask(&app, grant(2), Period::from_hours(1)).unwrap();
        let approved = approve_automatically(asked, t0() + minutes(30));
        assert_eq!(approved.end(), Some(t0() + TimeDelta::hours(3)));
        let text = describe(0, &approved.extensions[0]);
        assert_eq!(text, "extension 1 (+1h) Approved");
        assert_eq!(described_index(&text), Some(0));
        assert_eq!(described_index("Approved"), None);
    }

    #[test]
    fn a_change_of_policy_judges_a_pending_extension_again() {
        let manual = app(ApprovalMode::ManualApprove, 0);
        let asked = ask(&manual, grant(2), Period::from_hours(1)).unwrap();
        let now = t0() + minutes(45);
        assert_eq!(reevaluate(&manual, &asked, now), None, "the same policy leaves it waiting");
        assert_eq!(reevaluate(&manual, &grant(2), now), None, "no extension, nothing to judge");

        let auto = app(ApprovalMode::AutoApprove, 0);
        let (approved, action) = reevaluate(&auto, &asked, now).expect("approved");
        assert_eq!(action, Action::ExtensionApproved);
        assert_eq!(approved.end(), Some(t0() + TimeDelta::hours(3)));
        let verdict = approved.extensions[0].decision.clone().unwrap();
        assert_eq!(
            (verdict.by.as_str(), verdict.at, verdict.reason.as_str()),
            (SYSTEM, now, POLICY_AUTO_REASON)
        );

        let mut shorter = app(ApprovalMode::AutoApprove, 0);
        shorter.policy.max_duration = Period::from_minutes(150);
        let (denied, action) = reevaluate(&shorter, &asked, now).expect("denied");
        assert_eq!(action, Action::ExtensionDenied);
        assert_eq!(denied.extensions[0].state, ExtensionState::Denied);
        assert_eq!(denied.end(), Some(t0() + TimeDelta::hours(2)), "a denial moves nothing");
        let reason = denied.extensions[0].decision.clone().unwrap().reason;
        assert_eq!(reason, "policy changed: at most 30m more: the maximum is 2h 30m and 2h is granted");

        // Past its deadline, or past the access's end, the ticker lapses it instead.
        assert_eq!(reevaluate(&auto, &asked, t0() + minutes(90)), None);
        let ending = ask(&manual, grant(1), Period::from_minutes(30)).unwrap();
        assert_eq!(reevaluate(&auto, &ending, t0() + minutes(60)), None);
    }

    #[test]
    fn fewer_approvals_required_approve_an_extension_that_has_them() {
        let mut two = app(ApprovalMode::ManualApprove, 0);
        two.policy.approvals_required = 2;
        let asked = ask(&two, grant(2), Period::from_hours(1)).unwrap();
        let (once, _) = approve(&two, asked.clone(), APPROVER);
        let now = t0() + minutes(45);
        assert_eq!(reevaluate(&two, &once, now), None, "one approval is not yet two");
        let mut one = two.clone();
        one.policy.approvals_required = 1;
        assert_eq!(reevaluate(&one, &asked, now), None, "an extension without approvals still waits");
        let (approved, action) = reevaluate(&one, &once, now).expect("approved");
        assert_eq!(action, Action::ExtensionApproved);
        let reason = approved.extensions[0].decision.clone().unwrap().reason;
        assert_eq!(reason, "policy changed: 1 of 1 approval now enough");
    }
}
