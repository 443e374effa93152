//! Looking after the file itself: what each table holds and takes, the page cache redb keeps in
//! memory, and giving back the space that rewritten and deleted records leave behind.

use redb::{ReadableTable, ReadableTableMetadata, TableHandle};

use super::error::{Error, Result};
use super::tables::*;
use std::path::Path;

use super::{Db, OpenMode, Store, probe};
use crate::engine::maintenance::{Compacted, StoreInfo, TableInfo, cache_size};

/// A builder with the cache size set, for every open of a store file.
pub(super) fn builder() -> redb::Builder {
    let mut builder = redb::Database::builder();
    builder.set_cache_size(cache_size());
    builder
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
    /// together until the file can shrink no further. The size after is the closed file's, since
    /// closing writes redb's bookkeeping into it.
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
