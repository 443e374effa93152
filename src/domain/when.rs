//! Points in time as people type them (`now`, `+30m`, RFC 3339 in any offset) and as they read them
//! back. Everything is UTC inside so that comparisons never depend on where the reader sits.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use super::error::{RuleError, RuleResult};
use super::period::Period;
use super::text::shown;

const TIME_FORMS: &str = "use now, +DURATION like +30m or +PT2H, or RFC 3339 like 2026-11-26T10:00:00Z or \
                          2026-11-26T11:00:00+01:00";

/// The latest time jitdesk takes, 9999-12-31T23:59:59Z: RFC 3339 writes years with four digits, so a
/// later time could be stored but not written back in a form anything reads.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(LATEST_SECS, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

const LATEST_SECS: i64 = 253_402_300_799;

/// Countdowns shorter than this, ten minutes, show seconds.
const SECONDS_SHOWN_UNDER: i64 = 600;

/// Refuses a time after `latest()`; `what` names it in the message (`the start`, `the end`).
pub fn check_within_range(what: &str, t: DateTime<Utc>) -> RuleResult<DateTime<Utc>> {
    if t > latest() {
        return Err(RuleError::invalid(format!(
            "{what} {} is after {}, the latest time jitdesk takes: choose an earlier one",
            format_utc(t),
            format_utc(latest())
        )));
    }
    Ok(t)
}

/// Parses `now` (any case), `+DURATION` relative to `now`, or an RFC 3339 timestamp with any offset
/// (a space may stand in for the `T`), and returns it in UTC.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> RuleResult<DateTime<Utc>> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(RuleError::invalid(format!("a time is required: {TIME_FORMS}")));
    }
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(duration) = trimmed.strip_prefix('+') {
        // The duration error already says what a duration looks like; prefixing the whole text tells
        // people which of their inputs it is about.
        let span = Period::parse(duration)
            .map_err(|error| RuleError::invalid(format!("in `{}`, {}", shown(trimmed), error.message)))?;
        let later = now.checked_add_signed(span.to_delta()).ok_or_else(|| {
            RuleError::invalid(format!(
                "`{}` is further in the future than can be represented",
                shown(trimmed)
            ))
        })?;
        return check_within_range("the time", later);
    }
    check_within_range("the time", parse_rfc3339(trimmed)?)
}

fn parse_rfc3339(text: &str) -> RuleResult<DateTime<Utc>> {
    // RFC 3339 itself allows a space for readability, but chrono's strict parser wants the `T`.
    let normalized = if text.as_bytes().get(10) == Some(&b' ') {
        Cow::Owned(format!("{}T{}", &text[..10], &text[11..]))
    } else {
        Cow::Borrowed(text)
    };
    if let Ok(parsed) = DateTime::parse_from_rfc3339(&normalized) {
        return Ok(parsed.with_timezone(&Utc));
    }
    // Guessing the zone of a local time would silently shift grants by hours, so say what is missing.
    if NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
        return Err(RuleError::invalid(format!(
            "`{}` has no UTC offset: add Z for UTC or an offset like +01:00, e.g. 2026-11-26T10:00:00Z",
            shown(text)
        )));
    }
    Err(RuleError::invalid(format!("`{}` is not a time: {TIME_FORMS}", shown(text))))
}

/// RFC 3339 in UTC with whole seconds, e.g. `2026-11-26T10:00:00Z`: one fixed width and zone, so
/// stored and printed times sort and compare as text.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An RFC 3339 time to show as an example of a start: the first whole hour at least an hour after
/// `now`, so that the example is always one that would be taken.
pub fn example_start(now: DateTime<Utc>) -> String {
    let ahead = now.timestamp().saturating_add(2 * 3600);
    let on_the_hour = DateTime::from_timestamp(ahead - ahead.rem_euclid(3600), 0).unwrap_or(now);
    format_utc(on_the_hour.min(latest()))
}

