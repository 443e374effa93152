//! The delivery worker: sends what the outbox owes through the courier it is given, and records
//! how each send went through the store thread, like every other change. It sleeps until a commit
//! may have queued a delivery, a send finished, the engine is synced, or the earliest queued
//! delivery comes due, so an empty outbox costs no reads and no CPU.
//!
//! A pass takes only as many due deliveries as there are free send slots, and at most one per
//! channel, so one tenant's silent receiver holds only its own channels' slots. Each send is leased
//! just before it starts (its next attempt pushed past the send's timeout, in a commit, the attempt
//! counted): a crash or an abandoned send leaves it due again once the lease runs out, so it goes
//! again, with the same idempotency key for the receiver to drop the repeat, and backs off like a
//! failed send. What is being sent is kept in memory, and no pass picks it again meanwhile. A
//! channel whose send failed rests a while, doubling while it keeps failing: its other due
//! deliveries are pushed back untried instead of each spending a timeout.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

use super::error::Error;
use super::event::Committed;
use super::outbox::{Courier, Parcel, Recipient, Undelivered};
use super::storage::Reads;
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Inner, Result};
use crate::domain::delivery::{Delivery, DeliveryState, Notice, NoticeKind, Retry, parcel_key};
use crate::domain::rules::Actor;
use crate::domain::text::sanitize;
use crate::domain::*;

/// How many due deliveries one pass looks through for sends to fill its free slots.
const SCAN: usize = 64;
/// How many sends run at once, so one slow receiver does not hold the others.
const CONCURRENCY: usize = 8;
/// How long a send may take before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How far a lease pushes a delivery's next attempt at least: past the send's timeout.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// How long closing the engine waits for sends under way.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long the worker waits after the store failed it; it doubles while the store keeps failing.
const STORE_PAUSE_FIRST: Duration = Duration::from_secs(1);
/// The longest the worker waits for the store to come back.
const STORE_PAUSE_LONGEST: Duration = Duration::from_secs(60);
/// How often the worker looks for what came due while due deliveries wait for sends under way.
const WHILE_SENDING: Duration = Duration::from_secs(1);
/// How long sent and failed deliveries are kept for `deliveries` to list.
const KEEP: TimeDelta = TimeDelta::days(30);
/// How many of the oldest deliveries one prune looks at, so it holds the store thread briefly.
const PRUNE_BATCH: usize = 500;
/// How often the worker prunes, once a prune found no more to delete.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The most notices one digest gathers.
const MAX_DIGEST: usize = 50;
/// How often at most a channel's admins are told of its deliveries given up on; those given up on
/// meanwhile are recorded, and counted in the next notice.
const TELL_EVERY: TimeDelta = TimeDelta::hours(1);
/// The most admins told of a delivery given up on.
const MAX_ADMINS: usize = 50;
/// The longest reason kept for a failed attempt.
const MAX_REASON: usize = 500;

