//! What each directory user may see: only the applications their tenant is a party to, read
//! through those applications' own indexes, and walked part by part without gaps or repeats (so are
//! the directory's lists and a user's notifications); grants listed until the moment they end; and
//! the directory search, which finds a user by either their UPN or their name; and the whole list
//! of grants, one copy for the callers of one viewer until the next commit.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use jitdesk::domain::rules::Actor;
use jitdesk::domain::{Listed, Page, Paging, RequestState, Target};
use jitdesk::engine::{Engine, ManualClock, Revoke, Viewer};
use jitdesk::engine::{OpenMode, RequestFilter};

/// The sample store at a fixed moment, its engine on a manual clock, and the folder that holds it
/// (the store goes with it).
async fn sample() -> (tempfile::TempDir, Arc<ManualClock>, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::open(&path, OpenMode::Existing, clock.clone()).await.unwrap();
    (dir, clock, engine)
}

#[tokio::test(flavor = "current_thread")]
async fn history_and_grants_are_scoped_to_the_parties_of_each_application() {
    let (_dir, _, engine) = sample().await;

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

/// Walks a list part by part with the cursor; every part but the last says more come after it.
async fn walk<T: Listed + Clone, F: Future<Output = jitdesk::Result<Page<T>>>>(
    limit: usize,
    mut part: impl FnMut(Paging<T::Cursor>) -> F,
) -> Vec<T> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let at = after.as_ref().map(ToString::to_string);
        let page = part(Paging { limit: Some(limit), after: after.take() }).await.unwrap();
        assert!(page.items.len() <= limit);
        assert!(!page.more || page.items.len() == limit, "more only after a full part");
        after = page.next();
        assert!(after.is_none() || after.as_ref().map(ToString::to_string) != at, "the cursor moves on");
        items.extend(page.items);
        if after.is_none() {
            return items;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_view_lists_through_its_own_applications_and_walks_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    jitdesk::sample::create_at(&path, 300, now).await.unwrap();
    let engine = Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.unwrap();
    let e = &engine;
    let everything = engine.requests(&Viewer::Operator, RequestFilter::default()).await.unwrap().items;
    let publisher =
        everything.iter().find(|r| r.requester.ends_with("@litware.com")).unwrap().requester.clone();
    let one_app = everything.iter().find(|r| r.app.starts_with("tailspin-")).unwrap().app.clone();
    let viewers = [
        Viewer::Operator,
        Viewer::User("alice@contoso.com".into()),
        Viewer::User("dave@fabrikam.com".into()),
        Viewer::User("morgan@tailspin.com".into()),
        Viewer::User(publisher.clone()),
        Viewer::User("nadia@northwind.com".into()),
    ];
    let filters = [
        RequestFilter::default(),
        RequestFilter { state: Some(RequestState::Pending), ..RequestFilter::default() },
        RequestFilter { state: Some(RequestState::Approved), ..RequestFilter::default() },
        RequestFilter { app: Some(one_app.clone()), ..RequestFilter::default() },
        RequestFilter { requester: Some(publisher.clone()), ..RequestFilter::default() },
        RequestFilter {
            requester: Some(publisher.clone()),
            state: Some(RequestState::Expired),
            ..RequestFilter::default()
        },
    ];
    let (mut walked, mut noted) = (0, 0);
    // The directory's own lists, which only the operator reads whole.
    assert_eq!(
        walk(1, |p| e.tenants(&Viewer::Operator, p)).await,
        engine.tenants(&Viewer::Operator, Paging::default()).await.unwrap().items
    );
    assert_eq!(walk(1, |p| e.offers(p)).await, engine.offers(Paging::default()).await.unwrap().items);
    let users = engine.search_users(&Viewer::Operator, "", Paging::default()).await.unwrap().items;
    assert!(users.len() > 2, "the sample has users to walk");
    assert_eq!(walk(2, |p| e.search_users(&Viewer::Operator, "", p)).await, users);
    for viewer in &viewers {
        let apps = walk(1, |p| e.apps(viewer, p)).await;
        let all_apps = engine.apps(viewer, Paging::default()).await.unwrap().items;
        assert_eq!(apps, all_apps, "{viewer:?}");
        let visible: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
        for filter in &filters {
            // What the view holds: the operator's list, on the applications this viewer sees.
            let expected: Vec<_> = everything
                .iter()
                .filter(|r| visible.contains(&r.app.as_str()))
                .filter(|r| filter.state.is_none_or(|s| r.state == s))
                .filter(|r| filter.app.as_ref().is_none_or(|a| *a == r.app))
                .filter(|r| filter.requester.as_ref().is_none_or(|u| *u == r.requester))
                .cloned()
                .collect();
            for limit in [1, 7, 100] {
                let got = walk(limit, |p| {
                    let filter = RequestFilter { limit: p.limit, after: p.after, ..filter.clone() };
                    e.requests(viewer, filter)
                })
                .await;
                assert_eq!(got, expected, "{viewer:?} {filter:?} by {limit}");
                walked += got.len();
            }
        }
        let grants = engine.grants(viewer, Paging::default()).await.unwrap().items;
        assert!(grants.iter().all(|g| visible.contains(&g.app.as_str())));
        assert_eq!(walk(2, |p| e.grants(viewer, p)).await, grants, "{viewer:?}");
        let audit = engine.audit(viewer, Paging::default()).await.unwrap().items;
        assert!(audit.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert_eq!(walk(5, |p| e.audit(viewer, p)).await, audit, "{viewer:?}");
        if let Viewer::User(upn) = viewer {
            let notes = engine.notifications(upn, Paging::default()).await.unwrap().items;
            assert_eq!(walk(2, |p| e.notifications(upn, p)).await, notes, "{upn}");
            noted += notes.len();
        }
    }
    assert!(walked > 1000, "the sample had requests to walk");
    assert!(noted > 2, "the sample had notifications to walk");
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_approvers_of_a_list_are_the_users_its_applications_name_each_once() {
    let (_dir, _, engine) = sample().await;
    let apps = engine.apps(&Viewer::Operator, Paging::default()).await.unwrap().items;
    let named: Vec<&str> = apps.iter().flat_map(|a| a.policy.approvers.iter().map(String::as_str)).collect();
    let distinct: HashSet<&str> = named.iter().copied().collect();
    assert!(named.len() > distinct.len(), "the sample names one approver on several applications");

    // The users behind them, each once, for their display names, and nobody the applications do
    // not name.
    let users = engine.approvers(&apps).await.unwrap();
    let upns: Vec<&str> = users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(upns.len(), distinct.len(), "each once: {upns:?}");
    assert_eq!(upns.iter().copied().collect::<HashSet<_>>(), distinct);
    assert!(users.iter().all(|u| !u.display_name.is_empty()));
    assert!(engine.approvers(&[]).await.unwrap().is_empty());
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_directory_search_finds_users_by_their_upn_or_their_name() {
    let (_dir, _, engine) = sample().await;
    let found = |text: &'static str| {
        let engine = engine.clone();
        async move {
            let users = engine.search_users(&Viewer::Operator, text, Paging::default()).await.unwrap().items;
            users.into_iter().map(|u| u.upn).collect::<Vec<_>>()
        }
    };
    // Alice Fischer's name holds what her UPN does not, and the other way round; case does not matter.
    assert!(found("FISCHER").await.contains(&"alice@contoso.com".to_string()));
    assert!(found("alice@").await.contains(&"alice@contoso.com".to_string()));
    assert!(found("nobody-by-this-name").await.is_empty());
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_grant_is_listed_until_the_moment_it_ends_even_before_the_store_thread_closes_it() {
    let (_dir, clock, engine) = sample().await;
    let listed = || async {
        let grants = engine.grants(&Viewer::Operator, Paging::default()).await.unwrap().items;
        grants.into_iter().map(|g| g.id).collect::<HashSet<u64>>()
    };
    let grants = engine.grants(&Viewer::Operator, Paging::default()).await.unwrap().items;
    let first_end = grants.iter().filter_map(|g| g.end()).min().expect("the sample has grants");
    let ending: HashSet<u64> = grants.iter().filter(|g| g.end() == Some(first_end)).map(|g| g.id).collect();

    // Only the clock moves: the list answers from the time, not from when the ticker last ran.
    clock.set(first_end - TimeDelta::milliseconds(1));
    assert!(listed().await.is_superset(&ending), "still current just before its end");
    clock.set(first_end);
    let after = listed().await;
    assert!(after.is_disjoint(&ending), "over at its end");
    assert_eq!(after.len(), grants.len() - ending.len(), "the others go on");
    engine.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn whole_grants_are_one_copy_per_tenant_until_the_next_commit() {
    let (_dir, _, engine) = sample().await;
    let op = Viewer::Operator;

    let first = engine.all_grants(&op).await.unwrap();
    let paged = engine.grants(&op, Paging::first(1)).await.unwrap();
    assert!(paged.more, "the sample has grants over more than one page of one");
    assert_eq!(first.first(), paged.items.first(), "the same grants as the list, newest first");
    assert!(Arc::ptr_eq(&first, &engine.all_grants(&op).await.unwrap()), "one copy while one is held");
    let alice = engine.all_grants(&Viewer::User("alice@contoso.com".into())).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &alice), "a user sees less than the operator");
    // What a user sees depends on their tenant alone: a colleague shares the copy, a user of
    // another tenant does not.
    let bob = engine.all_grants(&Viewer::User("bob@contoso.com".into())).await.unwrap();
    assert!(Arc::ptr_eq(&alice, &bob), "users of one tenant share one copy");
    let nadia = engine.all_grants(&Viewer::User("nadia@northwind.com".into())).await.unwrap();
    assert!(!Arc::ptr_eq(&alice, &nadia), "another tenant's users have their own");
    drop((bob, nadia));

    let revoked = first
        .iter()
        .find_map(|g| g.decision.as_ref().filter(|d| d.by.contains('@')).map(|d| (g.id, d.by.clone())))
        .expect("a grant a person approved");
    let revoke = Revoke { id: revoked.0, reason: "no longer needed".into() };
    engine.run(&Actor::User(revoked.1), revoke).await.expect("its approver revokes it");
    let after = engine.all_grants(&op).await.unwrap();
    assert!(!Arc::ptr_eq(&first, &after), "a commit makes the next caller read again");
    assert!(!after.iter().any(|g| g.id == revoked.0), "what the commit ended is gone");
    assert_eq!(after.len(), first.len() - 1);
    drop((first, after));
    // Nobody holds the last copy: it went, and the next caller reads its own.
    let again = engine.all_grants(&op).await.unwrap();
    assert_eq!(Arc::strong_count(&again), 1);
    engine.close().await.unwrap();
}

/// A dashboard in the engine's own process (the SSH door's) hears only what its viewer may see,
/// as a stream through the service does: nothing of an application it is no party to, and of the
/// users notified only itself.
#[tokio::test(flavor = "current_thread")]
async fn a_viewers_subscription_hears_only_what_the_viewer_may_see() {
    let (_dir, _, engine) = sample().await;
    engine.sync().await.unwrap();
    let mut everything = engine.subscribe_for(None);
    let mut dave = engine.subscribe_for(Some("dave@fabrikam.com"));
    let mut alice = engine.subscribe_for(Some("alice@contoso.com"));
    let mut nadia = engine.subscribe_for(Some("nadia@northwind.com"));

    let pending = RequestFilter { state: Some(RequestState::Pending), ..RequestFilter::default() };
    let request = engine
        .requests(&Viewer::User("dave@fabrikam.com".into()), pending)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.requester == "dave@fabrikam.com")
        .expect("dave has a pending request in the sample");
    let alice_acts = Actor::User("alice@contoso.com".into());
    let decide = jitdesk::engine::Decide { id: request.id, approve: true, reason: "go".into() };
    engine.run(&alice_acts, decide).await.unwrap();

    let all = everything.recv().await.unwrap();
    assert_eq!(all.record.target, Target::Request(request.id));
    assert_eq!(all.notified, ["dave@fabrikam.com"]);
    // A wait given up after one poll (a dashboard's loop woken by a key, perhaps while the event's
    // application was being looked up) loses nothing: that poll had the event, or the next wait has it.
    let polled = {
        let waiting = std::pin::pin!(dave.recv());
        waiting.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    };
    let his = match polled {
        std::task::Poll::Ready(event) => event.unwrap(),
        std::task::Poll::Pending => {
            let patience = std::time::Duration::from_secs(10);
            tokio::time::timeout(patience, dave.recv()).await.expect("the event is still there").unwrap()
        }
    };
    assert_eq!((his.record.clone(), his.notified.clone()), (all.record.clone(), all.notified.clone()));
    // The approver sees the change but was not the one notified.
    let hers = alice.recv().await.unwrap();
    assert_eq!((hers.record, hers.notified), (all.record, Vec::<String>::new()));
    // A user of an unrelated tenant hears nothing of it: their next event is the next public one.
    let tenant = jitdesk::domain::rules::NewTenant {
        id: "woodgrove".into(),
        kind: jitdesk::domain::TenantKind::Publisher,
        name: None,
        license: None,
    };
    engine.run(&Actor::Operator("op".into()), tenant).await.unwrap();
    let next = nadia.recv().await.unwrap();
    assert_eq!(next.record.action, jitdesk::domain::Action::TenantAdded);
}
