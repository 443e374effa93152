//! How much one list answer may hold, and how a caller walks on to the next part. Every door (the
//! CLI, the dashboard, the service) asks through `Paging::asked`, so no caller can have a list built
//! that grows with the store, and all of them refuse the same numbers with the same words.

use super::error::RuleError;
use super::model::{
    AccessRequest, Application, AuditRecord, Notification, Offer, RequestState, Tenant, User,
};

/// A list gives this many items unless asked for another number.
pub const DEFAULT_LIMIT: usize = 100;
/// The most one list answer holds.
pub const MAX_LIMIT: usize = 1000;

/// Which part of a list to read: at most `limit` items (None: all of them, for callers inside the
/// crate that need the whole list and know it is small), the first of them after the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging<C> {
    /// At most this many items; None only for the crate's own small lists.
    pub limit: Option<usize>,
    /// The cursor of the last item already seen; None starts at the beginning.
    pub after: Option<C>,
}

impl<C> Default for Paging<C> {
    fn default() -> Self {
        Paging { limit: None, after: None }
    }
}

impl<C> Paging<C> {
    /// The first `limit` items.
    pub fn first(limit: usize) -> Self {
        Paging { limit: Some(limit), after: None }
    }

    /// What a caller asked for: the default limit when none is given; more than the maximum, or
    /// none at all, is refused.
    pub fn asked(limit: Option<usize>, after: Option<C>) -> Result<Self, RuleError> {
        Ok(Paging { limit: Some(check_limit(limit)?), after })
    }
}

/// Which requests to list, newest first: at most `limit` (None: all), older than `after`. Every
/// door asks with one, and every storage backend answers it, so it belongs to neither.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests on the application of this name.
    pub app: Option<String>,
    /// Only requests made by the user of this UPN.
    pub requester: Option<String>,
    /// At most this many requests; None: all that match.
    pub limit: Option<usize>,
    /// Only requests whose id is lower than this one: the cursor of the part seen last.
    pub after: Option<u64>,
}

impl RequestFilter {
    /// Whether a request matches every condition the filter sets.
    pub fn admits(&self, r: &AccessRequest) -> bool {
        self.state.is_none_or(|s| r.state == s)
            && self.app.as_ref().is_none_or(|a| *a == r.app)
            && self.requester.as_ref().is_none_or(|u| *u == r.requester)
    }
}

/// The limit a caller asked for, or the default; refused when it is 0 or over the maximum.
pub fn check_limit(limit: Option<usize>) -> Result<usize, RuleError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(RuleError::invalid(format!(
            "a limit of {n} is not possible: lists give 1 to {MAX_LIMIT} items at a time; walk on with the cursor (after)"
        ))),
    }
}

/// One part of a list, and whether more come after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this part, in the list's order.
    pub items: Vec<T>,
    /// True when items follow the last one here: walk on with `next`.
    pub more: bool,
}

/// An item of a list, with the key the list is ordered by: what `after` names to walk on.
pub trait Listed {
    /// The key's type: a number for records and requests, a name or id for the directory.
    type Cursor: Clone + std::fmt::Display;
    /// This item's key, which a caller passes as `after` to read on from it.
    fn cursor(&self) -> Self::Cursor;
}

impl<T: Listed> Page<T> {
    /// The cursor of the next part: the key of the last item, when more come after it.
    pub fn next(&self) -> Option<T::Cursor> {
        if self.more { self.items.last().map(Listed::cursor) } else { None }
    }
}

impl Listed for AccessRequest {
    type Cursor = u64;
    fn cursor(&self) -> u64 {
        self.id
    }
}

impl Listed for AuditRecord {
    type Cursor = u64;
    fn cursor(&self) -> u64 {
        self.id
    }
}

impl Listed for Notification {
    type Cursor = u64;
    fn cursor(&self) -> u64 {
        self.id
    }
}

impl Listed for Application {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.name.clone()
    }
}

impl Listed for Tenant {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.id.clone()
    }
}

impl Listed for User {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.upn.clone()
    }
}

impl Listed for Offer {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_stop_at_the_maximum() {
        assert_eq!(check_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(check_limit(Some(1)), Ok(1));
        assert_eq!(check_limit(Some(MAX_LIMIT)), Ok(MAX_LIMIT));
        for refused in [0, MAX_LIMIT + 1, usize::MAX] {
            let e = check_limit(Some(refused)).unwrap_err();
            assert_eq!(e.kind, crate::domain::ErrorKind::Invalid);
            assert!(e.message.contains("1 to 1000"), "{}", e.message);
        }
    }

    #[test]
    fn what_a_caller_asks_for_is_bounded_and_keeps_its_cursor() {
        assert_eq!(Paging::<u64>::asked(None, None), Ok(Paging { limit: Some(DEFAULT_LIMIT), after: None }));
        assert_eq!(Paging::asked(Some(5), Some(7_u64)), Ok(Paging { limit: Some(5), after: Some(7) }));
        assert!(Paging::<u64>::asked(Some(MAX_LIMIT + 1), None).is_err());
    }
}