/// The running worker, as the engine keeps it to stop it.
pub(super) struct Outbox {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Outbox {
    /// Stops taking deliveries, gives the sends under way `CLOSE_GRACE` to finish, and returns.
    pub(super) async fn stop(self) {
        self.stop.send_replace(true);
        // A worker that panicked has nothing left to stop.
        let _ = self.task.await;
    }
}

/// Whether a commit may have queued a delivery: a change that makes a notice and told someone.
fn may_queue(event: &Committed) -> bool {
    NoticeKind::of(event.record.action).is_some() && !event.notified.is_empty()
}

/// One send to make: the deliveries it settles (several for a digest), the channel it goes over,
/// and its parcel with the deliveries it carries, or why it cannot be sent at all.
struct Sending {
    ids: Vec<u64>,
    channel: u64,
    parcel: std::result::Result<(Parcel, Vec<Delivery>), Undelivered>,
}

fn never(reason: String) -> Undelivered {
    Undelivered { reason, permanent: true }
}

/// The facts a delivery's notice is worded from, read in the caller's snapshot.
fn notice(t: &dyn Reads, d: &Delivery) -> Result<Notice> {
    let record = t.audit_record(d.audit)?.ok_or_else(|| {
        Error::Storage(super::error::StoreError::Storage(format!("audit record {} is missing", d.audit)))
    })?;
    let request = match record.target {
        Target::Request(id) => t.request(id)?,
        _ => None,
    };
    Ok(Notice { kind: d.kind, record, request })
}

/// The send one picked delivery makes, read in the caller's snapshot: a digest user's mail over
/// one channel goes as one parcel of everything queued for them there that is not `busy`
/// (being sent) already.
fn sending(t: &dyn Reads, d: &Delivery, busy: &mut HashSet<u64>) -> Result<Sending> {
    let one = |why: String| Sending { ids: vec![d.id], channel: d.channel, parcel: Err(never(why)) };
    let Some(channel) = t.channel(d.channel)? else {
        return Ok(one(format!("channel {} was removed", d.channel)));
    };
    let mut group = vec![d.clone()];
    let mut to = None;
    if let Some(upn) = &d.to {
        let contact = t.contact(upn)?.unwrap_or_default();
        let Some(email) = contact.email else {
            return Ok(one(format!("{upn} has no e-mail address")));
        };
        to = Some(Recipient { upn: upn.clone(), email });
        if contact.digest_minutes.is_some() {
            for more in t.queued_mail(upn, d.channel, MAX_DIGEST)? {
                if more.id != d.id && busy.insert(more.id) {
                    group.push(more);
                }
            }
            group.sort_by_key(|g| g.id);
        }
    }
    let notices = group.iter().map(|g| notice(t, g)).collect::<Result<Vec<_>>>()?;
    let parcel = Parcel {
        key: parcel_key(&group),
        restricted: channel.restricted(),
        channel: channel.kind,
        tenant: channel.tenant,
        to,
        notices,
    };
    Ok(Sending { ids: group.iter().map(|g| g.id).collect(), channel: d.channel, parcel: Ok((parcel, group)) })
}

/// The sends the picked deliveries make, read in one snapshot. A delivery whose notice cannot be
/// read (its audit record missing, a record that does not decode) is given up on by itself with
/// the reason, so it neither holds back the others nor comes due again and again.
fn gather(t: &dyn Reads, picked: Vec<Delivery>, mut busy: HashSet<u64>) -> Vec<Sending> {
    busy.extend(picked.iter().map(|d| d.id));
    picked
        .iter()
        .map(|d| {
            sending(t, d, &mut busy).unwrap_or_else(|e| Sending {
                ids: vec![d.id],
                channel: d.channel,
                parcel: Err(never(format!("its notice cannot be read: {e}"))),
            })
        })
        .collect()
}

/// Marks queued deliveries as being sent: the attempt is counted and the next one pushed past the
/// send's timeout, or as far as the backoff after this many attempts, whichever is later. So a
/// send that is never heard back from (a crash, a process closed mid-send) goes again, and one
/// abandoned again and again goes ever more rarely, until it is too old and given up on.
///
/// The lease is the claim: it takes only deliveries still queued and still as the pass read them
/// (the one picked was due then, so it still is), and answers with their ids, which alone are sent.
/// Leases are write transactions, which the backend runs one at a time, so when two workers (two
/// replicas of the service on one database) pick the same due delivery, the second finds it leased
/// by the first (its attempt counted, its next attempt pushed past now) and leaves it.
struct Lease {
    /// The deliveries as the pass read them.
    read: Vec<Delivery>,
    retry: Retry,
}

impl Command for Lease {
    type Output = Vec<u64>;
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<Vec<u64>> {
        let mut leased = Vec::new();
        for read in self.read {
            let id = read.id;
            if let Some(old) =
                w.tables.delivery(id)?.filter(|d| d.state == DeliveryState::Queued && *d == read)
            {
                let attempts = old.attempts.saturating_add(1);
                let lease = w.now + LEASE;
                let next_at =
                    self.retry.next(old.queued, attempts, w.now, 1.0).map_or(lease, |at| at.max(lease));
                w.tables.save_delivery(Some(&old), &Delivery { attempts, next_at, ..old.clone() })?;
                leased.push(id);
            }
        }
        Ok(leased)
    }
}

/// The part of a parcel the lease claimed: the notices of the deliveries leased, under the key of
/// those alone (a digest another worker took part of goes as a smaller digest).
fn claimed(parcel: Parcel, group: &[Delivery], leased: &[u64]) -> Parcel {
    if group.len() == leased.len() {
        return parcel;
    }
    let kept: Vec<Delivery> = group.iter().filter(|d| leased.contains(&d.id)).cloned().collect();
    let notices = group.iter().zip(parcel.notices).filter(|(d, _)| leased.contains(&d.id)).map(|(_, n)| n);
    Parcel { key: parcel_key(&kept), notices: notices.collect(), ..parcel }
}

/// Pushes queued deliveries' next attempt to `until` without trying them: the channel they go
/// over rests.
struct Defer {
    ids: Vec<u64>,
    until: DateTime<Utc>,
}

impl Command for Defer {
    type Output = ();
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<()> {
        for id in self.ids {
            if let Some(old) = w.tables.delivery(id)?.filter(|d| d.state == DeliveryState::Queued) {
                w.tables.save_delivery(Some(&old), &Delivery { next_at: self.until, ..old.clone() })?;
            }
        }
        Ok(())
    }
}

/// When each channel's admins were last told of a delivery given up on, and how many were given
/// up on since without a notice. Kept in memory by the worker (its commands update it on the store
/// thread): a restart may tell once more within the hour.
#[derive(Default)]
struct Told {
    at: Option<DateTime<Utc>>,
    untold: u32,
}

type Telling = Arc<std::sync::Mutex<HashMap<u64, Told>>>;

/// How a send went, for the deliveries it settles (their attempt counted by their lease): sent;
/// tried again later; or given up on, with an audit record and a notification to the channel's
/// tenant's admins.
struct Outcome {
    ids: Vec<u64>,
    result: std::result::Result<(), Undelivered>,
    retry: Retry,
    /// Where in the backoff's upper half the next attempt falls, in [0, 1).
    jitter: f64,
    telling: Telling,
}

impl Command for Outcome {
    type Output = ();
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<()> {
        for id in &self.ids {
            let Some(old) = w.tables.delivery(*id)?.filter(|d| d.state == DeliveryState::Queued) else {
                continue;
            };
            let new = match &self.result {
                Ok(()) => Delivery { state: DeliveryState::Sent { at: w.now }, ..old.clone() },
                Err(why) => {
                    let reason: String = sanitize(&why.reason).chars().take(MAX_REASON).collect();
                    let next = (!why.permanent)
                        .then(|| self.retry.next(old.queued, old.attempts.max(1), w.now, self.jitter))
                        .flatten();
                    match next {
                        Some(at) => Delivery { next_at: at, last_error: Some(reason), ..old.clone() },
                        None => {
                            let failed = Delivery {
                                state: DeliveryState::Failed { at: w.now },
                                last_error: Some(reason.clone()),
                                ..old.clone()
                            };
                            give_up(w, &failed, &reason, &self.telling)?;
                            failed
                        }
                    }
                }
            };
            w.tables.save_delivery(Some(&old), &new)?;
        }
        Ok(())
    }
}

/// Records that a delivery was given up on, and tells its channel's tenant's admins in the app.
fn give_up(w: &mut Writer<'_, '_>, failed: &Delivery, reason: &str, telling: &Telling) -> Result<()> {
    // Filed under the change it failed to tell of (so its notification reads as that request's),
    // but under no application: the channel's troubles are its tenant's, not the other party's.
    let told = w.tables.audit_record(failed.audit)?;
    let target = told.map_or(Target::Tenant(failed.tenant.clone()), |r| r.target);
    // A removed channel's deliveries end quietly: its admins removed it, and a notice for each
    // of its queued deliveries would only flood them.
    let Some(channel) = w.tables.channel(failed.channel)? else { return Ok(()) };
    let mut why = format!("channel {} ({}): {reason}", failed.channel, channel.kind.label());
    let more = {
        let mut telling = telling.lock().unwrap_or_else(|p| p.into_inner());
        let told = telling.entry(failed.channel).or_default();
        if told.at.is_some_and(|at| w.now - at < TELL_EVERY) {
            told.untold = told.untold.saturating_add(1);
            None
        } else {
            told.at = Some(w.now);
            Some(std::mem::take(&mut told.untold))
        }
    };
    if let Some(more @ 1..) = more {
        why.push_str(&format!(" (and {more} more given up on over it since the last notice)"));
    }
    w.record(AuditEntry {
        reason: Some(&why),
        after: Some(failed.idempotency_key()),
        ..AuditEntry::new(SYSTEM, Action::DeliveryFailed, target)
    })?;
    if more.is_none() {
        return Ok(());
    }
    let admins: Vec<String> =
        w.tables.admins_of(&failed.tenant, MAX_ADMINS)?.into_iter().map(|u| u.upn).collect();
    w.notify(&admins)
}

/// Deletes sent and failed deliveries older than `KEEP`, a bounded batch at a time: the table
/// would otherwise grow with every notice ever sent.
struct Prune;

impl Command for Prune {
    type Output = usize;
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<usize> {
        w.tables.prune_deliveries(w.now - KEEP, PRUNE_BATCH)
    }
}

/// A number in [0, 1) from the operating system, for the backoff's jitter; the middle when none
/// can be drawn.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// What a finished send leaves the worker to forget or remember.
struct Done {
    ids: Vec<u64>,
    channel: u64,
    /// When the send was made and failed in a way another try may mend: the channel rests.
    failed: Option<DateTime<Utc>>,
}

/// A channel whose sends keep failing: how many in a row, and until when it rests.
#[derive(Clone, Copy)]
struct Rest {
    failures: u32,
    until: DateTime<Utc>,
}

/// What one pass did: whether it changed anything (so another pass may find more), and whether it
/// left due deliveries for a send under way to make room for.
struct Pass {
    acted: bool,
    waiting: bool,
}

/// What the worker needs that outlives no engine: it holds the engine weakly, so an engine
/// dropped without `close` still closes its store.
struct Worker {
    inner: Weak<Inner>,
    courier: Arc<dyn Courier>,
    retry: Retry,
    stop: watch::Receiver<bool>,
    events: broadcast::Receiver<Committed>,
    /// The deliveries being sent: no pass picks them again, whatever their lease says.
    in_flight: HashSet<u64>,
    /// The channels a send goes over now: each has one at a time.
    busy: HashSet<u64>,
    /// Channels resting after failed sends.
    resting: HashMap<u64, Rest>,
    telling: Telling,
    /// When the worker prunes next; none until it has sent or given up on something, so a
    /// process that only opens the store for a command writes nothing it was not asked to.
    prune_at: Option<tokio::time::Instant>,
}

impl Worker {
    fn engine(&self) -> Option<Engine> {
        self.inner.upgrade().map(|inner| Engine { inner })
    }

