//! The delivery worker through the engine, with a courier of the tests' own and a manual clock:
//! a failed send is tried again with backoff until it goes; one that keeps failing is given up on
//! once too old, and the tenant's admins are told in the app; a permanent failure gives up at
//! once; a send cut short by a crash goes once more with the same key, and never again; a digest
//! goes as one parcel; and an idle worker reads nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jitdesk::domain::delivery::{ContactChange, Delivery, DeliveryFilter, DeliveryState, Retry};
use jitdesk::domain::rules::NewUser;
use jitdesk::domain::{Action, Paging};
use jitdesk::engine::outbox::{Courier, Parcel, Sending, Undelivered};
use jitdesk::engine::{AddChannel, Clock, Engine, ManualClock, OpenMode, SetContact, Viewer};

use super::engine_outbox::{FRANK, all, ask, email, operator, sample, smtp, user, webhook};

/// Records every parcel, then answers with the next of its answers (sent, once they run out), or
/// never when it hangs.
#[derive(Default)]
struct TestCourier {
    sent: Mutex<Vec<Parcel>>,
    answers: Mutex<VecDeque<Result<(), Undelivered>>>,
    hang: bool,
    fail_always: bool,
}

impl TestCourier {
    fn failing(n: usize) -> Arc<Self> {
        let down = Err(Undelivered { reason: "503 from the receiver \u{1b}[31m".into(), permanent: false });
        Arc::new(TestCourier { answers: Mutex::new(vec![down; n].into()), ..Self::default() })
    }

    fn sent(&self) -> Vec<Parcel> {
        self.sent.lock().unwrap().clone()
    }
}

impl Courier for TestCourier {
    fn send<'a>(&'a self, parcel: &'a Parcel) -> Sending<'a> {
        Box::pin(async move {
            self.sent.lock().unwrap().push(parcel.clone());
            if self.hang {
                std::future::pending::<()>().await;
            }
            if self.fail_always {
                return Err(Undelivered { reason: "connection refused".into(), permanent: false });
            }
            self.answers.lock().unwrap().pop_front().unwrap_or(Ok(()))
        })
    }
}

const RETRY: Retry = Retry {
    first: TimeDelta::seconds(10),
    longest: TimeDelta::minutes(1),
    give_up_after: TimeDelta::minutes(5),
};

