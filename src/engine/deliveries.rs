//! The delivery worker: sends what the outbox owes through the courier it is given, and records
//! how each send went through the store thread, like every other change. It sleeps until a commit
//! may have queued a delivery, the engine is synced, or the earliest queued delivery comes due, so
//! an empty outbox costs no reads and no CPU.
//!
//! A delivery is leased before it is sent (its next attempt pushed past the send's timeout, in a
//! commit): a crash after the send leaves it due again once the lease runs out, so it goes at most
//! once more, with the same idempotency key for the receiver to drop the repeat.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Semaphore, broadcast, watch};
use tokio::task::JoinSet;

use super::error::{Error, StoreError};
use super::event::Committed;
use super::outbox::{Courier, Parcel, Recipient, Undelivered};
use super::storage::Reads;
use super::writer::{AuditEntry, Writer};
use super::{Command, Engine, Inner, Result};
use crate::domain::delivery::{Delivery, DeliveryState, Notice, NoticeKind, Retry};
use crate::domain::rules::Actor;
use crate::domain::text::sanitize;
use crate::domain::*;

/// How many due deliveries one pass takes.
const BATCH: usize = 64;
/// How many sends run at once, so one slow receiver does not hold the others.
const CONCURRENCY: usize = 8;
/// How long a send may take before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How far a lease pushes a delivery's next attempt: past the send's timeout.
const LEASE: TimeDelta = TimeDelta::seconds(60);
/// How long closing the engine waits for sends under way.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The most notices one digest gathers.
const MAX_DIGEST: usize = 50;
/// The most recipients a notice names.
const MAX_RECIPIENTS: usize = 100;
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

/// One send to make: the deliveries it settles (several for a digest) and its parcel, or why it
/// cannot be sent at all.
struct Sending {
    ids: Vec<u64>,
    parcel: std::result::Result<Parcel, Undelivered>,
}

fn never(reason: String) -> Undelivered {
    Undelivered { reason, permanent: true }
}

/// The facts a delivery's notice is worded from, read in the caller's snapshot.
fn notice(t: &dyn Reads, d: &Delivery, tenant: &str) -> Result<Notice> {
    let record = t.audit_record(d.audit)?.ok_or_else(|| {
        Error::Storage(StoreError::Storage(format!(
            "delivery {} names audit record {}, which is missing",
            d.id, d.audit
        )))
    })?;
    let request = match record.target {
        Target::Request(id) => t.request(id)?,
        _ => None,
    };
    let mut recipients = Vec::new();
    for upn in t.notified_of(d.audit, MAX_RECIPIENTS)? {
        if t.user(&upn)?.is_some_and(|u| u.tenant == tenant) {
            recipients.push(upn);
        }
    }
    Ok(Notice { kind: d.kind, record, request, recipients })
}

/// The sends the due deliveries make, read in one snapshot: a digest user's mail over one channel
/// goes as one parcel of everything queued for them there.
fn gather(t: &dyn Reads, due: Vec<Delivery>) -> Result<Vec<Sending>> {
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for d in due {
        if !taken.insert(d.id) {
            continue;
        }
        let Some(channel) = t.channel(d.channel)? else {
            out.push(Sending {
                ids: vec![d.id],
                parcel: Err(never(format!("channel {} was removed", d.channel))),
            });
            continue;
        };
        let mut group = vec![d.clone()];
        let mut to = None;
        if let Some(upn) = &d.to {
            let contact = t.contact(upn)?.unwrap_or_default();
            let Some(email) = contact.email else {
                out.push(Sending {
                    ids: vec![d.id],
                    parcel: Err(never(format!("{upn} has no e-mail address"))),
                });
                continue;
            };
            to = Some(Recipient { upn: upn.clone(), email });
            if contact.digest_minutes.is_some() {
                for more in t.queued_mail(upn, d.channel, MAX_DIGEST)? {
                    if taken.insert(more.id) {
                        group.push(more);
                    }
                }
                group.sort_by_key(|g| g.id);
            }
        }
        let notices = group.iter().map(|g| notice(t, g, &channel.tenant)).collect::<Result<Vec<_>>>()?;
        let parcel = Parcel {
            key: group[0].idempotency_key(),
            restricted: channel.restricted(),
            channel: channel.kind,
            tenant: channel.tenant,
            to,
            notices,
        };
        out.push(Sending { ids: group.iter().map(|g| g.id).collect(), parcel: Ok(parcel) });
    }
    Ok(out)
}

