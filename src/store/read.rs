//! Queries, written once for read and write transactions alike. Each walks an index, never the
//! whole request table, and stops as soon as it has what it was asked for.

use std::collections::{BinaryHeap, HashSet};

use chrono::{DateTime, Utc};
use redb::ReadableTable;

use super::codec::decode;
use super::error::{Error, Result};
use super::tables::{Family, Tables};
use crate::domain::rules::{self, Lookup};
use crate::domain::*;

/// Which requests to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub state: Option<RequestState>,
    pub app: Option<String>,
    pub requester: Option<String>,
    pub limit: Option<usize>,
}

impl RequestFilter {
    fn admits(&self, r: &AccessRequest) -> bool {
        self.state.is_none_or(|s| r.state == s)
            && self.app.as_ref().is_none_or(|a| *a == r.app)
            && self.requester.as_ref().is_none_or(|u| *u == r.requester)
    }
}

/// One page of a listing, and whether more matched than the limit let through.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

type Ids<'a> = Box<dyn Iterator<Item = Result<u64>> + 'a>;

fn key_error(e: redb::StorageError) -> Error {
    e.into()
}

impl<F: Family> Tables<F> {
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self.meta.get("schema_version")?.map(|v| v.value()))
    }

    pub fn get_tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.tenants.get(id)?.map(|v| decode("tenants", &id, v.value())).transpose()
    }

    pub fn get_user(&self, upn: &str) -> Result<Option<User>> {
        self.users.get(upn)?.map(|v| decode("users", &upn, v.value())).transpose()
    }

    pub fn get_offer(&self, id: &str) -> Result<Option<Offer>> {
        self.offers.get(id)?.map(|v| decode("offers", &id, v.value())).transpose()
    }

    pub fn get_app(&self, name: &str) -> Result<Option<Application>> {
        self.apps.get(name)?.map(|v| decode("apps", &name, v.value())).transpose()
    }

    pub fn get_request(&self, id: u64) -> Result<Option<AccessRequest>> {
        self.requests.get(id)?.map(|v| decode("requests", &id, v.value())).transpose()
    }

    pub fn need_request(&self, id: u64) -> Result<AccessRequest> {
        self.get_request(id)?.ok_or_else(|| rules::no_request(id).into())
    }

    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        all(&self.tenants, "tenants")
    }

    pub fn users(&self) -> Result<Vec<User>> {
        all(&self.users, "users")
    }

    pub fn offers(&self) -> Result<Vec<Offer>> {
        all(&self.offers, "offers")
    }

    pub fn apps(&self) -> Result<Vec<Application>> {
        all(&self.apps, "apps")
    }

    /// Users whose UPN or display name contains the text, ignoring case.
    pub fn search_users(&self, text: &str) -> Result<Vec<User>> {
        let needle = text.trim().to_lowercase();
        Ok(self
            .users()?
            .into_iter()
            .filter(|u| u.upn.contains(&needle) || u.display_name.to_lowercase().contains(&needle))
            .collect())
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.tenants.first()?.is_none())
    }

    fn ids_by_state(&self, state: RequestState) -> Result<Ids<'_>> {
        let code = state.code();
        let range = self.by_state.range((code, 0)..=(code, u64::MAX))?.rev();
        Ok(Box::new(range.map(|e| e.map(|(k, _)| k.value().1).map_err(key_error))))
    }

    fn ids_by_app(&self, app: &str) -> Result<Ids<'_>> {
        let range = self.by_app.range((app, 0)..=(app, u64::MAX))?.rev();
        Ok(Box::new(range.map(|e| e.map(|(k, _)| k.value().1).map_err(key_error))))
    }

    /// Newest first: the requests in one state on any of the applications.
    fn ids_by_state_in(&self, state: RequestState, apps: &HashSet<String>) -> Result<Vec<u64>> {
        let code = state.code();
        let mut ids = Vec::new();
        for app in apps {
            for entry in self.by_state_app.range((code, app.as_str(), 0)..=(code, app.as_str(), u64::MAX))? {
                ids.push(entry?.0.value().2);
            }
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// `requests`, limited to the applications given; a state filter walks only their index ranges.
    pub fn requests_in(&self, filter: &RequestFilter, apps: &HashSet<String>) -> Result<Page<AccessRequest>> {
        match (filter.state, &filter.requester, &filter.app) {
            (Some(state), None, None) => {
                let ids = self.ids_by_state_in(state, apps)?;
                let limit = filter.limit.unwrap_or(usize::MAX);
                let more = ids.len() > limit;
                let items =
                    ids.into_iter().take(limit).map(|id| self.need_request(id)).collect::<Result<_>>()?;
                Ok(Page { items, more })
            }
            _ => self.requests_where(filter, |r| apps.contains(&r.app)),
        }
    }

    /// Approved grants on the applications given that have not ended.
    pub fn current_grants_in(
        &self,
        now: DateTime<Utc>,
        apps: &HashSet<String>,
    ) -> Result<Vec<AccessRequest>> {
        let mut grants = Vec::new();
        for id in self.ids_by_state_in(RequestState::Approved, apps)? {
            let r = self.need_request(id)?;
            if r.end().is_some_and(|end| end > now) {
                grants.push(r);
            }
        }
        Ok(grants)
    }

    /// The newest `limit` audit records of the applications given: a merge of their histories that
    /// reads only what it returns.
    pub fn audit_in(&self, apps: &HashSet<String>, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut ranges = Vec::new();
        for app in apps {
            ranges.push(
                self.audit_by_app.range((app.as_str(), 0)..=(app.as_str(), u64::MAX))?.rev().peekable(),
            );
        }
        let mut heads: BinaryHeap<(u64, usize)> = BinaryHeap::new();
        for (i, range) in ranges.iter_mut().enumerate() {
            if let Some(entry) = range.next() {
                heads.push((entry?.0.value().1, i));
            }
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some((id, i)) = heads.pop() else { break };
            out.push(self.need_audit(id)?);
            if let Some(entry) = ranges[i].next() {
                heads.push((entry?.0.value().1, i));
            }
        }
        Ok(out)
    }

    fn ids_by_requester(&self, upn: &str, app: Option<&str>) -> Result<Ids<'_>> {
        let range = match app {
            Some(app) => self.by_requester.range((upn, app, 0)..=(upn, app, u64::MAX))?,
            // The smallest key past every (upn, _, _) is the next string after upn.
            None => self.by_requester.range((upn, "", 0)..(format!("{upn}\0").as_str(), "", 0))?,
        };
        let mut ids: Vec<u64> =
            range.map(|e| e.map(|(k, _)| k.value().2).map_err(key_error)).collect::<Result<_>>()?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Box::new(ids.into_iter().map(Ok)))
    }

    fn all_ids(&self) -> Result<Ids<'_>> {
        let range = self.requests.iter()?.rev();
        Ok(Box::new(range.map(|e| e.map(|(k, _)| k.value()).map_err(key_error))))
    }

    /// Newest first, through the narrowest index the filter allows.
    pub fn requests(&self, filter: &RequestFilter) -> Result<Page<AccessRequest>> {
        self.requests_where(filter, |_| true)
    }

    /// As `requests`, keeping only those `also` admits; the limit counts admitted requests only.
    pub fn requests_where(
        &self,
        filter: &RequestFilter,
        also: impl Fn(&AccessRequest) -> bool,
    ) -> Result<Page<AccessRequest>> {
        let ids = match (&filter.requester, &filter.app, filter.state) {
            (Some(upn), app, _) => self.ids_by_requester(upn, app.as_deref())?,
            (None, _, Some(state)) => self.ids_by_state(state)?,
            (None, Some(app), None) => self.ids_by_app(app)?,
            (None, None, None) => self.all_ids()?,
        };
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut page = Page { items: Vec::new(), more: false };
        for id in ids {
            let request = self.need_request(id?)?;
            if !filter.admits(&request) || !also(&request) {
                continue;
            }
            if page.items.len() == limit {
                page.more = true;
                break;
            }
            page.items.push(request);
        }
        Ok(page)
    }

    /// Approved grants that have not ended: active now or scheduled.
    pub fn current_grants(&self, now: DateTime<Utc>) -> Result<Vec<AccessRequest>> {
        let mut grants = Vec::new();
        for id in self.ids_by_state(RequestState::Approved)? {
            let r = self.need_request(id?)?;
            if r.end().is_some_and(|end| end > now) {
                grants.push(r);
            }
        }
        Ok(grants)
    }

    /// Every request of one requester on one application.
    pub fn requests_of(&self, upn: &str, app: &str) -> Result<Vec<AccessRequest>> {
        self.ids_by_requester(upn, Some(app))?.map(|id| self.need_request(id?)).collect()
    }

    pub fn history(&self, request: u64) -> Result<Vec<AuditRecord>> {
        let range = self.audit_by_request.range((request, 0)..=(request, u64::MAX))?;
        range.map(|e| self.need_audit(e?.0.value().1)).collect()
    }

    fn need_audit(&self, id: u64) -> Result<AuditRecord> {
        match self.audit.get(id)? {
            Some(v) => decode("audit", &id, v.value()),
            None => Err(Error::Storage(format!("the audit index names record {id}, which is missing"))),
        }
    }

    /// Newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        for entry in self.audit.iter()?.rev().take(limit) {
            let (k, v) = entry?;
            out.push(decode("audit", &k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Newest first.
    pub fn notifications_of(&self, upn: &str, limit: usize) -> Result<Vec<Notification>> {
        let mut out = Vec::new();
        for entry in self.notifications.range((upn, 0)..=(upn, u64::MAX))?.rev().take(limit) {
            let (k, v) = entry?;
            out.push(decode("notifications", &k.value().1, v.value())?);
        }
        Ok(out)
    }

    /// The id of the newest notification the user has marked as seen; 0 when none.
    pub fn seen_upto(&self, upn: &str) -> Result<u64> {
        Ok(self.notifications_seen.get(upn)?.map_or(0, |v| v.value()))
    }

    pub fn next_deadline(&self) -> Result<Option<i64>> {
        Ok(self.deadlines.first()?.map(|(k, _)| k.value().0))
    }

    /// Requests whose deadline is at or before `now`, oldest deadline first.
    pub fn due(&self, now: DateTime<Utc>) -> Result<Vec<u64>> {
        self.deadlines
            .range((i64::MIN, 0)..=(ms(now), u64::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(key_error))
            .collect()
    }
}

fn all<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for entry in table.iter()? {
        let (k, v) = entry?;
        out.push(decode(name, &k.value(), v.value())?);
    }
    Ok(out)
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
