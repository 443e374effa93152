//! The store's indexes say exactly what its records say, after every kind of write the sample's
//! story makes (requests created, decided, cancelled, timed out, started, expired, revoked;
//! policies changed) and after a migration builds them: applications by tenant, and requests by
//! state and application (an application's pending requests). What the engine answers through
//! them is what the records and the visibility rule give.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use redb::ReadableTable;

use jitdesk::domain::rules::{self, Actor, PolicyChange};
use jitdesk::domain::{Paging, RequestState};
use jitdesk::engine::{Engine, ManualClock, SetPolicy, Viewer};
use jitdesk::engine::{OpenMode, RequestFilter};
use jitdesk::store::Store;

/// Every index entry is derived from a record, and every record has its entries.
fn assert_consistent(path: &Path) {
    let store = Store::open(path, OpenMode::Existing).expect("the store opens");
    let t = store.read().unwrap();
    let apps = t.apps().unwrap();
    assert!(!apps.is_empty());
    let expected: BTreeSet<(String, String)> = apps
        .iter()
        .flat_map(|a| {
            [(a.customer_tenant.clone(), a.name.clone()), (a.publisher_tenant.clone(), a.name.clone())]
        })
        .collect();
    let indexed: BTreeSet<(String, String)> = t
        .apps_by_tenant
        .iter()
        .unwrap()
        .map(|e| {
            let key = e.unwrap().0;
            let (tenant, app) = key.value();
            (tenant.to_string(), app.to_string())
        })
        .collect();
    assert_eq!(indexed, expected, "applications by tenant");

    let mut by_state_app = BTreeSet::new();
    let mut by_state = BTreeSet::new();
    for entry in t.requests.iter().unwrap() {
        let id = entry.unwrap().0.value();
        let r = t.get_request(id).unwrap().expect("the request decodes");
        by_state_app.insert((r.state.code(), r.app.clone(), r.id));
        by_state.insert((r.state.code(), r.id));
    }
    let indexed: BTreeSet<(u8, String, u64)> = t
        .by_state_app
        .iter()
        .unwrap()
        .map(|e| {
            let key = e.unwrap().0;
            let (code, app, id) = key.value();
            (code, app.to_string(), id)
        })
        .collect();
    assert_eq!(indexed, by_state_app, "requests by state and application");
    let indexed: BTreeSet<(u8, u64)> = t.by_state.iter().unwrap().map(|e| e.unwrap().0.value()).collect();
    assert_eq!(indexed, by_state, "requests by state");
}

/// Each directory user's applications and pending requests, as the engine finds them through the
/// indexes, are those the operator's whole view and the visibility rule give.
async fn assert_views(engine: &Engine) {
    let all_apps = engine.apps(&Viewer::Operator, Paging::default()).await.unwrap().items;
    let pending = RequestFilter { state: Some(RequestState::Pending), ..Default::default() };
    let all_pending = engine.requests(&Viewer::Operator, pending.clone()).await.unwrap().items;
    assert!(!all_pending.is_empty(), "some requests are pending");
    let users = engine.search_users(&Viewer::Operator, "", Paging::default()).await.unwrap().items;
    assert!(users.len() > 2);
    for user in &users {
        let viewer = Viewer::User(user.upn.clone());
        let seen: Vec<String> =
            all_apps.iter().filter(|a| rules::can_see(user, a)).map(|a| a.name.clone()).collect();
        let apps = engine.apps(&viewer, Paging::default()).await.unwrap().items;
        assert_eq!(apps.iter().map(|a| a.name.clone()).collect::<Vec<_>>(), seen, "{}", user.upn);
        // Paged two at a time, the same applications in the same order.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = engine.apps(&viewer, Paging { limit: Some(2), after: after.clone() }).await.unwrap();
            paged.extend(page.items.iter().map(|a| a.name.clone()));
            if !page.more {
                break;
            }
            after = page.items.last().map(|a| a.name.clone());
        }
        assert_eq!(paged, seen, "{} paged", user.upn);
        let theirs: Vec<u64> =
            engine.requests(&viewer, pending.clone()).await.unwrap().items.iter().map(|r| r.id).collect();
        let expected: Vec<u64> = all_pending.iter().filter(|r| seen.contains(&r.app)).map(|r| r.id).collect();
        assert_eq!(theirs, expected, "{} pending", user.upn);
    }
}

#[tokio::test]
async fn every_write_keeps_the_indexes_in_step_with_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 600, now).await.expect("the sample");
    assert_consistent(&path);

    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::open(&path, OpenMode::Existing, clock.clone()).await.unwrap();
    assert_views(&engine).await;
    // An application written again (its policy changed) keeps its entries, once each.
    let apps = engine.apps(&Viewer::Operator, Paging::default()).await.unwrap().items;
    let app = apps.into_iter().find(|a| a.policy.enabled).expect("an application with JIT access");
    let users = engine.search_users(&Viewer::Operator, "", Paging::default()).await.unwrap().items;
    let admin =
        users.iter().find(|u| u.admin && u.tenant == app.customer_tenant).expect("the customer's admin");
    let change =
        PolicyChange { request_timeout: Some(jitdesk::domain::Period::from_hours(2)), ..Default::default() };
    engine.run(&Actor::User(admin.upn.clone()), SetPolicy { app: app.name.clone(), change }).await.unwrap();
    // Time passes: pending requests time out, grants end.
    clock.set(now + chrono::TimeDelta::hours(30));
    engine.sync().await.unwrap();
    engine.close().await.unwrap();
    assert_consistent(&path);
}

#[tokio::test]
async fn a_migration_builds_the_new_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema2.redb"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_consistent(&path);
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap()));
    let engine = Engine::open(&path, OpenMode::Existing, clock).await.unwrap();
    assert_views(&engine).await;
    engine.close().await.unwrap();
}