    async fn run(mut self) {
        let mut sends = JoinSet::new();
        let mut store_pause = STORE_PAUSE_FIRST;
        while !*self.stop.borrow() {
            while let Some(done) = sends.try_join_next() {
                self.finished(done);
            }
            let Some(engine) = self.engine() else { break };
            if self.prune_at.is_some_and(|at| tokio::time::Instant::now() >= at) {
                self.prune(&engine).await;
            }
            let wait = match self.pass(&engine, &mut sends).await {
                Ok(Pass { acted: true, .. }) => {
                    store_pause = STORE_PAUSE_FIRST;
                    self.prune_at.get_or_insert_with(tokio::time::Instant::now);
                    continue;
                }
                // Due deliveries wait for sends under way; others may come due meanwhile.
                Ok(Pass { waiting: true, .. }) => Some(WHILE_SENDING),
                Ok(Pass { .. }) => match engine.read(|t| t.next_delivery_at()).await {
                    Ok(next) => next.map(|at| {
                        Duration::from_millis((at + 1 - engine.now().timestamp_millis()).max(0) as u64)
                    }),
                    Err(e) => Some(self.store_failed(&e, &mut store_pause)),
                },
                Err(e) => Some(self.store_failed(&e, &mut store_pause)),
            };
            drop(engine);
            if !self.wait(wait, &mut sends).await {
                break;
            }
        }
        // Closing: the sends under way get a short while to finish and be recorded, then are
        // dropped; what they carried is leased, and goes again once the lease runs out.
        let _ = tokio::time::timeout(CLOSE_GRACE, async { while sends.join_next().await.is_some() {} }).await;
        sends.abort_all();
    }

