//! The error every engine call can return: a refused rule, or a problem with the store file.

use std::path::PathBuf;

use crate::domain::{ErrorKind, RuleError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Rule(#[from] RuleError),
    #[error("no store at {}: create one with `jitdesk init` (or `jitdesk init --sample` for example data)", .0.display())]
    Missing(PathBuf),
    #[error("the store {} is in use by {holder}: close that first, or wait for it to finish", path.display())]
    InUse { path: PathBuf, holder: String },
    #[error("{} is not a readable jitdesk store ({detail}); it was left untouched: restore it from a backup or use another --store", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{} cannot be opened: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
    #[error("the store {} was written by a newer jitdesk (schema {found}, this build knows {known}); it was left untouched: upgrade jitdesk", path.display())]
    Newer { path: PathBuf, found: u32, known: u32 },
    /// A failure inside an open store: I/O, a damaged record, a failed commit.
    #[error("store failure: {0}")]
    Storage(String),
    #[error("the engine has stopped")]
    Closed,
    /// Trouble reaching or using a shared service (`jitdesk serve`): it went away, did not answer in
    /// time, or had trouble with its store. The message is whole and says what to do.
    #[error("{0}")]
    Service(String),
    /// A shared service could not be reached at all, so nothing was sent to it.
    #[error("{0}")]
    Unreachable(String),
}

impl Error {
    /// The rule's kind when a rule refused; None for store trouble.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Rule(rule) => Some(rule.kind),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Storage(e.to_string())
            }
        }
    )*};
}

storage_from!(redb::Error, redb::StorageError, redb::TableError, redb::TransactionError, redb::CommitError);
