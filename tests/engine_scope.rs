//! What each directory user may see: only the applications their tenant is a party to.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use jitdesk::domain::Target;
use jitdesk::engine::{Engine, ManualClock};
use jitdesk::store::OpenMode;

#[tokio::test(flavor = "current_thread")]
async fn history_and_grants_are_scoped_to_the_parties_of_each_application() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.unwrap();

    let everything = engine.audit(10_000).await.unwrap();
    let app_records = everything.iter().filter(|r| r.app.is_some()).count();
    assert!(everything.iter().any(|r| matches!(r.target, Target::User(_))), "the sample adds users");

    // The customer and the publisher of every sample application see all of its history, and
    // nothing of the directory itself.
    for upn in ["alice@contoso.com", "dave@fabrikam.com"] {
        let seen = engine.audit_for(upn, 10_000).await.unwrap();
        assert_eq!(seen.len(), app_records, "{upn}");
        assert!(seen.iter().all(|r| r.app.is_some()), "{upn} sees directory records");
        assert_eq!(engine.grants_for(upn).await.unwrap().len(), engine.grants().await.unwrap().len());
    }

    // Another customer tenant sees nothing of Contoso's applications.
    assert!(engine.audit_for("nadia@northwind.com", 10_000).await.unwrap().is_empty());
    assert!(engine.grants_for("nadia@northwind.com").await.unwrap().is_empty());
    assert!(!engine.grants().await.unwrap().is_empty(), "the sample has grants to hide");

    // Newest first, and the limit holds.
    let two = engine.audit_for("alice@contoso.com", 2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert!(two[0].id > two[1].id);
    engine.close().await.unwrap();
}
