//! The notices the ticker and a change of JIT settings give, through the public async engine on a
//! real store file and a manual clock: the warning that access ends soon (once per grant, across
//! restarts and a ticker that was down, never after a revocation or the end), and the notice of a
//! policy change to the application's approvers and open requesters, which names no request.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tempfile::TempDir;

use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange};
use jitdesk::domain::time_style::TimeStyle;
use jitdesk::domain::{Action, ApprovalMode, License, Notification, Paging, Period, TenantKind};
use jitdesk::engine::{Decide, Engine, ManualClock, OpenMode, Revoke, SetPolicy, Viewer};

pub(super) const ADMIN: &str = "admin@contoso.com";
pub(super) const ALICE: &str = "alice@contoso.com";
pub(super) const BOB: &str = "bob@contoso.com";
pub(super) const CAROL: &str = "carol@contoso.com";
pub(super) const PAT: &str = "pat@fabrikam.com";
pub(super) const PAUL: &str = "paul@fabrikam.com";
pub(super) const PEG: &str = "peg@fabrikam.com";
pub(super) const APP: &str = "crm";

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 2, 8, 0, 0).unwrap()
}

pub(super) fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

pub(super) fn user(upn: &str) -> Actor {
    Actor::User(upn.to_string())
}

pub(super) struct World {
    _dir: TempDir,
    path: PathBuf,
    pub(super) clock: Arc<ManualClock>,
    pub(super) engine: Engine,
}

impl World {
    /// Moves the clock and lets the ticker run everything due.
    pub(super) async fn at(&self, at: DateTime<Utc>) {
        self.clock.set(at);
        self.engine.sync().await.unwrap();
    }

    /// Closes the engine and opens the store again at `at`, as a restart after downtime does.
    pub(super) async fn restart_at(self, at: DateTime<Utc>) -> World {
        self.engine.close().await.unwrap();
        self.clock.set(at);
        let engine = Engine::open(&self.path, OpenMode::Existing, self.clock.clone()).await.unwrap();
        World { engine, ..self }
    }

    pub(super) async fn notes(&self, upn: &str) -> Vec<Notification> {
        self.engine.notifications(upn, Paging::first(1000)).await.unwrap().items
    }

    /// The ending-soon notices a user has.
    pub(super) async fn warnings(&self, upn: &str) -> Vec<Notification> {
        self.notes(upn).await.into_iter().filter(|n| n.action == Action::AccessEndingSoon).collect()
    }

    pub(super) async fn actions(&self, id: u64) -> Vec<Action> {
        let history = self.engine.request(&Viewer::Operator, id).await.unwrap().history;
        history.iter().map(|r| r.action).collect()
    }

    /// A request by `by` for `duration`, approved by Alice at once: access from now.
    pub(super) async fn granted(&self, by: &str, duration: Period) -> u64 {
        let asked = NewRequest {
            app: APP.into(),
            roles: vec!["Owner".into()],
            start: None,
            duration,
            justification: "incident 42".into(),
            ticket: None,
        };
        let r = self.engine.run(&user(by), asked).await.unwrap();
        let decide = Decide { id: r.id, approve: true, reason: "go ahead".into() };
        self.engine.run(&user(ALICE), decide).await.unwrap();
        r.id
    }
}

/// Contoso (customer) with an admin and three users, Alice and Bob approving `crm` by hand;
/// Fabrikam (publisher) with three requesters.
pub(super) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jit.redb");
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::open(&path, OpenMode::Create, clock.clone()).await.unwrap();
    let op = Actor::Operator("tester".into());
    for (id, kind, license) in
        [("contoso", TenantKind::Customer, Some(License::P2)), ("fabrikam", TenantKind::Publisher, None)]
    {
        engine.run(&op, NewTenant { id: id.into(), kind, name: None, license }).await.unwrap();
    }
    for (upn, tenant, admin) in [
        (ADMIN, "contoso", true),
        (ALICE, "contoso", false),
        (BOB, "contoso", false),
        (CAROL, "contoso", false),
        (PAT, "fabrikam", false),
        (PAUL, "fabrikam", false),
        (PEG, "fabrikam", false),
    ] {
        let new = NewUser {
            upn: upn.into(),
            tenant: tenant.into(),
            name: None,
            admin,
            login: None,
            object_id: None,
        };
        engine.run(&op, new).await.unwrap();
    }
    let offer = NewOffer { id: "vault".into(), name: "Vault".into(), jit_available: true, roles: vec![] };
    engine.run(&user(PAT), offer).await.unwrap();
    let deploy = Deployment {
        name: APP.into(),
        offer: "vault".into(),
        mode: Some(ApprovalMode::ManualApprove),
        approvers: vec![ALICE.into(), BOB.into()],
        ..Deployment::default()
    };
    engine.run(&user(ADMIN), deploy).await.unwrap();
    World { _dir: dir, path, clock, engine }
}