/// A countdown such as `in 2h 13m` or `5m 3s ago`: seconds only under ten minutes, where they
/// matter; above, they would make the text tick for nothing. Less than a second either way is
/// `now`, since a period has no smaller unit to show.
pub fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let exact = then.signed_duration_since(now).num_seconds();
    let secs = if exact.abs() < SECONDS_SHOWN_UNDER { exact } else { exact - exact % 60 };
    match secs.cmp(&0) {
        std::cmp::Ordering::Greater => format!("in {}", Period::from_secs(secs)),
        std::cmp::Ordering::Less => format!("{} ago", Period::from_secs(secs.saturating_neg())),
        std::cmp::Ordering::Equal => "now".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::ErrorKind;
    use chrono::{TimeDelta, TimeZone};
    use proptest::prelude::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid test time")
    }

    fn now() -> DateTime<Utc> {
        at(2026, 11, 26, 10, 0, 0)
    }

    fn refusal(text: &str) -> String {
        let error = parse_time(text, now()).expect_err("expected a refusal");
        assert_eq!(error.kind, ErrorKind::Invalid);
        error.message
    }

    // ---- parse_time ----

    #[test]
    fn now_in_any_case() {
        for text in ["now", "NOW", "Now", "  now \n"] {
            assert_eq!(parse_time(text, now()), Ok(now()), "{text}");
        }
    }

    #[test]
    fn relative_durations() {
        assert_eq!(parse_time("+30m", now()), Ok(at(2026, 11, 26, 10, 30, 0)));
        assert_eq!(parse_time("+PT2H", now()), Ok(at(2026, 11, 26, 12, 0, 0)));
        assert_eq!(parse_time("+1d12h", now()), Ok(at(2026, 11, 27, 22, 0, 0)));
        assert_eq!(parse_time("+1h 30m", now()), Ok(at(2026, 11, 26, 11, 30, 0)));
        assert_eq!(parse_time("+0s", now()), Ok(now()));
        assert_eq!(parse_time("+P1W", now()), Ok(at(2026, 12, 3, 10, 0, 0)));
    }

    #[test]
    fn relative_duration_errors_carry_the_duration_reason() {
        assert_eq!(
            refusal("+90x"),
            "in `+90x`, `90x` is not a duration: `x` is not a unit; use ISO 8601 like PT8H or P1D, or a \
             short form like 8h, 90m, 1h30m, 45s"
        );
        assert!(refusal("+").starts_with("in `+`, a duration is required"));
        assert!(refusal("+-5m").contains("durations cannot be negative"));
        assert!(refusal("+P1Y").contains("years and months have no fixed length"));
        assert!(refusal("+P3654D").contains("is too long"));
    }

    #[test]
    fn rfc3339_in_any_offset_becomes_utc() {
        assert_eq!(parse_time("2026-11-26T10:00:00Z", now()), Ok(now()));
        assert_eq!(parse_time("2026-11-26T11:00:00+01:00", now()), Ok(now()));
        assert_eq!(parse_time("2026-11-26T05:30:00-04:30", now()), Ok(now()));
        assert_eq!(parse_time("2026-11-27T00:30:00+14:30", now()), Ok(at(2026, 11, 26, 10, 0, 0)));
        assert_eq!(parse_time("2026-11-26T00:00:00-10:00", now()), Ok(at(2026, 11, 26, 10, 0, 0)));
        assert_eq!(parse_time("2027-01-01T00:59:59+01:00", now()), Ok(at(2026, 12, 31, 23, 59, 59)));
    }

    #[test]
    fn rfc3339_accepts_a_space_and_fractions() {
        assert_eq!(parse_time("2026-11-26 10:00:00Z", now()), Ok(now()));
        assert_eq!(parse_time("2026-11-26 12:00:00+02:00", now()), Ok(now()));
        let with_millis = parse_time("2026-11-26T10:00:00.250Z", now()).expect("fractional seconds");
        assert_eq!(with_millis, now() + TimeDelta::milliseconds(250));
    }

    #[test]
    fn local_time_without_offset_is_refused_with_a_hint() {
        assert_eq!(
            refusal("2026-11-26T10:00:00"),
            "`2026-11-26T10:00:00` has no UTC offset: add Z for UTC or an offset like +01:00, e.g. \
             2026-11-26T10:00:00Z"
        );
        assert!(refusal("2026-11-26 10:00:00").contains("has no UTC offset"));
    }

    #[test]
    fn other_text_is_refused_naming_the_forms() {
        let forms = "use now, +DURATION like +30m or +PT2H, or RFC 3339 like 2026-11-26T10:00:00Z or \
                     2026-11-26T11:00:00+01:00";
        assert_eq!(refusal(""), format!("a time is required: {forms}"));
        assert_eq!(refusal("tomorrow"), format!("`tomorrow` is not a time: {forms}"));
        for text in [
            "2026-11-26",
            "2026-02-30T10:00:00Z",
            "2026-11-26T25:00:00Z",
            "-30m",
            "30m",
            "nowish",
            "2026-11-26T10:00:00+25:00",
            "2026-11-26x10:00:00Z",
            "é026-11-26 10:00:00Z",
        ] {
            assert_eq!(refusal(text), format!("`{text}` is not a time: {forms}"), "{text}");
        }
        assert_eq!(refusal("\x1b[2J2026"), format!("`␛[2J2026` is not a time: {forms}"));
    }

    #[test]
    fn times_after_year_9999_are_refused() {
        assert_eq!(format_utc(latest()), "9999-12-31T23:59:59Z");
        assert_eq!(parse_time("9999-12-31T23:59:59Z", now()), Ok(latest()));
        // An offset west of UTC moves the last second of 9999 into year 10000.
        assert_eq!(
            refusal("9999-12-31T23:59:59-01:00"),
            "the time +10000-01-01T00:59:59Z is after 9999-12-31T23:59:59Z, the latest time jitdesk takes: \
             choose an earlier one"
        );
        let close = latest() - TimeDelta::days(1);
        let relative = parse_time("+2d", close).expect_err("relative times too").message;
        assert!(relative.contains("the latest time jitdesk takes"), "{relative}");
        assert_eq!(check_within_range("the end", latest()), Ok(latest()));
        let message =
            check_within_range("the end", latest() + TimeDelta::seconds(1)).expect_err("after").message;
        assert!(message.starts_with("the end +10000-01-01T00:00:00Z is after"), "{message}");
    }

    #[test]
    fn relative_overflow_is_refused_not_panicked() {
        let end = DateTime::<Utc>::MAX_UTC;
        let error = parse_time("+1s", end).expect_err("overflow");
        assert_eq!(error.message, "`+1s` is further in the future than can be represented");
    }

    // ---- format_utc ----

    #[test]
    fn format_utc_is_rfc3339_seconds_z() {
        assert_eq!(format_utc(now()), "2026-11-26T10:00:00Z");
        assert_eq!(format_utc(now() + TimeDelta::milliseconds(999)), "2026-11-26T10:00:00Z");
        assert_eq!(format_utc(at(2027, 1, 2, 3, 4, 5)), "2027-01-02T03:04:05Z");
    }

    // ---- example_start ----

    #[test]
    fn the_example_start_is_a_later_whole_hour_that_parses() {
        assert_eq!(example_start(now()), "2026-11-26T12:00:00Z");
        assert_eq!(example_start(at(2026, 11, 26, 10, 59, 59)), "2026-11-26T12:00:00Z");
        assert_eq!(example_start(at(2026, 12, 31, 23, 30, 0)), "2027-01-01T01:00:00Z");
        let later = now() + TimeDelta::days(400);
        let example = example_start(later);
        let parsed = parse_time(&example, later).expect("the example parses");
        assert!(parsed > later + TimeDelta::hours(1), "{example}");
    }

    // ---- until ----

    #[test]
    fn until_counts_down_and_up() {
        let later = now() + TimeDelta::seconds(2 * 3600 + 13 * 60 + 59);
        assert_eq!(until(now(), later), "in 2h 13m");
        assert_eq!(until(later, now()), "2h 13m ago");
        assert_eq!(until(now(), now()), "now");
        assert_eq!(until(now(), now() + TimeDelta::seconds(45)), "in 45s");
        assert_eq!(until(now(), now() - TimeDelta::days(1) - TimeDelta::hours(4)), "1d 4h ago");
        assert_eq!(until(now(), now() + TimeDelta::milliseconds(999)), "now");
        assert_eq!(until(now(), now() - TimeDelta::milliseconds(999)), "now");
        assert_eq!(until(now(), now() + TimeDelta::milliseconds(1500)), "in 1s");
    }

    #[test]
    fn until_shows_seconds_only_under_ten_minutes() {
        assert_eq!(until(now(), now() + TimeDelta::seconds(9 * 60 + 5)), "in 9m 5s");
        assert_eq!(until(now(), now() - TimeDelta::seconds(9 * 60 + 59)), "9m 59s ago");
        assert_eq!(until(now(), now() + TimeDelta::seconds(10 * 60 + 5)), "in 10m");
        assert_eq!(until(now(), now() + TimeDelta::seconds(3600 + 30)), "in 1h");
        assert_eq!(until(now(), now() - TimeDelta::seconds(12 * 60 + 59)), "12m ago");
    }

    proptest! {
        #[test]
        fn format_utc_round_trips(secs in 0i64..4_102_444_800) {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
            prop_assert_eq!(parse_time(&format_utc(t), now()), Ok(t));
        }

        #[test]
        fn relative_times_add_the_span(secs in 0i64..=3653 * 86_400) {
            let span = Period::from_secs(secs);
            prop_assert_eq!(parse_time(&format!("+{}", span.iso()), now()), Ok(now() + span.to_delta()));
        }

        #[test]
        fn parse_time_never_panics(text in any::<String>()) {
            let _ = parse_time(&text, now());
        }
    }
}
