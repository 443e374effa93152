//! What each directory user may see: only the applications their tenant is a party to.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use jitdesk::domain::{Paging, Target};
use jitdesk::engine::{Engine, ManualClock, Viewer};
use jitdesk::store::OpenMode;

#[tokio::test(flavor = "current_thread")]
async fn history_and_grants_are_scoped_to_the_parties_of_each_application() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.unwrap();

    let op = Viewer::Operator;
    let user = |upn: &str| Viewer::User(upn.to_string());
    let everything = engine.audit(&op, Paging::default()).await.unwrap().items;
    let app_records = everything.iter().filter(|r| r.app.is_some()).count();
    assert!(everything.iter().any(|r| matches!(r.target, Target::User(_))), "the sample adds users");

    // The customer and the publisher of every sample application see all of its history, and
    // nothing of the directory itself.
    for upn in ["alice@contoso.com", "dave@fabrikam.com"] {
        let seen = engine.audit(&user(upn), Paging::default()).await.unwrap().items;
        assert_eq!(seen.len(), app_records, "{upn}");
        assert!(seen.iter().all(|r| r.app.is_some()), "{upn} sees directory records");
        assert_eq!(
            engine.grants(&user(upn), Paging::default()).await.unwrap(),
            engine.grants(&op, Paging::default()).await.unwrap()
        );
    }

    // Another customer tenant sees nothing of Contoso's applications.
    let nadia = user("nadia@northwind.com");
    assert!(engine.audit(&nadia, Paging::default()).await.unwrap().items.is_empty());
    assert!(engine.grants(&nadia, Paging::default()).await.unwrap().items.is_empty());
    assert!(
        !engine.grants(&op, Paging::default()).await.unwrap().items.is_empty(),
        "the sample has grants to hide"
    );

    // Newest first, and the limit holds.
    let two = engine.audit(&user("alice@contoso.com"), Paging::first(2)).await.unwrap().items;
    assert_eq!(two.len(), 2);
    assert!(two[0].id > two[1].id);
    engine.close().await.unwrap();
}
