//! The redb file: opening it safely, its tables, and typed reads and writes. Nothing above this
//! module names redb.

mod codec;
mod error;
mod holder;
mod read;
mod tables;
mod write;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use redb::{Database, DatabaseError, ReadableDatabase, StorageError};

pub use error::{Error, Result};
pub use read::{Page, RequestFilter};
pub use tables::{Read, Tables, Write};
pub use write::SCHEMA_VERSION;

/// Whether opening may create a new store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Create,
    Existing,
}

pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store> {
        let exists = path.exists();
        if !exists && mode == OpenMode::Existing {
            return Err(Error::Missing(path.to_path_buf()));
        }
        if !exists && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Unreadable {
                path: path.to_path_buf(),
                detail: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        // redb may panic on a file it did not write; that must become an error, not a crash.
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let builder = Database::builder();
            if exists { builder.open(path) } else { builder.create(path) }
        }));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_error(path, e)),
            Err(_) => {
                return Err(Error::Corrupt { path: path.to_path_buf(), detail: "its structure is damaged".into() });
            }
        };
        let store = Store { db, path: path.to_path_buf() };
        store.check_schema(exists)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new file gets its tables and schema version; an existing one must be ours and not newer.
    fn check_schema(&self, existed: bool) -> Result<()> {
        let not_ours = |detail: &str| Error::Corrupt { path: self.path.clone(), detail: detail.to_string() };
        if existed {
            let txn = self.db.begin_read()?;
            let found = match txn.open_table(tables::META) {
                Ok(meta) => meta.get("schema_version")?.map(|v| v.value()),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(not_ours(&e.to_string())),
            };
            return match found {
                None => Err(not_ours("it has no jitdesk schema")),
                Some(found) if found > SCHEMA_VERSION => {
                    Err(Error::Newer { path: self.path.clone(), found, known: SCHEMA_VERSION })
                }
                Some(_) => {
                    Tables::<Read>::open(&txn).map_err(|e| not_ours(&e.to_string()))?;
                    Ok(())
                }
            };
        }
        self.write(|t| t.set_schema_version())
    }

    /// One durable write transaction; nothing is kept unless `f` succeeds and the commit does.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tables<Write<'_>>) -> Result<T>) -> Result<T> {
        let txn = self.db.begin_write()?;
        let out = {
            let mut tables = Tables::<Write>::open(&txn)?;
            f(&mut tables)?
        };
        txn.commit()?;
        Ok(out)
    }

    /// A consistent snapshot for queries; many may run beside the writer.
    pub fn read(&self) -> Result<Tables<Read>> {
        let txn = self.db.begin_read()?;
        Tables::<Read>::open(&txn)
    }
}

fn open_error(path: &Path, e: DatabaseError) -> Error {
    let path_buf = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            Error::InUse { path: path_buf, holder: holder::describe(path) }
        }
        DatabaseError::Storage(StorageError::Io(io)) if io.kind() != std::io::ErrorKind::InvalidData => {
            Error::Unreadable { path: path_buf, detail: io.to_string() }
        }
        DatabaseError::UpgradeRequired(v) => {
            Error::Corrupt { path: path_buf, detail: format!("it uses an old redb file format ({v})") }
        }
        other => Error::Corrupt { path: path_buf, detail: other.to_string() },
    }
}