#[tokio::test]
async fn the_requester_is_told_once_ten_minutes_before_their_access_ends() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    let end = t0() + minutes(60);
    w.at(end - minutes(10) - TimeDelta::seconds(1)).await;
    assert!(w.warnings(PAT).await.is_empty(), "not before ten minutes to the end");

    w.at(end - minutes(10)).await;
    let told = w.warnings(PAT).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let warning = &told[0];
    assert_eq!((warning.request, warning.app.as_str(), warning.at), (Some(id), APP, end - minutes(10)));
    let until = TimeStyle::utc().full(end);
    assert_eq!(warning.message, format!("your access to {APP} (request {id}) ends at {until}"));
    let history = w.engine.request(&Viewer::Operator, id).await.unwrap().history;
    let record = history.iter().find(|r| r.action == Action::AccessEndingSoon).expect("an audit record");
    assert_eq!((record.actor.as_str(), record.at), ("system", end - minutes(10)));
    for approver in [ALICE, BOB] {
        assert!(w.warnings(approver).await.is_empty(), "{approver} is not told");
    }

    w.at(end - minutes(5)).await;
    w.at(end).await;
    assert_eq!(w.warnings(PAT).await.len(), 1, "once");
    assert_eq!(
        w.actions(id).await,
        [Action::RequestCreated, Action::RequestApproved, Action::AccessEndingSoon, Action::AccessExpired]
    );
}

#[tokio::test]
async fn revoked_access_gets_no_warning() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    w.at(t0() + minutes(20)).await;
    w.engine.run(&user(ALICE), Revoke { id, reason: "done early".into() }).await.unwrap();
    w.at(t0() + minutes(50)).await;
    w.at(t0() + minutes(70)).await;
    assert!(w.warnings(PAT).await.is_empty());
    assert!(!w.actions(id).await.contains(&Action::AccessEndingSoon));
}

#[tokio::test]
async fn a_warning_given_is_not_given_again_after_a_restart() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    w.at(t0() + minutes(51)).await;
    assert_eq!(w.warnings(PAT).await.len(), 1);
    let w = w.restart_at(t0() + minutes(55)).await;
    let w = w.restart_at(t0() + minutes(56)).await;
    assert_eq!(w.warnings(PAT).await.len(), 1, "not twice across reopens");
    let actions = w.actions(id).await;
    assert_eq!(actions.iter().filter(|a| **a == Action::AccessEndingSoon).count(), 1, "{actions:?}");
}

#[tokio::test]
async fn a_ticker_down_through_the_warning_time_warns_when_it_comes_back() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    let w = w.restart_at(t0() + minutes(55)).await;
    let told = w.warnings(PAT).await;
    assert_eq!(told.len(), 1, "given late, once");
    assert_eq!(told[0].at, t0() + minutes(55), "when the ticker came back");
    let w = w.restart_at(t0() + minutes(58)).await;
    assert_eq!(w.warnings(PAT).await.len(), 1);
    assert_eq!(w.actions(id).await.last(), Some(&Action::AccessEndingSoon));
}

