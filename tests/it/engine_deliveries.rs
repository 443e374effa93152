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
use jitdesk::engine::{AddChannel, Clock, Engine, ManualClock, OpenMode, RemoveChannel, SetContact, Viewer};

use super::engine_outbox::{FRANK, all, ask, email, operator, sample, smtp, user, webhook};

/// Records every parcel, then answers with the next of its answers (sent, once they run out), or
/// never when it hangs.
#[derive(Default)]
struct TestCourier {
    sent: Mutex<Vec<Parcel>>,
    answers: Mutex<VecDeque<Result<(), Undelivered>>>,
    hang: bool,
    fail_always: bool,
    /// Each send waits for a permit here before it answers, when there is a gate.
    gate: Option<tokio::sync::Semaphore>,
}

impl TestCourier {
    fn failing(n: usize) -> Arc<Self> {
        let down = Err(Undelivered { reason: "503 from the receiver \u{1b}[31m".into(), permanent: false });
        Arc::new(TestCourier { answers: Mutex::new(vec![down; n].into()), ..Self::default() })
    }

    fn gated() -> Arc<Self> {
        Arc::new(TestCourier { gate: Some(tokio::sync::Semaphore::new(0)), ..Self::default() })
    }

    fn open_gate(&self) {
        self.gate.as_ref().unwrap().add_permits(100);
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
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
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
    let frank = NewUser {
        upn: FRANK.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
    engine.run(&operator(), frank).await.unwrap();
    engine.run(&user(FRANK), ask("contoso-crm")).await.unwrap();
}

/// Whether the first delivery's attempt number `n` was made and how it went is recorded: its
/// lease (which counts the attempt and pushes it a minute on, past any backoff of `RETRY`) has
/// given way to the outcome.
fn tried(d: &[Delivery], n: u32, now: DateTime<Utc>) -> bool {
    d.first().is_some_and(|d| {
        d.attempts == n && (d.state != DeliveryState::Queued || d.next_at < now + TimeDelta::minutes(1))
    })
}

#[tokio::test]
async fn a_failed_send_is_tried_again_with_backoff_until_it_goes() {
    let (_dir, engine, clock) = sample().await;
    let courier = TestCourier::failing(2);
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    let failed_at = clock.now();
    let after_one = until(&engine, |d| tried(d, 1, clock.now())).await;
    let backoff = after_one[0].next_at - failed_at;
    assert!(backoff >= TimeDelta::seconds(5) && backoff <= TimeDelta::seconds(10), "{backoff}");
    assert_eq!(after_one[0].state, DeliveryState::Queued);
    let reason = after_one[0].last_error.clone().unwrap();
    assert!(reason.contains("503") && !reason.contains('\u{1b}'), "kept sanitized: {reason:?}");
    assert_eq!(courier.sent().len(), 1, "nothing more before its time");
    clock.advance(TimeDelta::seconds(11));
    until(&engine, |d| tried(d, 2, clock.now())).await;
    clock.advance(TimeDelta::seconds(21));
    let done = until(&engine, |d| matches!(d[0].state, DeliveryState::Sent { .. })).await;
    assert_eq!(done[0].attempts, 3);
    let keys: Vec<String> = courier.sent().iter().map(|p| p.key.clone()).collect();
    assert_eq!(keys, vec![done[0].idempotency_key(); 3], "every attempt carries the same key");
    let parcel = &courier.sent()[0];
    assert_eq!(parcel.tenant, "contoso");
    assert_eq!(parcel.notices.len(), 1);
    assert_eq!(parcel.notices[0].record.action, Action::RequestCreated);
    assert_eq!(parcel.notices[0].request.as_ref().map(|r| r.requester.as_str()), Some(FRANK));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_send_that_keeps_failing_is_given_up_and_the_tenants_admins_are_told() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier { fail_always: true, ..TestCourier::default() });
    let mut carols = engine.subscribe_for(Some("carol@contoso.com"));
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    one_webhook_delivery(&engine).await;
    // Time runs on in small steps until it is given up on.
    let mut rounds = 0;
    let failed = loop {
        engine.sync().await.unwrap();
        let now = all(&engine, &Viewer::Operator).await;
        if matches!(now.first().map(|d| d.state), Some(DeliveryState::Failed { .. })) {
            break now;
        }
        rounds += 1;
        assert!(rounds < 3000, "given up in the end: {now:?}");
        clock.advance(TimeDelta::seconds(5));
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(failed[0].attempts > 1, "{failed:?}");
    assert!(failed[0].next_at - failed[0].queued <= RETRY.give_up_after + TimeDelta::minutes(2));
    let failed_only = DeliveryFilter { failed_only: true };
    let listed = engine.deliveries(&Viewer::Operator, failed_only, &Paging::first(10)).await;
    assert_eq!(listed.unwrap().items, failed);
    for admin in ["alice@contoso.com", "carol@contoso.com"] {
        let told = engine.notifications(admin, Paging::first(5)).await.unwrap().items;
        let n = told.iter().find(|n| n.action == Action::DeliveryFailed).expect(admin);
        assert!(n.message.contains("webhook to chat.contoso.com"), "the channel: {}", n.message);
        assert!(n.message.contains("connection refused"), "the reason: {}", n.message);
        assert!(!n.message.contains("/h"), "no URL path: {}", n.message);
    }
    let heard = async {
        loop {
            let event = carols.recv().await.unwrap();
            if event.record.action == Action::DeliveryFailed {
                return event;
            }
        }
    };
    let heard = tokio::time::timeout(Duration::from_secs(60), heard).await.expect("Carol hears it live");
    assert_eq!(heard.notified, ["carol@contoso.com"]);
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
        let input = NewUser {
            upn: upn.into(),
            tenant: "fabrikam".into(),
            name: None,
            admin: false,
            login: None,
            object_id: None,
        };
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
    let frank = NewUser {
        upn: FRANK.into(),
        tenant: "fabrikam".into(),
        name: None,
        admin: false,
        login: None,
        object_id: None,
    };
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

/// Waits until the courier was handed `n` parcels; the test fails only if it never is.
async fn handed(courier: &TestCourier, n: usize) {
    for _ in 0..3000 {
        if courier.sent().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the courier got {} parcels, not {n}", courier.sent().len());
}

/// Wakes the worker a few times and gives it a moment to act on what it finds.
async fn let_it_look(engine: &Engine) {
    for _ in 0..3 {
        engine.sync().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A request by each of `upns` (new Fabrikam users) for contoso-crm.
async fn requests_by(engine: &Engine, upns: &[&str]) {
    for upn in upns {
        let input = NewUser {
            upn: (*upn).into(),
            tenant: "fabrikam".into(),
            name: None,
            admin: false,
            login: None,
            object_id: None,
        };
        engine.run(&operator(), input).await.unwrap();
        engine.run(&user(upn), ask("contoso-crm")).await.unwrap();
    }
}

async fn add_webhooks(engine: &Engine, n: usize) {
    for i in 0..n {
        let add =
            AddChannel { tenant: "contoso".into(), kind: webhook(&format!("https://h{i}.contoso.com/h")) };
        engine.run(&operator(), add).await.unwrap();
    }
}

#[tokio::test]
async fn a_send_under_way_is_not_picked_again_when_its_lease_runs_out() {
    let (_dir, engine, clock) = sample().await;
    let courier = TestCourier::gated();
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    add_webhooks(&engine, 2).await;
    requests_by(&engine, &[FRANK]).await;
    handed(&courier, 2).await;
    clock.advance(TimeDelta::minutes(5) - TimeDelta::seconds(1));
    let_it_look(&engine).await;
    assert_eq!(courier.sent().len(), 2, "each is still being sent, however old its lease");
    courier.open_gate();
    until(&engine, |d| d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }))).await;
    let mut keys: Vec<String> = courier.sent().iter().map(|p| p.key.clone()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 2, "each sent once: {keys:?}");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_channel_carries_one_send_at_a_time() {
    let (_dir, engine, _) = sample().await;
    let courier = TestCourier::gated();
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK, "gina@fabrikam.com"]).await;
    handed(&courier, 1).await;
    let_it_look(&engine).await;
    assert_eq!(courier.sent().len(), 1, "the second waits for the first");
    courier.open_gate();
    until(&engine, |d| d.len() == 2 && d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }))).await;
    assert_eq!(courier.sent().len(), 2);
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_failing_channels_other_deliveries_are_pushed_back_untried() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier { fail_always: true, ..TestCourier::default() });
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK, "gina@fabrikam.com"]).await;
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    let now = clock.now();
    let d = until(&engine, |d| {
        d.iter().any(|d| d.attempts == 1 && d.last_error.is_some())
            && d.iter().any(|d| d.attempts == 0 && d.next_at > now)
    })
    .await;
    assert_eq!(courier.sent().len(), 1, "one failure rests the channel: {d:?}");
    assert!(d.iter().all(|d| d.state == DeliveryState::Queued));
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_digest_that_gathered_new_mail_on_a_retry_has_a_new_key() {
    let (_dir, engine, clock) = sample().await;
    let courier = TestCourier::failing(1);
    let retry = Retry { give_up_after: TimeDelta::hours(2), ..RETRY };
    engine.deliver_with(courier.clone(), retry).unwrap();
    engine.run(&operator(), AddChannel { tenant: "contoso".into(), kind: smtp() }).await.unwrap();
    let alice = "alice@contoso.com";
    let change = ContactChange { digest_minutes: Some(Some(30)), ..email(alice) };
    engine.run(&user(alice), SetContact { upn: alice.into(), change }).await.unwrap();
    requests_by(&engine, &[FRANK]).await;
    clock.advance(TimeDelta::minutes(31));
    until(&engine, |d| d.iter().any(|d| d.last_error.is_some())).await;
    requests_by(&engine, &["gina@fabrikam.com"]).await;
    clock.advance(TimeDelta::minutes(31));
    until(&engine, |d| d.len() == 2 && d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. }))).await;
    let parcels = courier.sent();
    assert_eq!(parcels.len(), 2, "{parcels:?}");
    assert_eq!((parcels[0].notices.len(), parcels[1].notices.len()), (1, 2));
    assert_ne!(parcels[0].key, parcels[1].key, "a receiver must not drop Gina's request as a repeat");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_delivery_too_old_when_first_picked_is_given_up_unsent() {
    let (_dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier::default());
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK]).await;
    clock.advance(RETRY.give_up_after + TimeDelta::minutes(1));
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    let failed =
        until(&engine, |d| matches!(d.first().map(|d| d.state), Some(DeliveryState::Failed { .. }))).await;
    assert_eq!(failed[0].attempts, 0);
    assert!(failed[0].last_error.as_deref().unwrap().contains("too late"), "{failed:?}");
    assert!(courier.sent().is_empty(), "not sent late");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn close_does_not_wait_for_a_free_send_slot() {
    let (_dir, engine, _) = sample().await;
    let courier = Arc::new(TestCourier { hang: true, ..TestCourier::default() });
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    add_webhooks(&engine, 9).await;
    requests_by(&engine, &[FRANK]).await;
    handed(&courier, 8).await;
    // Well under the sends' own timeout, which is what an old worker waited for.
    let closed = tokio::time::timeout(Duration::from_secs(20), engine.close()).await;
    assert!(matches!(closed, Ok(Ok(()))), "{closed:?}");
}

