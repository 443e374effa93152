//! Commits that other processes make to the same data (several `jitdesk serve` replicas on one
//! PostgreSQL database), as the backend reports them (`Storage::watch_others`). The ear turns them
//! into this engine's own events, in id order, so every dashboard and event stream of this replica
//! hears changes made on another; counts them as commits, so answers shared before are read again;
//! and has the store thread read its next deadline again (`worker.rs`), so a deadline another
//! replica set wakes this one too. It reads on the backend's thread, not the store thread, whose
//! writes are what other replicas wait for. News that cannot be followed record by record makes
//! subscribers reload instead.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{broadcast, watch};

use super::EVENT_BUFFER;
use super::event::Committed;
use super::shared::Shared;
use super::storage::{Others, Storage, TellOthers};
use super::worker::Msg;

/// The most audit records read for one batch of news: more than a subscriber may fall behind by,
/// so beyond it subscribers would lag anyway, and reload instead.
const MAX_HEARD: u64 = EVENT_BUFFER as u64;
/// The most users named as notified in one event heard from another replica; far more than one
/// change tells (its approvers, admins and requester).
const MAX_NOTIFIED: usize = 1024;

/// What an engine hears others' commits with.
pub(super) struct Ear {
    /// The store, to read what others committed; weak, since the store holds the ear.
    pub storage: Weak<dyn Storage>,
    pub events: broadcast::Sender<Committed>,
    /// Changes when subscribers may have missed others' commits: they reload.
    pub missed: Arc<watch::Sender<()>>,
    /// Counts each commit, so that answers shared before it are read again.
    pub shared: Arc<Shared>,
    /// The store thread, told that its next deadline may have moved; None once it is told to stop.
    pub jobs: Arc<Mutex<Option<Sender<Msg>>>>,
}

/// The ear the engine hands its backend. It reads others' records on the thread the backend tells
/// it on (a listener's own), so that the store thread goes on writing meanwhile; it falls silent
/// once the store thread is told to stop.
pub(super) fn ear(ear: Ear) -> TellOthers {
    Arc::new(move |news| ear.heard(news))
}

impl Ear {
    /// Tells this engine's subscribers of what others committed, as if it had committed it itself,
    /// and the store thread to look at its next deadline again.
    fn heard(&self, news: Others) {
        // A panic while it was held leaves the sender whole: it is only taken or cloned.
        let Some(jobs) = self.jobs.lock().unwrap_or_else(PoisonError::into_inner).clone() else { return };
        let Some(storage) = self.storage.upgrade() else { return };
        // First, so that a deadline another replica set is not awaited behind the reads. A store
        // thread that stopped has nobody left to tell.
        let _ = jobs.send(Msg::Others);
        let mut missed = false;
        let events = match news {
            Others::Committed { first, last } if first <= last && last - first < MAX_HEARD => {
                let read = storage.query(|t| t.audit_span(first, last, MAX_NOTIFIED));
                read.unwrap_or_else(|e| {
                    tracing::warn!("another replica's changes cannot be read ({e}); subscribers reload");
                    missed = true;
                    Vec::new()
                })
            }
            _ => {
                missed = true;
                Vec::new()
            }
        };
        // Counted before anyone hears of it, as for this engine's own commits.
        self.shared.committed();
        if missed {
            self.missed.send_replace(());
        }
        for (record, notified) in events {
            // No subscribers is fine: events are a courtesy, the store is the truth.
            let _ = self.events.send(Committed { record, notified });
        }
    }
}
