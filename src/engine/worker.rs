//! The store thread: the only place that writes. It sleeps until the next deadline or the next
//! command, whichever comes first, then runs everything due and everything queued in one transaction,
//! so commands that arrive together share one fsync.
//!
//! A failed write is not the end: after a full disk or another I/O failure the thread opens the
//! file again (at once, then every second until it works), so the service recovers by itself once
//! there is room. A damaged store is the end: the thread lets go of the file unwritten, says why
//! (`Engine::fault`), and stops, since writing more could only spread the damage.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, oneshot, watch};

use super::clock::Clock;
use super::commands::{Command, advance_due};
use super::error::{Error, Result, StoreError};
use super::event::Committed;
use super::limits::Limits;
use super::storage::Storage;
use super::writer::Writer;
use crate::domain::rules::Actor;

/// Enough to amortise the fsync, small enough that one transaction stays short.
const MAX_BATCH: usize = 512;
/// How often a store that could not be opened again after a failed write is tried again.
const RETRY: Duration = Duration::from_secs(1);

pub(super) trait Job: Send {
    /// Err only for failures that spoil the whole transaction; a refused rule is kept for `finish`.
    fn run(&mut self, w: &mut Writer<'_, '_>) -> Result<()>;
    fn finish(self: Box<Self>, committed: Result<()>);
}

pub(super) struct Queued<C: Command> {
    actor: Actor,
    command: Option<C>,
    outcome: Option<Result<C::Output>>,
    reply: oneshot::Sender<Result<C::Output>>,
}

impl<C: Command> Queued<C> {
    pub fn new(actor: Actor, command: C, reply: oneshot::Sender<Result<C::Output>>) -> Self {
        Queued { actor, command: Some(command), outcome: None, reply }
    }
}

impl<C: Command> Job for Queued<C> {
    fn run(&mut self, w: &mut Writer<'_, '_>) -> Result<()> {
        let Some(command) = self.command.take() else { return Ok(()) };
        let outcome = command.apply(&self.actor, w);
        let spoiled = match &outcome {
            Err(e) if e.kind().is_none() => Some(e.clone()),
            _ => None,
        };
        self.outcome = Some(outcome);
        spoiled.map_or(Ok(()), Err)
    }

    fn finish(self: Box<Self>, committed: Result<()>) {
        let outcome = match committed {
            Ok(()) => self.outcome.unwrap_or(Err(Error::Stopped)),
            Err(e) => Err(e),
        };
        // The caller may have gone away; its answer is then nobody's business.
        let _ = self.reply.send(outcome);
    }
}

pub(super) enum Msg {
    Job(Box<dyn Job>),
    /// Answered after one pass over everything due, without a transaction when nothing is.
    Sync(oneshot::Sender<()>),
    /// Other processes committed (`Storage::watch_others`): the next deadline may have moved.
    Others,
}

pub(super) struct Worker {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub jobs: Receiver<Msg>,
    pub events: broadcast::Sender<Committed>,
    /// Changes when this engine's subscribers may have missed others' commits: they reload.
    pub missed: Arc<watch::Sender<()>>,
    pub limits: Arc<RwLock<Limits>>,
    /// Why the thread stopped before it was asked to; None while it runs.
    pub fault: Arc<watch::Sender<Option<Error>>>,
    /// Counts each commit, so that answers shared before it are read again.
    pub shared: Arc<super::shared::Shared>,
}

/// Says that the store thread died when it unwinds from a panic nothing else caught.
struct Watchdog(Arc<watch::Sender<Option<Error>>>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let why = StoreError::Storage("the store thread stopped on an internal error".into());
            self.0.send_replace(Some(Error::Storage(why)));
        }
    }
}

