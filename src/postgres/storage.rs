//! One open PostgreSQL database as the engine's `Storage`: reads in one REPEATABLE READ READ ONLY
//! snapshot, writes in READ COMMITTED behind one advisory lock, so that writers on every replica
//! take turns and each sees every earlier commit; a write that appended audit records tells the
//! other replicas with `pg_notify` just before it commits.

use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use super::connect::{Pool, Target};
use super::listener::{self, Listener};
use super::transaction::{Kept, On, args};
use super::{errors, schema, settings};
use crate::domain::OpenMode;
use crate::engine::maintenance::{StoreInfo, TableInfo};
use crate::engine::storage::{Reads, Storage, TellOthers, Writes};
use crate::engine::{Result, StoreError};

/// The channel every write that appended audit records notifies, with the payload
/// `<origin>:<first audit id>:<last audit id>`.
pub const COMMITS_CHANNEL: &str = "jitdesk_commits";

/// What a commit that appended audit records tells the other replicas on `COMMITS_CHANNEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The `origin` of the open that committed.
    pub origin: String,
    /// The first audit id it appended.
    pub first: u64,
    /// The last audit id it appended.
    pub last: u64,
}

impl Commit {
    /// The notification's payload: `<origin>:<first>:<last>`.
    pub fn payload(&self) -> String {
        format!("{}:{}:{}", self.origin, self.first, self.last)
    }

    /// A payload read back; None for one not in that form (nothing jitdesk sent).
    pub fn parse(payload: &str) -> Option<Commit> {
        let mut parts = payload.split(':');
        let origin = parts.next().filter(|o| !o.is_empty())?.to_string();
        let first = parts.next()?.parse().ok()?;
        let last = parts.next()?.parse().ok()?;
        (parts.next().is_none() && first <= last).then_some(Commit { origin, first, last })
    }
}

/// The advisory lock every write transaction takes first: writers on every replica take turns.
const WRITE_LOCK: i64 = 0x6a69_7464_6573_6b01;

/// An open PostgreSQL database.
pub struct PgStorage {
    target: Target,
    /// The connections; `Err` once let go of (`reopen` failed, `abandon`), with why.
    pool: RwLock<std::result::Result<Pool, StoreError>>,
    /// A random id of this open, named in its commits' notifications so it knows its own.
    origin: String,
    /// The directory's answers the last write transaction read, for the next (`transaction.rs`).
    kept: Mutex<Kept>,
    /// What hears the other replicas' commits, once the engine asked (`watch_others`); it stops
    /// when this storage is dropped.
    listener: Mutex<Option<Listener>>,
}

impl PgStorage {
    /// Opens the database `url` names, checking (`OpenMode::Existing`), creating or migrating
    /// jitdesk's schema in it.
    pub fn open(url: &str, mode: OpenMode) -> std::result::Result<PgStorage, StoreError> {
        let target = Target::new(url, &settings())?;
        let mut client = target.connect()?;
        schema::migrate(&mut client, &target.url, mode)?;
        drop(client);
        let pool = RwLock::new(Ok(target.pool()));
        Ok(PgStorage { target, pool, origin: origin()?, kept: Mutex::default(), listener: Mutex::default() })
    }

    /// This open's random id (16 hex digits), as its commits' notifications on
    /// `COMMITS_CHANNEL` name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The URL as given, which holds no password.
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// A connection from the pool, or why there is none.
    fn connection(
        &self,
    ) -> std::result::Result<r2d2::PooledConnection<super::connect::PgManager>, StoreError> {
        let pool = match &*self.pool.read().unwrap_or_else(|p| p.into_inner()) {
            Ok(pool) => pool.clone(),
            Err(why) => return Err(why.clone()),
        };
        pool.get().map_err(|e| errors::pool(&self.target.url, &e))
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        // A connection closes by blocking on the client's own runtime, which panics on a thread
        // that drives async tasks (an engine closed from async code): they close on a thread of
        // their own.
        let closed = Err(StoreError::Storage("the store is closed".into()));
        let pool = std::mem::replace(self.pool.get_mut().unwrap_or_else(|p| p.into_inner()), closed);
        let _ = std::thread::Builder::new().name("jitdesk-pg-close".into()).spawn(move || drop(pool));
    }
}

