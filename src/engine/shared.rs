//! Answers that many callers of one engine hold at the same time, read once and shared: each
//! dashboard of a service keeps every grant its viewer may see until the next change, and a
//! hundred dashboards of one viewer would otherwise keep a hundred copies of the same rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use super::queries::Viewer;
use crate::domain::AccessRequest;

/// Each viewer's current grants while a caller holds them, with the count of commits seen before
/// they were read.
type HeldGrants = HashMap<Viewer, (u64, Weak<[AccessRequest]>)>;

/// The answers held, and how new they are.
#[derive(Default)]
pub(super) struct Shared {
    /// Transactions committed so far: what is read after seeing this count is at least that new.
    commits: AtomicU64,
    grants: Mutex<HeldGrants>,
}

impl Shared {
    /// Counts a committed transaction; the store thread calls it before anyone hears of it.
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::AcqRel);
    }

    /// How many transactions have committed, to be seen before reading an answer to share.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// The grants a caller still holds for `viewer`, when they were read after commit `seen`.
    pub(super) fn grants(&self, viewer: &Viewer, seen: u64) -> Option<Arc<[AccessRequest]>> {
        let held = self.lock();
        let (read_at, grants) = held.get(viewer)?;
        if *read_at < seen {
            return None;
        }
        grants.upgrade()
    }

    /// Shares `grants`, read for `viewer` after commit `seen`, unless newer ones are held.
    pub(super) fn keep_grants(&self, viewer: &Viewer, seen: u64, grants: &Arc<[AccessRequest]>) {
        let mut held = self.lock();
        // Those nobody holds any more go: the map stays as small as the viewers on screen.
        held.retain(|_, (_, kept)| kept.strong_count() > 0);
        if held.get(viewer).is_some_and(|(read_at, _)| *read_at > seen) {
            return;
        }
        held.insert(viewer.clone(), (seen, Arc::downgrade(grants)));
    }

    fn lock(&self) -> MutexGuard<'_, HeldGrants> {
        // A panic while it was held leaves whole entries: it is only ever read or replaced whole.
        self.grants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