impl Worker {
    pub fn run(self) {
        let _watchdog = Watchdog(self.fault.clone());
        let mut next = self.next_deadline();
        // The failure that closed the store, while it cannot be opened again.
        let mut broken: Option<StoreError> = None;
        // Whether others committed while the store was broken, unheard by subscribers.
        let mut unheard = false;
        loop {
            let mut messages = Vec::new();
            let waited = match (next, &broken) {
                (_, Some(_)) => self.jobs.recv_timeout(RETRY),
                (Some(deadline), None) => {
                    // Deadlines are kept in whole milliseconds: wake just past the one that is due.
                    let wait = (deadline + 1 - self.clock.now().timestamp_millis()).max(0);
                    self.jobs.recv_timeout(Duration::from_millis(wait as u64))
                }
                (None, None) => self.jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match waited {
                Ok(message) => messages.push(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            messages.extend(self.jobs.try_iter().take(MAX_BATCH));
            let (mut jobs, mut syncs, mut others) = (Vec::new(), Vec::new(), false);
            for message in messages {
                match message {
                    Msg::Job(job) => jobs.push(job),
                    Msg::Sync(reply) => syncs.push(reply),
                    Msg::Others => others = true,
                }
            }
            if let Some(why) = broken.take() {
                match self.storage.reopen(why) {
                    Ok(()) => {
                        tracing::info!("the store is open again");
                        next = self.next_deadline();
                        if std::mem::take(&mut unheard) {
                            self.missed.send_replace(());
                        }
                    }
                    Err(e) => broken = Some(e),
                }
            }
            if others && broken.is_some() {
                // Unread while the store cannot be read: subscribers reload once it can.
                unheard = true;
            }
            // Another replica may have set an earlier deadline, or processed the one awaited; and
            // a sync answers for everything due now, whichever replica set it.
            if (others || !syncs.is_empty()) && broken.is_none() {
                next = self.next_deadline();
            }
            let now = self.clock.now();
            let due = next.is_some_and(|d| d <= now.timestamp_millis());
            if let Some(why) = &broken {
                for job in jobs {
                    job.finish(Err(why.clone().into()));
                }
            } else if !jobs.is_empty() || due {
                match self.pass(jobs, now) {
                    Ok(deadline) => next = deadline,
                    // `pass` has let go of the store and said why.
                    Err(e) if e.is_damage() => return,
                    Err(e) => {
                        // A backend may refuse everything after a failed write until it is opened
                        // again (redb does).
                        broken = self.storage.reopen(store_side(e)).err();
                        // Due work is tried again a second later rather than spinning on a failing disk.
                        let later = now.timestamp_millis() + RETRY.as_millis() as i64;
                        next = self.next_deadline().map(|d| d.max(later));
                    }
                }
            }
            for reply in syncs {
                let _ = reply.send(());
            }
        }
    }

    /// None when the deadline index cannot be read either: the next command's write says why.
    fn next_deadline(&self) -> Option<i64> {
        self.storage.query(|t| t.next_deadline()).ok().flatten()
    }

    /// One transaction: everything due, then the queued commands. Returns the next deadline; on a
    /// damaged store, lets go of it and says so (`fault`) before anyone hears of the failure.
    fn pass(&self, mut jobs: Vec<Box<dyn Job>>, now: DateTime<Utc>) -> Result<Option<i64>> {
        let mut events = Vec::new();
        let limits = *self.limits.read().unwrap_or_else(|p| p.into_inner());
        // One transaction for everything: a backend that fails part way (a damaged page) keeps
        // nothing of it.
        let written = self.storage.transact(|tables| {
            let mut w = Writer::new(tables, now, &mut events);
            w.limits = limits;
            advance_due(&mut w)?;
            for job in jobs.iter_mut() {
                job.run(&mut w)?;
            }
            w.tables.next_deadline()
        });
        let committed = match &written {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!("a write transaction failed: {e}");
                events.clear();
                if e.is_damage() {
                    // Before anyone hears of the failure, so that whoever asks next hears it too.
                    tracing::error!("the store thread stops: {e}");
                    self.storage.abandon(store_side(e.clone()));
                    self.fault.send_replace(Some(e.clone()));
                }
                Err(e.clone())
            }
        };
        // Counted before anyone hears of it: whoever reads after hearing reads it.
        if committed.is_ok() {
            self.shared.committed();
        }
        // Events first: whoever subscribes after a command returned must not hear that command.
        for event in events {
            // No subscribers is fine: events are a courtesy, the store is the truth.
            let _ = self.events.send(event);
        }
        for job in jobs {
            job.finish(committed.clone());
        }
        written
    }
}

/// What a failed pass leaves the store answering until it opens again: the store's own failure
/// (a pass fails on nothing else; a refused rule only refuses its command).
fn store_side(e: Error) -> StoreError {
    match e {
        Error::Storage(e) => e,
        other => StoreError::Storage(other.to_string()),
    }
}
