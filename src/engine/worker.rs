//! The store thread: the only place that writes. It sleeps until the next deadline or the next
//! command, whichever comes first, then runs everything due and everything queued in one transaction,
//! so commands that arrive together share one fsync.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, oneshot};

use super::clock::Clock;
use super::commands::{Command, advance_due};
use super::event::Event;
use super::limits::Limits;
use super::writer::Writer;
use crate::domain::rules::Actor;
use crate::store::{Error, Result, Store};

/// Enough to amortise the fsync, small enough that one transaction stays short.
const MAX_BATCH: usize = 512;

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
            Ok(()) => self.outcome.unwrap_or(Err(Error::Closed)),
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
}

pub(super) struct Worker {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub jobs: Receiver<Msg>,
    pub events: broadcast::Sender<Event>,
    pub limits: Arc<RwLock<Limits>>,
}

impl Worker {
    pub fn run(self) {
        let mut next = self.store.read().and_then(|t| t.next_deadline()).ok().flatten();
        loop {
            let mut messages = Vec::new();
            let waited = match next {
                Some(deadline) => {
                    // Deadlines are kept in whole milliseconds: wake just past the one that is due.
                    let wait = (deadline + 1 - self.clock.now().timestamp_millis()).max(0);
                    self.jobs.recv_timeout(Duration::from_millis(wait as u64))
                }
                None => self.jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match waited {
                Ok(message) => messages.push(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            messages.extend(self.jobs.try_iter().take(MAX_BATCH));
            let (mut jobs, mut syncs) = (Vec::new(), Vec::new());
            for message in messages {
                match message {
                    Msg::Job(job) => jobs.push(job),
                    Msg::Sync(reply) => syncs.push(reply),
                }
            }
            let now = self.clock.now();
            let due = next.is_some_and(|d| d <= now.timestamp_millis());
            if !jobs.is_empty() || due {
                next = self.pass(jobs, now, next);
            }
            for reply in syncs {
                let _ = reply.send(());
            }
        }
    }

    /// One transaction: everything due, then the queued commands. Returns the next deadline.
    fn pass(&self, mut jobs: Vec<Box<dyn Job>>, now: DateTime<Utc>, next: Option<i64>) -> Option<i64> {
        let mut events = Vec::new();
        let limits = *self.limits.read().unwrap_or_else(|p| p.into_inner());
        let written = self.store.write(|tables| {
            let mut w = Writer::new(tables, now, &mut events);
            w.limits = limits;
            advance_due(&mut w)?;
            for job in jobs.iter_mut() {
                crate::store::guarded(|| job.run(&mut w))?;
            }
            w.tables.next_deadline()
        });
        let (committed, next) = match written {
            Ok(deadline) => (Ok(()), deadline),
            Err(e) => {
                tracing::error!("a write transaction failed: {e}");
                events.clear();
                // Retry due work a second later rather than spinning on a failing disk.
                (Err(e), next.map(|d| d.max(now.timestamp_millis() + 1000)))
            }
        };
        // Events first: whoever subscribes after a command returned must not hear that command.
        for event in events {
            // No subscribers is fine: events are a courtesy, the store is the truth.
            let _ = self.events.send(event);
        }
        for job in jobs {
            job.finish(committed.clone());
        }
        next
    }
}
