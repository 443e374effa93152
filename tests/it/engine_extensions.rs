//! Extending a grant through the public async engine on a real store file and a manual clock:
//! the grant's end moves when an extension is approved, so expiry follows the new end and the
//! ending-soon warning is owed again; automatic mode approves at once; an undecided extension
//! lapses at its deadline (across a restart) or with a revocation; and each move leaves its audit
//! record and tells the people it concerns.

use jitdesk::domain::rules::PolicyChange;
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::domain::{Action, ApprovalMode, ExtensionState, Period, RequestState};
use jitdesk::engine::{DecideExtension, Extend, Revoke, SetPolicy, Viewer};

use super::engine_notices::{ADMIN, ALICE, APP, BOB, PAT, World, minutes, t0, user, world};

fn extend(id: u64, by: &str) -> Extend {
    Extend { id, by: Period::parse(by).unwrap(), reason: "the migration runs long".into() }
}

fn approve(id: u64) -> DecideExtension {
    DecideExtension { id, approve: true, reason: "go on".into() }
}

impl World {
    async fn set_policy(&self, change: PolicyChange) {
        self.engine.run(&user(ADMIN), SetPolicy { app: APP.into(), change }).await.unwrap();
    }

    async fn told(&self, upn: &str, action: Action) -> Vec<String> {
        self.notes(upn).await.into_iter().filter(|n| n.action == action).map(|n| n.message).collect()
    }
}

#[tokio::test]
async fn an_approved_extension_moves_the_end_the_expiry_and_the_warning() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    w.at(t0() + minutes(50)).await;
    assert_eq!(w.warnings(PAT).await.len(), 1, "warned of the first end");

    w.clock.set(t0() + minutes(52));
    let asked = w.engine.run(&user(PAT), extend(id, "1h")).await.unwrap();
    assert_eq!(asked.end(), Some(t0() + minutes(60)), "asking moves nothing");
    for approver in [ALICE, BOB] {
        let told = w.told(approver, Action::ExtensionAsked).await;
        assert_eq!(
            told,
            [format!("{PAT} asks for 1h more on request {id} on {APP}: the migration runs long")]
        );
    }

    w.clock.set(t0() + minutes(53));
    let approved = w.engine.run(&user(BOB), approve(id)).await.unwrap();
    let end = t0() + minutes(120);
    assert_eq!(approved.end(), Some(end));
    let until = TimeStyle::utc().full(end);
    assert_eq!(
        w.told(PAT, Action::ExtensionApproved).await,
        [format!("extension of request {id} on {APP} approved by {BOB}: go on; access now until {until}")]
    );

    w.at(t0() + minutes(61)).await;
    let running = w.engine.request(&Viewer::Operator, id).await.unwrap().request;
    assert_eq!(running.state, RequestState::Approved, "not expired at the old end");
    w.at(end - minutes(10)).await;
    let warnings = w.warnings(PAT).await;
    assert_eq!(warnings.len(), 2, "the new end is warned of again");
    assert_eq!(warnings[0].message, format!("your access to {APP} (request {id}) ends at {until}"));
    w.at(end).await;
    assert_eq!(
        w.actions(id).await,
        [
            Action::RequestCreated,
            Action::RequestApproved,
            Action::AccessEndingSoon,
            Action::ExtensionAsked,
            Action::ExtensionApproved,
            Action::AccessEndingSoon,
            Action::AccessExpired
        ]
    );
    let history = w.engine.request(&Viewer::Operator, id).await.unwrap().history;
    let decided = history.iter().find(|r| r.action == Action::ExtensionApproved).unwrap();
    assert_eq!((decided.actor.as_str(), decided.reason.as_deref()), (BOB, Some("go on")));
    assert_eq!(decided.before.as_deref(), Some("extension 1 (+1h) Pending"));
    assert_eq!(decided.after.as_deref(), Some("extension 1 (+1h) Approved"));
}

#[tokio::test]
async fn automatic_mode_approves_an_extension_at_once_within_the_maximum() {
    let w = world().await;
    let id = w.granted(PAT, Period::parse("7h").unwrap()).await;
    w.set_policy(PolicyChange { mode: Some(ApprovalMode::AutoApprove), ..PolicyChange::default() }).await;
    let extended = w.engine.run(&user(PAT), extend(id, "45m")).await.unwrap();
    assert_eq!(extended.extensions[0].state, ExtensionState::Approved);
    assert_eq!(extended.end(), Some(t0() + minutes(7 * 60 + 45)));
    let history = w.engine.request(&Viewer::Operator, id).await.unwrap().history;
    let last: Vec<(Action, &str)> =
        history.iter().rev().take(2).rev().map(|r| (r.action, r.actor.as_str())).collect();
    assert_eq!(last, [(Action::ExtensionAsked, PAT), (Action::ExtensionApproved, "system")]);
    let refused = w.engine.run(&user(PAT), extend(id, "30m")).await.unwrap_err();
    assert_eq!(refused.to_string(), "at most 15m more: the maximum is 8h and 7h 45m is granted");
    let after = w.engine.request(&Viewer::Operator, id).await.unwrap().request;
    assert_eq!(after.extensions.len(), 1, "a refusal changes nothing");
}