#[tokio::test]
async fn a_ticker_down_past_the_end_gives_only_the_expiry() {
    let w = world().await;
    let id = w.granted(PAT, Period::from_hours(1)).await;
    let w = w.restart_at(t0() + minutes(90)).await;
    assert!(w.warnings(PAT).await.is_empty());
    assert_eq!(w.actions(id).await, [Action::RequestCreated, Action::RequestApproved, Action::AccessExpired]);
}

#[tokio::test]
async fn scheduled_access_caught_up_late_starts_before_it_is_warned() {
    let w = world().await;
    let asked = NewRequest {
        app: APP.into(),
        roles: vec!["Owner".into()],
        start: Some(t0() + minutes(60)),
        duration: Period::from_hours(1),
        justification: "planned change".into(),
        ticket: None,
    };
    let r = w.engine.run(&user(PAT), asked).await.unwrap();
    w.engine.run(&user(ALICE), Decide { id: r.id, approve: true, reason: "ok".into() }).await.unwrap();
    let w = w.restart_at(t0() + minutes(115)).await;
    assert_eq!(
        w.actions(r.id).await,
        [Action::RequestCreated, Action::RequestApproved, Action::AccessStarted, Action::AccessEndingSoon]
    );
}

#[tokio::test]
async fn a_grant_of_ten_minutes_or_less_is_not_warned_and_a_longer_one_is() {
    let w = world().await;
    let short = w.granted(PAT, Period::parse("10m").unwrap()).await;
    let longer = w.granted(PAUL, Period::parse("11m").unwrap()).await;
    w.at(t0() + minutes(1)).await;
    assert!(w.warnings(PAT).await.is_empty(), "its start said when it ends");
    assert_eq!(w.warnings(PAUL).await.len(), 1, "eleven minutes: warned a minute in");
    w.at(t0() + minutes(15)).await;
    assert!(!w.actions(short).await.contains(&Action::AccessEndingSoon));
    assert_eq!(w.actions(longer).await.last(), Some(&Action::AccessExpired));
}

#[tokio::test]
async fn a_policy_change_tells_the_approvers_before_and_after_and_the_open_requesters_once_each() {
    let w = world().await;
    let e = &w.engine;
    // Pat: one running grant and one pending request; Paul: a pending request; Peg: denied only.
    w.granted(PAT, Period::from_hours(4)).await;
    let later = || NewRequest {
        app: APP.into(),
        roles: vec!["Owner".into()],
        start: Some(t0() + minutes(300)),
        duration: Period::from_hours(1),
        justification: "later".into(),
        ticket: None,
    };
    e.run(&user(PAT), later()).await.unwrap();
    e.run(&user(PAUL), later()).await.unwrap();
    let peg = e.run(&user(PEG), later()).await.unwrap();
    e.run(&user(BOB), Decide { id: peg.id, approve: false, reason: "no".into() }).await.unwrap();

    let change = PolicyChange {
        add_approvers: vec![CAROL.into()],
        remove_approvers: vec![BOB.into()],
        max_duration: Some(Period::from_hours(6)),
        ..PolicyChange::default()
    };
    e.run(&user(ADMIN), SetPolicy { app: APP.into(), change }).await.unwrap();

    let policy_notes = |notes: Vec<Notification>| -> Vec<Notification> {
        notes.into_iter().filter(|n| n.action == Action::PolicyChanged).collect()
    };
    for upn in [ALICE, BOB, CAROL, PAT, PAUL] {
        let told = policy_notes(w.notes(upn).await);
        assert_eq!(told.len(), 1, "{upn} is told once: {told:?}");
        let n = &told[0];
        assert_eq!((n.request, n.app.as_str(), n.to.as_str()), (None, APP, upn));
        assert_eq!(
            n.message,
            format!(
                "JIT settings of {APP} changed by {ADMIN}: max {} (was {}); approvers added: {CAROL}; \
                 approvers removed: {BOB}",
                Period::from_hours(6).iso(),
                Period::from_hours(8).iso()
            )
        );
        let json = serde_json::to_value(n).unwrap();
        assert!(json["request"].is_null(), "its JSON names no request: {json}");
    }
    for upn in [ADMIN, PEG] {
        assert!(policy_notes(w.notes(upn).await).is_empty(), "{upn} is not told");
    }
}