    /// Prunes one batch, and plans the next: at once while batches come back full, else after
    /// `PRUNE_EVERY`.
    async fn prune(&mut self, engine: &Engine) {
        let full = match engine.run(&Actor::Operator(String::new()), Prune).await {
            Ok(deleted) => deleted == PRUNE_BATCH,
            Err(e) => {
                tracing::error!("the outbox cannot prune old deliveries: {e}");
                false
            }
        };
        let now = tokio::time::Instant::now();
        self.prune_at = Some(if full { now } else { now + PRUNE_EVERY });
    }

    /// Logs a store failure and says how long to wait before the next pass: a store that keeps
    /// failing is asked ever more rarely, so the worker never spins on it.
    fn store_failed(&self, e: &Error, pause: &mut Duration) -> Duration {
        tracing::error!("the outbox cannot reach the store: {e}");
        let now = *pause;
        *pause = (*pause * 2).min(STORE_PAUSE_LONGEST);
        now
    }

    /// Forgets a finished send, and rests its channel if it failed.
    fn finished(&mut self, done: std::result::Result<Done, tokio::task::JoinError>) {
        // A send task that panicked left its deliveries leased: they go again after the lease.
        let Ok(done) = done else { return };
        for id in &done.ids {
            self.in_flight.remove(id);
        }
        self.busy.remove(&done.channel);
        let Some(failed_at) = done.failed else {
            self.resting.remove(&done.channel);
            return;
        };
        let failures = self.resting.get(&done.channel).map_or(0, |r| r.failures).saturating_add(1);
        // A channel rests as long as the least backoff of a delivery failed as often, so its
        // other deliveries wait about as long as the failed one, which the rest never delays.
        let (first, longest) = (self.retry.first, self.retry.longest);
        let rest = first.checked_mul(1 << failures.saturating_sub(1).min(20)).unwrap_or(longest);
        self.resting.insert(done.channel, Rest { failures, until: failed_at + rest.min(longest) / 2 });
    }

