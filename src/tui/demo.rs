//! `jitdesk demo`: the sample store plus a simulated publisher who keeps asking for short access,
//! and a simulated second approver who decides what the viewer leaves waiting, so that within
//! seconds something arrives, is decided and expires on screen.

use std::time::Duration;

use chrono::TimeDelta;

use crate::domain::rules::{Actor, NewRequest, NewUser};
use crate::domain::{Period, RequestState};
use crate::engine::RequestFilter;
use crate::engine::{Decide, Engine, Viewer};

/// The simulation's own publishers, so that the sample's pending requests stay for the viewer.
const PUBLISHERS: [(&str, &str); 2] =
    [("frank@fabrikam.com", "Frank Osei"), ("grace@fabrikam.com", "Grace Ito")];
const APPS: [&str; 2] = ["contoso-crm", "contoso-crm-dev"];
const WHY: [&str; 4] = [
    "INC-20502: checkout latency alarm, need to read the app service logs",
    "CHG-1311: rotate the storage account keys in the agreed window",
    "INC-20517: failed nightly export, inspect the function app",
    "Customer asked for a config review of the key vault access policies",
];

/// Plays the simulation until the task is dropped. `speed` scales every pause (2.0 = twice as busy).
pub async fn simulate(engine: Engine, viewer: Actor, speed: f64) {
    add_publishers(&engine).await;
    let pause = Duration::from_secs_f64(4.0 / speed.clamp(0.1, 100.0));
    let started = engine.now();
    let mut step = 0usize;
    loop {
        tokio::time::sleep(pause).await;
        step += 1;
        let publisher = PUBLISHERS[step % PUBLISHERS.len()].0;
        let app = APPS[(step / 2) % APPS.len()];
        let request = NewRequest {
            app: app.into(),
            roles: vec!["Contributor".into()],
            start: None,
            duration: Period::from_secs(20 + (step as i64 * 7) % 30),
            justification: WHY[step % WHY.len()].into(),
            ticket: WHY[step % WHY.len()].split(':').next().filter(|t| t.contains('-')).map(str::to_string),
        };
        // A refusal (say, one pending request per publisher and app) just means this step waits.
        let _ = engine.run(&Actor::User(publisher.into()), request).await;
        decide_waiting(&engine, &viewer, pause, started).await;
    }
}

/// The simulation's (and the tour's) own publishers, added to the sample's directory.
pub async fn add_publishers(engine: &Engine) {
    for (upn, name) in PUBLISHERS {
        let user = NewUser {
            upn: upn.into(),
            tenant: "fabrikam".into(),
            name: Some(name.into()),
            admin: false,
            login: None,
            object_id: None,
        };
        // Already there when the demo store was kept and reopened.
        let _ = engine.run(&Actor::Operator("demo".into()), user).await;
    }
}

/// A second approver decides the simulation's requests the viewer has left waiting for a few pauses;
/// the sample's own pending requests stay for the viewer.
async fn decide_waiting(
    engine: &Engine,
    viewer: &Actor,
    pause: Duration,
    started: chrono::DateTime<chrono::Utc>,
) {
    let filter = RequestFilter { state: Some(RequestState::Pending), ..Default::default() };
    let Ok(page) = engine.requests(&Viewer::Operator, filter).await else { return };
    let patience = TimeDelta::from_std(pause * 2).unwrap_or(TimeDelta::seconds(8));
    for r in
        page.items.into_iter().filter(|r| r.created_at >= started && engine.now() - r.created_at > patience)
    {
        let Ok(app) = engine.app(&Viewer::Operator, &r.app).await else { continue };
        let Some(approver) = app.policy.approvers.iter().find(|a| Actor::User((*a).clone()) != *viewer)
        else {
            continue;
        };
        let approve = r.id % 4 != 0;
        let reason =
            if approve { "fine for the incident window" } else { "please attach the incident ticket first" };
        let _ = engine
            .run(&Actor::User(approver.clone()), Decide { id: r.id, approve, reason: reason.into() })
            .await;
    }
}
