//! Queries, written once for read and write transactions alike. Each walks an index, never the
//! whole request table, and stops as soon as it has what it was asked for.

use std::collections::{BinaryHeap, HashSet};
use std::ops::{Bound, Range};

use chrono::{DateTime, Utc};
use redb::{AccessGuard, Key, ReadableTable, Value};

use super::codec::decode;
use super::error::{Error, Result};
use super::tables::{Family, Tables};
use crate::domain::rules::{self, Lookup};
use crate::domain::*;

/// How `REQUESTS_BY_ARM_NAME` keys an ARM name: ARM's ids match whatever their case.
pub(crate) fn arm_key(name: &ArmName) -> String {
    format!("{}/{}/{}", name.subscription, name.resource_group, name.name).to_lowercase()
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

type Ids<'a> = Box<dyn Iterator<Item = Result<u64>> + 'a>;

/// The key range of ids under one prefix (`key` puts an id under it), walked newest first: every
/// id, or those older than the cursor.
pub(super) fn under<K>(after: Option<u64>, key: impl Fn(u64) -> K) -> (Bound<K>, Bound<K>) {
    let upper = match after {
        Some(id) => Bound::Excluded(key(id)),
        None => Bound::Included(key(u64::MAX)),
    };
    (Bound::Included(key(0)), upper)
}

/// The key range of ids in `ids` under one prefix, walked newest first: every id there, or those
/// older than the cursor.
fn between<K>(ids: &Range<u64>, after: Option<u64>, key: impl Fn(u64) -> K) -> (Bound<K>, Bound<K>) {
    // An end at or before the start gives an empty range.
    let end = after.map_or(ids.end, |after| after.min(ids.end)).max(ids.start);
    (Bound::Included(key(ids.start)), Bound::Excluded(key(end)))
}

/// The first id of a table of records keyed by id whose time (`time_of` the record) is at or after
/// `t`, by a binary search over the ids: a handful of reads, however long the log. It holds because
/// ids are given in commit order and a record's time is the clock of the batch that committed it,
/// so times do not decrease as ids grow. Only a system clock set back breaks that; then records
/// committed around the step may fall outside the ids found, and each query still tests every
/// record it returns against its window, so none outside a window is ever shown.
fn first_at<T, R>(
    table: &T,
    name: &str,
    t: DateTime<Utc>,
    time_of: impl Fn(&R) -> DateTime<Utc>,
) -> Result<u64>
where
    T: ReadableTable<u64, &'static [u8]>,
    R: serde::de::DeserializeOwned,
{
    let Some(last) = table.last()?.map(|(k, _)| k.value()) else { return Ok(0) };
    // Every id below `lo` is before `t`; every id at or above `hi` is at or after it.
    let (mut lo, mut hi) = (0, last.saturating_add(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(entry) = table.range(mid..hi)?.next() else {
            hi = mid;
            continue;
        };
        let (k, v) = entry?;
        let id = k.value();
        if time_of(&decode::<R>(name, &id, v.value())?) < t {
            lo = id + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The ids of a table of records keyed by id whose times the window holds (see `first_at`).
fn ids_in<T, R>(
    table: &T,
    name: &str,
    window: &Window,
    time_of: impl Fn(&R) -> DateTime<Utc>,
) -> Result<Range<u64>>
where
    T: ReadableTable<u64, &'static [u8]>,
    R: serde::de::DeserializeOwned,
{
    let start = match window.since {
        Some(since) => first_at(table, name, since, &time_of)?,
        None => 0,
    };
    let end = match window.until {
        Some(until) => first_at(table, name, until, &time_of)?,
        None => u64::MAX,
    };
    Ok(start..end)
}

type Entry<'a, K, V> = std::result::Result<(AccessGuard<'a, K>, AccessGuard<'a, V>), redb::StorageError>;

/// The ids in a table range, taken from its keys.
fn ids_of<'a, K: Key + 'static, V: Value + 'static>(
    range: impl Iterator<Item = Entry<'a, K, V>> + 'a,
    id: impl Fn(K::SelfType<'_>) -> u64 + 'a,
) -> Ids<'a> {
    Box::new(range.map(move |e| e.map(|(k, _)| id(k.value())).map_err(Error::from)))
}

/// Several newest-first id sequences as one, newest first; it holds one id of each at a time.
fn newest<'a>(mut sources: Vec<Ids<'a>>) -> Result<Ids<'a>> {
    if sources.len() == 1 {
        return Ok(sources.remove(0));
    }
    let mut heads = BinaryHeap::new();
    for (i, source) in sources.iter_mut().enumerate() {
        if let Some(id) = source.next() {
            heads.push((id?, i));
        }
    }
    Ok(Box::new(std::iter::from_fn(move || {
        let (id, i) = heads.pop()?;
        match sources[i].next() {
            Some(Ok(next)) => heads.push((next, i)),
            Some(Err(e)) => return Some(Err(e)),
            None => {}
        }
        Some(Ok(id))
    })))
}

/// The first `limit` items (None: all), and whether another followed them.
pub(super) fn page<T>(items: impl Iterator<Item = Result<T>>, limit: Option<usize>) -> Result<Page<T>> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut page = Page { items: Vec::new(), more: false };
    for item in items {
        let item = item?;
        if page.items.len() == limit {
            page.more = true;
            break;
        }
        page.items.push(item);
    }
    Ok(page)
}

impl<F: Family> Tables<F> {
    /// The schema the store was written in; None for a store never written to.
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self.meta.get("schema_version")?.map(|v| v.value()))
    }

    /// A tenant by id, if stored.
    pub fn get_tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.tenants.get(id)?.map(|v| decode("tenants", &id, v.value())).transpose()
    }

    /// A user by UPN, if stored.
    pub fn get_user(&self, upn: &str) -> Result<Option<User>> {
        self.users.get(upn)?.map(|v| decode("users", &upn, v.value())).transpose()
    }

    /// The user of an object id, if any.
    pub fn get_user_by_object_id(&self, object_id: &str) -> Result<Option<User>> {
        match self.users_by_object_id.get(object_id)? {
            Some(upn) => self.get_user(upn.value()),
            None => Ok(None),
        }
    }

    /// The application of an ARM resource id, whatever its case, if any.
    pub fn get_app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>> {
        match self.apps_by_resource_id.get(resource_id.to_lowercase().as_str())? {
            Some(name) => self.get_app(name.value()),
            None => Ok(None),
        }
    }

    /// The request made under an ARM name, whatever its case, if any.
    pub fn request_by_arm_name(&self, name: &ArmName) -> Result<Option<AccessRequest>> {
        match self.requests_by_arm_name.get(arm_key(name).as_str())? {
            Some(id) => self.get_request(id.value()),
            None => Ok(None),
        }
    }

    /// An offer by id, if stored.
    pub fn get_offer(&self, id: &str) -> Result<Option<Offer>> {
        self.offers.get(id)?.map(|v| decode("offers", &id, v.value())).transpose()
    }

    /// An application by name, if stored.
    pub fn get_app(&self, name: &str) -> Result<Option<Application>> {
        self.apps.get(name)?.map(|v| decode("apps", &name, v.value())).transpose()
    }

    /// A request by id, if stored.
    pub fn get_request(&self, id: u64) -> Result<Option<AccessRequest>> {
        self.requests.get(id)?.map(|v| decode("requests", &id, v.value())).transpose()
    }

    /// A request that must exist: the rules' "no request" otherwise.
    pub fn need_request(&self, id: u64) -> Result<AccessRequest> {
        self.get_request(id)?.ok_or_else(|| rules::no_request(id).into())
    }

    /// Tenants in id order.
    pub fn tenants(&self, paging: &Paging<String>) -> Result<Page<Tenant>> {
        named(&self.tenants, "tenants", paging, |_| true)
    }

    /// Offers in id order.
    pub fn offers(&self, paging: &Paging<String>) -> Result<Page<Offer>> {
        named(&self.offers, "offers", paging, |_| true)
    }

    /// Every application: the directory's own size, which scoping needs whole.
    pub fn apps(&self) -> Result<Vec<Application>> {
        Ok(named(&self.apps, "apps", &Paging::default(), |_| true)?.items)
    }

    /// Users whose UPN or display name contains the text, ignoring case, in UPN order.
    pub fn search_users(&self, text: &str, paging: &Paging<String>) -> Result<Page<User>> {
        let needle = licence::needle(text);
        named(&self.users, "users", paging, |u: &User| licence::finds(u, &needle))
    }

    /// Tenants in id order, after the cursor, that `keep` admits.
    pub fn tenants_where(
        &self,
        paging: &Paging<String>,
        keep: impl Fn(&Tenant) -> bool,
    ) -> Result<Page<Tenant>> {
        named(&self.tenants, "tenants", paging, keep)
    }

    /// Users in UPN order, after the cursor, that `keep` admits.
    pub fn users_where(&self, paging: &Paging<String>, keep: impl Fn(&User) -> bool) -> Result<Page<User>> {
        named(&self.users, "users", paging, keep)
    }

    /// Whether the directory is empty (it has no tenant).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.tenants.first()?.is_none())
    }

    /// The requests of a view, newest first, through the narrowest indexes the filter allows:
    /// `apps` are the applications the viewer may see (None: all of them), and a viewer who sees
    /// few walks only those applications' index ranges, never the whole store's.
    pub fn requests_in(
        &self,
        filter: &RequestFilter,
        apps: Option<&HashSet<String>>,
    ) -> Result<Page<AccessRequest>> {
        let after = filter.after;
        let ids = &ids_in(&self.requests, "requests", &filter.created, |r: &AccessRequest| r.created_at)?;
        let names = match (&filter.app, apps) {
            (Some(app), Some(apps)) if !apps.contains(app) => Vec::new(),
            (Some(app), _) => vec![app.clone()],
            (None, Some(apps)) => apps.iter().cloned().collect(),
            (None, None) => Vec::new(),
        };
        let every_app = filter.app.is_none() && apps.is_none();
        let ids: Ids<'_> = match (&filter.requester, filter.state) {
            (Some(upn), _) => {
                let names = if every_app { self.app_names()? } else { names };
                let mut ranges = Vec::new();
                for app in &names {
                    let range = self
                        .by_requester
                        .range(between(ids, after, |id| (upn.as_str(), app.as_str(), id)))?;
                    ranges.push(ids_of(range.rev(), |k| k.2));
                }
                newest(ranges)?
            }
            (None, Some(state)) if every_app => {
                let range = self.by_state.range(between(ids, after, |id| (state.code(), id)))?;
                ids_of(range.rev(), |k| k.1)
            }
            (None, Some(state)) => self.by_state_in(state, &names, ids, after)?,
            (None, None) if every_app => {
                ids_of(self.requests.range(between(ids, after, |id| id))?.rev(), |k| k)
            }
            (None, None) => {
                let mut ranges = Vec::new();
                for app in &names {
                    let range = self.by_app.range(between(ids, after, |id| (app.as_str(), id)))?;
                    ranges.push(ids_of(range.rev(), |k| k.1));
                }
                newest(ranges)?
            }
        };
        let requests = ids.map(|id| self.need_request(id?));
        page(requests.filter(|r| r.as_ref().map_or(true, |r| filter.admits(r))), filter.limit)
    }

    /// Newest first: the requests in one state on any of the applications.
    fn by_state_in(
        &self,
        state: RequestState,
        apps: &[String],
        ids: &Range<u64>,
        after: Option<u64>,
    ) -> Result<Ids<'_>> {
        let code = state.code();
        let mut ranges = Vec::new();
        for app in apps {
            let range = self.by_state_app.range(between(ids, after, |id| (code, app.as_str(), id)))?;
            ranges.push(ids_of(range.rev(), |k| k.2));
        }
        newest(ranges)
    }

    fn app_names(&self) -> Result<Vec<String>> {
        self.apps.iter()?.map(|e| Ok(e?.0.value().to_string())).collect()
    }

    /// Approved grants that have not ended (active now or scheduled), newest first, on the
    /// applications given (None: all of them).
    pub fn current_grants_in(
        &self,
        now: DateTime<Utc>,
        apps: Option<&HashSet<String>>,
        paging: &Paging<u64>,
    ) -> Result<Page<AccessRequest>> {
        let after = paging.after;
        let ids = match apps {
            Some(apps) => {
                let names: Vec<String> = apps.iter().cloned().collect();
                self.by_state_in(RequestState::Approved, &names, &(0..u64::MAX), after)?
            }
            None => {
                let code = RequestState::Approved.code();
                let range = self.by_state.range(under(after, |id| (code, id)))?;
                ids_of(range.rev(), |k| k.1)
            }
        };
        let grants = ids.map(|id| self.need_request(id?));
        page(
            grants.filter(|r| r.as_ref().map_or(true, |r| r.end().is_some_and(|end| end > now))),
            paging.limit,
        )
    }

    /// Audit records made in the window, newest first: of the applications given, a merge of
    /// their histories that reads only what it returns; None: the whole log, the directory's
    /// records included.
    pub fn audit_in(
        &self,
        apps: Option<&HashSet<String>>,
        window: &Window,
        paging: &Paging<u64>,
    ) -> Result<Page<AuditRecord>> {
        let after = paging.after;
        let ids = &ids_in(&self.audit, "audit", window, |r: &AuditRecord| r.at)?;
        let ids = match apps {
            Some(apps) => {
                let mut ranges = Vec::new();
                for app in apps {
                    let range = self.audit_by_app.range(between(ids, after, |id| (app.as_str(), id)))?;
                    ranges.push(ids_of(range.rev(), |k| k.1));
                }
                newest(ranges)?
            }
            None => ids_of(self.audit.range(between(ids, after, |id| id))?.rev(), |k| k),
        };
        let records = ids.map(|id| self.need_audit(id?));
        page(records.filter(|r| r.as_ref().map_or(true, |r| window.holds(r.at))), paging.limit)
    }

    /// Every request of one requester on one application.
    pub fn requests_of(&self, upn: &str, app: &str) -> Result<Vec<AccessRequest>> {
        let range = self.by_requester.range((upn, app, 0)..=(upn, app, u64::MAX))?.rev();
        ids_of(range, |k| k.2).map(|id| self.need_request(id?)).collect()
    }

    /// A requester's pending and approved requests, found through the state index rather than
    /// their history: what is open stays few, however many requests they have made.
    pub fn open_requests_of(&self, upn: &str) -> Result<Vec<AccessRequest>> {
        let mut open = Vec::new();
        for state in [RequestState::Pending, RequestState::Approved] {
            let code = state.code();
            for entry in self.by_state_app.range((code, "", 0)..(code + 1, "", 0))? {
                let key = entry?.0;
                let (_, app, id) = key.value();
                if self.by_requester.get((upn, app, id))?.is_some() {
                    open.push(self.need_request(id)?);
                }
            }
        }
        Ok(open)
    }

    /// A request's audit records, oldest first.
    pub fn history(&self, request: u64) -> Result<Vec<AuditRecord>> {
        let range = self.audit_by_request.range((request, 0)..=(request, u64::MAX))?;
        range.map(|e| self.need_audit(e?.0.value().1)).collect()
    }

    pub(super) fn need_audit(&self, id: u64) -> Result<AuditRecord> {
        match self.audit.get(id)? {
            Some(v) => decode("audit", &id, v.value()),
            None => Err(Error::Storage(format!("the audit index names record {id}, which is missing"))),
        }
    }

    /// A user's notifications, newest first, each worded from its audit record and, for a change
    /// to a request, that request.
    pub fn notifications_of(&self, upn: &str, paging: &Paging<u64>) -> Result<Page<Notification>> {
        let range = self.notified.range(under(paging.after, |id| (upn, id)))?.rev();
        let items = range.map(|entry| {
            let record = self.need_audit(entry?.0.value().1)?;
            let Target::Request(id) = record.target else {
                return Ok(Notification::of(upn, &record, None));
            };
            match self.get_request(id)? {
                Some(request) => Ok(Notification::of(upn, &record, Some(&request))),
                None => Err(Error::Storage(format!(
                    "audit record {} names request {id}, which is missing",
                    record.id
                ))),
            }
        });
        page(items, paging.limit)
    }

    /// Applications in name order, after the cursor, that `keep` admits.
    pub fn apps_where(
        &self,
        paging: &Paging<String>,
        keep: impl Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        named(&self.apps, "apps", paging, keep)
    }

    /// The applications a tenant is a party to (as customer or publisher), in name order after
    /// the cursor, that `keep` admits: found through their index, so only those are decoded.
    pub fn apps_of(
        &self,
        tenant: &str,
        paging: &Paging<String>,
        keep: impl Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        let from = match &paging.after {
            Some(after) => Bound::Excluded((tenant, after.as_str())),
            None => Bound::Included((tenant, "")),
        };
        // The smallest id after this tenant's, so the range holds this tenant's entries alone.
        let next = format!("{tenant}\0");
        let range =
            self.apps_by_tenant.range::<(&str, &str)>((from, Bound::Excluded((next.as_str(), ""))))?;
        let apps = range.map(|entry| {
            let name = entry?.0;
            let name = name.value().1;
            self.get_app(name)?.ok_or_else(|| {
                Error::Storage(format!("the tenant index names application {name}, which is missing"))
            })
        });
        page(apps.filter(|a| a.as_ref().map_or(true, &keep)), paging.limit)
    }

    /// The id of the newest notification the user has marked as seen; 0 when none.
    pub fn seen_upto(&self, upn: &str) -> Result<u64> {
        Ok(self.notifications_seen.get(upn)?.map_or(0, |v| v.value()))
    }

    /// The earliest deadline of any request or warning still to give, in milliseconds since the
    /// epoch; None when nothing waits on the clock.
    pub fn next_deadline(&self) -> Result<Option<i64>> {
        let deadline = self.deadlines.first()?.map(|(k, _)| k.value().0);
        let warning = self.ending_warnings.first()?.map(|(k, _)| k.value().0);
        Ok(deadline.into_iter().chain(warning).min())
    }

    /// Grants whose warning that their access ends soon is due by `now`, earliest first.
    pub fn warnings_due(&self, now: DateTime<Utc>) -> Result<Vec<u64>> {
        self.ending_warnings
            .range((i64::MIN, 0)..=(ms(now), u64::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(Error::from))
            .collect()
    }

    /// Requests whose deadline is at or before `now`, oldest deadline first.
    pub fn due(&self, now: DateTime<Utc>) -> Result<Vec<u64>> {
        self.deadlines
            .range((i64::MIN, 0)..=(ms(now), u64::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(Error::from))
            .collect()
    }
}

/// The records of a table keyed by name, in name order after the cursor, that `keep` admits.
pub(super) fn named<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
    paging: &Paging<String>,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>> {
    let from = match &paging.after {
        Some(after) => Bound::Excluded(after.as_str()),
        None => Bound::Unbounded,
    };
    let records = table.range::<&str>((from, Bound::Unbounded))?.map(|entry| {
        let (k, v) = entry?;
        decode::<T>(name, &k.value(), v.value())
    });
    page(records.filter(|r| r.as_ref().map_or(true, &keep)), paging.limit)
}

impl<F: Family> Lookup for Tables<F> {
    type Error = Error;

    fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.get_tenant(id)
    }

    fn user(&self, upn: &str) -> Result<Option<User>> {
        self.get_user(upn)
    }

    fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        match self.users_by_login.get(login)? {
            Some(upn) => self.get_user(upn.value()),
            None => Ok(None),
        }
    }

    fn offer(&self, id: &str) -> Result<Option<Offer>> {
        self.get_offer(id)
    }

    fn app(&self, name: &str) -> Result<Option<Application>> {
        self.get_app(name)
    }

    /// Checked on every new request, so it reads index keys only: the application's pending
    /// requests (at most one per requester), each looked up among the requester's.
    fn user_by_object_id(&self, object_id: &str) -> Result<Option<User>> {
        self.get_user_by_object_id(object_id)
    }

    fn group(&self, id: &str) -> Result<Option<Group>> {
        Tables::group(self, id)
    }

    fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>> {
        Tables::group_by_object_id(self, object_id)
    }

    fn groups_of(&self, upn: &str) -> Result<Vec<String>> {
        Tables::groups_of(self, upn)
    }

    fn app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>> {
        self.get_app_by_resource_id(resource_id)
    }

    fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>> {
        let pending = RequestState::Pending.code();
        for entry in self.by_state_app.range((pending, app, 0)..=(pending, app, u64::MAX))? {
            let id = entry?.0.value().2;
            if self.by_requester.get((requester, app, id))?.is_some() {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}
