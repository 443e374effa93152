//! The redb tables and the one struct that holds them all open for a transaction, read or write.
//! Reads are written once, generically over `Family`, and serve both kinds of transaction.

use std::marker::PhantomData;

use redb::{Key, ReadTransaction, ReadableTable, TableDefinition, TableHandle, Value, WriteTransaction};

use super::error::Result;

/// Records in the compact encoding of `codec`, keyed by their natural id.
pub type Records<K> = TableDefinition<'static, K, &'static [u8]>;
/// Index tables carry everything in the key.
pub type Index<K> = TableDefinition<'static, K, ()>;

pub const META: TableDefinition<&str, u32> = TableDefinition::new("meta");
pub const TENANTS: Records<&str> = TableDefinition::new("tenants");
pub const USERS: Records<&str> = TableDefinition::new("users");
pub const USERS_BY_LOGIN: TableDefinition<&str, &str> = TableDefinition::new("users_by_login");
pub const OFFERS: Records<&str> = TableDefinition::new("offers");
pub const APPS: Records<&str> = TableDefinition::new("apps");
/// (tenant, application): the applications a tenant is a party to, as customer or as publisher.
pub const APPS_BY_TENANT: Index<(&str, &str)> = TableDefinition::new("apps_by_tenant");
pub const REQUESTS: Records<u64> = TableDefinition::new("requests");
/// (state code, request id)
pub const BY_STATE: Index<(u8, u64)> = TableDefinition::new("requests_by_state");
/// (application, request id)
pub const BY_APP: Index<(&str, u64)> = TableDefinition::new("requests_by_app");
/// (state code, application, request id): one application's requests in one state.
pub const BY_STATE_APP: Index<(u8, &str, u64)> = TableDefinition::new("requests_by_state_app");
/// (requester, application, request id)
pub const BY_REQUESTER: Index<(&str, &str, u64)> = TableDefinition::new("requests_by_requester");
/// (deadline in ms since the epoch, request id): the ticker's only view of time.
pub const DEADLINES: Index<(i64, u64)> = TableDefinition::new("deadlines");
/// (warning time in ms since the epoch, request id): approved grants whose requester is still to
/// be told that their access ends soon. Kept apart from `DEADLINES`, whose one entry per request
/// follows its state: a warning leaves no trace on the request, only here once it is given.
pub const ENDING_WARNINGS: Index<(i64, u64)> = TableDefinition::new("ending_warnings");
pub const AUDIT: Records<u64> = TableDefinition::new("audit");
/// (application, audit id): one application's history.
pub const AUDIT_BY_APP: Index<(&str, u64)> = TableDefinition::new("audit_by_app");
/// (request id, audit id): a request's history.
pub const AUDIT_BY_REQUEST: Index<(u64, u64)> = TableDefinition::new("audit_by_request");
/// (recipient, audit id of the change it tells of): a notification is worded from that record
/// when read, so nothing more is kept.
pub const NOTIFIED: Index<(&str, u64)> = TableDefinition::new("notified");
/// recipient -> id of the newest notification they have seen
pub const NOTIFICATIONS_SEEN: TableDefinition<&str, u64> = TableDefinition::new("notifications_seen");
/// Users' SSH keys by fingerprint.
pub const SSH_KEYS: Records<&str> = TableDefinition::new("ssh_keys");
/// (UPN, fingerprint): one user's SSH keys.
pub const SSH_KEYS_BY_USER: Index<(&str, &str)> = TableDefinition::new("ssh_keys_by_user");
/// Tenants' trusted SSH certificate authorities by (tenant, fingerprint).
pub const TENANT_CAS: Records<(&str, &str)> = TableDefinition::new("tenant_cas");
/// (fingerprint, tenant): the tenants that trust one authority.
pub const CAS_BY_FINGERPRINT: Index<(&str, &str)> = TableDefinition::new("tenant_cas_by_fingerprint");
/// API tokens by public id.
pub const TOKENS: Records<&str> = TableDefinition::new("tokens");
/// The hash of a token's secret -> its public id.
pub const TOKENS_BY_HASH: TableDefinition<&str, &str> = TableDefinition::new("tokens_by_hash");
/// (owner's key, token id): one owner's tokens (the operator's under the empty key).
pub const TOKENS_BY_OWNER: Index<(&str, &str)> = TableDefinition::new("tokens_by_owner");
/// (audit id, recipient): whom a change was told to, for the notices the outbox words from it.
pub const NOTIFIED_BY_AUDIT: Index<(u64, &str)> = TableDefinition::new("notified_by_audit");
/// Tenants' channels by id.
pub const CHANNELS: Records<u64> = TableDefinition::new("channels");
/// (tenant, channel id): one tenant's channels.
pub const CHANNELS_BY_TENANT: Index<(&str, u64)> = TableDefinition::new("channels_by_tenant");
/// Users' contacts by UPN.
pub const CONTACTS: Records<&str> = TableDefinition::new("contacts");
/// The outbox's deliveries by id.
pub const DELIVERIES: Records<u64> = TableDefinition::new("deliveries");
/// (next attempt in ms since the epoch, delivery id): the queued ones, the delivery worker's only
/// view of time.
pub const DELIVERIES_DUE: Index<(i64, u64)> = TableDefinition::new("deliveries_due");
/// (channel's tenant, delivery id): what a tenant's admins see.
pub const DELIVERIES_BY_TENANT: Index<(&str, u64)> = TableDefinition::new("deliveries_by_tenant");
/// (addressee, delivery id): the mail a user was sent.
pub const DELIVERIES_TO: Index<(&str, u64)> = TableDefinition::new("deliveries_to");
/// (scope, delivery id) of those given up on, under each scope that lists them: "" for all,
/// `t:` and the tenant, `u:` and the addressee.
pub const DELIVERIES_FAILED: Index<(&str, u64)> = TableDefinition::new("deliveries_failed");
/// (addressee, channel, delivery id) of queued mail: what a digest gathers.
pub const MAIL_QUEUED: Index<(&str, u64, u64)> = TableDefinition::new("mail_queued");
/// A user's object id -> their UPN.
pub const USERS_BY_OBJECT_ID: TableDefinition<&str, &str> = TableDefinition::new("users_by_object_id");
/// Directory groups by id.
pub const GROUPS: Records<&str> = TableDefinition::new("groups");
/// A group's object id -> its id.
pub const GROUPS_BY_OBJECT_ID: TableDefinition<&str, &str> = TableDefinition::new("groups_by_object_id");
/// (group, UPN): a group's members.
pub const GROUP_MEMBERS: Index<(&str, &str)> = TableDefinition::new("group_members");
/// (UPN, group): the groups a user is a member of.
pub const GROUPS_OF_USER: Index<(&str, &str)> = TableDefinition::new("groups_of_user");
/// An application's ARM resource id, lower-case -> its name.
pub const APPS_BY_RESOURCE_ID: TableDefinition<&str, &str> = TableDefinition::new("apps_by_resource_id");
/// A request's ARM name (`ArmName`, lower-case, `subscription/resource group/name`) -> its id.
pub const REQUESTS_BY_ARM_NAME: TableDefinition<&str, u64> = TableDefinition::new("requests_by_arm_name");