/// Syncs the engine (which wakes the worker) until `done` holds of the deliveries; the test fails
/// only if it never does.
async fn until(engine: &Engine, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
    for _ in 0..3000 {
        engine.sync().await.unwrap();
        let now = all(engine, &Viewer::Operator).await;
        if done(&now) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the deliveries never got there: {:?}", all(engine, &Viewer::Operator).await);
}

/// Contoso's webhook, and a request by Frank that queues one delivery over it.
async fn one_webhook_delivery(engine: &Engine) {
    let add = AddChannel { tenant: "contoso".into(), kind: webhook("https://chat.contoso.com/h") };
    engine.run(&operator(), add).await.unwrap();
    let frank =
        NewUser { upn: FRANK.into(), tenant: "fabrikam".into(), name: None, admin: false, login: None };
    engine.run(&operator(), frank).await.unwrap();
    engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
}

fn attempts(d: &[Delivery]) -> u32 {
    d.first().map_or(0, |d| d.attempts)
}

#[tokio::test]
async fn a_failed_send_is_tried_again_with_backoff_until_it_goes() {
    let (_dir, engine, clock) = sample().await;
    let courier = TestCourier::failing(2);
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    let failed_at = clock.now();
    let after_one = until(&engine, |d| attempts(d) == 1).await;
    let backoff = after_one[0].next_at - failed_at;
    assert!(backoff >= TimeDelta::seconds(5) && backoff <= TimeDelta::seconds(10), "{backoff}");
    assert_eq!(after_one[0].state, DeliveryState::Queued);
    let reason = after_one[0].last_error.clone().unwrap();
    assert!(reason.contains("503") && !reason.contains('\u{1b}'), "kept sanitized: {reason:?}");
    assert_eq!(courier.sent().len(), 1, "nothing more before its time");
    clock.advance(TimeDelta::seconds(11));
    until(&engine, |d| attempts(d) == 2).await;
    clock.advance(TimeDelta::seconds(21));
    let done = until(&engine, |d| matches!(d[0].state, DeliveryState::Sent { .. })).await;
    assert_eq!(done[0].attempts, 3);
    let keys: Vec<String> = courier.sent().iter().map(|p| p.key.clone()).collect();
    assert_eq!(keys, vec![done[0].idempotency_key(); 3], "every attempt carries the same key");
    let parcel = &courier.sent()[0];
    assert_eq!(parcel.tenant, "contoso");
    assert_eq!(parcel.notices.len(), 1);
    assert_eq!(parcel.notices[0].record.action, Action::RequestCreated);
    assert_eq!(parcel.notices[0].recipients, ["alice@contoso.com", "bob@contoso.com"]);
    assert_eq!(parcel.notices[0].request.as_ref().map(|r| r.requester.as_str()), Some(FRANK));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_send_that_keeps_failing_is_given_up_and_the_tenants_admins_are_told() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier { fail_always: true, ..TestCourier::default() });
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    let mut seen = 0;
    let failed = loop {
        let now = until(&engine, |d| attempts(d) > seen).await;
        if matches!(now[0].state, DeliveryState::Failed { .. }) {
            break now;
        }
        seen = attempts(&now);
        assert!(seen < 50, "given up in the end");
        clock.advance(TimeDelta::minutes(1));
    };
    assert!(failed[0].next_at - failed[0].queued <= RETRY.give_up_after + TimeDelta::minutes(1));
    let failed_only = DeliveryFilter { failed_only: true };
    let listed = engine.deliveries(&Viewer::Operator, failed_only, &Paging::first(10)).await;
    assert_eq!(listed.unwrap().items, failed);
    for admin in ["alice@contoso.com", "carol@contoso.com"] {
        let told = engine.notifications(admin, Paging::first(5)).await.unwrap().items;
        assert!(told.iter().any(|n| n.action == Action::DeliveryFailed), "{admin}: {told:?}");
    }
    let bob = engine.notifications("bob@contoso.com", Paging::first(5)).await.unwrap().items;
    assert!(bob.iter().all(|n| n.action != Action::DeliveryFailed), "Bob is no admin");
    let log = engine.audit(&Viewer::Operator, Paging::first(5)).await.unwrap().items;
    let record = log.iter().find(|r| r.action == Action::DeliveryFailed).expect("an audit record");
    assert!(record.reason.as_deref().unwrap().contains("connection refused"));
    // The other party to the request (the publisher) reads nothing of Contoso's channel.
    let jitdesk::domain::Target::Request(id) = record.target else { panic!("{record:?}") };
    let theirs = Viewer::User(FRANK.into());
    let history = engine.request(&theirs, id).await.unwrap().history;
    assert!(history.iter().all(|r| r.action != Action::DeliveryFailed), "{history:?}");
    let their_log = engine.audit(&theirs, Paging::first(50)).await.unwrap().items;
    assert!(their_log.iter().all(|r| r.action != Action::DeliveryFailed));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_permanent_failure_gives_up_at_once() {
    let (_dir, engine, _) = sample().await;
    let refused = Err(Undelivered { reason: "the signature was refused".into(), permanent: true });
    let courier =
        Arc::new(TestCourier { answers: Mutex::new(vec![refused].into()), ..TestCourier::default() });
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    let failed =
        until(&engine, |d| matches!(d.first().map(|d| d.state), Some(DeliveryState::Failed { .. }))).await;
    assert_eq!(failed[0].attempts, 1);
    assert_eq!(courier.sent().len(), 1);
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_send_cut_short_goes_once_more_with_the_same_key_and_never_again() {
    let (dir, engine, clock) = sample().await;
    let path = dir.path().join("s.redb");
    let hanging = Arc::new(TestCourier { hang: true, ..TestCourier::default() });
    engine.deliver_with(hanging.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    for _ in 0..3000 {
        if !hanging.sent().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hanging.sent().len(), 1, "the receiver got it, and the sender never heard back");
    engine.close().await.unwrap();

    // Opened again after the lease ran out: it goes once more, with the same key.
    let later = Arc::new(ManualClock::new(clock.now() + TimeDelta::minutes(2)));
    let engine = Engine::open(&path, OpenMode::Existing, later.clone()).await.unwrap();
    let again = Arc::new(TestCourier::default());
    engine.deliver_with(again.clone(), RETRY).unwrap();
    let sent =
        until(&engine, |d| matches!(d.first().map(|d| d.state), Some(DeliveryState::Sent { .. }))).await;
    assert_eq!(again.sent().len(), 1);
    assert_eq!(again.sent()[0].key, hanging.sent()[0].key);
    assert_eq!(sent[0].idempotency_key(), hanging.sent()[0].key);
    engine.close().await.unwrap();

    // A third time: nothing is owed.
    let engine = Engine::open(&path, OpenMode::Existing, later.clone()).await.unwrap();
    let third = Arc::new(TestCourier::default());
    engine.deliver_with(third.clone(), RETRY).unwrap();
    engine.sync().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(third.sent().is_empty());
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_digest_goes_as_one_parcel_of_the_notices_it_gathered() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier::default());
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    engine.run(&operator(), AddChannel { tenant: "contoso".into(), kind: smtp() }).await.unwrap();
    let alice = "alice@contoso.com";
    let change = ContactChange { digest_minutes: Some(Some(30)), ..email(alice) };
    engine.run(&user(alice), SetContact { upn: alice.into(), change }).await.unwrap();
    for upn in [FRANK, "gina@fabrikam.com"] {
        let input =
            NewUser { upn: upn.into(), tenant: "fabrikam".into(), name: None, admin: false, login: None };
        engine.run(&operator(), input).await.unwrap();
        engine.run(&user(upn), ask("contoso-crm")).await.unwrap();
        clock.advance(TimeDelta::minutes(5));
    }
    let queued = all(&engine, &Viewer::Operator).await;
    assert_eq!(queued.len(), 2, "Bob has no address: {queued:?}");
    assert_eq!(queued[0].next_at, queued[1].next_at, "the second waits for the first's digest");
    engine.sync().await.unwrap();
    assert!(courier.sent().is_empty(), "nothing before the digest's time");
    clock.advance(TimeDelta::minutes(21));
    until(&engine, |d| d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }))).await;
    let parcels = courier.sent();
    assert_eq!(parcels.len(), 1);
    assert_eq!(parcels[0].to.as_ref().map(|r| r.email.as_str()), Some(alice));
    let asking: Vec<&str> =
        parcels[0].notices.iter().filter_map(|n| n.request.as_ref()).map(|r| r.requester.as_str()).collect();
    assert_eq!(asking, [FRANK, "gina@fabrikam.com"], "oldest first");
    engine.close().await.unwrap();
}

