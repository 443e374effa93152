//! The storage interface: every read and write the engine's commands, queries, ticker and limits
//! make, in the engine's own terms, so that the engine names no backend. redb is the first
//! implementation (`store::backend`); another backend implements these traits and passes the same
//! conformance suite (tests/storage_conformance.rs).
//!
//! A backend answers with the engine's `Error`: its own trouble as `Error::Storage`, sorted by
//! what a caller can do about it, and a lookup the rules refuse as `Error::Rule`.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::error::{Error, Result, StoreError};
use super::location;
use super::maintenance::{Compacted, StoreInfo};
use crate::domain::delivery::{Channel, Contact, Delivery, DeliveryFilter, DeliveryScope};
use crate::domain::identity::{ApiToken, SshKey, TenantCa, TokenOwner};
use crate::domain::rules::{self, Lookup};
use crate::domain::*;

/// Opens the data at `path` (a redb file, or a PostgreSQL database when it is a URL) for reading
/// and writing, creating it when `mode` allows. This, `open_read_only` and `compact` are the only
/// places where the engine meets its backends.
pub(crate) fn open(path: &Path, mode: OpenMode) -> Result<Arc<dyn Storage>> {
    location::check(path)?;
    match location::database(path) {
        Some(url) => Ok(crate::postgres::open(url, mode)?),
        None => Ok(crate::store::open(path, mode)?),
    }
}

/// Opens existing data for reading only; None when it needs recovery or migrating, which only a
/// read-write open does, and for a database, whose every open is as cheap.
pub(crate) fn open_read_only(path: &Path) -> Result<Option<Arc<dyn Storage>>> {
    location::check(path)?;
    match location::database(path) {
        Some(_) => Ok(None),
        None => Ok(crate::store::open_read_only(path)?),
    }
}

/// Gives back the space that rewritten and deleted records leave behind in the store at `path`,
/// keeping every record: the backend opens it for itself alone, so it is refused while anything
/// else holds it. PostgreSQL gives space back by itself, so a database is refused.
pub(crate) fn compact(path: &Path) -> Result<Compacted> {
    match location::database(path) {
        Some(_) => Err(RuleError::invalid(
            "a PostgreSQL store is not compacted by jitdesk: PostgreSQL reclaims space itself (autovacuum; VACUUM FULL gives it back to the system)",
        )
        .into()),
        None => Ok(crate::store::compact(path)?),
    }
}

/// A place where the engine's data lives, and its transactions.
pub trait Storage: Send + Sync {
    /// Where the data is, as the doors show it (and the service compares it with its clients').
    fn path(&self) -> &Path;

    /// Runs `query` once, on one consistent snapshot: it sees every write committed before the
    /// snapshot began and nothing of any write after, however long it takes.
    fn read(&self, query: &mut dyn FnMut(&dyn Reads) -> Result<()>) -> Result<()>;

    /// Runs `work` once, in one durable transaction: nothing of it is kept unless `work`
    /// succeeds and the commit does, and readers see all of it or none.
    fn write(&self, work: &mut dyn FnMut(&mut dyn Writes) -> Result<()>) -> Result<()>;

    /// After a failed write: lets go of the data and opens it again, which recovers the last
    /// commit. Until that works, every call answers `why`, or what stopped it from opening.
    fn reopen(&self, why: StoreError) -> Result<(), StoreError>;

    /// Lets go of damaged data without writing anything more; every call answers `why` from now on.
    fn abandon(&self, why: StoreError);

    /// Writes a copy of one snapshot of everything into `file` (new and empty), durable when this
    /// returns, in a form this backend opens as a store of its own.
    fn copy_into(&self, file: File) -> Result<()>;

    /// What the data holds and takes: its schema, its size, the cache it is read through and each
    /// table's share, from one snapshot.
    fn info(&self) -> Result<StoreInfo>;

    /// Hands the backend `tell`, through which it reports what other processes commit to the same
    /// data, from any thread, for as long as it is open. The engine calls it once, before its first
    /// transaction. A backend held by one process alone (redb) keeps the default: nobody else writes.
    fn watch_others(&self, tell: TellOthers) {
        let _ = tell;
    }
}

/// What a backend shared with other processes (several `jitdesk serve` replicas on one database)
/// reports of their writes, so that this engine's subscribers hear them and its ticker wakes for
/// the deadlines they set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// Another process committed one transaction, which appended the audit records `first..=last`.
    Committed {
        /// Its first audit record's id.
        first: u64,
        /// Its last audit record's id.
        last: u64,
    },
    /// Others may have committed without this process hearing of it (say its listener lost its
    /// connection for a while): what was read before may be stale.
    MayHaveMissed,
}

