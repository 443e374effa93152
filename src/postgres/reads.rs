//! The engine's reads (`Reads`, `Lookup`) on one PostgreSQL transaction. Every list is a query
//! in the order of an index, read a bounded batch at a time after its cursor (`walk`), so none
//! reads more than it returns and a batch beyond; a filter the engine gives as a function
//! (`keep`) is applied as the rows come.

use std::collections::HashSet;
use std::fmt::Display;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::transaction::{KEPT_TABLES, On};
use crate::domain::delivery::{Channel, Contact, Delivery, DeliveryFilter, DeliveryScope};
use crate::domain::identity::{ApiToken, SshKey, TenantCa, TokenOwner};
use crate::domain::rules::Lookup;
use crate::domain::*;
use crate::engine::storage::Reads;
use crate::engine::{Error, Result};
use crate::store::codec::decode;
use crate::store::outbox::Stored;

/// The most rows a list reads at once.
const BATCH: usize = 256;

/// A query built as it goes: its text and its arguments, numbered as they are added.
pub(super) struct Sql {
    text: String,
    args: Vec<Box<dyn ToSql + Sync>>,
}

impl Sql {
    pub(super) fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new() }
    }

    /// Adds `text`, in which `$` stands for the argument `value`.
    pub(super) fn and(mut self, text: &str, value: impl ToSql + Sync + 'static) -> Sql {
        self.args.push(Box::new(value));
        self.text.push_str(&text.replace('$', &format!("${}", self.args.len())));
        self
    }

    /// Adds text with no argument.
    pub(super) fn then(mut self, text: &str) -> Sql {
        self.text.push_str(text);
        self
    }
}

