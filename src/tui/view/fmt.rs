//! How times, durations and outside text look on screen.

use chrono::{DateTime, Local, Utc};

use crate::domain::text::sanitize;
use crate::domain::when::until;

/// Text from other people, made safe for the terminal: the one door outside text comes through.
pub fn safe(text: &str) -> String {
    sanitize(text).into_owned()
}

/// `14:05` today, `11-27 14:05` on other days; local time unless UTC was asked for.
pub fn time(t: DateTime<Utc>, now: DateTime<Utc>, utc: bool) -> String {
    let (t_fmt, same_day) = if utc {
        (t.format("%H:%M").to_string(), t.date_naive() == now.date_naive())
    } else {
        let (lt, ln) = (t.with_timezone(&Local), now.with_timezone(&Local));
        (lt.format("%H:%M").to_string(), lt.date_naive() == ln.date_naive())
    };
    if same_day {
        t_fmt
    } else if utc {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.with_timezone(&Local).format("%m-%d %H:%M").to_string()
    }
}

/// The header's clock: minutes only, so it changes once a minute.
pub fn clock(t: DateTime<Utc>, utc: bool) -> String {
    if utc {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    } else {
        t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
    }
}

pub fn full_time(t: DateTime<Utc>, utc: bool) -> String {
    if utc {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

pub fn countdown(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    until(now, then)
}
