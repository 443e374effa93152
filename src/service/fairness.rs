//! What one caller may hold at once, so that nobody can take the service from everyone else: so
//! many connections and event streams per uid, connections overall below the process's limit on
//! open files, and refusals logged a few lines per uid per interval. The numbers are the API's
//! (`crate::api::limits`, which docs/api.md states).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::api::limits::{MAX_CONNECTIONS, RESERVED_FILES};
use crate::logging::Throttle;

/// How many of something each uid holds; a place is taken with `try_take` and given back when its
/// `Held` is dropped.
#[derive(Clone, Default)]
pub struct PerUid {
    held: Arc<Mutex<HashMap<u32, usize>>>,
}

/// One place taken by a uid.
pub struct Held {
    held: Arc<Mutex<HashMap<u32, usize>>>,
    uid: u32,
}

impl PerUid {
    /// A place for `uid`, unless it holds `max` already.
    pub fn try_take(&self, uid: u32, max: usize) -> Option<Held> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(uid).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Held { held: self.held.clone(), uid })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.uid) {
            *count -= 1;
            // Forgotten at zero, so the map holds only the uids connected now.
            if *count == 0 {
                held.remove(&self.uid);
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit, and returns the soft limit in force.
pub fn raise_open_files() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 1024 };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// How many connections may be open at once with `open_files` descriptors: the store, the log and
/// the listener keep theirs (`RESERVED_FILES`), and never more than `MAX_CONNECTIONS`.
pub fn connection_cap(open_files: u64) -> usize {
    let left = open_files.saturating_sub(RESERVED_FILES as u64);
    usize::try_from(left).unwrap_or(usize::MAX).clamp(1, MAX_CONNECTIONS)
}

/// Logs a refusal of `uid` unless it has had its lines for this interval; logs the summary of the
/// last interval first when there is one.
pub fn log_refusal(throttle: &Throttle, uid: Option<u32>, line: impl FnOnce() -> String) {
    let (admitted, summary) = throttle.admit(uid.unwrap_or(u32::MAX), Instant::now());
    if let Some(summary) = summary {
        tracing::warn!("{summary}");
    }
    if admitted {
        tracing::info!("{}", line());
    }
}

/// A uid in a log line; `?` when the socket did not say.
pub fn uid_text(uid: Option<u32>) -> String {
    uid.map_or_else(|| "?".to_string(), |u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_uid_has_its_own_places_and_gets_them_back() {
        let per = PerUid::default();
        let first: Vec<Held> = (0..3).map(|_| per.try_take(1, 3).expect("a place")).collect();
        assert!(per.try_take(1, 3).is_none(), "the fourth is refused");
        let other = per.try_take(2, 3).expect("another uid is not held back");
        drop(first);
        assert!(per.try_take(1, 3).is_some(), "places come back when dropped");
        drop(other);
        assert!(per.held.lock().unwrap().is_empty(), "uids holding nothing are forgotten");
    }

    #[test]
    fn connections_stay_below_the_limit_on_open_files() {
        assert_eq!(connection_cap(1024), 1024 - RESERVED_FILES);
        assert_eq!(connection_cap(1 << 20), MAX_CONNECTIONS);
        assert_eq!(connection_cap(10), 1);
        assert!(raise_open_files() as usize > connection_cap(raise_open_files()));
    }

    #[test]
    fn the_soft_limit_on_open_files_is_raised_to_the_hard_one() {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("the limits");
        // One below the hard limit, so that other tests running meanwhile never run short.
        setrlimit(Resource::RLIMIT_NOFILE, hard - 1, hard).expect("a lower soft limit");
        assert_eq!(raise_open_files(), hard);
        assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).expect("the limits"), (hard, hard));
    }

    #[test]
    fn a_refusal_is_counted_against_its_uids_lines_and_an_unknown_uid_shares_one_count() {
        let throttle = Throttle::new(1, std::time::Duration::from_secs(3600));
        log_refusal(&throttle, Some(5), || "refused uid 5".to_string());
        log_refusal(&throttle, None, || "refused uid ?".to_string());
        // Both used their one line of the interval; another uid has its own.
        assert!(!throttle.admit(5, Instant::now()).0);
        assert!(!throttle.admit(u32::MAX, Instant::now()).0);
        assert!(throttle.admit(6, Instant::now()).0);
    }

    #[test]
    fn a_uid_is_written_as_its_number_or_a_question_mark() {
        assert_eq!((uid_text(Some(1000)), uid_text(None)), ("1000".to_string(), "?".to_string()));
    }
}
