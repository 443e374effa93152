//! The redb file: opening it safely, its tables, and typed reads and writes. Nothing above this
//! module names redb.

mod backend;
mod backup;
pub(crate) mod codec;
mod error;
pub(crate) mod files;
mod groups;
mod holder;
mod identity;
mod maintenance;
pub(crate) mod outbox;
pub(crate) mod read;
mod schema5;
mod tables;
mod write;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use redb::{Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase, StorageError};

use crate::domain::OpenMode;
pub use crate::domain::Page;
pub use backend::{compact, open, open_read_only};
pub use error::{Error, Result};
pub use holder::holder_pid;
pub use tables::{Read, Tables, Write};
pub use write::SCHEMA_VERSION;

/// One open store file: redb underneath, the engine's `Storage` on top (`store::backend`).
pub struct Store {
    /// Behind a lock so that the store thread can open the file again after a failed write.
    db: RwLock<Db>,
    path: PathBuf,
}

/// Read-write for the engine; read-only for queries that need no catching up, which spares the
/// fsyncs redb makes when a read-write file is opened and closed.
enum Db {
    Write(Database),
    Read(ReadOnlyDatabase),
    /// Let go of after a failure (`reopen`, `abandon`); every call answers with why.
    Gone(Error),
}

impl Store {
    /// Opens the store at `path` for reading and writing, checking that it is ours and a jitdesk
    /// store first and migrating an older schema; `OpenMode::Create` makes a new one when none is
    /// there.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store> {
        if !path.exists() {
            return match mode {
                OpenMode::Existing => Err(Error::Missing(path.to_path_buf())),
                OpenMode::Create => Store::create(path),
            };
        }
        files::check_owner(path)?;
        vet(path)?;
        // redb may panic on a file it did not write; that must become an error, not a crash.
        let db = match probe(|| maintenance::builder().open(path)) {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_error(path, e)),
            Err(_) => return Err(damaged(path)),
        };
        let store = Store { db: RwLock::new(Db::Write(db)), path: path.to_path_buf() };
        // Checked again: a file that needed crash recovery could not be vetted read-only.
        let txn = store.begin_read()?;
        let (found, lacks_tables) = (schema(path, &txn)?, tables::lacks_tables(&txn)?);
        drop(txn);
        if found < SCHEMA_VERSION {
            store.write_in(|txn, t| t.migrate(txn, found))?;
        } else if lacks_tables {
            // Tables added since the file was written start empty; opening them for writing makes them.
            store.write(|_| Ok::<_, Error>(()))?;
        }
        Ok(store)
    }

    /// A new store is built under a temporary name and appears under its own name only once its
    /// schema is committed, so an interrupted creation never leaves a file nothing can open. The
    /// file is its owner's alone from its first byte (sharing goes through the service), and so
    /// are the folders made for it.
    fn create(path: &Path) -> Result<Store> {
        let unreadable = |detail: String| Error::Unreadable { path: path.to_path_buf(), detail };
        let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(dir) => {
                files::create_private_dir(dir)
                    .map_err(|e| unreadable(format!("cannot create {}: {e}", dir.display())))?;
                dir
            }
            None => Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (file, partial) = files::create_private_temp(dir, &name)
            .map_err(|e| unreadable(format!("cannot create the new store in {}: {e}", dir.display())))?;
        let created = probe(|| {
            let backend = redb::backends::FileBackend::new(file)?;
            maintenance::builder().create_with_backend(backend)
        });
        let db = match created {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_error(path, e)),
            Err(_) => return Err(damaged(path)),
        };
        let store = Store { db: RwLock::new(Db::Write(db)), path: path.to_path_buf() };
        store.write(|t| t.set_schema_version())?;
        // A link, not a rename: if another process created the store meanwhile, theirs stays.
        let linked = std::fs::hard_link(&partial, path);
        drop(partial);
        match linked {
            Ok(()) => Ok(store),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                drop(store);
                Store::open(path, OpenMode::Existing)
            }
            Err(e) => Err(unreadable(format!("cannot create the store: {e}"))),
        }
    }

    /// Opens an existing store for reading only. None when the file needs crash recovery, which
    /// only a read-write open can do.
    pub fn open_read_only(path: &Path) -> Result<Option<Store>> {
        if !path.exists() {
            return Err(Error::Missing(path.to_path_buf()));
        }
        files::check_owner(path)?;
        let Some(db) = vet(path)? else { return Ok(None) };
        let store = Store { db: RwLock::new(Db::Read(db)), path: path.to_path_buf() };
        // An older store needs migrating, and one without this build's newer tables needs them
        // made, which only the read-write open does.
        let txn = store.begin_read()?;
        let current = schema(path, &txn)? == SCHEMA_VERSION && !tables::lacks_tables(&txn)?;
        drop(txn);
        Ok(current.then_some(store))
    }

    /// The path the store was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> RwLockReadGuard<'_, Db> {
        // Nothing panics while holding the lock for writing (`reopen` and `abandon` catch redb's
        // panics), so a poisoned lock still guards a whole `Db`.
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction> {
        Ok(match &*self.db() {
            Db::Write(db) => db.begin_read()?,
            Db::Read(db) => db.begin_read()?,
            Db::Gone(why) => return Err(why.clone()),
        })
    }

    /// One durable write transaction; nothing is kept unless `f` succeeds and the commit does.
    /// `f` may fail with its caller's own error (a refused rule), which the store's converts into.
    pub fn write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&mut Tables<Write<'_>>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_in(|_, tables| f(tables))
    }

    /// `write`, for work that also changes which tables there are (a migration).
    fn write_in<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction, &mut Tables<Write<'_>>) -> Result<T, E>,
    ) -> Result<T, E> {
        let db = self.db();
        let db = match &*db {
            Db::Write(db) => db,
            Db::Read(_) => return Err(Error::Storage("this store was opened for reading only".into()).into()),
            Db::Gone(why) => return Err(why.clone().into()),
        };
        let txn = db.begin_write().map_err(Error::from)?;
        let out = {
            let mut tables = Tables::<Write>::open(&txn)?;
            f(&txn, &mut tables)?
        };
        txn.commit().map_err(Error::from)?;
        Ok(out)
    }

    /// A consistent snapshot for queries; many may run beside the writer.
    pub fn read(&self) -> Result<Tables<Read>> {
        Tables::<Read>::open(&self.begin_read()?)
    }

    /// Closes the file and opens it again, for the store thread after a failed write: redb answers
    /// "Previous I/O error occurred" to everything after one, until it is opened again, which also
    /// recovers the file to its last commit. Until an attempt succeeds, every call answers why the
    /// store is closed: `why`, or what stopped it from opening again (the disk still full).
    pub fn reopen(&self, why: Error) -> Result<()> {
        let mut db = self.db.write().unwrap_or_else(|p| p.into_inner());
        if matches!(*db, Db::Read(_)) {
            return Ok(());
        }
        if let Db::Write(old) = std::mem::replace(&mut *db, Db::Gone(why)) {
            // After a failed write there is nothing left to save: the open recovers the last commit.
            if let Ok(Err(e)) = probe(|| old.close()) {
                tracing::info!("closing the store after a failed write: {e}");
            }
        }
        let path = &self.path;
        match probe(|| maintenance::builder().open(path)) {
            Ok(Ok(reopened)) => {
                *db = Db::Write(reopened);
                Ok(())
            }
            Ok(Err(e)) => {
                let e = Error::from(e);
                *db = Db::Gone(e.clone());
                Err(e)
            }
            Err(_) => {
                let e = Error::Damaged("opening it again after a failed write tripped redb's checks".into());
                *db = Db::Gone(e.clone());
                Err(e)
            }
        }
    }

    /// Lets go of a damaged store without closing it: closing writes redb's bookkeeping into the
    /// file, and the panic that found the damage may have poisoned redb's own locks, on which a
    /// close would panic again. The file stays as the last commit left it; its lock goes with the
    /// process. From now on every call answers `why`.
    pub fn abandon(&self, why: Error) {
        let mut db = self.db.write().unwrap_or_else(|p| p.into_inner());
        if let Db::Write(old) = std::mem::replace(&mut *db, Db::Gone(why)) {
            std::mem::forget(old);
        }
    }
}

