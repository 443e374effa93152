//! redb as the engine's storage backend: the engine's storage traits (`engine::storage`),
//! implemented by handing each call to the typed reads and writes of `Tables` and `Store`. Every
//! transaction runs guarded, so a panic inside redb on a damaged file becomes an error.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::tables::{Family, Tables, Write};
use super::{Error, Store, guarded};
use crate::domain::delivery::{Channel, Contact, Delivery, DeliveryFilter, DeliveryScope};
use crate::domain::identity::{ApiToken, SshKey, TenantCa, TokenOwner};
use crate::domain::rules::Lookup;
use crate::domain::*;
use crate::engine::maintenance::{Compacted, StoreInfo};
use crate::engine::storage::{Reads, Storage, Writes};
use crate::engine::{self, Result};

/// Opens the store at `path` for reading and writing, creating it when `mode` allows.
pub fn open(path: &Path, mode: OpenMode) -> Result<Arc<dyn Storage>, Error> {
    guarded(|| Ok(Arc::new(Store::open(path, mode)?) as Arc<dyn Storage>))
}

/// Opens an existing store for reading only; None when it needs crash recovery or migrating,
/// which only a read-write open does.
pub fn open_read_only(path: &Path) -> Result<Option<Arc<dyn Storage>>, Error> {
    guarded(|| Ok(Store::open_read_only(path)?.map(|store| Arc::new(store) as Arc<dyn Storage>)))
}

/// Compacts the store at `path`, which it opens for itself alone.
pub fn compact(path: &Path) -> Result<Compacted, Error> {
    guarded(|| Store::compact(path))
}

impl Storage for Store {
    fn path(&self) -> &Path {
        Store::path(self)
    }

    fn read(&self, query: &mut dyn FnMut(&dyn Reads) -> Result<()>) -> Result<()> {
        guarded(|| {
            let mut tables = Store::read(self)?;
            query(&On(&mut tables))
        })
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn Writes) -> Result<()>) -> Result<()> {
        guarded(|| Store::write(self, |tables| work(&mut On(tables))))
    }

    fn reopen(&self, why: Error) -> Result<(), Error> {
        Store::reopen(self, why)
    }

    fn abandon(&self, why: Error) {
        Store::abandon(self, why)
    }

    fn copy_into(&self, file: File) -> Result<()> {
        guarded(|| Ok(Store::read(self)?.copy_into(file)?))
    }

    fn info(&self) -> Result<StoreInfo> {
        guarded(|| Ok(Store::info(self)?))
    }
}

/// The tables of one transaction, seen through the engine's traits.
struct On<'a, F: Family>(&'a mut Tables<F>);

impl<F: Family> Lookup for On<'_, F> {
    type Error = engine::Error;

    fn tenant(&self, id: &str) -> Result<Option<Tenant>> {
        Ok(Lookup::tenant(self.0, id)?)
    }

    fn user(&self, upn: &str) -> Result<Option<User>> {
        Ok(Lookup::user(self.0, upn)?)
    }

    fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        Ok(Lookup::user_by_login(self.0, login)?)
    }

    fn offer(&self, id: &str) -> Result<Option<Offer>> {
        Ok(Lookup::offer(self.0, id)?)
    }

    fn app(&self, name: &str) -> Result<Option<Application>> {
        Ok(Lookup::app(self.0, name)?)
    }

    fn pending_request(&self, app: &str, requester: &str) -> Result<Option<u64>> {
        Ok(Lookup::pending_request(self.0, app, requester)?)
    }

    fn user_by_object_id(&self, object_id: &str) -> Result<Option<User>> {
        Ok(Lookup::user_by_object_id(self.0, object_id)?)
    }

    fn group(&self, id: &str) -> Result<Option<Group>> {
        Ok(Lookup::group(self.0, id)?)
    }

    fn group_by_object_id(&self, object_id: &str) -> Result<Option<Group>> {
        Ok(Lookup::group_by_object_id(self.0, object_id)?)
    }

    fn groups_of(&self, upn: &str) -> Result<Vec<String>> {
        Ok(Lookup::groups_of(self.0, upn)?)
    }

    fn app_by_resource_id(&self, resource_id: &str) -> Result<Option<Application>> {
        Ok(Lookup::app_by_resource_id(self.0, resource_id)?)
    }
}