/// The manual clock, counting how often it is read.
struct CountingClock(ManualClock, AtomicUsize);

impl Clock for CountingClock {
    fn now(&self) -> DateTime<Utc> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.now()
    }
}

#[tokio::test]
async fn an_idle_worker_reads_nothing() {
    let (dir, engine, clock) = sample().await;
    engine.close().await.unwrap();
    let counting = Arc::new(CountingClock(ManualClock::new(clock.now()), AtomicUsize::new(0)));
    let engine =
        Engine::open(&dir.path().join("s.redb"), OpenMode::Existing, counting.clone()).await.unwrap();
    engine.deliver_with(Arc::new(TestCourier::default()), RETRY).unwrap();
    engine.sync().await.unwrap();
    // Let the worker look once and settle; then nothing may wake it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let settled = counting.1.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(counting.1.load(Ordering::SeqCst), settled, "neither the worker nor the store thread woke");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_mail_queued_before_its_kind_was_muted_is_still_sent() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier::default());
    engine.run(&operator(), AddChannel { tenant: "contoso".into(), kind: smtp() }).await.unwrap();
    let alice = "alice@contoso.com";
    let change = ContactChange { digest_minutes: Some(Some(30)), ..email(alice) };
    engine.run(&user(alice), SetContact { upn: alice.into(), change }).await.unwrap();
    let frank =
        NewUser { upn: FRANK.into(), tenant: "fabrikam".into(), name: None, admin: false, login: None };
    engine.run(&operator(), frank).await.unwrap();
    engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
    let mute = ContactChange {
        mute: vec![jitdesk::domain::delivery::NoticeKind::ToDecide],
        ..ContactChange::default()
    };
    engine.run(&user(alice), SetContact { upn: alice.into(), change: mute }).await.unwrap();
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    clock.advance(TimeDelta::minutes(31));
    until(&engine, |d| d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }))).await;
    assert_eq!(courier.sent().len(), 1, "it was owed when it was queued");
    engine.close().await.unwrap();
}