/// Pushes queued deliveries' next attempt to `until`, so no other pass takes them while they are
/// sent, and a crash leaves them due again after it.
struct Lease {
    ids: Vec<u64>,
    until: DateTime<Utc>,
}

impl Command for Lease {
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

/// How a send went, for the deliveries it settles: sent; tried again later; or given up on, with
/// an audit record and a notification to the channel's tenant's admins.
struct Outcome {
    ids: Vec<u64>,
    result: std::result::Result<(), Undelivered>,
    retry: Retry,
    /// Where in the backoff's upper half the next attempt falls, in [0, 1).
    jitter: f64,
}

impl Command for Outcome {
    type Output = ();
    fn apply(self, _: &Actor, w: &mut Writer<'_, '_>) -> Result<()> {
        for id in &self.ids {
            let Some(old) = w.tables.delivery(*id)?.filter(|d| d.state == DeliveryState::Queued) else {
                continue;
            };
            let attempts = old.attempts.saturating_add(1);
            let new = match &self.result {
                Ok(()) => Delivery { attempts, state: DeliveryState::Sent { at: w.now }, ..old.clone() },
                Err(why) => {
                    let reason: String = sanitize(&why.reason).chars().take(MAX_REASON).collect();
                    let next = (!why.permanent)
                        .then(|| self.retry.next(old.queued, attempts, w.now, self.jitter))
                        .flatten();
                    match next {
                        Some(at) => {
                            Delivery { attempts, next_at: at, last_error: Some(reason), ..old.clone() }
                        }
                        None => {
                            let failed = Delivery {
                                attempts,
                                state: DeliveryState::Failed { at: w.now },
                                last_error: Some(reason.clone()),
                                ..old.clone()
                            };
                            give_up(w, &failed, &reason)?;
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
fn give_up(w: &mut Writer<'_, '_>, failed: &Delivery, reason: &str) -> Result<()> {
    // Filed under the change it failed to tell of (so its notification reads as that request's),
    // but under no application: the channel's troubles are its tenant's, not the other party's.
    let told = w.tables.audit_record(failed.audit)?;
    let target = told.map_or(Target::Tenant(failed.tenant.clone()), |r| r.target);
    let why = format!("channel {}: {reason}", failed.channel);
    w.record(AuditEntry {
        reason: Some(&why),
        after: Some(failed.idempotency_key()),
        ..AuditEntry::new(SYSTEM, Action::DeliveryFailed, target)
    })?;
    let admins: Vec<String> =
        w.tables.admins_of(&failed.tenant, MAX_ADMINS)?.into_iter().map(|u| u.upn).collect();
    w.notify(&admins)
}

/// A number in [0, 1) from the operating system, for the backoff's jitter; the middle when none
/// can be drawn.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |n| (n >> 11) as f64 / (1u64 << 53) as f64)
}

/// What the worker needs that outlives no engine: it holds the engine weakly, so an engine
/// dropped without `close` still closes its store.
struct Worker {
    inner: Weak<Inner>,
    courier: Arc<dyn Courier>,
    retry: Retry,
    stop: watch::Receiver<bool>,
    events: broadcast::Receiver<Committed>,
}

impl Worker {
    fn engine(&self) -> Option<Engine> {
        self.inner.upgrade().map(|inner| Engine { inner })
    }

    async fn run(mut self) {
        let limit = Arc::new(Semaphore::new(CONCURRENCY));
        let mut sends = JoinSet::new();
        while !*self.stop.borrow() {
            while sends.try_join_next().is_some() {}
            let Some(engine) = self.engine() else { break };
            let now = engine.now();
            let taken = engine.read(move |t| gather(t, t.due_deliveries(now, BATCH)?)).await;
            let work = match taken {
                Ok(work) => work,
                Err(e) => {
                    tracing::error!("the outbox cannot read what is due: {e}");
                    Vec::new()
                }
            };
            if work.is_empty() {
                let next = engine.read(|t| t.next_delivery_at()).await.ok().flatten();
                let wait =
                    next.map(|at| Duration::from_millis((at + 1 - now.timestamp_millis()).max(0) as u64));
                drop(engine);
                if !self.wait(wait).await {
                    break;
                }
                continue;
            }
            let ids = work.iter().flat_map(|s| s.ids.iter().copied()).collect();
            let system = Actor::Operator(String::new());
            if let Err(e) = engine.run(&system, Lease { ids, until: now + LEASE }).await {
                tracing::error!("the outbox cannot lease what is due: {e}");
                drop(engine);
                if !self.wait(Some(Duration::from_secs(1))).await {
                    break;
                }
                continue;
            }
            drop(engine);
            for sending in work {
                let Ok(permit) = limit.clone().acquire_owned().await else { break };
                let (inner, courier, retry) = (self.inner.clone(), self.courier.clone(), self.retry);
                sends.spawn(async move {
                    let result = match sending.parcel {
                        Ok(parcel) => match tokio::time::timeout(SEND_TIMEOUT, courier.send(&parcel)).await {
                            Ok(result) => result,
                            Err(_) => Err(Undelivered {
                                reason: format!("no answer within {} seconds", SEND_TIMEOUT.as_secs()),
                                permanent: false,
                            }),
                        },
                        Err(why) => Err(why),
                    };
                    if let Some(inner) = inner.upgrade() {
                        let outcome = Outcome { ids: sending.ids, result, retry, jitter: jitter() };
                        if let Err(e) = (Engine { inner }).run(&Actor::Operator(String::new()), outcome).await
                        {
                            tracing::error!("the outbox cannot record a send: {e}");
                        }
                    }
                    drop(permit);
                });
            }
        }
        // Closing: the sends under way get a short while, then are dropped; what they carried is
        // leased, and goes again once the lease runs out.
        let _ = tokio::time::timeout(CLOSE_GRACE, async { while sends.join_next().await.is_some() {} }).await;
        sends.abort_all();
    }

    /// Sleeps until a commit may have queued a delivery, the engine is synced, or `wait` passes
    /// (None: no delivery is queued); false once the worker is to stop.
    async fn wait(&mut self, wait: Option<Duration>) -> bool {
        let Some(engine) = self.engine() else { return false };
        let kick = engine.inner.outbox_kick.clone();
        drop(engine);
        let sleep = async {
            match wait {
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
                event = self.events.recv() => match event {
                    Ok(event) if !may_queue(&event) => continue,
                    Err(broadcast::error::RecvError::Closed) => return false,
                    _ => return true,
                },
            }
        }
    }
}

impl Engine {
    /// Starts the delivery worker on this engine's store, sending through `courier` and trying
    /// failed sends again by `retry`. Whoever holds the store for writing calls it once (the
    /// service, or a process holding the store when none runs); it runs until `close`. Needs a
    /// Tokio runtime, on which it runs.
    pub fn deliver_with(&self, courier: Arc<dyn Courier>, retry: Retry) -> Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Storage(StoreError::Storage("the delivery worker needs a Tokio runtime".into()))
        })?;
        let mut outbox = self.inner.outbox.lock().unwrap_or_else(|p| p.into_inner());
        if outbox.is_some() || self.inner.inline {
            return Err(Error::Storage(StoreError::Storage(
                "this engine cannot start a delivery worker: it has one, or it only answers queries".into(),
            )));
        }
        let (stop, stopped) = watch::channel(false);
        let worker = Worker {
            inner: Arc::downgrade(&self.inner),
            courier,
            retry,
            stop: stopped,
            events: self.subscribe(),
        };
        *outbox = Some(Outbox { stop, task: runtime.spawn(worker.run()) });
        Ok(())
    }
}