impl<F: Family> Reads for On<'_, F> {
    fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self.0.schema_version()?)
    }

    fn request(&self, id: u64) -> Result<Option<AccessRequest>> {
        Ok(self.0.get_request(id)?)
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.0.is_empty()?)
    }

    fn tenants(&self, paging: &Paging<String>) -> Result<Page<Tenant>> {
        Ok(self.0.tenants(paging)?)
    }

    fn offers(&self, paging: &Paging<String>) -> Result<Page<Offer>> {
        Ok(self.0.offers(paging)?)
    }

    fn apps(&self) -> Result<Vec<Application>> {
        Ok(self.0.apps()?)
    }

    fn apps_where(
        &self,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        Ok(self.0.apps_where(paging, keep)?)
    }

    fn apps_of(
        &self,
        tenant: &str,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>> {
        Ok(self.0.apps_of(tenant, paging, keep)?)
    }

    fn search_users(&self, text: &str, paging: &Paging<String>) -> Result<Page<User>> {
        Ok(self.0.search_users(text, paging)?)
    }

    fn tenants_where(&self, paging: &Paging<String>, keep: &dyn Fn(&Tenant) -> bool) -> Result<Page<Tenant>> {
        Ok(self.0.tenants_where(paging, keep)?)
    }

    fn users_where(&self, paging: &Paging<String>, keep: &dyn Fn(&User) -> bool) -> Result<Page<User>> {
        Ok(self.0.users_where(paging, keep)?)
    }

    fn requests_in(
        &self,
        filter: &RequestFilter,
        apps: Option<&HashSet<String>>,
    ) -> Result<Page<AccessRequest>> {
        Ok(self.0.requests_in(filter, apps)?)
    }

    fn current_grants_in(
        &self,
        now: DateTime<Utc>,
        apps: Option<&HashSet<String>>,
        paging: &Paging<u64>,
    ) -> Result<Page<AccessRequest>> {
        Ok(self.0.current_grants_in(now, apps, paging)?)
    }

    fn audit_in(
        &self,
        apps: Option<&HashSet<String>>,
        window: &Window,
        paging: &Paging<u64>,
    ) -> Result<Page<AuditRecord>> {
        Ok(self.0.audit_in(apps, window, paging)?)
    }

    fn requests_of(&self, upn: &str, app: &str) -> Result<Vec<AccessRequest>> {
        Ok(self.0.requests_of(upn, app)?)
    }

    fn open_requests_of(&self, upn: &str) -> Result<Vec<AccessRequest>> {
        Ok(self.0.open_requests_of(upn)?)
    }

    fn history(&self, request: u64) -> Result<Vec<AuditRecord>> {
        Ok(self.0.history(request)?)
    }

    fn notifications_of(&self, upn: &str, paging: &Paging<u64>) -> Result<Page<Notification>> {
        Ok(self.0.notifications_of(upn, paging)?)
    }

    fn seen_upto(&self, upn: &str) -> Result<u64> {
        Ok(self.0.seen_upto(upn)?)
    }

    fn next_deadline(&self) -> Result<Option<i64>> {
        Ok(self.0.next_deadline()?)
    }

    fn due(&self, now: DateTime<Utc>) -> Result<Vec<AccessRequest>> {
        self.0.due(now)?.into_iter().map(|id| self.need_request(id)).collect()
    }

    fn warnings_due(&self, now: DateTime<Utc>) -> Result<Vec<u64>> {
        Ok(self.0.warnings_due(now)?)
    }

    fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        Ok(self.0.ssh_key(fingerprint)?)
    }

    fn ssh_keys_of(&self, upn: &str, paging: &Paging<String>) -> Result<Page<SshKey>> {
        Ok(self.0.ssh_keys_of(upn, paging)?)
    }

    fn tenant_ca(&self, tenant: &str, fingerprint: &str) -> Result<Option<TenantCa>> {
        Ok(self.0.tenant_ca(tenant, fingerprint)?)
    }

    fn tenant_cas_of(&self, tenant: &str, paging: &Paging<String>) -> Result<Page<TenantCa>> {
        Ok(self.0.tenant_cas_of(tenant, paging)?)
    }

    fn cas_by_fingerprint(&self, fingerprint: &str) -> Result<Vec<TenantCa>> {
        Ok(self.0.cas_by_fingerprint(fingerprint)?)
    }

    fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        Ok(self.0.token(id)?)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        Ok(self.0.token_by_hash(hash)?)
    }

    fn tokens_of(&self, owner: Option<&TokenOwner>, paging: &Paging<String>) -> Result<Page<ApiToken>> {
        Ok(self.0.tokens_of(owner, paging)?)
    }

    fn audit_record(&self, id: u64) -> Result<Option<AuditRecord>> {
        Ok(self.0.audit_record(id)?)
    }

    fn notified_of(&self, audit: u64, limit: usize) -> Result<Vec<String>> {
        Ok(self.0.notified_of(audit, limit)?)
    }

    fn channel(&self, id: u64) -> Result<Option<Channel>> {
        Ok(self.0.channel(id)?)
    }

    fn channels_of(&self, tenant: &str, paging: &Paging<u64>) -> Result<Page<Channel>> {
        Ok(self.0.channels_of(tenant, paging)?)
    }

    fn contact(&self, upn: &str) -> Result<Option<Contact>> {
        Ok(self.0.contact(upn)?)
    }

    fn delivery(&self, id: u64) -> Result<Option<Delivery>> {
        Ok(self.0.delivery(id)?)
    }

    fn deliveries(
        &self,
        scope: &DeliveryScope,
        filter: DeliveryFilter,
        paging: &Paging<u64>,
    ) -> Result<Page<Delivery>> {
        Ok(self.0.deliveries_in(scope, filter, paging)?)
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>> {
        Ok(self.0.due_deliveries(now, limit)?)
    }

    fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(self.0.next_delivery_at()?)
    }

    fn queued_mail(&self, upn: &str, channel: u64, limit: usize) -> Result<Vec<Delivery>> {
        Ok(self.0.queued_mail(upn, channel, limit)?)
    }

    fn admins_of(&self, tenant: &str, limit: usize) -> Result<Vec<User>> {
        Ok(self.0.admins_of(tenant, limit)?)
    }

    fn groups(&self, tenant: Option<&str>, paging: &Paging<String>) -> Result<Page<Group>> {
        Ok(self.0.groups(tenant, paging)?)
    }

    fn members_of(&self, group: &str, paging: &Paging<String>) -> Result<Page<String>> {
        Ok(self.0.members_of(group, paging)?)
    }

    fn request_by_arm_name(&self, name: &ArmName) -> Result<Option<AccessRequest>> {
        Ok(self.0.request_by_arm_name(name)?)
    }
}

