//! Failed authentications per source address: an address that keeps offering keys nobody owns is
//! guessing, and after `SSH_FAILURES` in a window it is refused at once for a while, before any
//! key is looked at. The table is bounded: addresses whose window is over are forgotten first, and
//! when it is still full a new address is counted in one shared entry rather than growing it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

use crate::api::limits::{SSH_BLOCKED_FOR, SSH_FAILURE_WINDOW, SSH_FAILURES};

/// The most addresses the table remembers at once.
const MAX_ADDRESSES: usize = 4096;
/// Where new addresses are counted when the table is full: no real client has it.
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

#[derive(Debug, Clone, Copy)]
struct Record {
    since: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

/// Failures per address.
#[derive(Default)]
pub struct Failures {
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl Failures {
    /// Whether `addr` is refused at once now.
    pub fn blocked(&self, addr: IpAddr, now: Instant) -> bool {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.get(&addr).and_then(|r| r.blocked_until).is_some_and(|until| now < until)
    }

    /// Counts a failure of `addr`; true when this one blocks it.
    pub fn fail(&self, addr: IpAddr, now: Instant) -> bool {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if records.len() >= MAX_ADDRESSES && !records.contains_key(&addr) {
            records.retain(|_, r| !over(r, now));
        }
        let key =
            if records.len() >= MAX_ADDRESSES && !records.contains_key(&addr) { OVERFLOW } else { addr };
        let fresh = Record { since: now, count: 0, blocked_until: None };
        let record = records.entry(key).or_insert(fresh);
        if over(record, now) {
            *record = fresh;
        }
        record.count += 1;
        if record.count >= SSH_FAILURES && record.blocked_until.is_none() {
            record.blocked_until = Some(now + SSH_BLOCKED_FOR);
            return true;
        }
        false
    }

    /// Takes back `count` failures of `addr` that its connection made before it authenticated:
    /// OpenSSH offers a key before the key's certificate, and a certificate's user is no guesser.
    /// An address already blocked stays blocked.
    pub fn forgive(&self, addr: IpAddr, count: u32) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(record) = records.get_mut(&addr).filter(|r| r.blocked_until.is_none()) {
            record.count = record.count.saturating_sub(count);
        }
    }
}

/// Whether a record's window and block are both over.
fn over(record: &Record, now: Instant) -> bool {
    let window_over = now.duration_since(record.since) >= SSH_FAILURE_WINDOW;
    let block_over = record.blocked_until.is_none_or(|until| now >= until);
    window_over && block_over
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_failing_too_often_is_blocked_for_a_while_and_others_are_not() {
        let failures = Failures::default();
        let (guesser, other): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let now = Instant::now();
        for n in 1..SSH_FAILURES {
            assert!(!failures.fail(guesser, now), "failure {n} does not block yet");
            assert!(!failures.blocked(guesser, now));
        }
        assert!(failures.fail(guesser, now), "the last one allowed blocks");
        assert!(failures.blocked(guesser, now + SSH_BLOCKED_FOR - Duration::from_secs(1)));
        assert!(!failures.blocked(other, now));
        assert!(!failures.blocked(guesser, now + SSH_BLOCKED_FOR));
        // After the block, the count starts again.
        assert!(!failures.fail(guesser, now + SSH_BLOCKED_FOR));
    }

    #[test]
    fn a_connection_that_authenticates_takes_its_failures_back_but_not_a_block() {
        let failures = Failures::default();
        let (user, guesser): (IpAddr, IpAddr) = ([10, 0, 0, 4].into(), [10, 0, 0, 5].into());
        let now = Instant::now();
        // A key refused before its certificate is accepted, many times over: never blocked.
        for _ in 0..3 * SSH_FAILURES {
            assert!(!failures.fail(user, now));
            failures.forgive(user, 1);
        }
        for _ in 0..SSH_FAILURES {
            failures.fail(guesser, now);
        }
        failures.forgive(guesser, SSH_FAILURES);
        assert!(failures.blocked(guesser, now));
    }

    #[test]
    fn failures_spread_over_windows_never_block() {
        let failures = Failures::default();
        let addr: IpAddr = [10, 0, 0, 3].into();
        let now = Instant::now();
        for n in 0..3 * SSH_FAILURES {
            let at = now + SSH_FAILURE_WINDOW * n / (SSH_FAILURES - 1);
            assert!(!failures.fail(addr, at), "failure {n}");
        }
    }

    #[test]
    fn the_table_stays_bounded() {
        let failures = Failures::default();
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 + 100) {
            failures.fail(IpAddr::from(n.to_be_bytes()), now);
        }
        assert!(failures.records.lock().unwrap().len() <= MAX_ADDRESSES + 1);
    }
}