    /// Looks through what is due once: gives up on what is too old to send, pushes back what waits
    /// for a resting channel, and starts sends for the free slots, one per channel.
    async fn pass(&mut self, engine: &Engine, sends: &mut JoinSet<Done>) -> Result<Pass> {
        let now = engine.now();
        let due = engine.read(move |t| t.due_deliveries(now, SCAN)).await?;
        let free = CONCURRENCY.saturating_sub(sends.len());
        let (mut too_old, mut picked, mut waiting) = (Vec::new(), Vec::new(), false);
        let mut deferred: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut channels = self.busy.clone();
        for d in due {
            if self.in_flight.contains(&d.id) {
                waiting = true;
            } else if now - d.next_at > self.retry.give_up_after {
                // Due longer than a delivery may live: nobody was sending, and news that late
                // would mislead more than it tells.
                too_old.push(d.id);
            } else if self.resting.get(&d.channel).is_some_and(|r| r.until > now) {
                deferred.entry(d.channel).or_default().push(d.id);
            } else if picked.len() < free && channels.insert(d.channel) {
                picked.push(d);
            } else {
                waiting = true;
            }
        }
        let acted = !too_old.is_empty() || !deferred.is_empty() || !picked.is_empty();
        let system = Actor::Operator(String::new());
        if !too_old.is_empty() {
            let late = match self.retry.give_up_after.num_hours() {
                0 => format!("{} minutes", self.retry.give_up_after.num_minutes()),
                hours => format!("{hours} hours"),
            };
            let why = format!("nothing sent for {late} after it was due (no worker ran): too late to send");
            let outcome = Outcome {
                ids: too_old,
                result: Err(never(why)),
                retry: self.retry,
                jitter: 0.5,
                telling: self.telling.clone(),
            };
            engine.run(&system, outcome).await?;
        }
        for (channel, ids) in deferred {
            let until = self.resting.get(&channel).map_or(now, |r| r.until);
            engine.run(&system, Defer { ids, until }).await?;
        }
        if picked.is_empty() {
            return Ok(Pass { acted, waiting });
        }
        let busy = self.in_flight.clone();
        for sending in engine.read(move |t| Ok(gather(t, picked, busy))).await? {
            self.in_flight.extend(sending.ids.iter().copied());
            self.busy.insert(sending.channel);
            let telling = self.telling.clone();
            sends.spawn(send(self.inner.clone(), self.courier.clone(), self.retry, telling, sending));
        }
        Ok(Pass { acted, waiting })
    }

