//! What one caller may hold at once, so that nobody can take the service from everyone else: so
//! many connections and event streams per holder (a uid on the socket, a user or an address on a
//! remote door), connections overall below the process's limit on open files, and refusals logged
//! a few lines per holder per interval. The numbers are the API's (`crate::api::limits`, which
//! docs/api.md states).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::api::limits::{MAX_CONNECTIONS, RESERVED_FILES};
use crate::domain::text::shown;
use crate::logging::Throttle;

/// Whose share a connection, a stream or a refusal counts against: whoever the door can name
/// before anything is read from the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A caller on the Unix socket, by the kernel's word.
    Uid(u32),
    /// A directory user a remote door authenticated (an SSH key, say); the operator is `None`.
    User(Option<String>),
    /// A caller on a TCP door, before (or without) proving who they are.
    Addr(IpAddr),
    /// A socket that gave no peer credentials: all such callers share one share.
    Unknown,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Uid(uid) => write!(f, "uid {uid}"),
            Holder::User(Some(upn)) => write!(f, "user {}", shown(upn)),
            Holder::User(None) => f.write_str("the operator"),
            Holder::Addr(addr) => write!(f, "address {addr}"),
            Holder::Unknown => f.write_str("uid ?"),
        }
    }
}

/// How many of something each holder holds; a place is taken with `try_take` and given back when
/// its `Held` is dropped.
#[derive(Clone, Default)]
pub struct PerHolder {
    held: Arc<Mutex<HashMap<Holder, usize>>>,
}

/// One place taken by a holder.
pub struct Held {
    held: Arc<Mutex<HashMap<Holder, usize>>>,
    holder: Holder,
}

impl PerHolder {
    /// A place for `holder`, unless it holds `max` already.
    pub fn try_take(&self, holder: &Holder, max: usize) -> Option<Held> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(holder.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Held { held: self.held.clone(), holder: holder.clone() })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.holder) {
            *count -= 1;
            // Forgotten at zero, so the map holds only the holders connected now.
            if *count == 0 {
                held.remove(&self.holder);
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

/// Logs a refusal of `holder` unless it has had its lines for this interval; logs the summary of
/// the last interval first when there is one.
pub fn log_refusal(throttle: &Throttle<Holder>, holder: &Holder, line: impl FnOnce() -> String) {
    let (admitted, summary) = throttle.admit(holder, Instant::now());
    if let Some(summary) = summary {
        tracing::warn!("{summary}");
    }
    if admitted {
        tracing::info!("{}", line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_holder_has_its_own_places_and_gets_them_back() {
        let per = PerHolder::default();
        let (one, two) = (Holder::Uid(1), Holder::Uid(2));
        let first: Vec<Held> = (0..3).map(|_| per.try_take(&one, 3).expect("a place")).collect();
        assert!(per.try_take(&one, 3).is_none(), "the fourth is refused");
        let other = per.try_take(&two, 3).expect("another uid is not held back");
        // A user of a remote door and an address have shares of their own too.
        let user = Holder::User(Some("dave@fabrikam.com".into()));
        let held: Vec<Held> = [&user, &Holder::Addr([10, 0, 0, 1].into())]
            .iter()
            .map(|h| per.try_take(h, 1).expect("a place of its own"))
            .collect();
        assert!(per.try_take(&user, 1).is_none());
        drop(first);
        assert!(per.try_take(&one, 3).is_some(), "places come back when dropped");
        drop((other, held));
        assert!(per.held.lock().unwrap().is_empty(), "holders holding nothing are forgotten");
    }

    #[test]
    fn a_holder_reads_plainly_in_a_log_line_and_its_text_is_shown_never_raw() {
        assert_eq!(Holder::Uid(7).to_string(), "uid 7");
        assert_eq!(Holder::Unknown.to_string(), "uid ?");
        assert_eq!(Holder::User(None).to_string(), "the operator");
        assert_eq!(Holder::Addr([127, 0, 0, 1].into()).to_string(), "address 127.0.0.1");
        let line = Holder::User(Some("eve\x1b[2J@x.com".into())).to_string();
        assert!(!line.contains('\x1b'), "{line:?}");
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
    fn a_refusal_is_counted_against_its_holders_lines_and_unknown_peers_share_one_count() {
        let throttle = Throttle::new(1, std::time::Duration::from_secs(3600));
        log_refusal(&throttle, &Holder::Uid(5), || "refused uid 5".to_string());
        log_refusal(&throttle, &Holder::Unknown, || "refused uid ?".to_string());
        // Both used their one line of the interval; another holder has its own.
        assert!(!throttle.admit(&Holder::Uid(5), Instant::now()).0);
        assert!(!throttle.admit(&Holder::Unknown, Instant::now()).0);
        assert!(throttle.admit(&Holder::Uid(6), Instant::now()).0);
    }
}
