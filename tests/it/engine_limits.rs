//! The per-requester limits as engine rules, on a manual clock: when a limit is reached, when it
//! lifts (exactly the time the refusal gives), what counts toward them (a requester's own requests,
//! withdrawn ones included), and that an engine nobody gave limits has none.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use jitdesk::domain::{ApprovalMode, ErrorKind, License, Period, RequestState, TenantKind};
use jitdesk::engine::{Cancel, Engine, Limits, ManualClock, Viewer};
use jitdesk::engine::{Error, OpenMode};

const ADMIN: &str = "admin@contoso.com";
const ALICE: &str = "alice@contoso.com";
const PAT: &str = "pat@fabrikam.com";
const PAUL: &str = "paul@fabrikam.com";
const MANUAL: &str = "manual-app";
const AUTO: &str = "auto-app";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 8, 0, 0).unwrap()
}

fn user(upn: &str) -> Actor {
    Actor::User(upn.to_string())
}

fn ask(app: &str, hours: i64) -> NewRequest {
    NewRequest {
        app: app.to_string(),
        roles: vec!["Owner".to_string()],
        start: None,
        duration: Period::from_hours(hours),
        justification: "incident 42".to_string(),
        ticket: None,
    }
}

/// Contoso (customer) with an admin and an approver, Fabrikam (publisher) with Pat, a manual and an
/// automatic application; the engine keeps its directory alive with the temp folder.
async fn world() -> (tempfile::TempDir, Arc<ManualClock>, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let e = Engine::open(&dir.path().join("jit.redb"), OpenMode::Create, clock.clone()).await.unwrap();
    let operator = Actor::Operator("tester".into());
    for (id, kind, license) in
        [("contoso", TenantKind::Customer, Some(License::P2)), ("fabrikam", TenantKind::Publisher, None)]
    {
        e.run(&operator, NewTenant { id: id.into(), kind, name: None, license }).await.unwrap();
    }
    for (upn, tenant, admin) in
        [(ADMIN, "contoso", true), (ALICE, "contoso", false), (PAT, "fabrikam", false)]
    {
        let new = NewUser {
            upn: upn.into(),
            tenant: tenant.into(),
            name: None,
            admin,
            login: None,
            object_id: None,
        };
        e.run(&operator, new).await.unwrap();
    }
    let offer = NewOffer {
        id: "vault".into(),
        name: "Vault".into(),
        jit_available: true,
        roles: vec!["Owner".into()],
    };
    e.run(&user(PAT), offer).await.unwrap();
    for (name, mode) in [(MANUAL, ApprovalMode::ManualApprove), (AUTO, ApprovalMode::AutoApprove)] {
        let deployment = Deployment {
            name: name.into(),
            offer: "vault".into(),
            mode: Some(mode),
            approvers: vec![ALICE.into()],
            ..Deployment::default()
        };
        e.run(&user(ADMIN), deployment).await.unwrap();
    }
    (dir, clock, e)
}

/// The refusal of a limit: its kind, and the time it names as when to try again.
fn limited(result: jitdesk::Result<jitdesk::domain::AccessRequest>) -> DateTime<Utc> {
    match result {
        Err(Error::Rule(rule)) => {
            assert_eq!(rule.kind, ErrorKind::Limited, "{}", rule.message);
            let at = rule.retry_at.expect("a time to try again");
            let shown = at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
            assert!(rule.message.contains(&format!("try again after {shown}")), "{}", rule.message);
            at
        }
        other => panic!("expected a limit, got {other:?}"),
    }
}

#[tokio::test]
async fn the_rate_lifts_an_hour_after_the_oldest_request_it_counts() {
    let (_dir, clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 2, live_grants: 100 });
    e.run(&user(PAT), ask(AUTO, 1)).await.unwrap();
    clock.advance(TimeDelta::minutes(10));
    e.run(&user(PAT), ask(AUTO, 1)).await.unwrap();
    clock.advance(TimeDelta::minutes(10));
    let retry = limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    assert_eq!(retry, t0() + TimeDelta::hours(1));
    clock.advance(retry - e.now() - TimeDelta::milliseconds(1));
    limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    clock.advance(TimeDelta::milliseconds(1));
    e.run(&user(PAT), ask(AUTO, 1)).await.expect("allowed again at the time given");
}

#[tokio::test]
async fn the_cap_on_open_requests_lifts_when_the_first_ends() {
    let (_dir, clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 100, live_grants: 2 });
    let short = e.run(&user(PAT), ask(AUTO, 1)).await.unwrap();
    e.run(&user(PAT), ask(AUTO, 3)).await.unwrap();
    let retry = limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    assert_eq!(Some(retry), short.end(), "the shorter grant ends first");
    clock.advance(TimeDelta::hours(1));
    e.sync().await.unwrap();
    assert_eq!(e.request(&Viewer::Operator, short.id).await.unwrap().request.state, RequestState::Expired);
    e.run(&user(PAT), ask(AUTO, 1)).await.expect("room again once a grant ended");
}