#[tokio::test]
async fn a_second_worker_is_refused_in_one_line() {
    let (_dir, engine, _) = sample().await;
    engine.deliver_with(Arc::new(TestCourier::default()), RETRY).unwrap();
    let e = engine.deliver_with(Arc::new(TestCourier::default()), RETRY).unwrap_err();
    assert!(matches!(e, jitdesk::engine::Error::Worker(_)), "{e:?}");
    assert!(e.to_string().contains("already") && !e.to_string().contains('\n'), "{e}");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_removed_channels_queued_deliveries_end_without_a_flood_of_notices() {
    let (_dir, engine, _) = sample().await;
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK, "gina@fabrikam.com"]).await;
    let id = all(&engine, &Viewer::Operator).await[0].channel;
    engine.run(&operator(), RemoveChannel { tenant: "contoso".into(), id }).await.unwrap();
    let courier = Arc::new(TestCourier::default());
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    let ended = until(&engine, |d| d.iter().all(|d| matches!(d.state, DeliveryState::Failed { .. }))).await;
    assert_eq!(ended.len(), 2);
    assert!(courier.sent().is_empty());
    let told = engine.notifications("alice@contoso.com", Paging::first(50)).await.unwrap().items;
    assert!(told.iter().all(|n| n.action != Action::DeliveryFailed), "{told:?}");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_channels_admins_are_told_of_its_failures_once_an_hour_and_of_the_rest_in_the_next() {
    let (_dir, engine, clock) = sample().await;
    let refused = Err(Undelivered { reason: "the signature was refused".into(), permanent: true });
    let courier =
        Arc::new(TestCourier { answers: Mutex::new(vec![refused; 3].into()), ..TestCourier::default() });
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK, "gina@fabrikam.com"]).await;
    until(&engine, |d| d.len() == 2 && d.iter().all(|d| matches!(d.state, DeliveryState::Failed { .. })))
        .await;
    let failures = |told: Vec<jitdesk::domain::Notification>| {
        told.into_iter().filter(|n| n.action == Action::DeliveryFailed).map(|n| n.message).collect::<Vec<_>>()
    };
    let alice = "alice@contoso.com";
    let told = failures(engine.notifications(alice, Paging::first(50)).await.unwrap().items);
    assert_eq!(told.len(), 1, "one notice for the channel's two failures: {told:?}");
    clock.advance(TimeDelta::minutes(61));
    requests_by(&engine, &["hana@fabrikam.com"]).await;
    until(&engine, |d| d.len() == 3 && d.iter().all(|d| matches!(d.state, DeliveryState::Failed { .. })))
        .await;
    let told = failures(engine.notifications(alice, Paging::first(50)).await.unwrap().items);
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().any(|m| m.contains("and 1 more")), "the one untold is counted: {told:?}");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn deliveries_settled_long_ago_are_pruned_and_recent_ones_kept() {
    let (dir, engine, clock) = sample().await;
    let courier = Arc::new(TestCourier::default());
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK]).await;
    until(&engine, |d| d.len() == 1 && matches!(d[0].state, DeliveryState::Sent { .. })).await;
    clock.advance(TimeDelta::days(20));
    requests_by(&engine, &["gina@fabrikam.com"]).await;
    let both =
        until(&engine, |d| d.len() == 2 && d.iter().all(|d| matches!(d.state, DeliveryState::Sent { .. })))
            .await;
    engine.close().await.unwrap();

    // Opened again 31 days after the first was sent, a worker that sends prunes it.
    let later = Arc::new(ManualClock::new(clock.now() + TimeDelta::days(11)));
    let engine = Engine::open(&dir.path().join("s.redb"), OpenMode::Existing, later).await.unwrap();
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    requests_by(&engine, &["hana@fabrikam.com"]).await;
    let kept = until(&engine, |d| d.len() == 2 && d.iter().all(|d| d.id != both[1].id)).await;
    assert_eq!(kept[1], both[0], "the newer is kept, the one sent 31 days ago is gone");
    engine.close().await.unwrap();
}

