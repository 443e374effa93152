//! Lengths of time: how long access lasts, how long an approval may wait. People type them in two
//! notations (ISO 8601 and the short `1h30m` form); storage and APIs use canonical ISO 8601.

use std::fmt;
use std::fmt::Write as _;

use chrono::TimeDelta;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{RuleError, RuleResult};
use super::text::shown;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// Ten calendar years hold up to three leap days; allowing all of them means a period computed from real
/// dates ten years apart is never refused.
const MAX_DAYS: i64 = 3653;
const MAX_SECS: i64 = MAX_DAYS * DAY;

const FORMS: &str = "use ISO 8601 like PT8H or P1D, or a short form like 8h, 90m, 1h30m, 45s";

/// A length of time in whole seconds, never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(i64);

impl Period {
    /// Negative input becomes zero: the value is meant as a length, and a clamp keeps that true even
    /// when a caller subtracts two instants in the wrong order.
    pub const fn from_secs(secs: i64) -> Period {
        if secs < 0 { Period(0) } else { Period(secs) }
    }

    /// A period of `m` minutes; saturates rather than overflows, and negative input becomes zero.
    pub const fn from_minutes(m: i64) -> Period {
        Period::from_secs(m.saturating_mul(MINUTE))
    }

    /// A period of `h` hours; saturates rather than overflows, and negative input becomes zero.
    pub const fn from_hours(h: i64) -> Period {
        Period::from_secs(h.saturating_mul(HOUR))
    }

    /// The length in whole seconds, never negative.
    pub fn as_secs(self) -> i64 {
        self.0
    }

    /// Saturates at `TimeDelta::MAX`, which only a period far beyond anything `parse` accepts can reach.
    pub fn to_delta(self) -> TimeDelta {
        TimeDelta::try_seconds(self.0).unwrap_or(TimeDelta::MAX)
    }

    /// The two lengths together; saturates rather than overflows.
    pub const fn saturating_add(self, other: Period) -> Period {
        Period(self.0.saturating_add(other.0))
    }

    /// Whether the period has no length, which the rules refuse for durations and timeouts.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses ISO 8601 (`PT8H`, `P1DT2H30M`, `P2W`) or the short form (`8h`, `1h 30m`, `2d`, `1w`).
    /// Years and months are refused because they have no fixed length; so is anything over ten years.
    pub fn parse(text: &str) -> RuleResult<Period> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(RuleError::invalid(format!("a duration is required: {FORMS}")));
        }
        let secs = match trimmed.strip_prefix(['P', 'p']) {
            Some(body) => parse_iso(body),
            None => parse_short(trimmed),
        };
        secs.map(Period).map_err(|problem| problem.into_error(trimmed))
    }

    /// Canonical ISO 8601, days being the largest unit: `PT8H`, `PT1H30M`, `P1DT2H`, `PT0S`.
    pub fn iso(self) -> String {
        let [days, hours, minutes, seconds] = self.units();
        let mut out = String::from("P");
        if days > 0 {
            out.push_str(&format!("{days}D"));
        }
        if hours > 0 || minutes > 0 || seconds > 0 {
            out.push('T');
            for (value, unit) in [(hours, 'H'), (minutes, 'M'), (seconds, 'S')] {
                if value > 0 {
                    // Writing into a String cannot fail.
                    let _ = write!(out, "{value}{unit}");
                }
            }
        }
        if out.len() == 1 { "PT0S".to_owned() } else { out }
    }

    fn units(self) -> [i64; 4] {
        let secs = self.0;
        [secs / DAY, secs % DAY / HOUR, secs % HOUR / MINUTE, secs % MINUTE]
    }
}