    /// Sleeps until a commit may have queued a delivery, a send finished, the engine is synced,
    /// `wait` passes (None: only the others) or a prune is due; false once the worker is to stop.
    async fn wait(&mut self, wait: Option<Duration>, sends: &mut JoinSet<Done>) -> bool {
        let Some(engine) = self.engine() else { return false };
        let kick = engine.inner.outbox_kick.clone();
        drop(engine);
        let prune = self.prune_at.map(|at| at.saturating_duration_since(tokio::time::Instant::now()));
        let sleep = async {
            match wait.into_iter().chain(prune).min() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = self.stop.changed() => return false,
                _ = kick.notified() => return true,
                _ = &mut sleep => return true,
                Some(done) = sends.join_next(), if !sends.is_empty() => {
                    self.finished(done);
                    return true;
                }
                event = self.events.recv() => match event {
                    Ok(event) if !may_queue(&event) => continue,
                    Err(broadcast::error::RecvError::Closed) => return false,
                    _ => {
                        // One pass looks at everything the commits heard so far queued: a batch
                        // of many changes costs one read, not one each.
                        while matches!(
                            self.events.try_recv(),
                            Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_))
                        ) {}
                        return true;
                    }
                },
            }
        }
    }
}

/// One send: leased in a commit just before it starts, made within `SEND_TIMEOUT`, and recorded.
/// A delivery that cannot be sent at all is only recorded.
async fn send(
    inner: Weak<Inner>,
    courier: Arc<dyn Courier>,
    retry: Retry,
    telling: Telling,
    sending: Sending,
) -> Done {
    let system = Actor::Operator(String::new());
    let mut done = Done { ids: sending.ids.clone(), channel: sending.channel, failed: None };
    let mut ids = sending.ids;
    let result = match sending.parcel {
        Ok((parcel, group)) => {
            let Some(engine) = inner.upgrade().map(|inner| Engine { inner }) else { return done };
            let lease = Lease { read: group.clone(), retry };
            ids = match engine.run(&system, lease).await {
                // Another worker leased them first: they are its to send and record.
                Ok(leased) if leased.is_empty() => return done,
                Ok(leased) => leased,
                Err(e) => {
                    // Not sent: the channel rests, so a store that refuses writes is not asked
                    // again and again.
                    tracing::error!("the outbox cannot lease a send: {e}");
                    done.failed = Some(engine.now());
                    return done;
                }
            };
            let parcel = claimed(parcel, &group, &ids);
            // The engine is held only weakly while the send takes its time.
            drop(engine);
            let result = match tokio::time::timeout(SEND_TIMEOUT, courier.send(&parcel)).await {
                Ok(result) => result,
                Err(_) => Err(Undelivered {
                    reason: format!("no answer within {} seconds", SEND_TIMEOUT.as_secs()),
                    permanent: false,
                }),
            };
            if result.as_ref().is_err_and(|why| !why.permanent) {
                done.failed = inner.upgrade().map(|inner| Engine { inner }.now());
            }
            result
        }
        Err(why) => Err(why),
    };
    if let Some(inner) = inner.upgrade() {
        let outcome = Outcome { ids, result, retry, jitter: jitter(), telling };
        if let Err(e) = (Engine { inner }).run(&system, outcome).await {
            tracing::error!("the outbox cannot record a send: {e}");
        }
    }
    done
}

