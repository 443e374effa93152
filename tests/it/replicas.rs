//! Several engines on one store, as several `jitdesk serve` replicas on one database are: a change
//! made on one is heard as an event on the other; a deadline one set is processed by the other once
//! the first is gone; news that may have been missed makes subscribers reload and the ticker look
//! again; and every queued delivery is sent once, whichever replica's worker picks it.
//!
//! Two engines share one redb store through `Replica`, a double of a shared backend: it tells each
//! engine's ear (`Storage::watch_others`) of the audit records every other engine's transactions
//! appended, as the PostgreSQL backend's listener does from NOTIFY.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use jitdesk::client::{Change, Events};
use jitdesk::domain::delivery::{Delivery, DeliveryState, Retry};
use jitdesk::domain::rules::NewUser;
use jitdesk::domain::{Action, OpenMode, RequestState};
use jitdesk::engine::maintenance::StoreInfo;
use jitdesk::engine::outbox::{Courier, Parcel, Sending};
use jitdesk::engine::storage::{Others, Reads, Storage, TellOthers, Writes};
use jitdesk::engine::{AddChannel, Engine, ManualClock, StoreError, Viewer};

use super::engine_outbox::{FRANK, all, ask, operator, user, webhook};

/// One store shared by several engines, and the ear of each (by its replica's number).
struct Database {
    storage: Arc<dyn Storage>,
    ears: Mutex<Vec<(usize, TellOthers)>>,
    /// While set, nobody hears of anyone's commits: a listener that lost its connection.
    deaf: AtomicBool,
}

impl Database {
    fn tell(&self, from: usize, news: Others) {
        if self.deaf.load(Ordering::SeqCst) {
            return;
        }
        for (origin, ear) in self.ears.lock().unwrap().iter() {
            if *origin != from {
                ear(news);
            }
        }
    }
}

/// One engine's view of the shared store.
struct Replica {
    db: Arc<Database>,
    origin: usize,
}

impl Storage for Replica {
    fn path(&self) -> &Path {
        self.db.storage.path()
    }

    fn read(&self, query: &mut dyn FnMut(&dyn Reads) -> jitdesk::Result<()>) -> jitdesk::Result<()> {
        self.db.storage.read(query)
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn Writes) -> jitdesk::Result<()>) -> jitdesk::Result<()> {
        let mut appended = None;
        self.db.storage.write(&mut |t| {
            let first = t.next_audit_id()?;
            work(t)?;
            let next = t.next_audit_id()?;
            appended = (next > first).then_some((first, next - 1));
            Ok(())
        })?;
        if let Some((first, last)) = appended {
            self.db.tell(self.origin, Others::Committed { first, last });
        }
        Ok(())
    }

    fn reopen(&self, why: StoreError) -> Result<(), StoreError> {
        self.db.storage.reopen(why)
    }

    fn abandon(&self, why: StoreError) {
        self.db.storage.abandon(why)
    }

    fn copy_into(&self, file: File) -> jitdesk::Result<()> {
        self.db.storage.copy_into(file)
    }

    fn info(&self) -> jitdesk::Result<StoreInfo> {
        self.db.storage.info()
    }

    fn watch_others(&self, tell: TellOthers) {
        self.db.ears.lock().unwrap().push((self.origin, tell));
    }
}

/// The sample store, and two engines on it with one manual clock.
async fn two_replicas() -> (tempfile::TempDir, Arc<Database>, Engine, Engine, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let now = Utc::now();
    jitdesk::sample::create_at(&path, 0, now).await.unwrap();
    let db = Arc::new(Database {
        storage: jitdesk::store::open(&path, OpenMode::Existing).unwrap(),
        ears: Mutex::default(),
        deaf: AtomicBool::new(false),
    });
    let clock = Arc::new(ManualClock::new(now));
    let engine = |origin| Engine::with_storage(Arc::new(Replica { db: db.clone(), origin }), clock.clone());
    let (a, b) = (engine(0).await.unwrap(), engine(1).await.unwrap());
    (dir, db, a, b, clock)
}

/// Lets a month pass, so that no deadline of the sample is left: the ticker's next one is what the
/// test sets.
async fn settle(a: &Engine, b: &Engine, clock: &ManualClock) {
    clock.advance(TimeDelta::days(30));
    a.sync().await.unwrap();
    b.sync().await.unwrap();
}

/// Settles both, then waits until B has heard all that A committed (B hears others' commits on
/// its listener's thread, in commit order): a user A adds last is heard on B.
async fn settle_heard(a: &Engine, b: &Engine, clock: &ManualClock) {
    settle(a, b, clock).await;
    let mut on_b = Events::local(b.subscribe_for(None));
    add_user(a, "marker@fabrikam.com").await;
    loop {
        let heard = next_committed(&mut on_b).await;
        if heard.record.target == jitdesk::domain::Target::User("marker@fabrikam.com".into()) {
            return;
        }
    }
}