#[tokio::test]
async fn an_undecided_extension_lapses_at_its_deadline_even_across_a_restart() {
    let w = world().await;
    let timeout = Period::from_minutes(30);
    w.set_policy(PolicyChange { request_timeout: Some(timeout), ..PolicyChange::default() }).await;
    let id = w.granted(PAT, Period::from_hours(2)).await;
    w.clock.set(t0() + minutes(10));
    w.engine.run(&user(PAT), extend(id, "1h")).await.unwrap();
    let w = w.restart_at(t0() + minutes(40)).await;
    let lapsed = w.engine.request(&Viewer::Operator, id).await.unwrap();
    assert_eq!(lapsed.request.state, RequestState::Approved, "the access runs on");
    assert_eq!(lapsed.request.extensions[0].state, ExtensionState::Lapsed);
    assert_eq!(lapsed.request.end(), Some(t0() + minutes(120)));
    let record = lapsed.history.last().unwrap();
    assert_eq!(
        (record.action, record.actor.as_str(), record.at),
        (Action::ExtensionLapsed, "system", t0() + minutes(40))
    );
    assert_eq!(w.told(PAT, Action::ExtensionLapsed).await.len(), 1);
    let late = w.engine.run(&user(ALICE), approve(id)).await.unwrap_err();
    assert!(late.to_string().contains("no extension waiting"), "{late}");
    // Another may be asked now.
    w.engine.run(&user(PAT), extend(id, "1h")).await.unwrap();
}

#[tokio::test]
async fn revoking_access_lapses_its_pending_extension_and_approving_it_then_is_refused() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    w.engine.run(&user(PAT), extend(id, "30m")).await.unwrap();
    let twice = w.engine.run(&user(PAT), extend(id, "30m")).await.unwrap_err();
    assert!(twice.to_string().contains("already has an extension"), "{twice}");
    w.clock.set(t0() + minutes(5));
    w.engine.run(&user(ALICE), Revoke { id, reason: "done".into() }).await.unwrap();
    let revoked = w.engine.request(&Viewer::Operator, id).await.unwrap();
    assert_eq!(revoked.request.extensions[0].state, ExtensionState::Lapsed);
    let actions: Vec<Action> = revoked.history.iter().map(|r| r.action).collect();
    assert_eq!(actions[actions.len() - 2..], [Action::AccessRevoked, Action::ExtensionLapsed]);
    let refused = w.engine.run(&user(BOB), approve(id)).await.unwrap_err();
    assert!(refused.to_string().contains("it is Revoked"), "{refused}");
}

#[tokio::test]
async fn a_change_of_policy_approves_or_denies_a_pending_extension_in_the_same_transaction() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(2)).await;
    w.clock.set(t0() + minutes(10));
    w.engine.run(&user(PAT), extend(id, "1h")).await.unwrap();
    w.set_policy(PolicyChange { mode: Some(ApprovalMode::AutoApprove), ..PolicyChange::default() }).await;
    let approved = w.engine.request(&Viewer::Operator, id).await.unwrap();
    assert_eq!(approved.request.extensions[0].state, ExtensionState::Approved);
    assert_eq!(approved.request.end(), Some(t0() + minutes(180)));
    let record = approved.history.last().unwrap();
    assert_eq!((record.action, record.actor.as_str()), (Action::ExtensionApproved, "system"));
    assert_eq!(w.told(PAT, Action::ExtensionApproved).await.len(), 1, "the requester hears of it");
    w.at(t0() + minutes(121)).await;
    let running = w.engine.request(&Viewer::Operator, id).await.unwrap().request;
    assert_eq!(running.state, RequestState::Approved, "the expiry follows the new end");

    // A maximum lowered below what the next extension would make denies it.
    w.set_policy(PolicyChange { mode: Some(ApprovalMode::ManualApprove), ..PolicyChange::default() }).await;
    w.engine.run(&user(PAT), extend(id, "1h")).await.unwrap();
    let max = Some(Period::from_hours(3));
    w.set_policy(PolicyChange { max_duration: max, ..PolicyChange::default() }).await;
    let denied = w.engine.request(&Viewer::Operator, id).await.unwrap();
    assert_eq!(denied.request.extensions[1].state, ExtensionState::Denied);
    assert_eq!(denied.request.end(), Some(t0() + minutes(180)), "a denial moves nothing");
    let record = denied.history.last().unwrap();
    assert_eq!((record.action, record.actor.as_str()), (Action::ExtensionDenied, "system"));
    assert!(record.reason.as_deref().is_some_and(|r| r.starts_with("policy changed: ")), "{record:?}");
}
