//! A span of time a list or an export is narrowed to, as auditors ask for one ("the third quarter"):
//! from `since`, included, to `until`, excluded, so that windows laid end to end hold every record
//! exactly once. Every door reads its bounds through `parse_bound`, so all of them take the same words.

use chrono::{DateTime, NaiveDate, Utc};

use super::error::{RuleError, RuleResult};
use super::when::{format_utc, parse_time};

/// From `since` (included; None: the beginning) to `until` (excluded; None: no end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The earliest time inside; None: from the beginning.
    pub since: Option<DateTime<Utc>>,
    /// The first time outside; None: no end.
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// Every time there is.
    pub const ALL: Window = Window { since: None, until: None };

    /// The window from `since` to `until`; refused when it ends before it starts, which would
    /// silently hold nothing.
    pub fn new(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> RuleResult<Window> {
        if let (Some(since), Some(until)) = (since, until)
            && until < since
        {
            return Err(RuleError::invalid(format!(
                "the window ends ({}) before it starts ({}): give an end after the start",
                format_utc(until),
                format_utc(since)
            )));
        }
        Ok(Window { since, until })
    }

    /// Whether `t` is inside: at or after `since`, before `until`.
    pub fn holds(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| t >= since) && self.until.is_none_or(|until| t < until)
    }
}

/// A bound of a window as people type it: a time as everywhere (`now`, `+30m`, RFC 3339), or a
/// date such as `2026-07-01`, which stands for its first instant in UTC (quarters and months start
/// on dates, and a bound has no other zone to be read in).
pub fn parse_bound(text: &str, now: DateTime<Utc>) -> RuleResult<DateTime<Utc>> {
    let trimmed = text.trim();
    if trimmed.len() == 10
        && let Ok(date) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
    {
        return Ok(date.and_hms_opt(0, 0, 0).map_or(now, |midnight| midnight.and_utc()));
    }
    parse_time(trimmed, now)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_window_holds_its_start_and_not_its_end() {
        let w = Window::new(Some(at(1, 0)), Some(at(2, 0))).unwrap();
        assert!(w.holds(at(1, 0)));
        assert!(w.holds(at(2, 0) - TimeDelta::milliseconds(1)));
        assert!(!w.holds(at(2, 0)));
        assert!(!w.holds(at(1, 0) - TimeDelta::milliseconds(1)));
        assert!(Window::ALL.holds(DateTime::<Utc>::MIN_UTC));
        assert!(Window::new(Some(at(1, 0)), None).unwrap().holds(at(30, 0)));
    }

    #[test]
    fn a_window_that_ends_before_it_starts_is_refused_and_an_empty_one_is_not() {
        let e = Window::new(Some(at(2, 0)), Some(at(1, 0))).unwrap_err();
        assert_eq!(e.kind, crate::domain::ErrorKind::Invalid);
        assert!(e.message.contains("an end after the start"), "{}", e.message);
        assert!(Window::new(Some(at(1, 0)), Some(at(1, 0))).is_ok());
    }

    #[test]
    fn a_bound_is_a_time_as_everywhere_or_a_date_at_midnight_utc() {
        let now = at(5, 10);
        assert_eq!(parse_bound("2026-07-01", now), Ok(at(1, 0)));
        assert_eq!(parse_bound(" 2026-07-02 ", now), Ok(at(2, 0)));
        assert_eq!(parse_bound("now", now), Ok(now));
        assert_eq!(parse_bound("+1h", now), Ok(at(5, 11)));
        assert_eq!(parse_bound("2026-07-03T04:00:00+02:00", now), Ok(at(3, 2)));
        assert!(parse_bound("2026-13-01", now).is_err());
        assert!(parse_bound("yesterday", now).is_err());
    }
}
