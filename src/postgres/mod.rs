//! PostgreSQL as the engine's storage backend, for teams that run several `jitdesk serve`
//! replicas on one database; redb (`store`) stays the embedded default. It implements the same
//! storage interface (`engine::storage`) and passes the same conformance suite.

use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::OpenMode;
use crate::engine::StoreError;
use crate::engine::storage::Storage;

/// Whether a `--store` value names a PostgreSQL database rather than a redb file.
pub fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// How this process reaches PostgreSQL, beyond what the URL says (`[store]` in config.toml).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgSettings {
    /// The file holding the database password, readable by its owner alone; without it the
    /// password comes from PGPASSFILE (or ~/.pgpass), never from the command line.
    pub password_file: Option<PathBuf>,
    /// The CA that signed the database server's certificate, PEM, for `sslmode=require`.
    pub ca_file: Option<PathBuf>,
}

/// Makes these the settings of every database this process opens from now on.
pub fn configure(settings: PgSettings) {
    let _ = settings;
}

/// Opens the database `url` names, creating jitdesk's schema when `mode` allows.
pub fn open(url: &str, mode: OpenMode) -> Result<Arc<dyn Storage>, StoreError> {
    let _ = (url, mode);
    Err(StoreError::Storage("PostgreSQL storage is not built yet".into()))
}