impl Engine {
    /// Starts the delivery worker on this engine's store, sending through `courier` and trying
    /// failed sends again by `retry`. Whoever holds the store for writing calls it once (the
    /// service, or a process holding the store when none runs); it runs until `close`. Needs a
    /// Tokio runtime, on which it runs.
    pub fn deliver_with(&self, courier: Arc<dyn Courier>, retry: Retry) -> Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Worker("the delivery worker needs a Tokio runtime: start it from within one")
        })?;
        if self.inner.inline {
            return Err(Error::Worker(
                "this engine only answers queries: open the store for writing to deliver notices",
            ));
        }
        let mut outbox = self.inner.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if outbox.is_some() {
            return Err(Error::Worker("this engine runs a delivery worker already: start it once"));
        }
        let (stop, stopped) = watch::channel(false);
        let worker = Worker {
            inner: Arc::downgrade(&self.inner),
            courier,
            retry,
            stop: stopped,
            events: self.subscribe(),
            in_flight: HashSet::new(),
            busy: HashSet::new(),
            resting: HashMap::new(),
            telling: Telling::default(),
            prune_at: None,
        };
        *outbox = Some(Outbox { stop, task: runtime.spawn(worker.run()) });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::{ChannelKind, Secret, WebhookFormat};
    use crate::domain::rules::{NewRequest, NewUser};
    use crate::engine::{AddChannel, ManualClock, OpenMode};

    const RETRY: Retry = Retry {
        first: TimeDelta::seconds(10),
        longest: TimeDelta::minutes(1),
        give_up_after: TimeDelta::hours(1),
    };

    #[tokio::test]
    async fn a_lease_claims_only_what_no_lease_took_first() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("s.redb");
        let now = Utc::now();
        crate::sample::create_at(&path, 0, now).await.expect("the sample");
        let engine =
            Engine::open(&path, OpenMode::Existing, Arc::new(ManualClock::new(now))).await.expect("open");
        let operator = Actor::Operator("root".into());
        let kind = ChannelKind::Webhook {
            url: "https://chat.contoso.com/h".into(),
            format: WebhookFormat::Slack,
            secret: Secret("s3cret-key".into()),
        };
        engine.run(&operator, AddChannel { tenant: "contoso".into(), kind }).await.expect("a channel");
        let upn = "frank@fabrikam.com";
        let frank = NewUser {
            upn: upn.into(),
            tenant: "fabrikam".into(),
            name: None,
            admin: false,
            login: None,
            object_id: None,
        };
        engine.run(&operator, frank).await.expect("a user");
        let ask = NewRequest {
            app: "contoso-crm".into(),
            roles: vec!["Reader".into()],
            start: None,
            duration: Period::from_hours(1),
            justification: "INC-7".into(),
            ticket: None,
        };
        engine.run(&Actor::User(upn.into()), ask).await.expect("a request");
        let read = engine.read(move |t| t.due_deliveries(now, 10)).await.expect("due");
        let ids: Vec<u64> = read.iter().map(|d| d.id).collect();
        assert_eq!(ids.len(), 1, "one webhook delivery: {read:?}");
        let lease = || Lease { read: read.clone(), retry: RETRY };
        assert_eq!(engine.run(&operator, lease()).await.expect("leased"), ids, "the first lease takes it");
        assert_eq!(engine.run(&operator, lease()).await.expect("leased"), [0u64; 0], "the second gets none");
        let leased = engine.read(move |t| t.delivery(ids[0])).await.expect("read").expect("kept");
        assert_eq!((leased.attempts, leased.next_at), (1, now + LEASE), "leased once");
        engine.close().await.expect("closed");
    }
}
