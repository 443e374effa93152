//! The README's "Security model" table, read from README.md and run cell by cell against the engine:
//! each allowed cell must succeed and each refused one must be refused with the kind the table promises,
//! so the documentation cannot drift from the rules.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tempfile::TempDir;

use jitdesk::domain::groups::NewGroup;
use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser, PolicyChange};
use jitdesk::domain::{ApprovalMode, ErrorKind, License, Paging, Period, TenantKind};
use jitdesk::engine::{AddMembers, OpenMode};
use jitdesk::engine::{
    Cancel, Decide, DecideExtension, Engine, Extend, ManualClock, Revoke, SetPolicy, Viewer,
};

use crate::common::table::{Cell, table};

const APP: &str = "vault-prod";
const ADMIN: &str = "admin@contoso.com";
const APPROVER: &str = "approver@contoso.com";
/// An approver through a group: a member of `approvers`, the group the application also lists.
const MEMBER: &str = "member@contoso.com";
const CUSTOMER: &str = "user@contoso.com";
const PUBLISHER: &str = "pat@fabrikam.com";
/// Another publisher user, whose requests the roles act on.
const PAUL: &str = "paul@fabrikam.com";
/// "Other tenant" is tried as a user of another publisher and a user of another customer.
const OTHERS: [&str; 2] = ["olga@litware.com", "wes@woodgrove.com"];

fn user(upn: &str) -> Actor {
    Actor::User(upn.to_string())
}

fn operator() -> Actor {
    Actor::Operator("root".to_string())
}

/// A fresh store per cell, so that no cell depends on another: contoso deploys `APP` from fabrikam's
/// offer with manual approval by APPROVER and the members of group `approvers` (MEMBER); Paul has
/// one grant, with an extension waiting for a decision, and one pending request on it.
struct World {
    _dir: TempDir,
    engine: Engine,
    pending: u64,
    granted: u64,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()));
    let engine = Engine::open(&dir.path().join("s.redb"), OpenMode::Create, clock).await.unwrap();
    let e = &engine;
    for (id, kind) in [
        ("contoso", TenantKind::Customer),
        ("woodgrove", TenantKind::Customer),
        ("fabrikam", TenantKind::Publisher),
        ("litware", TenantKind::Publisher),
    ] {
        let license = (kind == TenantKind::Customer).then_some(License::P2);
        e.run(&operator(), NewTenant { id: id.into(), kind, name: None, license }).await.unwrap();
    }
    for (upn, admin) in [
        (ADMIN, true),
        (APPROVER, false),
        (MEMBER, false),
        (CUSTOMER, false),
        (PUBLISHER, false),
        (PAUL, false),
        (OTHERS[0], false),
        (OTHERS[1], false),
    ] {
        let tenant = upn.split(['@', '.']).nth(1).unwrap().to_string();
        e.run(
            &operator(),
            NewUser { upn: upn.into(), tenant, name: None, admin, login: None, object_id: None },
        )
        .await
        .unwrap();
    }
    let group = NewGroup { id: "approvers".into(), tenant: "contoso".into(), name: None, object_id: None };
    e.run(&user(ADMIN), group).await.unwrap();
    e.run(&user(ADMIN), AddMembers { group: "approvers".into(), upns: vec![MEMBER.into()] }).await.unwrap();
    let offer = NewOffer { id: "vault".into(), name: "Vault".into(), jit_available: true, roles: Vec::new() };
    e.run(&user(PUBLISHER), offer).await.unwrap();
    let app = Deployment {
        name: APP.into(),
        offer: "vault".into(),
        mode: Some(ApprovalMode::ManualApprove),
        approvers: vec![APPROVER.into(), "approvers".into()],
        ..Deployment::default()
    };
    e.run(&user(ADMIN), app).await.unwrap();
    let granted = e.run(&user(PAUL), ask()).await.unwrap().id;
    e.run(&user(APPROVER), decide(granted, true)).await.unwrap();
    e.run(&user(PAUL), extend(granted)).await.unwrap();
    let pending = e.run(&user(PAUL), ask()).await.unwrap().id;
    World { _dir: dir, engine, pending, granted }
}

fn ask() -> NewRequest {
    NewRequest {
        app: APP.into(),
        roles: vec!["Owner".into()],
        start: None,
        duration: Period::from_hours(1),
        justification: "table".into(),
        ticket: None,
    }
}

fn decide(id: u64, approve: bool) -> Decide {
    Decide { id, approve, reason: "table".into() }
}

fn extend(id: u64) -> Extend {
    Extend { id, by: Period::from_hours(1), reason: "table".into() }
}

fn decide_extension(id: u64, approve: bool) -> DecideExtension {
    DecideExtension { id, approve, reason: "table".into() }
}

/// The outcome of one action: Ok, or the kind of refusal.
type Outcome = Result<(), ErrorKind>;

fn outcome<T>(result: jitdesk::Result<T>) -> Outcome {
    result.map(drop).map_err(|e| e.kind().unwrap_or_else(|| panic!("a store failure, not a rule: {e}")))
}