/// People read the two largest non-zero units (`2h 13m`, `1d 4h`); smaller units are dropped, never
/// rounded up, so a countdown never claims more time than is left.
impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let named = self.units().into_iter().zip(['d', 'h', 'm', 's']);
        for (value, unit) in named.filter(|&(value, _)| value > 0).take(2) {
            if !out.is_empty() {
                out.push(' ');
            }
            // Writing into a String cannot fail.
            let _ = write!(out, "{value}{unit}");
        }
        if out.is_empty() {
            out.push_str("0s");
        }
        // `pad` so tables can align periods with `{:>8}`.
        f.pad(&out)
    }
}

/// ISO 8601 text for people and JSON; whole seconds for compact binary encodings (the store's).
impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.iso())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(PeriodVisitor)
        } else {
            i64::deserialize(deserializer).map(Period::from_secs)
        }
    }
}

struct PeriodVisitor;

impl Visitor<'_> for PeriodVisitor {
    type Value = Period;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ISO 8601 duration such as PT8H")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Period, E> {
        Period::parse(value).map_err(|error| E::custom(error.message))
    }
}

/// Why a text is not a duration; turned into a sentence only once the whole text is known.
#[derive(Debug, PartialEq)]
enum Problem {
    Malformed,
    Negative,
    Signed,
    Fraction,
    NoFixedLength,
    UnknownUnit(String),
    Order,
    NoUnit { number: String, iso: bool },
    TimeUnitBeforeT,
    DateUnitAfterT,
    TooLong,
}

impl Problem {
    fn into_error(self, text: &str) -> RuleError {
        let quoted = shown(text);
        let message = match self {
            Problem::Malformed => format!("`{quoted}` is not a duration: {FORMS}"),
            Problem::Negative => {
                format!("`{quoted}` is not a duration: durations cannot be negative; {FORMS}")
            }
            Problem::Signed => {
                format!("`{quoted}` is not a duration: a duration takes no sign, so leave out the `+`")
            }
            Problem::Fraction => format!(
                "`{quoted}` is not a duration: fractions are not supported, so use whole numbers of a \
                 smaller unit, like 1h30m or PT1H30M instead of 1.5h"
            ),
            Problem::NoFixedLength => format!(
                "`{quoted}` is not a duration: years and months have no fixed length, so give days \
                 instead, like P30D or 30d"
            ),
            Problem::UnknownUnit(unit) => {
                format!("`{quoted}` is not a duration: `{}` is not a unit; {FORMS}", shown(&unit))
            }
            Problem::Order => format!(
                "`{quoted}` is not a duration: give each unit at most once, largest first, like 1d12h, \
                 1h30m or P1DT12H"
            ),
            Problem::NoUnit { number, iso } => {
                let number = shown(&number);
                let (minutes, seconds) = if iso {
                    (format!("PT{number}M"), format!("PT{number}S"))
                } else {
                    (format!("{number}m"), format!("{number}s"))
                };
                if number == quoted {
                    format!("`{quoted}` has no unit: write {minutes} for minutes or {seconds} for seconds")
                } else {
                    format!(
                        "`{quoted}` is not a duration: `{number}` needs a unit, like {minutes} for minutes \
                         or {seconds} for seconds"
                    )
                }
            }
            Problem::TimeUnitBeforeT => format!(
                "`{quoted}` is not a duration: in ISO 8601, hours, minutes and seconds go after a T, \
                 like PT8H or P1DT30M"
            ),
            Problem::DateUnitAfterT => format!(
                "`{quoted}` is not a duration: in ISO 8601, days and weeks go before the T, like P1D \
                 or P1DT2H"
            ),
            Problem::TooLong => format!(
                "`{quoted}` is too long: durations can be at most 10 years ({MAX_DAYS} days, P{MAX_DAYS}D)"
            ),
        };
        RuleError::invalid(message)
    }
}

/// Adds up parts while insisting on strictly decreasing units, so `1m1h` or `1h1h` (almost certainly
/// typos) are refused rather than guessed at.
#[derive(Default)]
struct Total {
    secs: i64,
    last_rank: Option<u8>,
}

