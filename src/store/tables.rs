//! The redb tables and the one struct that holds them all open for a transaction, read or write.
//! Reads are written once, generically over `Family`, and serve both kinds of transaction.

use std::marker::PhantomData;

use redb::{Key, ReadTransaction, ReadableTable, TableDefinition, Value, WriteTransaction};

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
pub const AUDIT: Records<u64> = TableDefinition::new("audit");
/// (application, audit id): one application's history.
pub const AUDIT_BY_APP: Index<(&str, u64)> = TableDefinition::new("audit_by_app");
/// (request id, audit id): a request's history.
pub const AUDIT_BY_REQUEST: Index<(u64, u64)> = TableDefinition::new("audit_by_request");
/// (recipient, audit id that caused it)
pub const NOTIFICATIONS: Records<(&str, u64)> = TableDefinition::new("notifications");
/// recipient -> id of the newest notification they have seen
pub const NOTIFICATIONS_SEEN: TableDefinition<&str, u64> = TableDefinition::new("notifications_seen");

pub trait Family {
    type Table<K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>;
}

pub struct Read;
impl Family for Read {
    type Table<K: Key + 'static, V: Value + 'static> = redb::ReadOnlyTable<K, V>;
}

pub struct Write<'t>(PhantomData<&'t ()>);
impl<'t> Family for Write<'t> {
    type Table<K: Key + 'static, V: Value + 'static> = redb::Table<'t, K, V>;
}

pub struct Tables<F: Family> {
    pub meta: F::Table<&'static str, u32>,
    pub tenants: F::Table<&'static str, &'static [u8]>,
    pub users: F::Table<&'static str, &'static [u8]>,
    pub users_by_login: F::Table<&'static str, &'static str>,
    pub offers: F::Table<&'static str, &'static [u8]>,
    pub apps: F::Table<&'static str, &'static [u8]>,
    pub apps_by_tenant: F::Table<(&'static str, &'static str), ()>,
    pub requests: F::Table<u64, &'static [u8]>,
    pub by_state: F::Table<(u8, u64), ()>,
    pub by_app: F::Table<(&'static str, u64), ()>,
    pub by_state_app: F::Table<(u8, &'static str, u64), ()>,
    pub by_requester: F::Table<(&'static str, &'static str, u64), ()>,
    pub deadlines: F::Table<(i64, u64), ()>,
    pub audit: F::Table<u64, &'static [u8]>,
    pub audit_by_request: F::Table<(u64, u64), ()>,
    pub audit_by_app: F::Table<(&'static str, u64), ()>,
    pub notifications: F::Table<(&'static str, u64), &'static [u8]>,
    pub notifications_seen: F::Table<&'static str, u64>,
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
            audit AUDIT,
            audit_by_request AUDIT_BY_REQUEST,
            audit_by_app AUDIT_BY_APP,
            notifications NOTIFICATIONS,
            notifications_seen NOTIFICATIONS_SEEN
        )
    };
}
pub(super) use each_table;

macro_rules! open_all {
    ($txn:expr; $($field:ident $definition:ident),*) => {
        Tables { $($field: $txn.open_table($definition)?,)* }
    };
}

impl Tables<Read> {
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
