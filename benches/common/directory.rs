//! A directory to run requests in, built through the engine's own commands: one customer tenant
//! with an admin approver, one publisher tenant with `publishers` users, one JIT offer and `apps`
//! applications; and requests on it in batches. The engine bench and the replicas bench load the
//! same directory, so their figures compare.

use chrono::{DateTime, Utc};
use jitdesk::domain::rules::{Actor, Deployment, NewOffer, NewRequest, NewTenant, NewUser};
use jitdesk::domain::{ApprovalMode, License, Period, TenantKind};
use jitdesk::engine::{Batch, Engine};

/// Commands per `Batch`, as the sample loader does: one transaction each.
const CHUNK: usize = 5_000;

pub const APPROVER: &str = "alice@contoso.com";

pub fn operator() -> Actor {
    Actor::Operator("bench".into())
}

pub fn user(upn: &str) -> Actor {
    Actor::User(upn.into())
}

pub struct Directory {
    pub publishers: Vec<String>,
    pub apps: Vec<String>,
}

pub async fn directory(engine: &Engine, publishers: usize, apps: usize, mode: ApprovalMode) -> Directory {
    let tenants = vec![
        (
            operator(),
            NewTenant {
                id: "contoso".into(),
                kind: TenantKind::Customer,
                name: None,
                license: Some(License::P2),
            },
        ),
        (
            operator(),
            NewTenant { id: "fabrikam".into(), kind: TenantKind::Publisher, name: None, license: None },
        ),
    ];
    all_ok(engine.run(&operator(), Batch(tenants)).await.expect("tenants"), "tenant");

    let publishers: Vec<String> = (0..publishers).map(|i| format!("pub{i:05}@fabrikam.com")).collect();
    let mut users = vec![(
        operator(),
        NewUser {
            upn: APPROVER.into(),
            tenant: "contoso".into(),
            name: None,
            admin: true,
            login: None,
            object_id: None,
        },
    )];
    users.extend(publishers.iter().map(|upn| {
        (
            operator(),
            NewUser {
                upn: upn.clone(),
                tenant: "fabrikam".into(),
                name: None,
                admin: false,
                login: None,
                object_id: None,
            },
        )
    }));
    all_ok(engine.run(&operator(), Batch(users)).await.expect("users"), "user");

    let offer = NewOffer {
        id: "bench-offer".into(),
        name: "Bench".into(),
        jit_available: true,
        roles: vec!["Owner".into()],
    };
    engine.run(&user(&publishers[0]), offer).await.expect("offer");

    let apps: Vec<String> = (0..apps).map(|i| format!("bench-{i:04}")).collect();
    let manual = mode == ApprovalMode::ManualApprove;
    let deployments = apps
        .iter()
        .map(|name| {
            let input = Deployment {
                name: name.clone(),
                offer: "bench-offer".into(),
                mode: Some(mode),
                approvers: if manual { vec![APPROVER.into()] } else { Vec::new() },
                ..Deployment::default()
            };
            (user(APPROVER), input)
        })
        .collect();
    all_ok(engine.run(&operator(), Batch(deployments)).await.expect("deployments"), "deployment");
    Directory { publishers, apps }
}

pub fn ask(app: &str, duration: Period) -> NewRequest {
    NewRequest {
        app: app.into(),
        roles: vec!["Owner".into()],
        start: None,
        duration,
        justification: "INC-1: benchmark".into(),
        ticket: None,
    }
}

/// Creates one request per (publisher, app) pair, `count` of them, in batches, starting at `start`
/// (None: at once); returns them in order.
pub async fn requests(
    engine: &Engine,
    dir: &Directory,
    count: usize,
    duration: Period,
    start: Option<DateTime<Utc>>,
) -> Vec<jitdesk::domain::AccessRequest> {
    assert!(count <= dir.publishers.len() * dir.apps.len(), "not enough (publisher, app) pairs");
    let mut commands: Vec<(Actor, NewRequest)> = (0..count)
        .map(|i| {
            let app = &dir.apps[i % dir.apps.len()];
            let publisher = &dir.publishers[i / dir.apps.len()];
            (user(publisher), NewRequest { start, ..ask(app, duration) })
        })
        .collect();
    let mut out = Vec::with_capacity(count);
    while !commands.is_empty() {
        let rest = commands.split_off(commands.len().min(CHUNK));
        let done = engine.run(&operator(), Batch(commands)).await.expect("a batch of requests");
        out.extend(done.into_iter().map(|r| r.expect("every request is accepted")));
        commands = rest;
    }
    out
}

pub fn all_ok<T>(results: Vec<jitdesk::Result<T>>, what: &str) {
    for r in results {
        if let Err(e) = r {
            panic!("a {what} was refused: {e}");
        }
    }
}
