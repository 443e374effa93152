//! Writes. Each keeps the indexes in step with the record it changes, inside the caller's transaction.

use std::ops::Bound;

use redb::{AccessGuard, ReadableTable, StorageError, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;

use super::codec::{decode, decode_json, encode};
use super::error::Result;
use super::read::{arm_key, ms};
use super::schema5;
use super::tables::{Records, Tables, Write};
use crate::domain::*;

/// 2: indexes of requests by state and application, and of the audit log by application.
/// 3: records in a compact binary encoding instead of JSON; applications by tenant.
/// 4: notifications kept as (recipient, audit id) alone, worded from the audit record when read.
/// 5: the warnings still to give that approved access ends soon.
/// 6: object ids, resource ids, groups, approver groups, several approvals, extensions, ARM names
/// and tags.
pub const SCHEMA_VERSION: u32 = 6;

/// Where schemas 1 to 3 kept notifications whole (JSON, then the compact encoding).
const OLD_NOTIFICATIONS: Records<(&str, u64)> = TableDefinition::new("notifications");

/// How many records a migration decodes before writing them back: a table cannot be written
/// while it is walked, and a whole table at once could need more memory than the store's size.
const BATCH: usize = 1000;

type Entry<'a, K> = std::result::Result<(AccessGuard<'a, K>, AccessGuard<'a, &'static [u8]>), StorageError>;

/// The next batch of records as schemas 1 and 2 stored them (JSON), from a range of their table.
fn legacy<'a, K: redb::Key + 'static, T: DeserializeOwned>(
    table: &str,
    range: impl Iterator<Item = Entry<'a, K>>,
) -> Result<Vec<T>> {
    range.take(BATCH).map(|entry| decode_json(table, entry?.1.value())).collect()
}

/// The next batch of records as schemas 3 to 5 stored them (the compact encoding), from a range of
/// their table.
fn stored<'a, K: redb::Key + 'static, T: DeserializeOwned>(
    table: &str,
    range: impl Iterator<Item = Entry<'a, K>>,
) -> Result<Vec<T>> {
    range.take(BATCH).map(|entry| decode(table, &"a record being migrated", entry?.1.value())).collect()
}

/// Names after the cursor, for tables keyed by name.
fn after_name(after: Option<&String>) -> (Bound<&str>, Bound<&str>) {
    (after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.as_str())), Bound::Unbounded)
}

/// Ids after the cursor, for tables keyed by number.
fn after_id(after: Option<&u64>) -> std::ops::RangeFrom<u64> {
    after.map_or(0, |a| a + 1)..
}