/// 16 random hex digits.
fn origin() -> std::result::Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Storage(format!("no randomness for the store's origin: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Storage for PgStorage {
    fn path(&self) -> &Path {
        Path::new(&self.target.url)
    }

    fn read(&self, query: &mut dyn FnMut(&dyn Reads) -> Result<()>) -> Result<()> {
        let mut conn = self.connection()?;
        let on = On::begin(&mut conn, "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        query(&on)?;
        on.commit()
    }

    fn write(&self, work: &mut dyn FnMut(&mut dyn Writes) -> Result<()>) -> Result<()> {
        let mut conn = self.connection()?;
        let mut on = On::begin(&mut conn, "START TRANSACTION ISOLATION LEVEL READ COMMITTED");
        on.later("SELECT pg_advisory_xact_lock($1)", args![WRITE_LOCK])?;
        // Taken in a statement of its own, so that the mutex is not held while the lock is awaited.
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|p| p.into_inner()));
        // Read after the lock, so that it is the number the last writer left.
        on.keep(kept)?;
        work(&mut on)?;
        if let Some((first, last)) = on.appended() {
            let payload = Commit { origin: self.origin.clone(), first, last }.payload();
            on.later("SELECT pg_notify($1, $2)", args![COMMITS_CHANNEL, payload])?;
        }
        let kept = on.kept();
        on.commit()?;
        if let Some(kept) = kept {
            *self.kept.lock().unwrap_or_else(|p| p.into_inner()) = kept;
        }
        Ok(())
    }

    fn reopen(&self, why: StoreError) -> std::result::Result<(), StoreError> {
        let mut pool = self.pool.write().unwrap_or_else(|p| p.into_inner());
        *pool = Err(why);
        // Fresh connections: the pool's old ones go with it.
        let client = self.target.connect()?;
        drop(client);
        *pool = Ok(self.target.pool());
        Ok(())
    }

    fn watch_others(&self, tell: TellOthers) {
        let target = self.target.clone();
        match listener::listen(move || target.connect(), self.origin.clone(), tell) {
            // A poisoned lock holds a whole listener or none: it is only ever replaced.
            Ok(listening) => *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(listening),
            Err(e) => tracing::error!("{e}: this replica will not hear of the others' changes"),
        }
    }

    fn abandon(&self, why: StoreError) {
        *self.pool.write().unwrap_or_else(|p| p.into_inner()) = Err(why);
    }

    fn copy_into(&self, _file: File) -> Result<()> {
        Err(StoreError::Storage(
            "a PostgreSQL store is not copied by jitdesk: back it up with pg_dump (or your database's own backups)"
                .into(),
        )
        .into())
    }

    fn info(&self) -> Result<StoreInfo> {
        let mut conn = self.connection()?;
        let txn = On::begin(&mut conn, "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        let schema: i32 = txn.one("SELECT version FROM jitdesk_schema", &[])?.get(0);
        let size: i64 = txn.one("SELECT pg_database_size(current_database())", &[])?.get(0);
        let cache: i64 = txn
            .one(
                "SELECT setting::bigint * pg_size_bytes(coalesce(unit, '1')) FROM pg_settings WHERE name = 'shared_buffers'",
                &[],
            )?
            .get(0);
        let mut tables = Vec::new();
        for &name in schema::TABLES {
            // Table names come from the schema's own list, never from outside.
            let row = txn.one(
                &format!(
                    "SELECT (SELECT count(*) FROM {name}), pg_table_size('{name}'), pg_indexes_size('{name}')"
                ),
                &[],
            )?;
            let (entries, stored, indexes): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            tables.push(TableInfo {
                name,
                entries: u64::try_from(entries).unwrap_or(0),
                stored_bytes: u64::try_from(stored).unwrap_or(0),
                metadata_bytes: u64::try_from(indexes).unwrap_or(0),
                fragmented_bytes: 0,
            });
        }
        txn.commit()?;
        Ok(StoreInfo {
            schema: u32::try_from(schema).unwrap_or(0),
            file_bytes: u64::try_from(size).unwrap_or(0),
            cache_bytes: usize::try_from(cache).unwrap_or(0),
            tables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commits_payload_reads_back_and_nothing_else_does() {
        let commit = Commit { origin: "0a1b2c3d4e5f6a7b".into(), first: 3, last: 5 };
        assert_eq!(commit.payload(), "0a1b2c3d4e5f6a7b:3:5");
        assert_eq!(Commit::parse(&commit.payload()), Some(commit));
        for other in ["", ":1:2", "o:1", "o:1:2:3", "o:x:2", "o:5:3"] {
            assert_eq!(Commit::parse(other), None, "{other}");
        }
    }
}
