//! What a store read or write can fail with, sorted by what a caller can do about it: a file that
//! is missing, in use, not ours, newer, on a full disk, or damaged. Nothing here names a service or
//! a terminal: the engine wraps these, and each door words them for its own people.

use std::path::PathBuf;

use crate::domain::RuleError;

/// Why the store did not answer; each variant's message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A refusal of the domain's rules met while reading (a request id that names none); the
    /// engine lifts it into its own `Rule`, so it never reaches a caller as a storage error.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// No file at the path, and the caller did not ask for one to be created.
    #[error("no store at {}: create one with `jitdesk init` (or `jitdesk init --sample` for example data)", .0.display())]
    Missing(PathBuf),
    /// The file is locked by another open (a service, a dashboard, a running command).
    #[error("the store {} is in use by {holder}: close that first, or wait for it to finish", path.display())]
    InUse {
        /// The store file.
        path: PathBuf,
        /// Who holds it, as far as can be told: "another process (NAME, pid PID)".
        holder: String,
    },
    /// The file is not a jitdesk store this build can read; it is left as it is.
    #[error("{} is not a readable jitdesk store ({detail}); it was left untouched: restore it from a backup or use another --store", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What gave it away (damaged structure, another format, an old redb format).
        detail: String,
    },
    /// The file (or its folder) cannot be opened or created: permissions, an OS error, or a file
    /// someone else controls.
    #[error("{} cannot be opened: {detail}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why: the OS's error, or why the file is not trusted and what to do about it.
        detail: String,
    },
    /// The file was written by a newer build; it is left as it is.
    #[error("the store {} was written by a newer jitdesk (schema {found}, this build knows {known}); it was left untouched: upgrade jitdesk", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// The schema the file was written in.
        found: u32,
        /// The newest schema this build reads (`SCHEMA_VERSION`).
        known: u32,
    },
    /// The disk the store is on has no room left; the write that met it was not kept.
    #[error("the disk is full; nothing was changed: free some space on it, then try again")]
    DiskFull,
    /// The store's content fails redb's checks or ours: writing more could only make it worse.
    #[error("the store is damaged: {0}; restore it from a backup")]
    Damaged(String),
    /// Any other failure inside an open store: I/O, a failed commit.
    #[error("store failure: {0}")]
    Storage(String),
}

/// The store's answers: a value, or why not.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<redb::Error> for Error {
    /// Sorts redb's failures by what a caller can do about them. Nothing of redb's own wording that
    /// names a place in its source (a poisoned lock's location) is kept: it means nothing to a user.
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Io(io) if is_disk_full(&io) => Error::DiskFull,
            redb::Error::Io(io) => Error::Storage(format!("I/O error: {io}")),
            redb::Error::Corrupted(detail) => Error::Damaged(detail),
            redb::Error::LockPoisoned(_) => {
                Error::Damaged("an earlier failure inside the storage engine left it inconsistent".into())
            }
            redb::Error::PreviousIo => {
                Error::Storage("an earlier write failed, so the store must be opened again".into())
            }
            redb::Error::TableAlreadyOpen(table, _) => {
                Error::Storage(format!("the table {table} is already open"))
            }
            other => Error::Storage(other.to_string()),
        }
    }
}

/// ENOSPC, or EDQUOT for a user over their quota: both mean no room to write.
pub(super) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                redb::Error::from(e).into()
            }
        }
    )*};
}

storage_from!(
    redb::DatabaseError,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_failures_become_what_a_caller_can_act_on() {
        let full = redb::Error::Io(std::io::Error::from_raw_os_error(28));
        assert!(matches!(Error::from(full), Error::DiskFull));
        let quota = redb::Error::Io(std::io::Error::from_raw_os_error(122));
        assert!(matches!(Error::from(quota), Error::DiskFull));
        let corrupted = Error::from(redb::Error::Corrupted("bad page 7".into()));
        assert_eq!(corrupted.to_string(), "the store is damaged: bad page 7; restore it from a backup");
        let eio = Error::from(redb::Error::Io(std::io::Error::from_raw_os_error(5)));
        assert!(matches!(&eio, Error::Storage(m) if m.starts_with("I/O error")), "{eio:?}");
    }

    #[test]
    fn no_place_in_redbs_source_reaches_a_message() {
        let here = std::panic::Location::caller();
        let poisoned = Error::from(redb::Error::LockPoisoned(here)).to_string();
        assert!(poisoned.starts_with("the store is damaged: "), "{poisoned}");
        let open = Error::from(redb::Error::TableAlreadyOpen("requests".into(), here)).to_string();
        for message in [poisoned, open] {
            assert!(!message.contains(here.file()) && !message.contains(".rs"), "{message}");
            assert!(!message.contains("Poisoned"), "{message}");
        }
    }
}