impl Tables<Write<'_>> {
    /// Marks the store as written in this build's schema (`SCHEMA_VERSION`).
    pub fn set_schema_version(&mut self) -> Result<()> {
        self.meta.insert("schema_version", SCHEMA_VERSION)?;
        Ok(())
    }

    /// Brings a store written by an older build up to date, inside the caller's one transaction:
    /// all of it is kept, or none. Opening the tables has already created any that were missing;
    /// every record is then read as its schema stored it and written again through the same
    /// calls that write it every day, which re-encodes it and fills every index, old and new.
    pub fn migrate(&mut self, txn: &WriteTransaction, from: u32) -> Result<()> {
        if from < 3 {
            self.recode(
                |t, a| legacy("tenants", t.tenants.range::<&str>(after_name(a))?),
                |r: &Tenant| r.id.clone(),
                Self::put_tenant,
            )?;
            self.recode(
                |t, a| legacy("users", t.users.range::<&str>(after_name(a))?),
                |r: &schema5::User| r.upn().to_string(),
                Self::replace_user,
            )?;
            self.recode(
                |t, a| legacy("offers", t.offers.range::<&str>(after_name(a))?),
                |r: &Offer| r.id.clone(),
                Self::put_offer,
            )?;
            self.recode(
                |t, a| legacy("apps", t.apps.range::<&str>(after_name(a))?),
                |r: &schema5::Application| r.name().to_string(),
                Self::replace_app,
            )?;
            self.recode(
                |t, a| legacy("requests", t.requests.range(after_id(a))?),
                |r: &schema5::Request| r.id(),
                |t, r: &schema5::Request| t.save_request(None, &AccessRequest::from(r.clone())),
            )?;
            self.recode(
                |t, a| legacy("audit", t.audit.range(after_id(a))?),
                |r: &AuditRecord| r.id,
                Self::append_audit,
            )?;
        }
        if (3..6).contains(&from) {
            self.recode(
                |t, a| stored("users", t.users.range::<&str>(after_name(a))?),
                |r: &schema5::User| r.upn().to_string(),
                Self::replace_user,
            )?;
            self.recode(
                |t, a| stored("apps", t.apps.range::<&str>(after_name(a))?),
                |r: &schema5::Application| r.name().to_string(),
                Self::replace_app,
            )?;
            // Only the record changes: every index of a request stays as it is, and so do the
            // warnings already given.
            self.recode(
                |t, a| stored("requests", t.requests.range(after_id(a))?),
                |r: &schema5::Request| r.id(),
                |t, r: &schema5::Request| {
                    let request = AccessRequest::from(r.clone());
                    t.requests.insert(request.id, encode(&request)?.as_slice())?;
                    Ok(())
                },
            )?;
        }
        if from < 4 {
            self.index_notifications(txn)?;
        }
        if from < 5 {
            self.index_warnings()?;
        }
        self.set_schema_version()
    }

    /// An older schema's user as today's, its old record going first: `put_user` reads the
    /// record it replaces in today's shape.
    fn replace_user(&mut self, old: &schema5::User) -> Result<()> {
        self.users.remove(old.upn())?;
        self.put_user(&User::from(old.clone()))
    }

    /// An older schema's application as today's, its old record going first, as for users.
    fn replace_app(&mut self, old: &schema5::Application) -> Result<()> {
        self.apps.remove(old.name())?;
        self.put_app(&Application::from(old.clone()))
    }

    /// Schemas 1 to 3 kept each notification whole; its key (recipient, audit id) is all that is
    /// kept now, and the old table goes. Its records are not read, only their keys.
    fn index_notifications(&mut self, txn: &WriteTransaction) -> Result<()> {
        {
            let old = txn.open_table(OLD_NOTIFICATIONS)?;
            for entry in old.iter()? {
                let (key, _) = entry?;
                self.notified.insert(key.value(), ())?;
            }
        }
        txn.delete_table(OLD_NOTIFICATIONS)?;
        Ok(())
    }

    /// Every approved grant of a store written before warnings were kept here is owed its
    /// warning, unless its history shows it was given (the ticker gives it at once if its time
    /// has passed and the access still runs). The approved requests are found through their state
    /// index, and only they are read.
    fn index_warnings(&mut self) -> Result<()> {
        let approved = RequestState::Approved.code();
        let ids: Vec<u64> = self
            .by_state
            .range((approved, 0)..=(approved, u64::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<std::result::Result<_, _>>()?;
        for id in ids {
            let Some(at) = self.need_request(id)?.ending_warning() else { continue };
            // Rewriting an older schema's requests has owed every grant its warning already.
            if self.history(id)?.iter().any(|r| r.action == Action::AccessEndingSoon) {
                self.ending_warnings.remove((ms(at), id))?;
            } else {
                self.ending_warnings.insert((ms(at), id), ())?;
            }
        }
        Ok(())
    }

    /// Rewrites one table a batch at a time: `read` decodes the records after a cursor, `cursor`
    /// is where a record stands, `put` writes it back.
    fn recode<T, C>(
        &mut self,
        read: impl Fn(&Self, Option<&C>) -> Result<Vec<T>>,
        cursor: impl Fn(&T) -> C,
        put: impl Fn(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        let mut after = None;
        loop {
            let batch = read(self, after.as_ref())?;
            let Some(last) = batch.last() else { return Ok(()) };
            after = Some(cursor(last));
            for record in &batch {
                put(self, record)?;
            }
        }
    }

    /// Stores a tenant under its id, replacing any stored there.
    pub fn put_tenant(&mut self, tenant: &Tenant) -> Result<()> {
        self.tenants.insert(tenant.id.as_str(), encode(tenant)?.as_slice())?;
        Ok(())
    }

    /// Stores a user under their UPN, replacing any stored there, and indexes their OS login.
    pub fn put_user(&mut self, user: &User) -> Result<()> {
        let old = self.users.insert(user.upn.as_str(), encode(user)?.as_slice())?;
        // A login the user no longer has leaves the index, so it never names the user for it.
        if let Some(old) = old {
            let old: User = decode("users", &user.upn, old.value())?;
            if let Some(login) = old.login.filter(|l| user.login.as_ref() != Some(l)) {
                self.users_by_login.remove(login.as_str())?;
            }
            self.users_by_object_id.remove(old.object_id.as_str())?;
        }
        if let Some(login) = &user.login {
            self.users_by_login.insert(login.as_str(), user.upn.as_str())?;
        }
        self.users_by_object_id.insert(user.object_id.as_str(), user.upn.as_str())?;
        Ok(())
    }

    /// Stores an offer under its id, replacing any stored there.
    pub fn put_offer(&mut self, offer: &Offer) -> Result<()> {
        self.offers.insert(offer.id.as_str(), encode(offer)?.as_slice())?;
        Ok(())
    }

    /// Stores an application under its name, replacing any stored there, and indexes it under its
    /// customer and publisher tenants.
    pub fn put_app(&mut self, app: &Application) -> Result<()> {
        let old = self.apps.insert(app.name.as_str(), encode(app)?.as_slice())?;
        // The tenants of the record it replaces lose their entries and this record's tenants get
        // theirs, so the index never names a tenant the application no longer has.
        if let Some(old) = old {
            let old: Application = decode("apps", &app.name, old.value())?;
            for tenant in [&old.customer_tenant, &old.publisher_tenant] {
                self.apps_by_tenant.remove((tenant.as_str(), old.name.as_str()))?;
            }
            self.apps_by_resource_id.remove(old.resource_id.to_lowercase().as_str())?;
        }
        for tenant in [&app.customer_tenant, &app.publisher_tenant] {
            self.apps_by_tenant.insert((tenant.as_str(), app.name.as_str()), ())?;
        }
        self.apps_by_resource_id.insert(app.resource_id.to_lowercase().as_str(), app.name.as_str())?;
        Ok(())
    }

    /// The id the next new request gets: one past the highest stored, 1 in an empty store.
    pub fn next_request_id(&self) -> Result<u64> {
        Ok(self.requests.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    /// Stores a request, moving its state and deadline index entries from `old` when it changed.
    pub fn save_request(&mut self, old: Option<&AccessRequest>, new: &AccessRequest) -> Result<()> {
        match old {
            Some(old) => {
                self.by_state.remove((old.state.code(), old.id))?;
                self.by_state_app.remove((old.state.code(), old.app.as_str(), old.id))?;
                if let Some((at, _)) = old.deadline() {
                    self.deadlines.remove((ms(at), old.id))?;
                }
            }
            None => {
                self.by_app.insert((new.app.as_str(), new.id), ())?;
                self.by_requester.insert((new.requester.as_str(), new.app.as_str(), new.id), ())?;
                // A request's ARM name is given at its making and never changes.
                if let Some(name) = &new.arm {
                    self.requests_by_arm_name.insert(arm_key(name).as_str(), new.id)?;
                }
            }
        }
        self.by_state.insert((new.state.code(), new.id), ())?;
        self.by_state_app.insert((new.state.code(), new.app.as_str(), new.id), ())?;
        if let Some((at, _)) = new.deadline() {
            self.deadlines.insert((ms(at), new.id), ())?;
        }
        // A grant is owed its warning from its approval until it is given or the grant ends; a
        // change that keeps the warning's time (the start of scheduled access) keeps whether it
        // was given.
        let warning = new.ending_warning();
        let was = old.and_then(AccessRequest::ending_warning);
        if warning != was {
            if let Some(at) = was {
                self.ending_warnings.remove((ms(at), new.id))?;
            }
            if let Some(at) = warning {
                self.ending_warnings.insert((ms(at), new.id), ())?;
            }
        }
        self.requests.insert(new.id, encode(new)?.as_slice())?;
        Ok(())
    }

    /// Records that a grant's requester was told its access ends soon, so they are told once.
    pub fn warned(&mut self, request: &AccessRequest) -> Result<()> {
        if let Some(at) = request.ending_warning() {
            self.ending_warnings.remove((ms(at), request.id))?;
        }
        Ok(())
    }

    /// The id the next audit record gets: one past the highest stored, 1 in an empty store.
    pub fn next_audit_id(&self) -> Result<u64> {
        Ok(self.audit.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    /// Adds an audit record under its id, indexed by its request and its application.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        self.audit.insert(record.id, encode(record)?.as_slice())?;
        if let Target::Request(request) = record.target {
            self.audit_by_request.insert((request, record.id), ())?;
        }
        if let Some(app) = &record.app {
            self.audit_by_app.insert((app.as_str(), record.id), ())?;
        }
        Ok(())
    }

    /// Tells a recipient of the change recorded under an audit id.
    pub fn add_notification(&mut self, to: &str, audit: u64) -> Result<()> {
        self.notified.insert((to, audit), ())?;
        self.notified_by_audit.insert((audit, to), ())?;
        Ok(())
    }

    /// Records the newest notification a user has seen, as given.
    pub fn set_seen_upto(&mut self, upn: &str, id: u64) -> Result<()> {
        self.notifications_seen.insert(upn, id)?;
        Ok(())
    }
}