/// Runs one action as `who` on a fresh world; every outcome it produced (some actions try more than
/// one target, and `own` compares the caller's own request with someone else's).
async fn run(action: &str, who: &Actor) -> Vec<Outcome> {
    let w = world().await;
    let e = &w.engine;
    match action {
        "manage the directory" => {
            let tenant =
                NewTenant { id: "new".into(), kind: TenantKind::Publisher, name: None, license: None };
            vec![outcome(e.run(who, tenant).await)]
        }
        "deploy" => {
            let app = Deployment { name: "another".into(), offer: "vault".into(), ..Deployment::default() };
            vec![outcome(e.run(who, app).await)]
        }
        "change policy" => {
            let change =
                PolicyChange { max_duration: Some(Period::from_hours(2)), ..PolicyChange::default() };
            vec![outcome(e.run(who, SetPolicy { app: APP.into(), change }).await)]
        }
        "request" => vec![outcome(e.run(who, ask()).await)],
        "approve/deny" => {
            // Each on its own world: after one decision the other would meet a decided request.
            let other = world().await;
            let deny = outcome(other.engine.run(who, decide(other.pending, false)).await);
            vec![outcome(e.run(who, decide(w.pending, true)).await), deny]
        }
        "cancel" => {
            // The caller's own pending request, when they may have one, then somebody else's.
            let own = match e.run(who, ask()).await {
                Ok(mine) => vec![outcome(e.run(who, Cancel { id: mine.id }).await)],
                Err(_) => Vec::new(),
            };
            [own, vec![outcome(e.run(who, Cancel { id: w.pending }).await)]].concat()
        }
        "revoke" => vec![outcome(e.run(who, Revoke { id: w.granted, reason: "table".into() }).await)],
        "extend" => {
            // The caller's own grant, when they may have one, then somebody else's.
            let own = match e.run(who, ask()).await {
                Ok(mine) => {
                    e.run(&user(APPROVER), decide(mine.id, true)).await.unwrap();
                    vec![outcome(e.run(who, extend(mine.id)).await)]
                }
                Err(_) => Vec::new(),
            };
            [own, vec![outcome(e.run(who, extend(w.granted)).await)]].concat()
        }
        "decide an extension" => {
            // Each on its own world, as for requests.
            let other = world().await;
            let deny = outcome(other.engine.run(who, decide_extension(other.granted, false)).await);
            vec![outcome(e.run(who, decide_extension(w.granted, true)).await), deny]
        }
        "see requests, grants, audit" => match who {
            Actor::Operator(_) => vec![outcome(e.request(&Viewer::Operator, w.pending).await)],
            Actor::User(upn) => {
                let viewer = Viewer::User(upn.clone());
                let request = outcome(e.request(&viewer, w.pending).await);
                let grants = e.grants(&viewer, Paging::default()).await.unwrap().items;
                let audit = e.audit(&viewer, Paging::default()).await.unwrap().items;
                let sees = |seen: bool| if seen { Ok(()) } else { Err(ErrorKind::NotFound) };
                vec![
                    request,
                    sees(grants.iter().any(|g| g.id == w.granted)),
                    sees(audit.iter().any(|a| a.app.as_deref() == Some(APP))),
                ]
            }
        },
        other => panic!("the table names an action the test does not know: `{other}`"),
    }
}

fn personas(role: &str) -> Vec<Actor> {
    match role {
        "operator" => vec![operator()],
        "customer admin" => vec![user(ADMIN)],
        "approver" => vec![user(APPROVER), user(MEMBER)],
        "customer user" => vec![user(CUSTOMER)],
        "publisher user" => vec![user(PUBLISHER)],
        "other tenant" => OTHERS.iter().map(|u| user(u)).collect(),
        other => panic!("the table names a role the test does not know: `{other}`"),
    }
}

#[tokio::test]
async fn the_readme_table_is_what_the_engine_does() {
    let table = table();
    let roles: Vec<&str> = table.iter().map(|(role, _)| role.as_str()).collect();
    assert_eq!(
        roles,
        ["operator", "customer admin", "approver", "customer user", "publisher user", "other tenant"]
    );
    for (role, cells) in &table {
        assert_eq!(cells.len(), 10, "{role}: every action has a column");
        for who in personas(role) {
            for (action, cell) in cells {
                let got = run(action, &who).await;
                let want: Vec<Outcome> = match cell {
                    Cell::Yes => vec![Ok(()); got.len()],
                    Cell::No => vec![Err(ErrorKind::Forbidden); got.len()],
                    Cell::Hidden => vec![Err(ErrorKind::NotFound); got.len()],
                    Cell::Own => vec![Ok(()), Err(ErrorKind::Forbidden)],
                };
                assert!(!got.is_empty(), "{role} / {action}: nothing was tried");
                assert_eq!(got, want, "{role} ({who:?}) / {action}: the README says `{cell:?}`");
            }
        }
    }
}