/// An id as PostgreSQL's bigint keeps it; ids never come near its end.
pub(super) fn int(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// A bigint read back as an id.
pub(super) fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

/// A moment as the indexes keep it: milliseconds since the epoch, as redb's do.
pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// How many rows to ask for to fill a page of `limit` items, and a batch beyond.
fn batch(limit: Option<usize>) -> i64 {
    int(limit.map_or(BATCH, |l| l.saturating_add(1).min(BATCH)) as u64)
}

impl On<'_> {
    /// Runs a query that answers one row (an aggregate).
    pub(super) fn one(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        self.rows(sql, args)?.into_iter().next().ok_or_else(|| {
            Error::from(crate::engine::StoreError::Storage(format!("the database answered no row to {sql}")))
        })
    }

    /// Runs a query built with `Sql`.
    fn built(&self, sql: &Sql) -> Result<Vec<Row>> {
        let args: Vec<&(dyn ToSql + Sync)> = sql.args.iter().map(|a| a.as_ref() as _).collect();
        self.rows(&sql.text, &args)
    }

    /// The record in the first column of the one row a query answers, if any.
    pub(super) fn record<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &dyn Display,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>> {
        let first = |rows: &[Row]| -> Result<Option<T>> {
            match rows.first() {
                Some(row) => Ok(Some(decode(table, key, row.get(0))?)),
                None => Ok(None),
            }
        };
        if KEPT_TABLES.contains(&table) {
            first(&self.kept_rows(sql, args)?)
        } else {
            first(&self.rows(sql, args)?)
        }
    }

    /// A page of a list: `fetch` reads the next batch of (cursor, item) after a cursor, in the
    /// list's order, and `keep` decides which items count.
    fn walk<C: Clone, T>(
        &self,
        limit: Option<usize>,
        after: Option<C>,
        fetch: impl Fn(Option<&C>, i64) -> Result<Vec<(C, T)>>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>> {
        let (mut after, most) = (after, limit.unwrap_or(usize::MAX));
        let mut page = Page { items: Vec::new(), more: false };
        loop {
            let size = batch(limit);
            let rows = fetch(after.as_ref(), size)?;
            let full = rows.len() as i64 == size;
            for (cursor, item) in rows {
                after = Some(cursor);
                if !keep(&item) {
                    continue;
                }
                if page.items.len() == most {
                    page.more = true;
                    return Ok(page);
                }
                page.items.push(item);
            }
            if !full {
                return Ok(page);
            }
        }
    }

    /// The records of a table keyed by text, in key order after the cursor, that `where_` (text
    /// and its argument, if any) selects and `keep` admits.
    fn named<T: DeserializeOwned>(
        &self,
        table: &'static str,
        key: &'static str,
        where_: Option<(&'static str, String)>,
        paging: &Paging<String>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>> {
        let fetch = |after: Option<&String>, size: i64| {
            let mut sql = Sql::new(&format!("SELECT {key}, record FROM {table} WHERE TRUE"));
            if let Some((text, value)) = &where_ {
                sql = sql.and(text, value.clone());
            }
            if let Some(after) = after {
                sql = sql.and(&format!(" AND {key} > $"), after.clone());
            }
            let sql = sql.and(&format!(" ORDER BY {key} LIMIT $"), size);
            self.built(&sql)?
                .iter()
                .map(|row| {
                    let name: String = row.get(0);
                    let item = decode(table, &name, row.get(1))?;
                    Ok((name, item))
                })
                .collect()
        };
        self.walk(paging.limit, paging.after.clone(), fetch, keep)
    }

    /// Records keyed by id, newest first, older than the cursor: `base` selects (id, record) with
    /// its conditions, to which the cursor and the order are added.
    fn newest<T: DeserializeOwned>(
        &self,
        table: &'static str,
        base: impl Fn() -> Sql,
        limit: Option<usize>,
        after: Option<u64>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>> {
        let fetch = |after: Option<&u64>, size: i64| {
            let mut sql = base();
            if let Some(after) = after {
                sql = sql.and(" AND id < $", int(*after));
            }
            let sql = sql.and(" ORDER BY id DESC LIMIT $", size);
            self.built(&sql)?
                .iter()
                .map(|row| {
                    let id = uint(row.get(0));
                    Ok((id, decode(table, &id, row.get(1))?))
                })
                .collect()
        };
        self.walk(limit, after, fetch, keep)
    }

    fn request_named(&self, id: u64) -> Result<AccessRequest> {
        self.request(id)?.ok_or_else(|| {
            Error::from(crate::engine::StoreError::Storage(format!("request {id} is named but missing")))
        })
    }

    fn need_audit(&self, id: u64) -> Result<AuditRecord> {
        self.audit_record(id)?.ok_or_else(|| {
            Error::from(crate::engine::StoreError::Storage(format!(
                "the notifications name audit record {id}, which is missing"
            )))
        })
    }

    fn ids(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<u64>> {
        Ok(self.rows(sql, args)?.iter().map(|row| uint(row.get(0))).collect())
    }

    fn texts(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<String>> {
        Ok(self.rows(sql, args)?.iter().map(|row| row.get(0)).collect())
    }

    fn deliveries_where(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Delivery>> {
        self.rows(sql, args)?
            .iter()
            .map(|row| {
                let id = uint(row.get(0));
                Ok(Delivery::from(decode::<Stored>("deliveries", &id, row.get(1))?))
            })
            .collect()
    }
}

/// The names a list of requests or audit records is limited to: None for every application.
fn app_names(app: Option<&String>, apps: Option<&HashSet<String>>) -> Option<Vec<String>> {
    match (app, apps) {
        (Some(app), Some(apps)) if !apps.contains(app) => Some(Vec::new()),
        (Some(app), _) => Some(vec![app.clone()]),
        (None, Some(apps)) => Some(apps.iter().cloned().collect()),
        (None, None) => None,
    }
}

/// Conditions on a column of milliseconds that hold at least the window (the records themselves
/// are tested against it after).
fn within(mut sql: Sql, column: &str, window: &Window) -> Sql {
    if let Some(since) = window.since {
        sql = sql.and(&format!(" AND {column} >= $"), ms(since));
    }
    if let Some(until) = window.until {
        sql = sql.and(&format!(" AND {column} <= $"), ms(until));
    }
    sql
}

impl Lookup for On<'_> {
    type Error = Error;

    fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        self.record("tenants", &id, "SELECT record FROM tenants WHERE id = $1", &[&id])
    }

    fn user(&self, upn: &str) -> Result<Option<User>> {
        self.record("users", &upn, "SELECT record FROM users WHERE upn = $1", &[&upn])
    }

    fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let sql = "SELECT record FROM users WHERE login = $1 ORDER BY upn LIMIT 1";
        self.record("users", &login, sql, &[&login])
    }

    fn offer(&self, id: &str) -> Result<Option<Offer>> {
        self.record("offers", &id, "SELECT record FROM offers WHERE id = $1", &[&id])
    }

    fn app(&self, name: &str) -> Result<Option<Application>> {
        self.record("apps", &name, "SELECT record FROM apps WHERE name = $1", &[&name])
    }

    fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>> {
        let pending = i16::from(RequestState::Pending.code());
        let sql =
            "SELECT id FROM requests WHERE state = $1 AND app = $2 AND requester = $3 ORDER BY id LIMIT 1";
        Ok(self.ids(sql, &[&pending, &app, &requester])?.first().copied())
    }

    fn user_by_object_id(&self, object_id: &str) -> Result<Option<User>> {
        let sql = "SELECT record FROM users WHERE object_id = $1 ORDER BY upn LIMIT 1";
        self.record("users", &object_id, sql, &[&object_id])
    }

    fn group(&self, id: &str) -> Result<Option<Group>> {
        self.record("groups", &id, "SELECT record FROM groups WHERE id = $1", &[&id])
    }

    fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>> {
        let sql = "SELECT record FROM groups WHERE object_id = $1 ORDER BY id LIMIT 1";
        self.record("groups", &object_id, sql, &[&object_id])
    }

    fn groups_of(&self, upn: &str) -> Result<Vec<String>> {
        let sql = "SELECT group_id FROM group_members WHERE upn = $1 ORDER BY group_id";
        Ok(self.kept_rows(sql, &[&upn])?.iter().map(|row| row.get(0)).collect())
    }

    fn app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>> {
        let lower = resource_id.to_lowercase();
        let sql = "SELECT record FROM apps WHERE resource_id = $1 ORDER BY name LIMIT 1";
        self.record("apps", &resource_id, sql, &[&lower])
    }
}

impl Reads for On<'_> {
    fn schema_version(&self) -> Result<Option<u32>> {
        let rows = self.rows("SELECT version FROM jitdesk_schema", &[])?;
        Ok(rows.first().map(|row| u32::try_from(row.get::<_, i32>(0)).unwrap_or_default()))
    }

    fn request(&self, id: u64) -> Result<Option<AccessRequest>> {
        self.record("requests", &id, "SELECT record FROM requests WHERE id = $1", &[&int(id)])
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.rows("SELECT 1 FROM tenants LIMIT 1", &[])?.is_empty())
    }

    fn tenants(&self, paging: &Paging<String>) -> Result<Page<Tenant>> {
        self.named("tenants", "id", None, paging, |_| true)
    }

    fn offers(&self, paging: &Paging<String>) -> Result<Page<Offer>> {
        self.named("offers", "id", None, paging, |_| true)
    }

    fn apps(&self) -> Result<Vec<Application>> {
        Ok(self.named("apps", "name", None, &Paging::default(), |_| true)?.items)
    }

    fn apps_where(
        &self,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        self.named("apps", "name", None, paging, keep)
    }

    fn apps_of(
        &self,
        tenant: &str,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        let fetch = |after: Option<&String>, size: i64| {
            let mut sql = Sql::new(
                "SELECT a.name, a.record FROM apps_by_tenant t JOIN apps a ON a.name = t.app WHERE TRUE",
            )
            .and(" AND t.tenant = $", tenant.to_string());
            if let Some(after) = after {
                sql = sql.and(" AND t.app > $", after.clone());
            }
            let sql = sql.and(" ORDER BY t.app LIMIT $", size);
            self.built(&sql)?
                .iter()
                .map(|row| {
                    let name: String = row.get(0);
                    let app = decode("apps", &name, row.get(1))?;
                    Ok((name, app))
                })
                .collect()
        };
        self.walk(paging.limit, paging.after.clone(), fetch, keep)
    }

    fn search_users(&self, text: &str, paging: &Paging<String>) -> Result<Page<User>> {
        let needle = licence::needle(text);
        self.named("users", "upn", None, paging, |u: &User| licence::finds(u, &needle))
    }

    fn tenants_where(&self, paging: &Paging<String>, keep: &dyn Fn(&Tenant) -> bool) -> Result<Page<Tenant>> {
        self.named("tenants", "id", None, paging, keep)
    }

    fn users_where(&self, paging: &Paging<String>, keep: &dyn Fn(&User) -> bool) -> Result<Page<User>> {
        self.named("users", "upn", None, paging, keep)
    }

    fn requests_in(
        &self,
        filter: &RequestFilter,
        apps: Option<&HashSet<String>>,
    ) -> Result<Page<AccessRequest>> {
        let names = app_names(filter.app.as_ref(), apps);
        let base = || {
            let mut sql = Sql::new("SELECT id, record FROM requests WHERE TRUE");
            if let Some(names) = &names {
                sql = sql.and(" AND app = ANY($)", names.clone());
            }
            if let Some(upn) = &filter.requester {
                sql = sql.and(" AND requester = $", upn.clone());
            }
            if let Some(state) = filter.state {
                sql = sql.and(" AND state = $", i16::from(state.code()));
            }
            within(sql, "created_ms", &filter.created)
        };
        self.newest("requests", base, filter.limit, filter.after, |r| filter.admits(r))
    }

    fn current_grants_in(
        &self,
        now: DateTime<Utc>,
        apps: Option<&HashSet<String>>,
        paging: &Paging<u64>,
    ) -> Result<Page<AccessRequest>> {
        let names = app_names(None, apps);
        let base = || {
            let sql = Sql::new("SELECT id, record FROM requests WHERE TRUE")
                .and(" AND state = $", i16::from(RequestState::Approved.code()));
            match &names {
                Some(names) => sql.and(" AND app = ANY($)", names.clone()),
                None => sql,
            }
        };
        let current = |r: &AccessRequest| r.end().is_some_and(|end| end > now);
        self.newest("requests", base, paging.limit, paging.after, current)
    }

    fn audit_in(
        &self,
        apps: Option<&HashSet<String>>,
        window: &Window,
        paging: &Paging<u64>,
    ) -> Result<Page<AuditRecord>> {
        let names = app_names(None, apps);
        let base = || {
            let mut sql = Sql::new("SELECT id, record FROM audit WHERE TRUE");
            if let Some(names) = &names {
                sql = sql.and(" AND app = ANY($)", names.clone());
            }
            within(sql, "at_ms", window)
        };
        self.newest("audit", base, paging.limit, paging.after, |r: &AuditRecord| window.holds(r.at))
    }

    fn requests_of(&self, upn: &str, app: &str) -> Result<Vec<AccessRequest>> {
        let base = || {
            Sql::new("SELECT id, record FROM requests WHERE TRUE")
                .and(" AND requester = $", upn.to_string())
                .and(" AND app = $", app.to_string())
        };
        Ok(self.newest("requests", base, None, None, |_| true)?.items)
    }

    fn open_requests_of(&self, upn: &str) -> Result<Vec<AccessRequest>> {
        let mut open = Vec::new();
        for state in [RequestState::Pending, RequestState::Approved] {
            let sql = "SELECT id, record FROM requests WHERE requester = $1 AND state = $2 ORDER BY app, id";
            for row in self.rows(sql, &[&upn, &i16::from(state.code())])? {
                let id = uint(row.get(0));
                open.push(decode("requests", &id, row.get(1))?);
            }
        }
        Ok(open)
    }

    fn history(&self, request: u64) -> Result<Vec<AuditRecord>> {
        let sql = "SELECT id, record FROM audit WHERE request = $1 ORDER BY id";
        self.rows(sql, &[&int(request)])?
            .iter()
            .map(|row| {
                let id = uint(row.get(0));
                Ok(decode("audit", &id, row.get(1))?)
            })
            .collect()
    }

    fn notifications_of(&self, upn: &str, paging: &Paging<u64>) -> Result<Page<Notification>> {
        let fetch = |after: Option<&u64>, size: i64| {
            let mut sql =
                Sql::new("SELECT audit FROM notified WHERE TRUE").and(" AND recipient = $", upn.to_string());
            if let Some(after) = after {
                sql = sql.and(" AND audit < $", int(*after));
            }
            let sql = sql.and(" ORDER BY audit DESC LIMIT $", size);
            let ids: Vec<u64> = self.built(&sql)?.iter().map(|row| uint(row.get(0))).collect();
            ids.into_iter()
                .map(|id| {
                    let record = self.need_audit(id)?;
                    let notification = match record.target {
                        Target::Request(request) => {
                            Notification::of(upn, &record, Some(&self.request_named(request)?))
                        }
                        _ => Notification::of(upn, &record, None),
                    };
                    Ok((id, notification))
                })
                .collect()
        };
        self.walk(paging.limit, paging.after, fetch, |_| true)
    }

    fn seen_upto(&self, upn: &str) -> Result<u64> {
        Ok(self
            .ids("SELECT upto FROM notifications_seen WHERE upn = $1", &[&upn])?
            .first()
            .copied()
            .unwrap_or(0))
    }

    fn next_deadline(&self) -> Result<Option<i64>> {
        let row = self.one(
            "SELECT (SELECT min(deadline_ms) FROM requests), (SELECT min(at_ms) FROM ending_warnings)",
            &[],
        )?;
        let (deadline, warning): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
        Ok(deadline.into_iter().chain(warning).min())
    }

    fn due(&self, now: DateTime<Utc>) -> Result<Vec<AccessRequest>> {
        let sql = "SELECT id, record FROM requests WHERE deadline_ms <= $1 ORDER BY deadline_ms, id";
        self.rows(sql, &[&ms(now)])?
            .iter()
            .map(|row| {
                let id = uint(row.get(0));
                Ok(decode("requests", &id, row.get(1))?)
            })
            .collect()
    }

    fn warnings_due(&self, now: DateTime<Utc>) -> Result<Vec<u64>> {
        let sql = "SELECT request FROM ending_warnings WHERE at_ms <= $1 ORDER BY at_ms, request";
        self.ids(sql, &[&ms(now)])
    }

    fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        let sql = "SELECT record FROM ssh_keys WHERE fingerprint = $1";
        self.record("ssh_keys", &fingerprint, sql, &[&fingerprint])
    }

    fn ssh_keys_of(&self, upn: &str, paging: &Paging<String>) -> Result<Page<SshKey>> {
        self.named("ssh_keys", "fingerprint", Some((" AND upn = $", upn.to_string())), paging, |_| true)
    }

    fn tenant_ca(&self, tenant: &str, fingerprint: &str) -> Result<Option<TenantCa>> {
        let sql = "SELECT record FROM tenant_cas WHERE tenant = $1 AND fingerprint = $2";
        self.record("tenant_cas", &fingerprint, sql, &[&tenant, &fingerprint])
    }

    fn tenant_cas_of(&self, tenant: &str, paging: &Paging<String>) -> Result<Page<TenantCa>> {
        self.named("tenant_cas", "fingerprint", Some((" AND tenant = $", tenant.to_string())), paging, |_| {
            true
        })
    }

    fn cas_by_fingerprint(&self, fingerprint: &str) -> Result<Vec<TenantCa>> {
        let filter = Some((" AND fingerprint = $", fingerprint.to_string()));
        Ok(self.named("tenant_cas", "tenant", filter, &Paging::default(), |_| true)?.items)
    }

    fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        self.record("tokens", &id, "SELECT record FROM tokens WHERE id = $1", &[&id])
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let sql = "SELECT record FROM tokens WHERE hash = $1 ORDER BY id LIMIT 1";
        self.record("tokens", &"a token", sql, &[&hash])
    }

    fn tokens_of(&self, owner: Option<&TokenOwner>, paging: &Paging<String>) -> Result<Page<ApiToken>> {
        let filter = owner.map(|owner| (" AND owner = $", owner.key().to_string()));
        self.named("tokens", "id", filter, paging, |_| true)
    }

    fn audit_record(&self, id: u64) -> Result<Option<AuditRecord>> {
        self.record("audit", &id, "SELECT record FROM audit WHERE id = $1", &[&int(id)])
    }

    fn notified_of(&self, audit: u64, limit: usize) -> Result<Vec<String>> {
        let sql = "SELECT recipient FROM notified WHERE audit = $1 ORDER BY recipient LIMIT $2";
        self.texts(sql, &[&int(audit), &int(limit as u64)])
    }

    fn audit_span(&self, first: u64, last: u64, limit: usize) -> Result<Vec<(AuditRecord, Vec<String>)>> {
        let (first, last) = (int(first), int(last));
        let sql = "SELECT id, record FROM audit WHERE id BETWEEN $1 AND $2 ORDER BY id";
        let mut span = Vec::new();
        for row in self.rows(sql, &[&first, &last])? {
            let id = uint(row.get(0));
            span.push((decode::<AuditRecord>("audit", &id, row.get(1))?, Vec::new()));
        }
        // At most `limit` for each record, in UPN order, as `notified_of` answers.
        let sql = "SELECT audit, recipient FROM (SELECT audit, recipient, \
                   row_number() OVER (PARTITION BY audit ORDER BY recipient) AS n \
                   FROM notified WHERE audit BETWEEN $1 AND $2) told WHERE n <= $3 ORDER BY audit, recipient";
        let told = self.rows(sql, &[&first, &last, &int(limit as u64)])?;
        let mut records = span.iter_mut().peekable();
        for row in told {
            let (audit, recipient): (i64, String) = (row.get(0), row.get(1));
            while records.next_if(|(record, _)| int(record.id) < audit).is_some() {}
            if let Some((record, notified)) = records.peek_mut()
                && int(record.id) == audit
            {
                notified.push(recipient);
            }
        }
        Ok(span)
    }

    fn channel(&self, id: u64) -> Result<Option<Channel>> {
        self.record("channels", &id, "SELECT record FROM channels WHERE id = $1", &[&int(id)])
    }

    fn channels_of(&self, tenant: &str, paging: &Paging<u64>) -> Result<Page<Channel>> {
        let fetch = |after: Option<&u64>, size: i64| {
            let after = after.map_or(-1, |a| int(*a));
            let sql = "SELECT id, record FROM channels WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3";
            self.kept_rows(sql, &[&tenant, &after, &size])?
                .iter()
                .map(|row| {
                    let id = uint(row.get(0));
                    Ok((id, decode("channels", &id, row.get(1))?))
                })
                .collect()
        };
        self.walk(paging.limit, paging.after, fetch, |_| true)
    }

    fn contact(&self, upn: &str) -> Result<Option<Contact>> {
        self.record("contacts", &upn, "SELECT record FROM contacts WHERE upn = $1", &[&upn])
    }

    fn delivery(&self, id: u64) -> Result<Option<Delivery>> {
        Ok(self.deliveries_where("SELECT id, record FROM deliveries WHERE id = $1", &[&int(id)])?.pop())
    }

    fn deliveries(
        &self,
        scope: &DeliveryScope,
        filter: DeliveryFilter,
        paging: &Paging<u64>,
    ) -> Result<Page<Delivery>> {
        let fetch = |after: Option<&u64>, size: i64| {
            let mut sql = Sql::new("SELECT id, record FROM deliveries WHERE TRUE");
            if filter.failed_only {
                sql = sql.then(" AND state = 2");
            }
            sql = match scope {
                DeliveryScope::All => sql,
                DeliveryScope::Tenant(tenant) => sql.and(" AND tenant = $", tenant.clone()),
                DeliveryScope::To(upn) => sql.and(" AND addressee = $", upn.clone()),
            };
            if let Some(after) = after {
                sql = sql.and(" AND id < $", int(*after));
            }
            let sql = sql.and(" ORDER BY id DESC LIMIT $", size);
            self.built(&sql)?
                .iter()
                .map(|row| {
                    let id = uint(row.get(0));
                    Ok((id, Delivery::from(decode::<Stored>("deliveries", &id, row.get(1))?)))
                })
                .collect()
        };
        self.walk(paging.limit, paging.after, fetch, |_| true)
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        let sql = "SELECT id, record FROM deliveries WHERE state = 0 AND next_ms <= $1 ORDER BY next_ms, id LIMIT $2";
        self.deliveries_where(sql, &[&ms(now), &int(limit as u64)])
    }

    fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(self.one("SELECT min(next_ms) FROM deliveries WHERE state = 0", &[])?.get(0))
    }

    fn queued_mail(&self, upn: &str, channel: u64, limit: usize) -> Result<Vec<Delivery>> {
        let sql = "SELECT id, record FROM deliveries WHERE state = 0 AND addressee = $1 AND channel = $2 ORDER BY id LIMIT $3";
        self.deliveries_where(sql, &[&upn, &int(channel), &int(limit as u64)])
    }

    fn admins_of(&self, tenant: &str, limit: usize) -> Result<Vec<User>> {
        let admin = |u: &User| u.admin && u.tenant == tenant;
        Ok(self.named("users", "upn", None, &Paging::first(limit), admin)?.items)
    }

    fn groups(&self, tenant: Option<&str>, paging: &Paging<String>) -> Result<Page<Group>> {
        let filter = tenant.map(|t| (" AND tenant = $", t.to_string()));
        self.named("groups", "id", filter, paging, |_| true)
    }

    fn members_of(&self, group: &str, paging: &Paging<String>) -> Result<Page<String>> {
        let fetch = |after: Option<&String>, size: i64| {
            let after = after.cloned().unwrap_or_default();
            let sql = "SELECT upn FROM group_members WHERE group_id = $1 AND upn > $2 ORDER BY upn LIMIT $3";
            Ok(self.texts(sql, &[&group, &after, &size])?.into_iter().map(|upn| (upn.clone(), upn)).collect())
        };
        self.walk(paging.limit, paging.after.clone(), fetch, |_| true)
    }

    fn request_by_arm_name(&self, name: &ArmName) -> Result<Option<AccessRequest>> {
        let key = crate::store::read::arm_key(name);
        let sql = "SELECT record FROM requests WHERE arm_name = $1 ORDER BY id DESC LIMIT 1";
        self.record("requests", &key, sql, &[&key])
    }
}