#[tokio::test]
async fn a_pending_request_holds_a_place_until_it_must_be_decided() {
    let (_dir, _clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 100, live_grants: 1 });
    let pending = e.run(&user(PAT), ask(MANUAL, 1)).await.unwrap();
    assert_eq!(pending.state, RequestState::Pending);
    let retry = limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    assert_eq!(retry, pending.decide_by);
    // Nothing was stored for the refused request.
    assert_eq!(
        e.run(&user(PAT), ask(AUTO, 1)).await.map(|_| ()).unwrap_err().kind(),
        Some(ErrorKind::Limited)
    );
    assert!(e.request(&Viewer::Operator, pending.id + 1).await.is_err(), "no request behind a refusal");
}

#[tokio::test]
async fn an_engine_given_no_limits_has_none() {
    let (_dir, _clock, e) = world().await;
    let made = Limits::default().live_grants.max(Limits::default().requests_per_hour) + 5;
    for _ in 0..made {
        e.run(&user(PAT), ask(AUTO, 1)).await.expect("programs that load data are not limited");
    }
}

#[tokio::test]
async fn only_the_requesters_own_open_requests_take_their_places() {
    let (_dir, _clock, e) = world().await;
    let operator = Actor::Operator("tester".into());
    let quinn = "quinn@fabrikam.com";
    let new = NewUser {
        upn: quinn.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
    e.run(&operator, new).await.unwrap();
    // Someone else's pending request and grant, on both applications, count for them alone.
    e.run(&user(quinn), ask(MANUAL, 1)).await.unwrap();
    e.run(&user(quinn), ask(AUTO, 1)).await.unwrap();
    e.set_limits(Limits { requests_per_hour: 100, live_grants: 1 });
    let first = e.run(&user(PAT), ask(AUTO, 1)).await.expect("pat holds nothing yet");
    let retry = limited(e.run(&user(PAT), ask(MANUAL, 1)).await);
    assert_eq!(Some(retry), first.end(), "pat's own grant holds the place");
}

#[tokio::test]
async fn the_rate_counts_the_last_hour_only_even_while_older_access_goes_on() {
    let (_dir, clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 1, live_grants: 100 });
    let first = e.run(&user(PAT), ask(AUTO, 3)).await.unwrap();
    let retry = limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    assert_eq!(retry, first.created_at + TimeDelta::hours(1));
    clock.advance(retry - e.now());
    e.sync().await.unwrap();
    let still = e.request(&Viewer::Operator, first.id).await.unwrap().request;
    assert!(still.is_active(e.now()), "the first grant goes on");
    e.run(&user(PAT), ask(AUTO, 1)).await.expect("an hour after it, the first request no longer counts");
}

#[tokio::test]
async fn an_open_grant_holds_its_place_after_the_hour_the_rate_counts() {
    let (_dir, clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 100, live_grants: 1 });
    let long = e.run(&user(PAT), ask(AUTO, 3)).await.unwrap();
    clock.advance(TimeDelta::hours(2));
    let retry = limited(e.run(&user(PAT), ask(AUTO, 1)).await);
    assert_eq!(Some(retry), long.end(), "the place frees when the grant ends");
}

#[tokio::test]
async fn each_requester_has_limits_of_their_own() {
    let (_dir, _clock, e) = world().await;
    let operator = Actor::Operator("tester".into());
    let other = NewUser {
        upn: PAUL.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
    e.run(&operator, other).await.unwrap();
    e.set_limits(Limits { requests_per_hour: 1, live_grants: 1 });
    e.run(&user(PAT), ask(AUTO, 1)).await.unwrap();
    e.run(&user(PAUL), ask(AUTO, 1)).await.expect("Pat's request does not count against Paul");
    limited(e.run(&user(PAT), ask(AUTO, 1)).await);
}

#[tokio::test]
async fn requests_withdrawn_within_the_hour_still_count_toward_the_rate() {
    let (_dir, _clock, e) = world().await;
    e.set_limits(Limits { requests_per_hour: 1, live_grants: 100 });
    let first = e.run(&user(PAT), ask(MANUAL, 1)).await.unwrap();
    let canceled = e.run(&user(PAT), Cancel { id: first.id }).await.unwrap();
    assert_eq!(canceled.state, RequestState::Canceled);
    let retry = limited(e.run(&user(PAT), ask(MANUAL, 1)).await);
    assert_eq!(
        retry,
        first.created_at + TimeDelta::hours(1),
        "asking and withdrawing in a loop is still asking"
    );
}