pub trait Family {
    type Table<K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>;
}

/// The tables of a read transaction: a snapshot.
pub struct Read;
impl Family for Read {
    type Table<K: Key + 'static, V: Value + 'static> = redb::ReadOnlyTable<K, V>;
}

/// The tables of a write transaction, which they live no longer than.
pub struct Write<'t>(PhantomData<&'t ()>);
impl<'t> Family for Write<'t> {
    type Table<K: Key + 'static, V: Value + 'static> = redb::Table<'t, K, V>;
}

/// Every table of the store, open in one transaction; its fields are the tables of the constants
/// above, by the same names.
pub struct Tables<F: Family> {
    /// `META`: the schema version.
    pub meta: F::Table<&'static str, u32>,
    /// `TENANTS`: tenants by id.
    pub tenants: F::Table<&'static str, &'static [u8]>,
    /// `USERS`: users by UPN.
    pub users: F::Table<&'static str, &'static [u8]>,
    /// `USERS_BY_LOGIN`: OS login to the UPN of the user it acts as.
    pub users_by_login: F::Table<&'static str, &'static str>,
    /// `OFFERS`: offers by id.
    pub offers: F::Table<&'static str, &'static [u8]>,
    /// `APPS`: applications by name.
    pub apps: F::Table<&'static str, &'static [u8]>,
    /// `APPS_BY_TENANT`: (tenant, application).
    pub apps_by_tenant: F::Table<(&'static str, &'static str), ()>,
    /// `REQUESTS`: requests by id.
    pub requests: F::Table<u64, &'static [u8]>,
    /// `BY_STATE`: (state code, request id).
    pub by_state: F::Table<(u8, u64), ()>,
    /// `BY_APP`: (application, request id).
    pub by_app: F::Table<(&'static str, u64), ()>,
    /// `BY_STATE_APP`: (state code, application, request id).
    pub by_state_app: F::Table<(u8, &'static str, u64), ()>,
    /// `BY_REQUESTER`: (requester, application, request id).
    pub by_requester: F::Table<(&'static str, &'static str, u64), ()>,
    /// `DEADLINES`: (deadline in ms since the epoch, request id).
    pub deadlines: F::Table<(i64, u64), ()>,
    /// `ENDING_WARNINGS`: (warning time in ms since the epoch, request id).
    pub ending_warnings: F::Table<(i64, u64), ()>,
    /// `AUDIT`: audit records by id.
    pub audit: F::Table<u64, &'static [u8]>,
    /// `AUDIT_BY_REQUEST`: (request id, audit id).
    pub audit_by_request: F::Table<(u64, u64), ()>,
    /// `AUDIT_BY_APP`: (application, audit id).
    pub audit_by_app: F::Table<(&'static str, u64), ()>,
    /// `NOTIFIED`: (recipient, audit id).
    pub notified: F::Table<(&'static str, u64), ()>,
    /// `NOTIFICATIONS_SEEN`: recipient to the id of the newest notification they have seen.
    pub notifications_seen: F::Table<&'static str, u64>,
    /// `SSH_KEYS`: SSH keys by fingerprint.
    pub ssh_keys: F::Table<&'static str, &'static [u8]>,
    /// `SSH_KEYS_BY_USER`: (UPN, fingerprint).
    pub ssh_keys_by_user: F::Table<(&'static str, &'static str), ()>,
    /// `TENANT_CAS`: trusted CAs by (tenant, fingerprint).
    pub tenant_cas: F::Table<(&'static str, &'static str), &'static [u8]>,
    /// `CAS_BY_FINGERPRINT`: (fingerprint, tenant).
    pub cas_by_fingerprint: F::Table<(&'static str, &'static str), ()>,
    /// `TOKENS`: API tokens by id.
    pub tokens: F::Table<&'static str, &'static [u8]>,
    /// `TOKENS_BY_HASH`: a token's hash to its id.
    pub tokens_by_hash: F::Table<&'static str, &'static str>,
    /// `TOKENS_BY_OWNER`: (owner's key, token id).
    pub tokens_by_owner: F::Table<(&'static str, &'static str), ()>,
    /// `NOTIFIED_BY_AUDIT`: (audit id, recipient).
    pub notified_by_audit: F::Table<(u64, &'static str), ()>,
    /// `CHANNELS`: channels by id.
    pub channels: F::Table<u64, &'static [u8]>,
    /// `CHANNELS_BY_TENANT`: (tenant, channel id).
    pub channels_by_tenant: F::Table<(&'static str, u64), ()>,
    /// `CONTACTS`: contacts by UPN.
    pub contacts: F::Table<&'static str, &'static [u8]>,
    /// `DELIVERIES`: deliveries by id.
    pub deliveries: F::Table<u64, &'static [u8]>,
    /// `DELIVERIES_DUE`: (next attempt in ms, delivery id) of queued deliveries.
    pub deliveries_due: F::Table<(i64, u64), ()>,
    /// `DELIVERIES_BY_TENANT`: (channel's tenant, delivery id).
    pub deliveries_by_tenant: F::Table<(&'static str, u64), ()>,
    /// `DELIVERIES_TO`: (addressee, delivery id).
    pub deliveries_to: F::Table<(&'static str, u64), ()>,
    /// `DELIVERIES_FAILED`: (scope, delivery id).
    pub deliveries_failed: F::Table<(&'static str, u64), ()>,
    /// `MAIL_QUEUED`: (addressee, channel, delivery id).
    pub mail_queued: F::Table<(&'static str, u64, u64), ()>,
    /// `USERS_BY_OBJECT_ID`: a user's object id to their UPN.
    pub users_by_object_id: F::Table<&'static str, &'static str>,
    /// `GROUPS`: groups by id.
    pub groups: F::Table<&'static str, &'static [u8]>,
    /// `GROUPS_BY_OBJECT_ID`: a group's object id to its id.
    pub groups_by_object_id: F::Table<&'static str, &'static str>,
    /// `GROUP_MEMBERS`: (group, UPN).
    pub group_members: F::Table<(&'static str, &'static str), ()>,
    /// `GROUPS_OF_USER`: (UPN, group).
    pub groups_of_user: F::Table<(&'static str, &'static str), ()>,
    /// `APPS_BY_RESOURCE_ID`: an application's lower-case resource id to its name.
    pub apps_by_resource_id: F::Table<&'static str, &'static str>,
    /// `REQUESTS_BY_ARM_NAME`: a request's lower-case ARM name to its id.
    pub requests_by_arm_name: F::Table<&'static str, u64>,
}

/// Every table, once: `Tables` is opened from this list, and a backup copies it, so neither can
/// miss a table the other has. Hands `name DEFINITION` pairs to the macro it is given.
macro_rules! each_table {
    ($then:ident!($($args:tt)*)) => {
        $then!($($args)*;
            meta META,
            tenants TENANTS,
            users USERS,
            users_by_login USERS_BY_LOGIN,
            offers OFFERS,
            apps APPS,
            apps_by_tenant APPS_BY_TENANT,
            requests REQUESTS,
            by_state BY_STATE,
            by_app BY_APP,
            by_state_app BY_STATE_APP,
            by_requester BY_REQUESTER,
            deadlines DEADLINES,
            ending_warnings ENDING_WARNINGS,
            audit AUDIT,
            audit_by_request AUDIT_BY_REQUEST,
            audit_by_app AUDIT_BY_APP,
            notified NOTIFIED,
            notifications_seen NOTIFICATIONS_SEEN,
            ssh_keys SSH_KEYS,
            ssh_keys_by_user SSH_KEYS_BY_USER,
            tenant_cas TENANT_CAS,
            cas_by_fingerprint CAS_BY_FINGERPRINT,
            tokens TOKENS,
            tokens_by_hash TOKENS_BY_HASH,
            tokens_by_owner TOKENS_BY_OWNER,
            notified_by_audit NOTIFIED_BY_AUDIT,
            channels CHANNELS,
            channels_by_tenant CHANNELS_BY_TENANT,
            contacts CONTACTS,
            deliveries DELIVERIES,
            deliveries_due DELIVERIES_DUE,
            deliveries_by_tenant DELIVERIES_BY_TENANT,
            deliveries_to DELIVERIES_TO,
            deliveries_failed DELIVERIES_FAILED,
            mail_queued MAIL_QUEUED,
            users_by_object_id USERS_BY_OBJECT_ID,
            groups GROUPS,
            groups_by_object_id GROUPS_BY_OBJECT_ID,
            group_members GROUP_MEMBERS,
            groups_of_user GROUPS_OF_USER,
            apps_by_resource_id APPS_BY_RESOURCE_ID,
            requests_by_arm_name REQUESTS_BY_ARM_NAME
        )
    };
}
pub(super) use each_table;

macro_rules! open_all {
    ($txn:expr; $($field:ident $definition:ident),*) => {
        Tables { $($field: $txn.open_table($definition)?,)* }
    };
}

macro_rules! names_all {
    (; $($field:ident $definition:ident),*) => {
        [$($definition.name(),)*]
    };
}

/// Whether the store lacks a table this build has: one written before the table existed. A
/// read-write open creates the missing ones, empty; a read-only open cannot.
pub fn lacks_tables(txn: &ReadTransaction) -> Result<bool> {
    let present: Vec<String> = txn.list_tables()?.map(|t| t.name().to_string()).collect();
    Ok(each_table!(names_all!()).iter().any(|name| !present.iter().any(|p| p == name)))
}

impl Tables<Read> {
    /// Opens every table in a read transaction; one a store lacks is an error.
    pub fn open(txn: &ReadTransaction) -> Result<Self> {
        Ok(each_table!(open_all!(txn)))
    }
}

impl<'t> Tables<Write<'t>> {
    /// Creates any table that does not exist yet, which is how a new store gets its schema.
    pub fn open(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(each_table!(open_all!(txn)))
    }
}
