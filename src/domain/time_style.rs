//! How a moment reads on a screen: in one zone, always naming it, with a date only when it is not
//! today. The CLI and the dashboard both format through this, so the same moment reads the same in
//! both; which zone to use is decided at the edge (config, `--utc`), never here.

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The zone times are shown in. UTC inside, this only at the very end.
#[derive(Clone, Debug)]
pub struct TimeStyle {
    zone: TimeZone,
}

impl TimeStyle {
    /// Times shown in UTC: what `--utc` asks for, and how rules and the engine word times in messages.
    pub fn utc() -> TimeStyle {
        TimeStyle { zone: TimeZone::UTC }
    }

    /// Times shown in `zone`, which the edge picks (the system's zone unless config says otherwise).
    pub fn in_zone(zone: TimeZone) -> TimeStyle {
        TimeStyle { zone }
    }

    /// The zone's short name at `now` (`UTC`, `IST`, `EST` or `EDT`): what follows every time.
    pub fn zone_name(&self, now: DateTime<Utc>) -> String {
        self.render(now, "%Z").unwrap_or_else(|| "UTC".to_string())
    }

    /// Says which zone is in use, e.g. `Asia/Kolkata (IST)` or `UTC`.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let name = self.zone_name(now);
        match self.zone.iana_name() {
            Some(iana) if iana != name => format!("{iana} ({name})"),
            _ => name,
        }
    }

    /// The zone's date and zone name at `now`: while it stays the same, every text `moment` makes
    /// stays the same (a time of day turns into a date when the day changes, and the zone's name
    /// changes with daylight saving).
    pub fn day(&self, now: DateTime<Utc>) -> String {
        self.render(now, "%Y-%m-%d %Z").unwrap_or_else(|| now.format("%Y-%m-%d UTC").to_string())
    }

    /// The header's clock, `07:17 UTC`: minutes only, so it changes once a minute.
    pub fn clock(&self, now: DateTime<Utc>) -> String {
        self.moment(now, now)
    }

    /// `14:05 IST` today, `Nov 27 14:05 IST` on another day of this year, `2025-11-27 14:05 IST` else.
    pub fn moment(&self, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        self.dated(t, now, "%H:%M %Z")
    }

    /// As `moment`, with seconds: for records whose order within a minute matters (the audit log).
    pub fn moment_secs(&self, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        self.dated(t, now, "%H:%M:%S %Z")
    }

    /// A moment for a table column: right-aligned to the width of its dated form, so that the clock
    /// times of today and of other days line up under each other.
    pub fn moment_cell(&self, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let width = self.render(t, "%b %d %H:%M %Z").map_or(0, |s| s.chars().count());
        format!("{:>width$}", self.moment(t, now))
    }

    /// Date, time and zone in full, `2026-11-27 07:07 UTC`, for details and messages that stay
    /// read after today.
    pub fn full(&self, t: DateTime<Utc>) -> String {
        self.render(t, "%Y-%m-%d %H:%M %Z").unwrap_or_else(|| t.format("%Y-%m-%d %H:%M UTC").to_string())
    }

    /// As `full`, with seconds.
    pub fn full_secs(&self, t: DateTime<Utc>) -> String {
        self.render(t, "%Y-%m-%d %H:%M:%S %Z")
            .unwrap_or_else(|| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    }

    fn dated(&self, t: DateTime<Utc>, now: DateTime<Utc>, time: &str) -> String {
        let (Some(when), Some(today)) = (self.zoned(t), self.zoned(now)) else {
            return self.full(t);
        };
        let format = if when.date() == today.date() {
            time.to_string()
        } else if when.year() == today.year() {
            format!("%b %d {time}")
        } else {
            format!("%Y-%m-%d {time}")
        };
        when.strftime(&format).to_string()
    }

    fn render(&self, t: DateTime<Utc>, format: &str) -> Option<String> {
        self.zoned(t).map(|z| z.strftime(format).to_string())
    }

    /// `None` only for the last hours of year 9999, which a zone east of UTC would carry into a
    /// year no calendar here writes; callers then fall back to UTC.
    fn zoned(&self, t: DateTime<Utc>) -> Option<jiff::Zoned> {
        let ts = Timestamp::new(t.timestamp(), 0).ok()?;
        Some(ts.to_zoned(self.zone.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::when::latest;
    use chrono::TimeZone as _;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single().expect("valid test time")
    }

    fn zone(name: &str) -> TimeStyle {
        TimeStyle::in_zone(TimeZone::get(name).expect("the system has this zone"))
    }

    #[test]
    fn today_shows_the_time_and_zone_only() {
        let now = at(2026, 11, 27, 7, 7, 30);
        assert_eq!(TimeStyle::utc().moment(at(2026, 11, 27, 6, 15, 0), now), "06:15 UTC");
        assert_eq!(zone("Asia/Kolkata").moment(at(2026, 11, 27, 6, 15, 0), now), "11:45 IST");
        assert_eq!(zone("America/New_York").moment(at(2026, 11, 27, 6, 15, 0), now), "01:15 EST");
        assert_eq!(TimeStyle::utc().clock(now), "07:07 UTC");
        assert_eq!(zone("Asia/Kolkata").clock(now), "12:37 IST");
    }

    #[test]
    fn another_day_shows_its_date_in_the_zone_of_the_reader() {
        let now = at(2026, 11, 27, 7, 7, 0);
        assert_eq!(TimeStyle::utc().moment(at(2026, 11, 26, 23, 59, 0), now), "Nov 26 23:59 UTC");
        // 20:00 UTC on the 27th is already the 28th in India, and still the 27th in New York.
        let evening = at(2026, 11, 27, 20, 0, 0);
        assert_eq!(zone("Asia/Kolkata").moment(evening, now), "Nov 28 01:30 IST");
        assert_eq!(zone("America/New_York").moment(evening, now), "15:00 EST");
        assert_eq!(TimeStyle::utc().moment(at(2025, 11, 27, 7, 0, 0), now), "2025-11-27 07:00 UTC");
    }

    #[test]
    fn the_day_changes_at_the_readers_midnight() {
        let india = zone("Asia/Kolkata");
        // 18:29 UTC is 23:59 in India, 18:30 UTC the next day's 00:00.
        assert_eq!(india.day(at(2026, 11, 27, 18, 29, 59)), "2026-11-27 IST");
        assert_eq!(india.day(at(2026, 11, 27, 18, 30, 0)), "2026-11-28 IST");
        assert_eq!(TimeStyle::utc().day(at(2026, 11, 27, 23, 59, 59)), "2026-11-27 UTC");
    }

    #[test]
    fn summer_time_is_named_for_the_moment_shown() {
        let now = at(2026, 11, 27, 7, 0, 0);
        assert_eq!(zone("America/New_York").moment(at(2026, 7, 1, 16, 0, 0), now), "Jul 01 12:00 EDT");
        assert_eq!(zone("America/New_York").zone_name(at(2026, 7, 1, 16, 0, 0)), "EDT");
        assert_eq!(zone("America/New_York").zone_name(now), "EST");
    }

    #[test]
    fn seconds_and_full_forms() {
        let now = at(2026, 11, 27, 7, 7, 0);
        assert_eq!(TimeStyle::utc().moment_secs(at(2026, 11, 27, 6, 15, 9), now), "06:15:09 UTC");
        assert_eq!(zone("Asia/Kolkata").full(now), "2026-11-27 12:37 IST");
        assert_eq!(zone("Asia/Kolkata").full_secs(now), "2026-11-27 12:37:00 IST");
    }

    #[test]
    fn cells_line_up_today_and_other_days() {
        let now = at(2026, 11, 27, 7, 7, 0);
        let style = zone("Asia/Kolkata");
        let today = style.moment_cell(at(2026, 11, 27, 6, 15, 0), now);
        let other = style.moment_cell(at(2026, 11, 20, 6, 15, 0), now);
        assert_eq!(today, "       11:45 IST");
        assert_eq!(other, "Nov 20 11:45 IST");
    }

    #[test]
    fn the_zone_in_use_is_described() {
        let now = at(2026, 11, 27, 7, 7, 0);
        assert_eq!(TimeStyle::utc().describe(now), "UTC");
        assert_eq!(zone("Asia/Kolkata").describe(now), "Asia/Kolkata (IST)");
    }

    #[test]
    fn the_end_of_year_9999_falls_back_to_utc_east_of_it() {
        assert_eq!(zone("Asia/Kolkata").full(latest()), "9999-12-31 23:59 UTC");
        assert_eq!(zone("Asia/Kolkata").moment(latest(), latest()), "9999-12-31 23:59 UTC");
    }
}