async fn add_frank(engine: &Engine) {
    add_user(engine, FRANK).await;
}

/// A user of Fabrikam, with no request yet.
async fn add_user(engine: &Engine, upn: &str) {
    let frank = NewUser {
        upn: upn.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
    engine.run(&operator(), frank).await.unwrap();
}

/// The next change a subscriber hears, failing the test if it hears none for a long while.
async fn next(events: &mut Events) -> Change {
    tokio::time::timeout(Duration::from_secs(30), events.next()).await.expect("an event").expect("open")
}

#[tokio::test]
async fn a_change_on_one_replica_is_heard_on_the_other_as_its_own_would_be() {
    let (_dir, _db, a, b, _clock) = two_replicas().await;
    let mut on_a = Events::local(a.subscribe_for(None));
    let mut on_b = Events::local(b.subscribe_for(None));
    let mut alice_on_b = Events::local(b.subscribe_for(Some("alice@contoso.com")));
    add_frank(&a).await;
    let created = a.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    for events in [&mut on_a, &mut on_b] {
        let Change::Committed(user_added) = next(events).await else { panic!("a change") };
        assert_eq!(user_added.record.action, Action::UserAdded);
    }
    let (Change::Committed(here), Change::Committed(there)) = (next(&mut on_a).await, next(&mut on_b).await)
    else {
        panic!("a change on each")
    };
    assert_eq!(there, here, "the same record, telling the same users");
    assert_eq!(there.record.action, Action::RequestCreated);
    assert_eq!(there.record.target, jitdesk::domain::Target::Request(created.id));
    assert!(there.notified.contains(&"alice@contoso.com".to_string()), "{there:?}");
    let alice = loop {
        match next(&mut alice_on_b).await {
            Change::Committed(c) if c.record.action == Action::UserAdded => continue,
            Change::Committed(c) => break c,
            Change::Reload => panic!("no reload"),
        }
    };
    assert_eq!(
        (alice.record.id, alice.notified),
        (there.record.id, vec!["alice@contoso.com".to_string()]),
        "an approver of the other replica hears it, scoped as ever"
    );
    let seen = b.request(&Viewer::Operator, created.id).await.unwrap();
    assert_eq!(seen.request.state, RequestState::Pending, "the other replica reads it too");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_deadline_set_on_a_replica_that_stopped_is_processed_by_the_other() {
    let (_dir, _db, a, b, clock) = two_replicas().await;
    settle(&a, &b, &clock).await;
    add_frank(&a).await;
    let created = a.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    a.close().await.unwrap();
    clock.set(created.decide_by + TimeDelta::seconds(1));
    b.sync().await.unwrap();
    let history = b.request(&Viewer::Operator, created.id).await.unwrap().history;
    let actions: Vec<Action> = history.iter().map(|r| r.action).collect();
    assert_eq!(actions, [Action::RequestCreated, Action::RequestTimedOut], "timed out once, by the other");
    b.close().await.unwrap();
}

#[tokio::test]
async fn news_that_may_have_been_missed_reloads_subscribers_and_wakes_the_ticker() {
    let (_dir, db, a, b, clock) = two_replicas().await;
    settle(&a, &b, &clock).await;
    let mut on_b = Events::local(b.subscribe_for(None));
    db.deaf.store(true, Ordering::SeqCst);
    add_frank(&a).await;
    let created = a.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    a.close().await.unwrap();
    // Nothing wakes B's ticker (a manual clock does not, and no sync is asked for): unheard, the
    // deadline is unknown here.
    clock.set(created.decide_by + TimeDelta::seconds(1));
    let state =
        |b: Engine| async move { b.request(&Viewer::Operator, created.id).await.unwrap().request.state };
    assert_eq!(state(b.clone()).await, RequestState::Pending, "unheard, its deadline is unknown here");
    db.deaf.store(false, Ordering::SeqCst);
    db.tell(0, Others::MayHaveMissed);
    assert_eq!(next(&mut on_b).await, Change::Reload, "what was missed is read again");
    // The news alone wakes the ticker, which finds the deadline it had missed.
    for polls in 0.. {
        assert!(polls < 3000, "the deadline it had missed was never processed");
        if state(b.clone()).await == RequestState::Timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.close().await.unwrap();
}

#[tokio::test]
async fn news_of_more_records_than_a_subscriber_follows_reloads_it_instead() {
    let (_dir, db, a, b, clock) = two_replicas().await;
    settle(&a, &b, &clock).await;
    let mut on_b = Events::local(b.subscribe_for(None));
    // Far more than a subscriber may fall behind by (a few thousand), and a span that is no span.
    for (first, last) in [(1, 100_000), (5, 1)] {
        db.tell(0, Others::Committed { first, last });
        assert_eq!(next(&mut on_b).await, Change::Reload, "{first}..={last}: read again, not followed");
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Counts each parcel by its key.
#[derive(Default)]
struct Counting(Mutex<HashMap<String, usize>>);

impl Courier for Counting {
    fn send<'a>(&'a self, parcel: &'a Parcel) -> Sending<'a> {
        Box::pin(async move {
            *self.0.lock().unwrap().entry(parcel.key.clone()).or_default() += 1;
            Ok(())
        })
    }
}

const RETRY: Retry = Retry {
    first: TimeDelta::seconds(10),
    longest: TimeDelta::minutes(1),
    give_up_after: TimeDelta::hours(1),
};

/// Both engines' delivery workers running on one store: every delivery is sent once, whichever
/// picks it; the deliveries as they end.
async fn each_sent_once(a: &Engine, b: &Engine) -> Vec<Delivery> {
    let courier = Arc::new(Counting::default());
    a.deliver_with(courier.clone(), RETRY).unwrap();
    b.deliver_with(courier.clone(), RETRY).unwrap();
    for n in 0..6 {
        let kind = webhook(&format!("https://chat{n}.contoso.com/h"));
        a.run(&operator(), AddChannel { tenant: "contoso".into(), kind }).await.unwrap();
    }
    for n in 0..10 {
        let (engine, upn) = (if n % 2 == 0 { a } else { b }, format!("user{n}@fabrikam.com"));
        add_user(engine, &upn).await;
        engine.run(&user(&upn), ask("contoso-crm")).await.unwrap();
    }
    let sent = |d: &[Delivery]| d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }));
    let mut deliveries = all(a, &Viewer::Operator).await;
    for _ in 0..3000 {
        if sent(&deliveries) {
            break;
        }
        a.sync().await.unwrap();
        b.sync().await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        deliveries = all(a, &Viewer::Operator).await;
    }
    assert!(sent(&deliveries), "every delivery sent: {deliveries:?}");
    let counts = courier.0.lock().unwrap().clone();
    assert_eq!(counts.len(), deliveries.len(), "one parcel per delivery: {counts:?}");
    assert!(counts.values().all(|&n| n == 1), "none sent twice: {counts:?}");
    deliveries
}

#[tokio::test]
async fn each_delivery_is_sent_once_whichever_replica_picks_it() {
    let (_dir, _db, a, b, _clock) = two_replicas().await;
    let deliveries = each_sent_once(&a, &b).await;
    assert!(deliveries.iter().all(|d| d.attempts == 1), "each leased once: {deliveries:?}");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Two engines on one fresh PostgreSQL database holding the sample, with one manual clock, once
/// both listen for each other's commits; None when the tests have no server (`pg::database`).
async fn pg_replicas() -> Option<(Engine, Engine, Arc<ManualClock>, String)> {
    let url = blocking(crate::common::pg::database)?;
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now));
    let open = |mode| {
        let storage = blocking(|| jitdesk::postgres::open(&url, mode)).unwrap();
        Engine::with_storage(storage, clock.clone())
    };
    jitdesk::sample::create_at(Path::new(&url), 0, now).await.unwrap();
    let a = open(OpenMode::Existing).await.unwrap();
    let b = open(OpenMode::Existing).await.unwrap();
    listening(&url, 2).await;
    Some((a, b, clock, url))
}

/// The PostgreSQL client blocks: off the runtime's own work, as the engine's reads are.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn admin(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect to the test database")
}

