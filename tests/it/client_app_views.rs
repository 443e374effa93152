//! `app show --json` and `app list --json` name each approver with their display name, and say the
//! same through a service as on the store itself, however many directory users have a UPN that
//! contains an approver's: the service's own view of an application is what the CLI prints.

use std::sync::Arc;

use jitdesk::domain::rules::{Actor, NewUser};
use jitdesk::engine::OpenMode;
use jitdesk::engine::{Batch, Engine, SystemClock};
use serde_json::Value;

use crate::common::serve::Serve;
use crate::common::{ALICE, Store};

/// More users than one list answer holds, each with a UPN that contains alice's and sorts before it.
const LOOKALIKES: usize = 1001;

/// The sample, with `LOOKALIKES` users such as `0000alice@contoso.com`.
async fn sample_with_lookalikes() -> Store {
    let store = Store::new();
    store.ok(&["init", "--sample"]);
    let engine = Engine::open(&store.path, OpenMode::Existing, Arc::new(SystemClock)).await.expect("open");
    let users = (0..LOOKALIKES)
        .map(|n| {
            let user = NewUser {
                upn: format!("{n:04}{ALICE}"),
                tenant: "contoso".into(),
                name: Some(format!("Lookalike {n}")),
                admin: false,
                login: None,
                object_id: None,
            };
            (Actor::Operator("test".into()), user)
        })
        .collect();
    for added in engine.run(&Actor::Operator("test".into()), Batch(users)).await.expect("added") {
        added.expect("a lookalike");
    }
    engine.close().await.expect("closed");
    store
}

/// alice's entry among an application view's approvers.
fn alice_in(app: &Value) -> Value {
    let approvers = app["jitAccessPolicy"]["jitApprovers"].as_array().expect("approvers");
    approvers.iter().find(|a| a["id"] == ALICE).cloned().expect("alice approves contoso-crm")
}

#[tokio::test]
async fn approvers_have_their_names_through_a_service_as_on_the_store() {
    let store = sample_with_lookalikes().await;
    let direct = store.json_as(ALICE, &["app", "show", "contoso-crm", "--json"]);
    assert_eq!(alice_in(&direct)["displayName"], "Alice Fischer", "{direct}");

    let _service = Serve::on(&store.path);
    let shown = store.json_as(ALICE, &["app", "show", "contoso-crm", "--json"]);
    assert_eq!(shown, direct, "the same view through the service");
    let listed = store.json_as(ALICE, &["app", "list", "--json"]);
    let crm = listed.as_array().expect("a list").iter().find(|a| a["name"] == "contoso-crm").cloned();
    assert_eq!(crm.as_ref().map(alice_in), Some(alice_in(&direct)), "{listed}");
}
