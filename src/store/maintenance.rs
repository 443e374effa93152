//! Looking after the file itself: what each table holds and takes, the page cache redb keeps in
//! memory, and giving back the space that rewritten and deleted records leave behind.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use redb::{ReadableTable, ReadableTableMetadata, TableHandle};
use serde::Serialize;

use super::error::{Error, Result};
use super::tables::*;
use super::{Db, OpenMode, Store, probe};

/// redb's own default is a gigabyte, which a long-running service fills and keeps; the tables of
/// a store of 100,000 requests take about a tenth of that.
pub const DEFAULT_CACHE_MIB: usize = 64;

static CACHE_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_CACHE_MIB << 20);

/// The page cache of every store opened from now on in this process (the config's
/// `[store] cache_mib`).
pub fn set_cache_size(bytes: usize) {
    CACHE_BYTES.store(bytes, Ordering::Relaxed);
}

/// The page cache, in bytes, that the next store opened in this process gets.
pub fn cache_size() -> usize {
    CACHE_BYTES.load(Ordering::Relaxed)
}

/// A builder with the cache size set, for every open of a store file.
pub(super) fn builder() -> redb::Builder {
    let mut builder = redb::Database::builder();
    builder.set_cache_size(cache_size());
    builder
}

/// One table: its entries, and the bytes its keys and values, its branch pages and its unused
/// page space take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    /// The table's name in the file.
    pub name: &'static str,
    /// How many keys it holds.
    pub entries: u64,
    /// Bytes of its keys and values.
    pub stored_bytes: u64,
    /// Bytes of its branch pages and other bookkeeping.
    pub metadata_bytes: u64,
    /// Bytes of its pages left unused, which `compact` gives back.
    pub fragmented_bytes: u64,
}

/// What `store info` reports: the file's schema and size, the cache it is read through, and each
/// table's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// The schema the file is written in (0 when it names none).
    pub schema: u32,
    /// The file's size on disk, in bytes.
    pub file_bytes: u64,
    /// The page cache this process opens stores with, in bytes.
    pub cache_bytes: usize,
    /// Every table, in the order `each_table` lists them.
    pub tables: Vec<TableInfo>,
}

/// The file's size before and after `compact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// The file's size before, in bytes.
    pub before: u64,
    /// The file's size after, in bytes.
    pub after: u64,
}

macro_rules! repack_all {
    ($txn:expr; $($field:ident $definition:ident),*) => {
        $(repack(&$txn, $definition)?;)*
    };
}

/// Copies a table in key order into a new one that takes its place. Records written in key order
/// fill their pages; records that arrived out of order (a recipient's notifications among
/// everyone's) or grew in place (a request decided) leave pages half empty, which compacting
/// alone cannot reclaim.
fn repack<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::WriteTransaction,
    definition: redb::TableDefinition<'static, K, V>,
) -> Result<()> {
    let name = format!("{}.repacked", definition.name());
    let packed = redb::TableDefinition::<K, V>::new(&name);
    {
        let from = txn.open_table(definition)?;
        let mut to = txn.open_table(packed)?;
        for entry in from.iter()? {
            let (key, value) = entry?;
            to.insert(key.value(), value.value())?;
        }
    }
    txn.delete_table(definition)?;
    txn.rename_table(packed, definition)?;
    Ok(())
}

macro_rules! info_all {
    ($tables:expr; $($field:ident $definition:ident),*) => {
        vec![$(table_info($definition.name(), &$tables.$field)?,)*]
    };
}

fn table_info(name: &'static str, table: &impl ReadableTableMetadata) -> Result<TableInfo> {
    let stats = table.stats()?;
    Ok(TableInfo {
        name,
        entries: table.len()?,
        stored_bytes: stats.stored_bytes(),
        metadata_bytes: stats.metadata_bytes(),
        fragmented_bytes: stats.fragmented_bytes(),
    })
}

impl<F: Family> Tables<F> {
    /// Every table, in the order `each_table` lists them.
    pub fn table_info(&self) -> Result<Vec<TableInfo>> {
        Ok(each_table!(info_all!(self)))
    }
}

impl Store {
    /// The file's schema, size and cache, and what each table holds and takes, from one snapshot.
    pub fn info(&self) -> Result<StoreInfo> {
        let tables = self.read()?;
        let file_bytes = std::fs::metadata(&self.path).map_err(|e| Error::Storage(e.to_string()))?.len();
        Ok(StoreInfo {
            schema: tables.schema_version()?.unwrap_or_default(),
            file_bytes,
            cache_bytes: cache_size(),
            tables: tables.table_info()?,
        })
    }

    /// Opens the store at `path` for itself alone (refused while anything else holds it), rewrites
    /// every table in key order in one transaction (all of it kept, or none), then moves the pages
    /// together until the file can shrink no further.
    pub fn compact(path: &Path) -> Result<Compacted> {
        let size =
            |path: &Path| std::fs::metadata(path).map(|m| m.len()).map_err(|e| Error::Storage(e.to_string()));
        let store = Store::open(path, OpenMode::Existing)?;
        let before = size(path)?;
        {
            let mut db = store.db.write().unwrap_or_else(|p| p.into_inner());
            let Db::Write(db) = &mut *db else {
                return Err(Error::Storage("the store was not opened for writing".into()));
            };
            // redb may panic on a damaged file; that must become an error, not a crash.
            let repacked = probe(|| -> Result<()> {
                let txn = db.begin_write()?;
                each_table!(repack_all!(txn));
                Ok(txn.commit()?)
            });
            match repacked {
                Ok(done) => done?,
                Err(_) => return Err(Error::Damaged("a page failed redb's checks while repacking".into())),
            }
            loop {
                match probe(|| db.compact()) {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => break,
                    Ok(Err(e)) => return Err(redb::Error::from(e).into()),
                    Err(_) => {
                        return Err(Error::Damaged("a page failed redb's checks while compacting".into()));
                    }
                }
            }
        }
        drop(store);
        Ok(Compacted { before, after: size(path)? })
    }
}