impl Total {
    fn add(&mut self, digits: &str, rank: u8, unit_secs: i64) -> Result<(), Problem> {
        if self.last_rank.is_some_and(|last| rank <= last) {
            return Err(Problem::Order);
        }
        self.last_rank = Some(rank);
        // `digits` holds only ASCII digits, so the only possible parse failure is overflow.
        let value = digits.parse::<i64>().map_err(|_| Problem::TooLong)?;
        self.secs = value
            .checked_mul(unit_secs)
            .and_then(|secs| secs.checked_add(self.secs))
            .filter(|&secs| secs <= MAX_SECS)
            .ok_or(Problem::TooLong)?;
        Ok(())
    }
}

/// Splits one `<number><unit>` part off the front of `s`, returning the digits, the unit and the rest.
/// ISO units are one letter with nothing in between; short-form units are a run of letters and may
/// follow the number after spaces.
fn split_part(s: &str, iso: bool) -> Result<(&str, &str, &str), Problem> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, after) = s.split_at(digits_end);
    let next = after.chars().next();
    if digits.is_empty() {
        return Err(match next {
            Some('-') => Problem::Negative,
            Some('+') => Problem::Signed,
            Some('.' | ',') => Problem::Fraction,
            _ => Problem::Malformed,
        });
    }
    if matches!(next, Some('.' | ',')) {
        return Err(Problem::Fraction);
    }
    let after = if iso { after } else { after.trim_start() };
    let unit_end = match after.chars().next() {
        Some(c) if iso && c.is_ascii_alphabetic() => 1,
        _ => after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len()),
    };
    let (unit, rest) = after.split_at(unit_end);
    if unit.is_empty() {
        return match after.chars().next() {
            None => Err(Problem::NoUnit { number: digits.to_owned(), iso }),
            Some(c) if c.is_whitespace() || c.is_ascii_digit() => {
                Err(Problem::NoUnit { number: digits.to_owned(), iso })
            }
            Some(c) => Err(Problem::UnknownUnit(c.to_string())),
        };
    }
    Ok((digits, unit, rest))
}

fn parse_short(text: &str) -> Result<i64, Problem> {
    let mut total = Total::default();
    let mut rest = text;
    while !rest.is_empty() {
        let (digits, unit, after) = split_part(rest, false)?;
        let (rank, unit_secs) = match unit.to_ascii_lowercase().as_str() {
            "w" => (0, WEEK),
            "d" => (1, DAY),
            "h" => (2, HOUR),
            "m" => (3, MINUTE),
            "s" => (4, 1),
            "y" | "mo" => return Err(Problem::NoFixedLength),
            _ => return Err(Problem::UnknownUnit(unit.to_owned())),
        };
        total.add(digits, rank, unit_secs)?;
        rest = after.trim_start();
    }
    Ok(total.secs)
}

