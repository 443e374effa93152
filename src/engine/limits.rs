//! How much one requester may ask for: so many new requests per hour, and so many requests open at
//! once (pending, or approved and not yet ended). One publisher scripting requests in a loop would
//! otherwise fill every approver's inbox and the store. These are rules, checked inside the write
//! transaction of `NewRequest`, so every door (CLI on a local store, dashboard, service) obeys them.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::Result;
use super::storage::Reads;
use crate::domain::time_style::TimeStyle;
use crate::domain::{AccessRequest, RequestFilter, RequestState, RuleError, User};

/// The window the creation rate is counted over.
const RATE_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The `[limits]` table of config.toml; each limit is per requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// New requests in any hour.
    pub requests_per_hour: u32,
    /// Requests open at once: pending, or approved and not yet ended.
    pub live_grants: u32,
}

impl Default for Limits {
    /// Far above what a person asks for by hand, low enough that a runaway script stops soon.
    fn default() -> Self {
        Limits { requests_per_hour: 30, live_grants: 20 }
    }
}

impl Limits {
    /// No limit at all: an engine opened by a program (sample data, benchmarks) rather than for people.
    pub const NONE: Limits = Limits { requests_per_hour: u32::MAX, live_grants: u32::MAX };

    /// Refuses a new request from `requester` when it would pass a limit, saying when to try again.
    pub fn check(&self, tables: &dyn Reads, requester: &User, now: DateTime<Utc>) -> Result<()> {
        if *self == Limits::NONE {
            return Ok(());
        }
        let since = now - RATE_WINDOW;
        // Only the newest requests can be within the window, and only as many as the limit matter:
        // the requester's older history is never read, however long it grows.
        let newest = RequestFilter {
            requester: Some(requester.upn.clone()),
            limit: Some(usize::try_from(self.requests_per_hour.max(1)).unwrap_or(usize::MAX)),
            ..RequestFilter::default()
        };
        let recent: Vec<AccessRequest> =
            tables.requests_in(&newest, None)?.items.into_iter().filter(|r| r.created_at > since).collect();
        if let Some(oldest_counted) = over(recent.len(), self.requests_per_hour).map(|n| &recent[n]) {
            let retry = oldest_counted.created_at + RATE_WINDOW;
            return Err(limited(
                format!(
                    "{} has created as many requests in the last hour as allowed ({})",
                    requester.upn, self.requests_per_hour
                ),
                retry,
            ));
        }
        let held = tables.open_requests_of(&requester.upn)?;
        let mut open: Vec<DateTime<Utc>> = held.iter().filter_map(open_until).collect();
        open.sort_unstable();
        if let Some(first) = over(open.len(), self.live_grants).map(|n| open[open.len() - 1 - n]) {
            return Err(limited(
                format!(
                    "{} has as many requests pending or granted as allowed at once ({})",
                    requester.upn, self.live_grants
                ),
                first,
            ));
        }
        Ok(())
    }
}

/// When `count` things are held and `limit` may be: None while one more fits, else the index (from
/// the newest) of the one whose going lets one more in. A limit of 0 counts as 1: a limit is there
/// to slow people down, not to shut them out.
fn over(count: usize, limit: u32) -> Option<usize> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
    (count >= limit).then(|| limit.saturating_sub(1))
}

/// Until when a request holds a place under the live cap: a pending one until it must be decided,
/// an approved one until its access ends; None once it holds none. The transaction has already
/// moved on everything due by now (the ticker's pass runs before any command), so a request still
/// pending or approved here holds its place past now.
fn open_until(r: &AccessRequest) -> Option<DateTime<Utc>> {
    match r.state {
        RequestState::Pending => Some(r.decide_by),
        RequestState::Approved => r.end(),
        _ => None,
    }
}

fn limited(what: String, retry: DateTime<Utc>) -> super::Error {
    let when = TimeStyle::utc().full_secs(retry);
    RuleError::limited(format!("{what}: try again after {when}"), Some(retry)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_more_fits_until_the_limit() {
        assert_eq!(over(0, 3), None);
        assert_eq!(over(2, 3), None);
        // Three held, three allowed: the third newest must go first.
        assert_eq!(over(3, 3), Some(2));
        assert_eq!(over(5, 3), Some(2));
        assert_eq!(over(0, 0), None);
        assert_eq!(over(1, 0), Some(0));
    }
}