impl Writes for On<'_, Write<'_>> {
    fn put_tenant(&mut self, tenant: &Tenant) -> Result<()> {
        Ok(self.0.put_tenant(tenant)?)
    }

    fn put_user(&mut self, user: &User) -> Result<()> {
        Ok(self.0.put_user(user)?)
    }

    fn put_offer(&mut self, offer: &Offer) -> Result<()> {
        Ok(self.0.put_offer(offer)?)
    }

    fn put_group(&mut self, group: &Group) -> Result<()> {
        Ok(self.0.put_group(group)?)
    }

    fn add_member(&mut self, group: &str, upn: &str) -> Result<()> {
        Ok(self.0.add_member(group, upn)?)
    }

    fn remove_member(&mut self, group: &str, upn: &str) -> Result<()> {
        Ok(self.0.remove_member(group, upn)?)
    }

    fn put_app(&mut self, app: &Application) -> Result<()> {
        Ok(self.0.put_app(app)?)
    }

    fn next_request_id(&self) -> Result<u64> {
        Ok(self.0.next_request_id()?)
    }

    fn save_request(&mut self, old: Option<&AccessRequest>, new: &AccessRequest) -> Result<()> {
        Ok(self.0.save_request(old, new)?)
    }

    fn warned(&mut self, request: &AccessRequest) -> Result<()> {
        Ok(self.0.warned(request)?)
    }

    fn next_audit_id(&self) -> Result<u64> {
        Ok(self.0.next_audit_id()?)
    }

    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        Ok(self.0.append_audit(record)?)
    }

    fn add_notification(&mut self, to: &str, audit: u64) -> Result<()> {
        Ok(self.0.add_notification(to, audit)?)
    }

    fn set_seen_upto(&mut self, upn: &str, id: u64) -> Result<()> {
        Ok(self.0.set_seen_upto(upn, id)?)
    }

    fn put_ssh_key(&mut self, key: &SshKey) -> Result<()> {
        Ok(self.0.put_ssh_key(key)?)
    }

    fn remove_ssh_key(&mut self, fingerprint: &str) -> Result<()> {
        Ok(self.0.remove_ssh_key(fingerprint)?)
    }

    fn put_tenant_ca(&mut self, ca: &TenantCa) -> Result<()> {
        Ok(self.0.put_tenant_ca(ca)?)
    }

    fn remove_tenant_ca(&mut self, tenant: &str, fingerprint: &str) -> Result<()> {
        Ok(self.0.remove_tenant_ca(tenant, fingerprint)?)
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<()> {
        Ok(self.0.put_token(token)?)
    }

    fn next_channel_id(&self) -> Result<u64> {
        Ok(self.0.next_channel_id()?)
    }

    fn put_channel(&mut self, channel: &Channel) -> Result<()> {
        Ok(self.0.put_channel(channel)?)
    }

    fn remove_channel(&mut self, id: u64) -> Result<()> {
        Ok(self.0.remove_channel(id)?)
    }

    fn put_contact(&mut self, upn: &str, contact: &Contact) -> Result<()> {
        Ok(self.0.put_contact(upn, contact)?)
    }

    fn next_delivery_id(&self) -> Result<u64> {
        Ok(self.0.next_delivery_id()?)
    }

    fn save_delivery(&mut self, old: Option<&Delivery>, new: &Delivery) -> Result<()> {
        Ok(self.0.save_delivery(old, new)?)
    }

    fn prune_deliveries(&mut self, before: DateTime<Utc>, limit: usize) -> Result<usize> {
        Ok(self.0.prune_deliveries(before, limit)?)
    }
}