#[tokio::test]
async fn a_delivery_whose_notice_cannot_be_read_fails_alone_and_the_rest_go() {
    let (dir, engine, clock) = sample().await;
    add_webhooks(&engine, 1).await;
    requests_by(&engine, &[FRANK]).await;
    let good = all(&engine, &Viewer::Operator).await.remove(0);
    engine.close().await.unwrap();
    // A delivery naming an audit record the store does not hold, queued before the good one.
    let path = dir.path().join("s.redb");
    let store = jitdesk::store::open(&path, OpenMode::Existing).unwrap();
    store
        .transact(|t| {
            let bad = Delivery {
                id: good.id + 1,
                audit: 999_999,
                next_at: good.next_at - TimeDelta::seconds(1),
                ..good.clone()
            };
            t.save_delivery(None, &bad)
        })
        .unwrap();
    drop(store);

    let engine =
        Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(clock.now()))).await.unwrap();
    let courier = Arc::new(TestCourier::default());
    engine.deliver_with(courier.clone(), RETRY).unwrap();
    let done = until(&engine, |d| d.iter().all(|d| d.state != DeliveryState::Queued)).await;
    let bad = done.iter().find(|d| d.audit == 999_999).unwrap();
    assert!(matches!(bad.state, DeliveryState::Failed { .. }), "{bad:?}");
    assert!(bad.last_error.as_deref().unwrap().contains("cannot be read"), "{bad:?}");
    let sent = done.iter().find(|d| d.id == good.id).unwrap();
    assert!(matches!(sent.state, DeliveryState::Sent { .. }), "{sent:?}");
    assert_eq!(courier.sent().len(), 1);
    engine.close().await.unwrap();
}