/// Refuses a file that is not ours or is newer, through a read-only open so that a refused file
/// keeps every byte (a read-write open rewrites redb's bookkeeping even when nothing is written).
fn vet(path: &Path) -> Result<Option<ReadOnlyDatabase>> {
    match probe(|| maintenance::builder().open_read_only(path)) {
        Ok(Ok(db)) => schema(path, &db.begin_read()?).map(|_| Some(db)),
        // Needs crash recovery, which only a read-write open does; the schema is checked after it.
        Ok(Err(DatabaseError::RepairAborted)) => Ok(None),
        Ok(Err(e)) => Err(open_error(path, e)),
        Err(_) => Err(damaged(path)),
    }
}

thread_local! {
    static PROBING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is probing a file redb may panic on; a panic hook stays quiet then, because
/// the panic becomes a "damaged store" error.
pub fn probing() -> bool {
    PROBING.with(|p| p.get())
}

/// Runs work on the store, turning a panic inside redb (which it may do on a damaged file) into an
/// error that says so.
pub fn guarded<T, E: From<Error>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    probe(f).unwrap_or_else(|_| Err(Error::Damaged("a page failed redb's checks".into()).into()))
}

fn probe<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    // Probes nest (a guarded query may open the store), so the outer one's flag is restored.
    let outer = PROBING.with(|p| p.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    PROBING.with(|p| p.set(outer));
    result
}

fn damaged(path: &Path) -> Error {
    Error::Corrupt { path: path.to_path_buf(), detail: "its structure is damaged".into() }
}

/// The schema version written in the file, which must be one this build understands.
fn schema(path: &Path, txn: &redb::ReadTransaction) -> Result<u32> {
    let not_ours = |detail: &str| Error::Corrupt { path: path.to_path_buf(), detail: detail.to_string() };
    let found = match txn.open_table(tables::META) {
        Ok(meta) => meta.get("schema_version").map_err(|e| not_ours(&e.to_string()))?.map(|v| v.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(not_ours(&e.to_string())),
    };
    match found {
        None => Err(not_ours("it has no jitdesk schema")),
        Some(found) if found > SCHEMA_VERSION => {
            Err(Error::Newer { path: path.to_path_buf(), found, known: SCHEMA_VERSION })
        }
        Some(found) => Ok(found),
    }
}

fn open_error(path: &Path, e: DatabaseError) -> Error {
    let path_buf = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            Error::InUse { path: path_buf, holder: holder::describe(path) }
        }
        DatabaseError::Storage(StorageError::Io(io)) if error::is_disk_full(&io) => Error::DiskFull,
        DatabaseError::Storage(StorageError::Io(io))
            if !matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) =>
        {
            Error::Unreadable { path: path_buf, detail: io.to_string() }
        }
        DatabaseError::UpgradeRequired(v) => {
            Error::Corrupt { path: path_buf, detail: format!("it uses an old redb file format ({v})") }
        }
        other => Error::Corrupt { path: path_buf, detail: other.to_string() },
    }
}
