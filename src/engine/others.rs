//! Commits that other processes make to the same data (several `jitdesk serve` replicas on one
//! PostgreSQL database), as the backend reports them (`Storage::watch_others`). The store thread
//! turns them into this engine's own events, in id order, so every dashboard and event stream of
//! this replica hears changes made on another; counts them as commits, so answers shared before are
//! read again; and re-reads the next deadline (`worker.rs`), so a deadline another replica set wakes
//! this one too. News that cannot be followed record by record makes subscribers reload instead.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

use super::EVENT_BUFFER;
use super::event::Committed;
use super::storage::{Others, TellOthers};
use super::worker::{Msg, Worker};

/// The most audit records read for one batch of news: more than a subscriber may fall behind by,
/// so beyond it subscribers would lag anyway, and reload instead.
const MAX_HEARD: u64 = EVENT_BUFFER as u64;
/// The most users named as notified in one event heard from another replica; far more than one
/// change tells (its approvers, admins and requester).
const MAX_NOTIFIED: usize = 1024;

/// The ear the engine hands its backend: news goes to the store thread as a message, and nowhere
/// once the thread is told to stop (`jobs` emptied).
pub(super) fn ear(jobs: Arc<Mutex<Option<Sender<Msg>>>>) -> TellOthers {
    Arc::new(move |news| {
        // A panic while it was held leaves the sender whole: it is only taken or cloned.
        let jobs = jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(jobs) = jobs.as_ref() {
            // A store thread that stopped has nobody left to tell.
            let _ = jobs.send(Msg::Others(news));
        }
    })
}

impl Worker {
    /// Tells this engine's subscribers of what others committed, as if it had committed it itself.
    pub(super) fn heard(&self, news: &[Others]) {
        let (mut ranges, mut missed, mut count) = (Vec::new(), false, 0u64);
        for news in news {
            match *news {
                Others::Committed { first, last }
                    if first <= last && count.saturating_add(last - first + 1) <= MAX_HEARD =>
                {
                    count += last - first + 1;
                    ranges.push(first..=last);
                }
                _ => missed = true,
            }
        }
        let read = self.storage.query(|t| {
            let mut events = Vec::new();
            for id in ranges.into_iter().flatten() {
                if let Some(record) = t.audit_record(id)? {
                    events.push(Committed { record, notified: t.notified_of(id, MAX_NOTIFIED)? });
                }
            }
            Ok(events)
        });
        let mut events = read.unwrap_or_else(|e| {
            tracing::warn!("another replica's changes cannot be read ({e}); subscribers reload");
            missed = true;
            Vec::new()
        });
        events.sort_by_key(|e| e.record.id);
        events.dedup_by_key(|e| e.record.id);
        // Counted before anyone hears of it, as for this engine's own commits.
        self.shared.committed();
        if missed {
            self.missed.send_replace(());
        }
        for event in events {
            // No subscribers is fine: events are a courtesy, the store is the truth.
            let _ = self.events.send(event);
        }
    }
}
