//! Answers that many callers of one engine hold at the same time, read once and shared: each
//! dashboard of a service keeps every grant its viewer may see until the next change, and a
//! hundred dashboards of one tenant's users would otherwise keep a hundred copies of the same rows.
//! What a directory user sees depends on their tenant alone (`rules::can_see`), so answers are
//! shared by that: one copy for the operator, one per tenant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::domain::AccessRequest;

/// Whose view an answer is: everything (None, the operator's), or one tenant's users'.
pub(super) type Sight = Option<String>;

/// Each sight's current grants while a caller holds them, with the count of commits seen before
/// they were read.
type HeldGrants = HashMap<Sight, (u64, Weak<[AccessRequest]>)>;

/// The answers held, and how new they are.
#[derive(Default)]
pub(super) struct Shared {
    /// Transactions committed so far: what is read after seeing this count is at least that new.
    commits: AtomicU64,
    grants: Mutex<HeldGrants>,
}

impl Shared {
    /// Counts a committed transaction before anyone hears of it: the store thread for this
    /// engine's own, the ear (`others.rs`) for other replicas'.
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::AcqRel);
    }

    /// How many transactions have committed, to be seen before reading an answer to share.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// The grants a caller still holds for `sight`, when they were read after commit `seen`.
    pub(super) fn grants(&self, sight: &Sight, seen: u64) -> Option<Arc<[AccessRequest]>> {
        let held = self.lock();
        let (read_at, grants) = held.get(sight)?;
        if *read_at < seen {
            return None;
        }
        grants.upgrade()
    }

    /// Shares `grants`, read for `sight` after commit `seen`, unless newer ones are held.
    pub(super) fn keep_grants(&self, sight: &Sight, seen: u64, grants: &Arc<[AccessRequest]>) {
        let mut held = self.lock();
        // Those nobody holds any more go: the map stays as small as the viewers on screen.
        held.retain(|_, (_, kept)| kept.strong_count() > 0);
        if held.get(sight).is_some_and(|(read_at, _)| *read_at > seen) {
            return;
        }
        held.insert(sight.clone(), (seen, Arc::downgrade(grants)));
    }

    fn lock(&self) -> MutexGuard<'_, HeldGrants> {
        // A panic while it was held leaves whole entries: it is only ever read or replaced whole.
        self.grants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
