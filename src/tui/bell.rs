//! When the terminal bell may ring. A burst of arrivals (a script filing twenty requests) rings once,
//! not twenty times: the bell stays quiet for a while after it rang. Kept a pure function of the
//! times so that the throttle is tested without a clock.

use chrono::{DateTime, TimeDelta, Utc};

/// The least time between two rings.
pub const QUIET: TimeDelta = TimeDelta::seconds(10);

/// Whether the bell may ring at `now`, given when it last rang (None: never).
pub fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|last| now - last >= QUIET)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
    }

    #[test]
    fn rings_the_first_time() {
        assert!(due(None, at(0)));
    }

    #[test]
    fn stays_quiet_within_the_quiet_time_after_a_ring() {
        assert!(!due(Some(at(0)), at(0)));
        assert!(!due(Some(at(0)), at(9)));
        assert!(!due(Some(at(0)), at(0) + QUIET - TimeDelta::milliseconds(1)));
    }

    #[test]
    fn rings_again_once_the_quiet_time_has_passed() {
        assert!(due(Some(at(0)), at(0) + QUIET));
        assert!(due(Some(at(0)), at(3600)));
    }

    #[test]
    fn a_burst_rings_once_per_quiet_time() {
        // Arrivals every second for 25 s: rings at 0, 10 and 20.
        let mut last = None;
        let mut rang = Vec::new();
        for s in 0..25 {
            if due(last, at(s)) {
                last = Some(at(s));
                rang.push(s);
            }
        }
        assert_eq!(rang, vec![0, 10, 20]);
    }
}