/// The engine's ear for `Others`, given to the backend by `Storage::watch_others`.
pub type TellOthers = Arc<dyn Fn(Others) + Send + Sync>;

/// The reads, in a snapshot or inside a write transaction. Lists come newest first unless they
/// say otherwise, and walk on from a cursor (`after`), never the whole store.
pub trait Reads: Lookup<Error = Error> {
    /// The schema the data was written in; None for data that has never been written to.
    fn schema_version(&self) -> Result<Option<u32>>;
    /// One request by id, if it exists (whoever asks: scoping is the caller's).
    fn request(&self, id: u64) -> Result<Option<AccessRequest>>;
    /// Whether the directory is empty (it has no tenant).
    fn is_empty(&self) -> Result<bool>;
    /// Tenants in id order.
    fn tenants(&self, paging: &Paging<String>) -> Result<Page<Tenant>>;
    /// Offers in id order.
    fn offers(&self, paging: &Paging<String>) -> Result<Page<Offer>>;
    /// Every application, in name order.
    fn apps(&self) -> Result<Vec<Application>>;
    /// Applications in name order, after the cursor, that `keep` admits.
    fn apps_where(
        &self,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>>;
    /// The applications a tenant is a party to (as customer or publisher), in name order after the
    /// cursor, that `keep` admits; found without reading any other tenant's.
    fn apps_of(
        &self,
        tenant: &str,
        paging: &Paging<String>,
        keep: &dyn Fn(&Application) -> bool,
    ) -> Result<Page<Application>>;
    /// Users whose UPN or display name contains the text, ignoring case, in UPN order.
    fn search_users(&self, text: &str, paging: &Paging<String>) -> Result<Page<User>>;
    /// Tenants in id order, after the cursor, that `keep` admits.
    fn tenants_where(&self, paging: &Paging<String>, keep: &dyn Fn(&Tenant) -> bool) -> Result<Page<Tenant>>;
    /// Users in UPN order, after the cursor, that `keep` admits.
    fn users_where(&self, paging: &Paging<String>, keep: &dyn Fn(&User) -> bool) -> Result<Page<User>>;
    /// The requests the filter admits on the applications given (None: all of them); those of a
    /// window (`created`) found without reading the requests outside it.
    fn requests_in(
        &self,
        filter: &RequestFilter,
        apps: Option<&HashSet<String>>,
    ) -> Result<Page<AccessRequest>>;
    /// Approved access not ended by `now` (active or scheduled) on the applications given.
    fn current_grants_in(
        &self,
        now: DateTime<Utc>,
        apps: Option<&HashSet<String>>,
        paging: &Paging<u64>,
    ) -> Result<Page<AccessRequest>>;
    /// Audit records made in the window, of the applications given; None: the whole log, the
    /// directory's included. The first and last ids of a window are found without reading the
    /// records outside it.
    fn audit_in(
        &self,
        apps: Option<&HashSet<String>>,
        window: &Window,
        paging: &Paging<u64>,
    ) -> Result<Page<AuditRecord>>;
    /// Every request of one requester on one application.
    fn requests_of(&self, upn: &str, app: &str) -> Result<Vec<AccessRequest>>;
    /// A requester's pending and approved requests.
    fn open_requests_of(&self, upn: &str) -> Result<Vec<AccessRequest>>;
    /// A request's audit records, oldest first.
    fn history(&self, request: u64) -> Result<Vec<AuditRecord>>;
    /// A user's notifications, newest first, each as `Notification::of` words it from its audit
    /// record and the request that record names, if any.
    fn notifications_of(&self, upn: &str, paging: &Paging<u64>) -> Result<Page<Notification>>;
    /// The id of the newest notification the user has marked as seen; 0 when none.
    fn seen_upto(&self, upn: &str) -> Result<u64>;
    /// The earliest deadline of any request, or warning still to give (`warnings_due`), in
    /// milliseconds since the epoch: when the ticker must wake next.
    fn next_deadline(&self) -> Result<Option<i64>>;
    /// Requests whose deadline is at or before `now`, oldest deadline first (read at once: a
    /// backend that can reads them in one query).
    fn due(&self, now: DateTime<Utc>) -> Result<Vec<AccessRequest>>;
    /// Approved requests whose `ending_warning` is at or before `now` and who were not `warned`
    /// since their approval, earliest warning first.
    fn warnings_due(&self, now: DateTime<Utc>) -> Result<Vec<u64>>;
    /// A request that must exist: the rules' "no request" otherwise.
    fn need_request(&self, id: u64) -> Result<AccessRequest> {
        self.request(id)?.ok_or_else(|| rules::no_request(id).into())
    }
    /// The SSH key of this fingerprint, whoever has it: one get.
    fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>>;
    /// One user's SSH keys, in fingerprint order after the cursor.
    fn ssh_keys_of(&self, upn: &str, paging: &Paging<String>) -> Result<Page<SshKey>>;
    /// The CA of this fingerprint as one tenant trusts it.
    fn tenant_ca(&self, tenant: &str, fingerprint: &str) -> Result<Option<TenantCa>>;
    /// One tenant's trusted CAs, in fingerprint order after the cursor.
    fn tenant_cas_of(&self, tenant: &str, paging: &Paging<String>) -> Result<Page<TenantCa>>;
    /// Every tenant's record of the CA of this fingerprint, found without reading other CAs.
    fn cas_by_fingerprint(&self, fingerprint: &str) -> Result<Vec<TenantCa>>;
    /// The token of this public id.
    fn token(&self, id: &str) -> Result<Option<ApiToken>>;
    /// The token whose secret has this hash: one get.
    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    /// One owner's tokens (None: everyone's), in id order after the cursor.
    fn tokens_of(&self, owner: Option<&TokenOwner>, paging: &Paging<String>) -> Result<Page<ApiToken>>;
    /// One audit record by id.
    fn audit_record(&self, id: u64) -> Result<Option<AuditRecord>>;
    /// Whom the change recorded under `audit` was told to (`add_notification`), at most `limit`,
    /// in UPN order.
    fn notified_of(&self, audit: u64, limit: usize) -> Result<Vec<String>>;
    /// The audit records from `first` to `last` that exist, in id order, each with whom it was
    /// told to as `notified_of` answers. A backend that can reads them all at once.
    fn audit_span(&self, first: u64, last: u64, limit: usize) -> Result<Vec<(AuditRecord, Vec<String>)>> {
        let mut span = Vec::new();
        for id in first..=last {
            if let Some(record) = self.audit_record(id)? {
                span.push((record, self.notified_of(id, limit)?));
            }
        }
        Ok(span)
    }
    /// A channel by id, whichever tenant's it is.
    fn channel(&self, id: u64) -> Result<Option<Channel>>;
    /// One tenant's channels, in id order after the cursor.
    fn channels_of(&self, tenant: &str, paging: &Paging<u64>) -> Result<Page<Channel>>;
    /// A user's contact, if one was ever set.
    fn contact(&self, upn: &str) -> Result<Option<Contact>>;
    /// A delivery by id.
    fn delivery(&self, id: u64) -> Result<Option<Delivery>>;
    /// The deliveries of a scope the filter admits, newest first, older than the cursor; found
    /// without reading another scope's.
    fn deliveries(
        &self,
        scope: &DeliveryScope,
        filter: DeliveryFilter,
        paging: &Paging<u64>,
    ) -> Result<Page<Delivery>>;
    /// Queued deliveries whose next attempt is at or before `now`, the earliest first, at most `limit`.
    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>>;
    /// When the earliest queued delivery is due, in milliseconds since the epoch.
    fn next_delivery_at(&self) -> Result<Option<i64>>;
    /// A user's queued mail over one channel, oldest first, at most `limit`.
    fn queued_mail(&self, upn: &str, channel: u64, limit: usize) -> Result<Vec<Delivery>>;
    /// A tenant's admins, in UPN order, at most `limit`.
    fn admins_of(&self, tenant: &str, limit: usize) -> Result<Vec<User>>;
    /// Groups in id order after the cursor; one tenant's alone when it is given.
    fn groups(&self, tenant: Option<&str>, paging: &Paging<String>) -> Result<Page<Group>>;
    /// A group's members' UPNs, in UPN order after the cursor.
    fn members_of(&self, group: &str, paging: &Paging<String>) -> Result<Page<String>>;
    /// The request made under this ARM name, whatever the case of its letters, if any.
    fn request_by_arm_name(&self, name: &ArmName) -> Result<Option<AccessRequest>>;
}

/// The writes, inside one transaction. Each keeps every index its reads walk consistent.
pub trait Writes: Reads {
    /// Stores a tenant under its id, replacing any stored there.
    fn put_tenant(&mut self, tenant: &Tenant) -> Result<()>;
    /// Stores a user under their UPN, replacing any stored there, and makes their OS login (if
    /// any) find them.
    fn put_user(&mut self, user: &User) -> Result<()>;
    /// Stores a group under its id, replacing any stored there; its object id finds it.
    fn put_group(&mut self, group: &Group) -> Result<()>;
    /// Makes a user a member of a group (`members_of`, `groups_of`); a member stays one.
    fn add_member(&mut self, group: &str, upn: &str) -> Result<()>;
    /// Takes a user out of a group; one who is not a member changes nothing.
    fn remove_member(&mut self, group: &str, upn: &str) -> Result<()>;
    /// Stores an offer under its id, replacing any stored there.
    fn put_offer(&mut self, offer: &Offer) -> Result<()>;
    /// Stores an application under its name, replacing any stored there; `apps_of` finds it by
    /// its customer and publisher tenants as they are now.
    fn put_app(&mut self, app: &Application) -> Result<()>;
    /// The id the next new request gets.
    fn next_request_id(&self) -> Result<u64>;
    /// Stores a request's new version; `old` is the version stored until now (None: a new one).
    fn save_request(&mut self, old: Option<&AccessRequest>, new: &AccessRequest) -> Result<()>;
    /// Records that the requester of this approved request was told its access ends soon:
    /// `warnings_due` leaves it out from now on, whatever else is saved of it while it stays
    /// approved.
    fn warned(&mut self, request: &AccessRequest) -> Result<()>;
    /// The id the next audit record gets.
    fn next_audit_id(&self) -> Result<u64>;
    /// Adds an audit record under its id (from `next_audit_id`), findable by its request and its
    /// application.
    fn append_audit(&mut self, record: &AuditRecord) -> Result<()>;
    /// Tells `to` of the change recorded under audit id `audit` (appended before):
    /// `notifications_of` lists it from then on as `Notification::of` words it. The same
    /// recipient and record again is still one notification.
    fn add_notification(&mut self, to: &str, audit: u64) -> Result<()>;
    /// Records the newest notification a user has seen, as given: keeping it from going backwards
    /// is the caller's.
    fn set_seen_upto(&mut self, upn: &str, id: u64) -> Result<()>;
    /// Stores an SSH key under its fingerprint, replacing any stored there; its user's list holds
    /// it, and no other user's does.
    fn put_ssh_key(&mut self, key: &SshKey) -> Result<()>;
    /// Removes the SSH key of this fingerprint, if any, from every index.
    fn remove_ssh_key(&mut self, fingerprint: &str) -> Result<()>;
    /// Stores a tenant's trusted CA, replacing the tenant's record of the same key.
    fn put_tenant_ca(&mut self, ca: &TenantCa) -> Result<()>;
    /// Removes a tenant's trust in a CA, if any, from every index.
    fn remove_tenant_ca(&mut self, tenant: &str, fingerprint: &str) -> Result<()>;
    /// Stores a token under its id, replacing any stored there; its hash and owner find it as
    /// they are now.
    fn put_token(&mut self, token: &ApiToken) -> Result<()>;
    /// The id the next new channel gets: never one a channel had before.
    fn next_channel_id(&self) -> Result<u64>;
    /// Stores a channel under its id, replacing any stored there; its tenant's list holds it.
    fn put_channel(&mut self, channel: &Channel) -> Result<()>;
    /// Removes the channel of this id, if any, from every index.
    fn remove_channel(&mut self, id: u64) -> Result<()>;
    /// Stores a user's contact, replacing theirs.
    fn put_contact(&mut self, upn: &str, contact: &Contact) -> Result<()>;
    /// The id the next new delivery gets.
    fn next_delivery_id(&self) -> Result<u64>;
    /// Stores a delivery's new version; `old` is the version stored until now (None: a new one).
    /// `due_deliveries` and `queued_mail` find it while it is queued, the failed lists once it
    /// is given up on.
    fn save_delivery(&mut self, old: Option<&Delivery>, new: &Delivery) -> Result<()>;
    /// Deletes, from every index, the oldest deliveries sent or given up on before `before`,
    /// looking at no more than `limit` of the oldest; the newest delivery stays, so no id is given
    /// twice. How many it deleted.
    fn prune_deliveries(&mut self, before: DateTime<Utc>, limit: usize) -> Result<usize>;
}

impl dyn Storage {
    /// `query` on one snapshot, and what it made.
    pub fn query<T>(&self, query: impl FnOnce(&dyn Reads) -> Result<T>) -> Result<T> {
        let mut query = Some(query);
        let mut out = None;
        self.read(&mut |t| {
            if let Some(query) = query.take() {
                out = Some(query(t)?);
            }
            Ok(())
        })?;
        out.ok_or_else(not_run)
    }

    /// `work` in one durable transaction, and what it made.
    pub fn transact<T>(&self, work: impl FnOnce(&mut dyn Writes) -> Result<T>) -> Result<T> {
        let mut work = Some(work);
        let mut out = None;
        self.write(&mut |t| {
            if let Some(work) = work.take() {
                out = Some(work(t)?);
            }
            Ok(())
        })?;
        out.ok_or_else(not_run)
    }
}

/// A backend that returned without running the work it was given: a bug in the backend.
fn not_run() -> Error {
    Error::Storage(StoreError::Storage("the storage backend did not run the transaction".into()))
}
