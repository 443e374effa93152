//! Backups: every table of one read snapshot copied into a new redb file, so a backup is as
//! consistent as any query, taken beside a running writer, and opens like any store.

use std::fs::File;

use redb::backends::FileBackend;
use redb::{Database, Key, ReadableTable, Value};

use super::error::Result;
use super::tables::{Read, Tables, Write, each_table};

macro_rules! copy_all {
    ($from:expr, $to:expr; $($field:ident $definition:ident),*) => {
        $(copy(&$from.$field, &mut $to.$field)?;)*
    };
}

impl Tables<Read> {
    /// Writes this snapshot into `file`, which must be empty, as a store of its own; the copy is
    /// durable when this returns.
    pub fn copy_into(&self, file: File) -> Result<()> {
        let db = Database::builder().create_with_backend(FileBackend::new(file)?)?;
        let txn = db.begin_write()?;
        {
            let mut to = Tables::<Write>::open(&txn)?;
            each_table!(copy_all!(self, to));
        }
        txn.commit()?;
        Ok(db.close()?)
    }
}

fn copy<K: Key + 'static, V: Value + 'static>(
    from: &impl ReadableTable<K, V>,
    to: &mut redb::Table<'_, K, V>,
) -> Result<()> {
    for entry in from.iter()? {
        let (key, value) = entry?;
        to.insert(key.value(), value.value())?;
    }
    Ok(())
}