/// The server's ids of the connections listening for commits on this database.
fn listeners(url: &str) -> Vec<i32> {
    let sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND query = 'LISTEN jitdesk_commits' AND state = 'idle'";
    blocking(|| admin(url).query(sql, &[]).unwrap().iter().map(|row| row.get(0)).collect())
}

/// Waits until `n` connections listen, and their engines have heard that they may have missed
/// something (as each listener says once it listens).
async fn listening(url: &str, n: usize) {
    for _ in 0..3000 {
        if listeners(url).len() == n {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the listeners never listened: {:?}", listeners(url));
}

/// The next committed change, past any reload (a listener saying it may have missed some).
async fn next_committed(events: &mut Events) -> jitdesk::engine::Committed {
    loop {
        if let Change::Committed(change) = next(events).await {
            return change;
        }
    }
}

/// The actions of a request's audit records, oldest first.
async fn actions(engine: &Engine, id: u64) -> Vec<Action> {
    let history = engine.request(&Viewer::Operator, id).await.unwrap().history;
    history.iter().map(|r| r.action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_change_on_one_replica_is_heard_on_the_other() {
    let Some((a, b, clock, _url)) = pg_replicas().await else { return };
    settle_heard(&a, &b, &clock).await;
    let mut on_b = Events::local(b.subscribe_for(None));
    add_frank(&a).await;
    let created = a.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    assert_eq!(next_committed(&mut on_b).await.record.action, Action::UserAdded);
    let heard = next_committed(&mut on_b).await;
    assert_eq!(heard.record.action, Action::RequestCreated);
    assert_eq!(heard.record.target, jitdesk::domain::Target::Request(created.id));
    assert!(heard.notified.contains(&"alice@contoso.com".to_string()), "{heard:?}");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_racing_decisions_on_two_replicas_decide_each_request_once() {
    let Some((a, b, clock, _url)) = pg_replicas().await else { return };
    settle(&a, &b, &clock).await;
    let mut ids = Vec::new();
    for n in 0..50 {
        let upn = format!("user{n}@fabrikam.com");
        add_user(&a, &upn).await;
        ids.push(a.run(&user(&upn), ask("contoso-crm")).await.unwrap().id);
    }
    let decide = |engine: Engine, who: &'static str, id, approve| async move {
        let decision = jitdesk::engine::Decide { id, approve, reason: "INC-7".into() };
        engine.run(&user(who), decision).await
    };
    let mut races = tokio::task::JoinSet::new();
    for (n, &id) in ids.iter().enumerate() {
        let (approver, denier) = if n % 2 == 0 { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
        races.spawn(decide(approver, "alice@contoso.com", id, true));
        races.spawn(decide(denier, "bob@contoso.com", id, false));
    }
    let outcomes = races.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 50, "one decision each: {outcomes:?}");
    for id in ids {
        let decisions: Vec<Action> = actions(&b, id)
            .await
            .into_iter()
            .filter(|a| matches!(a, Action::RequestApproved | Action::RequestDenied))
            .collect();
        assert_eq!(decisions.len(), 1, "request {id} decided once: {decisions:?}");
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_requests_due_at_one_instant_time_out_once_whichever_ticker_gets_there() {
    let Some((a, b, clock, _url)) = pg_replicas().await else { return };
    settle(&a, &b, &clock).await;
    let mut created = Vec::new();
    for n in 0..30 {
        let upn = format!("user{n}@fabrikam.com");
        let engine = if n % 2 == 0 { &a } else { &b };
        add_user(engine, &upn).await;
        created.push(engine.run(&user(&upn), ask("contoso-crm")).await.unwrap());
    }
    let at = created.iter().map(|r| r.decide_by).max().unwrap();
    clock.set(at + TimeDelta::seconds(1));
    let (on_a, on_b) = tokio::join!(a.sync(), b.sync());
    on_a.unwrap();
    on_b.unwrap();
    for request in created {
        assert_eq!(
            actions(&a, request.id).await,
            [Action::RequestCreated, Action::RequestTimedOut],
            "request {} timed out once",
            request.id
        );
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_replica_that_stopped_leaves_its_deadlines_to_the_other() {
    let Some((a, b, clock, _url)) = pg_replicas().await else { return };
    settle(&a, &b, &clock).await;
    add_frank(&a).await;
    let created = a.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    a.close().await.unwrap();
    clock.set(created.decide_by + TimeDelta::seconds(1));
    b.sync().await.unwrap();
    assert_eq!(actions(&b, created.id).await, [Action::RequestCreated, Action::RequestTimedOut]);
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_listener_cut_off_listens_again_and_its_subscribers_reload() {
    let Some((a, b, clock, url)) = pg_replicas().await else { return };
    settle_heard(&a, &b, &clock).await;
    let mut on_b = Events::local(b.subscribe_for(None));
    for pid in listeners(&url) {
        blocking(|| admin(&url).execute("SELECT pg_terminate_backend($1)", &[&pid])).unwrap();
    }
    assert_eq!(next(&mut on_b).await, Change::Reload, "told it may have missed some once it listens again");
    listening(&url, 2).await;
    add_frank(&a).await;
    assert_eq!(next_committed(&mut on_b).await.record.action, Action::UserAdded, "and hears again");
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_each_delivery_is_sent_once_whichever_replica_picks_it() {
    let Some((a, b, _clock, _url)) = pg_replicas().await else { return };
    each_sent_once(&a, &b).await;
    a.close().await.unwrap();
    b.close().await.unwrap();
}
