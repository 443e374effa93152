//! How much one list answer may hold, and how a caller walks on to the next part. Every door (the
//! CLI, the dashboard, the service) asks through `Paging::asked`, so no caller can have a list built
//! that grows with the store, and all of them refuse the same numbers with the same words.

use super::error::RuleError;
use super::model::{
    AccessRequest, Application, AuditRecord, Group, Notification, Offer, RequestState, Tenant, User,
};
use super::window::Window;

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
    /// Only requests created in this window.
    pub created: Window,
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
            && self.created.holds(r.created_at)
    }
}

/// Which audit records to list, newest first. Every door asks with one, as with `RequestFilter`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only records of the application of this name.
    pub app: Option<String>,
    /// Only records made in this window.
    pub at: Window,
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

impl Listed for Group {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.id.clone()
    }
}

/// A list of names (a group's members' UPNs), ordered by the names themselves.
impl Listed for String {
    type Cursor = String;
    fn cursor(&self) -> String {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::model::tests::request;
    use crate::domain::model::{Action, ApprovalMode, JitPolicy, SYSTEM, Target, TenantKind};
    use crate::domain::period::Period;

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

    #[test]
    fn the_first_part_is_bounded_and_starts_at_the_beginning() {
        assert_eq!(Paging::<u64>::first(3), Paging { limit: Some(3), after: None });
    }

    #[test]
    fn a_filter_admits_a_request_only_when_every_condition_it_sets_matches() {
        let r = request(RequestState::Pending, None);
        assert!(RequestFilter::default().admits(&r));
        let all = RequestFilter {
            state: Some(r.state),
            app: Some(r.app.clone()),
            requester: Some(r.requester.clone()),
            ..RequestFilter::default()
        };
        assert!(all.admits(&r));
        for other in [
            RequestFilter { state: Some(RequestState::Approved), ..all.clone() },
            RequestFilter { app: Some("b".into()), ..all.clone() },
            RequestFilter { requester: Some("q@x.com".into()), ..all.clone() },
        ] {
            assert!(!other.admits(&r), "{other:?}");
        }
    }

    #[test]
    fn the_next_part_starts_after_the_last_item_only_when_more_come() {
        let r = |id| AccessRequest { id, ..request(RequestState::Pending, None) };
        let page = Page { items: vec![r(9), r(7)], more: true };
        assert_eq!(page.next(), Some(7));
        assert_eq!(Page { more: false, ..page }.next(), None);
    }

    #[test]
    fn each_item_is_walked_on_from_by_its_own_key() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        let r = AccessRequest { id: 7, ..request(RequestState::Pending, None) };
        assert_eq!(r.cursor(), 7);
        let record = AuditRecord {
            id: 8,
            at: t0,
            actor: SYSTEM.into(),
            action: Action::AccessExpired,
            target: Target::Request(7),
            app: Some(r.app.clone()),
            reason: None,
            before: None,
            after: None,
        };
        assert_eq!(record.cursor(), 8);
        assert_eq!(Notification::of("p@x.com", &record, Some(&r)).cursor(), 8);
        let policy = JitPolicy {
            enabled: true,
            mode: ApprovalMode::ManualApprove,
            max_duration: Period::from_hours(8),
            approvers: Vec::new(),
            request_timeout: Period::from_hours(24),
            approvals_required: 1,
            approver_groups: Vec::new(),
            max_extensions: 0,
        };
        let app = Application {
            name: "payroll".into(),
            offer: "o1".into(),
            customer_tenant: "contoso".into(),
            publisher_tenant: "fabrikam".into(),
            resource_group: "rg".into(),
            policy,
            deployed_by: "alice@contoso.com".into(),
            deployed_at: t0,
            resource_id: String::new(),
        };
        assert_eq!(app.cursor(), "payroll");
        let tenant = Tenant {
            id: "contoso".into(),
            kind: TenantKind::Customer,
            name: "Contoso".into(),
            license: None,
        };
        assert_eq!(tenant.cursor(), "contoso");
        let user = User {
            upn: "alice@contoso.com".into(),
            display_name: "Alice".into(),
            tenant: "contoso".into(),
            admin: false,
            login: None,
            object_id: String::new(),
        };
        assert_eq!(user.cursor(), "alice@contoso.com");
        let offer = Offer {
            id: "o1".into(),
            name: "Payroll".into(),
            publisher_tenant: "fabrikam".into(),
            published_by: "dave@fabrikam.com".into(),
            jit_available: true,
            roles: Vec::new(),
        };
        assert_eq!(offer.cursor(), "o1");
    }
}