/// `body` is what follows the leading `P`.
fn parse_iso(body: &str) -> Result<i64, Problem> {
    let (date, time) = match body.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    // `P`, `PT` and `P1DT` name no time at all after a designator that promises one.
    if (date.is_empty() && time.is_none()) || time == Some("") {
        return Err(Problem::Malformed);
    }
    let mut total = Total::default();
    let mut rest = date;
    while !rest.is_empty() {
        let (digits, unit, after) = split_part(rest, true)?;
        let (rank, unit_secs) = match unit.to_ascii_uppercase().as_str() {
            "W" => (0, WEEK),
            "D" => (1, DAY),
            "Y" | "M" => return Err(Problem::NoFixedLength),
            "H" | "S" => return Err(Problem::TimeUnitBeforeT),
            _ => return Err(Problem::UnknownUnit(unit.to_owned())),
        };
        total.add(digits, rank, unit_secs)?;
        rest = after;
    }
    let mut rest = time.unwrap_or_default();
    while !rest.is_empty() {
        let (digits, unit, after) = split_part(rest, true)?;
        let (rank, unit_secs) = match unit.to_ascii_uppercase().as_str() {
            "H" => (2, HOUR),
            "M" => (3, MINUTE),
            "S" => (4, 1),
            "D" | "W" => return Err(Problem::DateUnitAfterT),
            "Y" => return Err(Problem::NoFixedLength),
            _ => return Err(Problem::UnknownUnit(unit.to_owned())),
        };
        total.add(digits, rank, unit_secs)?;
        rest = after;
    }
    Ok(total.secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::ErrorKind;
    use proptest::prelude::*;

    fn ok(text: &str) -> i64 {
        match Period::parse(text) {
            Ok(span) => span.as_secs(),
            Err(error) => panic!("`{text}` should parse: {}", error.message),
        }
    }

    fn refusal(text: &str) -> String {
        let error = Period::parse(text).expect_err("expected a refusal");
        assert_eq!(error.kind, ErrorKind::Invalid);
        error.message
    }

    // ---- constructors ----

    #[test]
    fn constructors() {
        assert_eq!(Period::from_secs(90).as_secs(), 90);
        assert_eq!(Period::from_minutes(90).as_secs(), 5400);
        assert_eq!(Period::from_hours(8).as_secs(), 28_800);
        assert_eq!(Period::from_secs(-5), Period::from_secs(0));
        assert_eq!(Period::from_hours(-1).as_secs(), 0);
        assert_eq!(Period::from_hours(i64::MAX).as_secs(), i64::MAX);
        assert!(Period::from_secs(0).is_zero());
        assert!(!Period::from_secs(1).is_zero());
        const EIGHT_HOURS: Period = Period::from_hours(8);
        assert_eq!(EIGHT_HOURS, Period::from_minutes(480));
    }

    #[test]
    fn ordering_follows_length() {
        assert!(Period::from_minutes(59) < Period::from_hours(1));
        assert_eq!(Period::from_minutes(60).cmp(&Period::from_hours(1)), std::cmp::Ordering::Equal);
    }

    #[test]
    fn to_delta() {
        assert_eq!(Period::from_hours(2).to_delta(), TimeDelta::hours(2));
        assert_eq!(Period::from_secs(0).to_delta(), TimeDelta::zero());
        assert_eq!(Period::from_secs(i64::MAX).to_delta(), TimeDelta::MAX);
    }

    // ---- parse: accepted ----

    #[test]
    fn parses_iso() {
        assert_eq!(ok("PT8H"), 8 * HOUR);
        assert_eq!(ok("PT90M"), 90 * MINUTE);
        assert_eq!(ok("P1D"), DAY);
        assert_eq!(ok("PT30S"), 30);
        assert_eq!(ok("P1DT2H30M"), DAY + 2 * HOUR + 30 * MINUTE);
        assert_eq!(ok("P2W"), 2 * WEEK);
        assert_eq!(ok("P1W2D"), WEEK + 2 * DAY);
        assert_eq!(ok("PT1H30M15S"), HOUR + 30 * MINUTE + 15);
        assert_eq!(ok("P1DT1S"), DAY + 1);
        assert_eq!(ok("pt8h"), 8 * HOUR);
        assert_eq!(ok("p1dt2h"), DAY + 2 * HOUR);
        assert_eq!(ok("  PT8H\n"), 8 * HOUR);
        assert_eq!(ok("PT0008H"), 8 * HOUR);
    }

    #[test]
    fn parses_short_forms() {
        assert_eq!(ok("8h"), 8 * HOUR);
        assert_eq!(ok("90m"), 90 * MINUTE);
        assert_eq!(ok("1h30m"), 90 * MINUTE);
        assert_eq!(ok("45s"), 45);
        assert_eq!(ok("2d"), 2 * DAY);
        assert_eq!(ok("1d12h"), DAY + 12 * HOUR);
        assert_eq!(ok("1w"), WEEK);
        assert_eq!(ok("1h 30m"), 90 * MINUTE);
        assert_eq!(ok("1d 2h 3m 4s"), DAY + 2 * HOUR + 3 * MINUTE + 4);
        assert_eq!(ok("1w1d1h1m1s"), WEEK + DAY + HOUR + MINUTE + 1);
        assert_eq!(ok("8H"), 8 * HOUR);
        assert_eq!(ok("90 m"), 90 * MINUTE);
    }

    #[test]
    fn zero_parses_to_zero() {
        for text in ["PT0S", "P0D", "PT0M", "0m", "0s", "0h 0m"] {
            assert_eq!(ok(text), 0, "{text}");
        }
    }

    #[test]
    fn ten_years_is_the_limit() {
        assert_eq!(ok("P3653D"), MAX_SECS);
        assert_eq!(ok("3653d"), MAX_SECS);
        assert_eq!(ok("521w6d"), 3653 * DAY);
    }

    // ---- parse: refused ----

    #[test]
    fn refuses_empty() {
        let expected = "a duration is required: use ISO 8601 like PT8H or P1D, or a short form like 8h, 90m, \
                        1h30m, 45s";
        assert_eq!(refusal(""), expected);
        assert_eq!(refusal("   "), expected);
    }

    #[test]
    fn refuses_negative() {
        assert_eq!(
            refusal("-5m"),
            "`-5m` is not a duration: durations cannot be negative; use ISO 8601 like PT8H or P1D, or a \
             short form like 8h, 90m, 1h30m, 45s"
        );
        for text in ["-PT5M", "PT-5M", "1h -5m", "P-1D"] {
            assert!(refusal(text).contains("durations cannot be negative"), "{text}");
        }
    }

    #[test]
    fn refuses_plus_sign() {
        assert_eq!(refusal("+5m"), "`+5m` is not a duration: a duration takes no sign, so leave out the `+`");
        assert!(refusal("PT+5M").contains("takes no sign"));
    }

    #[test]
    fn refuses_fractions() {
        let expected = "`1.5h` is not a duration: fractions are not supported, so use whole numbers of a \
                        smaller unit, like 1h30m or PT1H30M instead of 1.5h";
        assert_eq!(refusal("1.5h"), expected);
        for text in ["PT1.5H", "PT1,5H", ".5h", "PT0.5S", "1h 0.5m"] {
            assert!(refusal(text).contains("fractions are not supported"), "{text}");
        }
    }

    #[test]
    fn refuses_years_and_months() {
        assert_eq!(
            refusal("P1Y"),
            "`P1Y` is not a duration: years and months have no fixed length, so give days instead, like \
             P30D or 30d"
        );
        for text in ["P1M", "p2m", "P1Y2M", "1y", "2mo", "PT1Y"] {
            assert!(refusal(text).contains("years and months have no fixed length"), "{text}");
        }
    }

    #[test]
    fn refuses_unknown_units() {
        assert_eq!(
            refusal("90x"),
            "`90x` is not a duration: `x` is not a unit; use ISO 8601 like PT8H or P1D, or a short form \
             like 8h, 90m, 1h30m, 45s"
        );
        assert!(refusal("2hours").contains("`hours` is not a unit"));
        assert!(refusal("5min").contains("`min` is not a unit"));
        assert!(refusal("PT8X").contains("`X` is not a unit"));
        assert!(refusal("5#").contains("`#` is not a unit"));
        assert!(refusal("5\x1b[2J").contains("`␛` is not a unit"));
    }

    #[test]
    fn refuses_repeated_or_out_of_order_units() {
        let expected = "`1m1h` is not a duration: give each unit at most once, largest first, like 1d12h, \
                        1h30m or P1DT12H";
        assert_eq!(refusal("1m1h"), expected);
        for text in ["1h1h", "30m 1h", "1s1m", "PT1M1H", "PT1H1H", "P1D1W", "P1D1D", "1d1w"] {
            assert!(refusal(text).contains("at most once, largest first"), "{text}");
        }
    }

    #[test]
    fn refuses_numbers_without_units() {
        assert_eq!(refusal("90"), "`90` has no unit: write 90m for minutes or 90s for seconds");
        assert_eq!(
            refusal("1h30"),
            "`1h30` is not a duration: `30` needs a unit, like 30m for minutes or 30s for seconds"
        );
        assert_eq!(
            refusal("PT30"),
            "`PT30` is not a duration: `30` needs a unit, like PT30M for minutes or PT30S for seconds"
        );
        assert!(refusal("1h 30 ").contains("`30` needs a unit"));
    }

    #[test]
    fn refuses_units_on_the_wrong_side_of_t() {
        assert_eq!(
            refusal("P8H"),
            "`P8H` is not a duration: in ISO 8601, hours, minutes and seconds go after a T, like PT8H or \
             P1DT30M"
        );
        assert!(refusal("P30S").contains("go after a T"));
        assert_eq!(
            refusal("PT1D"),
            "`PT1D` is not a duration: in ISO 8601, days and weeks go before the T, like P1D or P1DT2H"
        );
        assert!(refusal("PT2W").contains("go before the T"));
    }

    #[test]
    fn refuses_malformed() {
        let tail =
            "is not a duration: use ISO 8601 like PT8H or P1D, or a short form like 8h, 90m, 1h30m, 45s";
        for text in ["P", "PT", "P1DT", "h", "abc", "1h!", "PT1H T", "P 1D", "PT1HT1M", "PTT1H"] {
            let message = refusal(text);
            assert!(message.ends_with(tail) || message.contains("is not a unit"), "{text}: {message}");
        }
        assert_eq!(refusal("P"), format!("`P` {tail}"));
        assert_eq!(refusal("abc"), format!("`abc` {tail}"));
    }

    #[test]
    fn refuses_more_than_ten_years() {
        let expected = "`P3654D` is too long: durations can be at most 10 years (3653 days, P3653D)";
        assert_eq!(refusal("P3654D"), expected);
        for text in [
            "3653d1s",
            "P3653DT1S",
            "PT87672H1S",
            "999999999999w",
            "99999999999999999999999999s",
            "P9223372036854775807D",
            "9223372036854775807s",
        ] {
            assert!(refusal(text).contains("is too long"), "{text}");
        }
    }

    #[test]
    fn long_input_is_cut_in_the_message() {
        let text = format!("{}x", "1".repeat(200));
        let message = refusal(&text);
        assert!(message.len() < 300, "{message}");
        assert!(message.starts_with(&format!("`{}…`", "1".repeat(64))), "{message}");
    }

    // ---- iso ----

    #[test]
    fn iso_is_canonical() {
        assert_eq!(Period::from_hours(8).iso(), "PT8H");
        assert_eq!(Period::from_minutes(90).iso(), "PT1H30M");
        assert_eq!(Period::from_hours(24).iso(), "P1D");
        assert_eq!(Period::from_hours(26).iso(), "P1DT2H");
        assert_eq!(Period::from_secs(30).iso(), "PT30S");
        assert_eq!(Period::from_secs(0).iso(), "PT0S");
        assert_eq!(Period::from_secs(DAY + 1).iso(), "P1DT1S");
        assert_eq!(Period::from_secs(2 * WEEK).iso(), "P14D");
        assert_eq!(Period::from_secs(DAY + 2 * HOUR + 3 * MINUTE + 4).iso(), "P1DT2H3M4S");
    }

    // ---- Display ----

    #[test]
    fn display_shows_two_largest_units_without_rounding() {
        let cases = [
            (2 * HOUR + 13 * MINUTE, "2h 13m"),
            (2 * HOUR + 13 * MINUTE + 59, "2h 13m"),
            (DAY + 4 * HOUR + 59 * MINUTE, "1d 4h"),
            (5 * MINUTE + 3, "5m 3s"),
            (45, "45s"),
            (8 * HOUR, "8h"),
            (0, "0s"),
            (DAY + 5 * MINUTE + 7, "1d 5m"),
            (DAY + 7, "1d 7s"),
            (3653 * DAY, "3653d"),
        ];
        for (secs, expected) in cases {
            assert_eq!(Period::from_secs(secs).to_string(), expected, "{secs}");
        }
    }

    #[test]
    fn display_honours_width() {
        assert_eq!(format!("{:>8}|", Period::from_minutes(90)), "  1h 30m|");
        assert_eq!(format!("{:<4}|", Period::from_secs(0)), "0s  |");
    }

    // ---- serde ----

    #[test]
    fn serializes_as_iso_string() {
        assert_eq!(serde_json::to_string(&Period::from_minutes(90)).ok(), Some("\"PT1H30M\"".to_owned()));
        assert_eq!(serde_json::to_string(&Period::from_secs(0)).ok(), Some("\"PT0S\"".to_owned()));
    }

    #[test]
    fn deserializes_from_any_accepted_form() {
        assert_eq!(serde_json::from_str::<Period>("\"PT8H\"").ok(), Some(Period::from_hours(8)));
        assert_eq!(serde_json::from_str::<Period>("\"1h30m\"").ok(), Some(Period::from_minutes(90)));
        let spans: Vec<Period> = serde_json::from_str(r#"["P1D","PT0S"]"#).expect("valid list");
        assert_eq!(spans, vec![Period::from_hours(24), Period::from_secs(0)]);
    }

    #[test]
    fn deserialization_errors_are_reported_not_panicked() {
        let error = serde_json::from_str::<Period>("\"90x\"").expect_err("bad unit");
        assert!(error.to_string().contains("`x` is not a unit"), "{error}");
        let error = serde_json::from_str::<Period>("\"-PT5M\"").expect_err("negative");
        assert!(error.to_string().contains("durations cannot be negative"), "{error}");
        let error = serde_json::from_str::<Period>("3600").expect_err("number");
        assert!(error.to_string().contains("an ISO 8601 duration such as PT8H"), "{error}");
        assert!(serde_json::from_str::<Period>("null").is_err());
        assert!(serde_json::from_str::<Period>("{}").is_err());
    }

    proptest! {
        #[test]
        fn iso_round_trips(secs in 0..=MAX_SECS) {
            let span = Period::from_secs(secs);
            prop_assert_eq!(Period::parse(&span.iso()), Ok(span));
        }

        #[test]
        fn display_never_overstates_and_drops_less_than_its_last_unit(secs in 0..=MAX_SECS) {
            let span = Period::from_secs(secs);
            let shown = Period::parse(&span.to_string()).expect("display output parses");
            prop_assert!(shown <= span);
            // Whatever was dropped is smaller than one of the smallest unit shown.
            let last_unit = match span.to_string().chars().last() {
                Some('d') => DAY,
                Some('h') => HOUR,
                Some('m') => MINUTE,
                _ => 1,
            };
            prop_assert!(span.as_secs() - shown.as_secs() < last_unit);
        }

        #[test]
        fn whole_unit_display_round_trips(
            (big, small) in (0usize..4).prop_flat_map(|big| (Just(big), big..4)),
            a in 1i64..=999,
            b in 0i64..=999,
        ) {
            let unit_secs = [DAY, HOUR, MINUTE, 1];
            // The smaller unit must stay below the next larger one or it would carry into `a`'s unit.
            let limits = [3653, 24, 60, 60];
            let a = if big == 0 { a.min(3652) } else { a % limits[big] };
            let b = if small > big { b % limits[small] } else { 0 };
            let span = Period::from_secs(a * unit_secs[big] + b * unit_secs[small]);
            let display = span.to_string();
            prop_assert_eq!(Period::parse(&display), Ok(span), "display {}", display);
            let compact: String = display.split(' ').collect();
            prop_assert_eq!(Period::parse(&compact), Ok(span), "compact {}", compact);
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            let _ = Period::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_misses(text in "[-+PpTt0-9WwDdHhMmSsYy .,x\u{9b}é]{0,16}") {
            if let Ok(span) = Period::parse(&text) {
                prop_assert!((0..=MAX_SECS).contains(&span.as_secs()));
            }
        }
    }
}
