//! PostgreSQL as the engine's storage backend, for teams that run several `jitdesk serve`
//! replicas on one database; redb (`store`) stays the embedded default. It implements the same
//! storage interface (`engine::storage`) and passes the same conformance suite.
//!
//! What is supported of libpq's URL: host (a name, an address, or a Unix socket folder through
//! `?host=/path`), port, user, dbname, `connect_timeout` and `sslmode`: `disable` (never TLS),
//! `prefer` (the default: TLS when the server offers it, checked as for `require`) and
//! `require` (TLS or no connection, the server's certificate checked against `[store] ca_file`,
//! or else the web's usual roots). The password never comes from the URL: from
//! `[store] password_file`, or else PGPASSFILE / ~/.pgpass.

mod connect;
mod errors;
mod listener;
mod pgpass;
mod reads;
mod schema;
mod storage;
mod transaction;
mod writes;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::domain::OpenMode;
use crate::engine::StoreError;
use crate::engine::storage::Storage;

pub use schema::SCHEMA_VERSION;
pub use storage::{COMMITS_CHANNEL, Commit, PgStorage};

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

/// The settings every open uses: one process serves one configuration.
static SETTINGS: RwLock<Option<PgSettings>> = RwLock::new(None);

/// Makes these the settings of every database this process opens from now on.
pub fn configure(settings: PgSettings) {
    // A poisoned lock still holds whole settings: nothing panics while writing them.
    *SETTINGS.write().unwrap_or_else(|p| p.into_inner()) = Some(settings);
}

/// The settings `configure` gave, or the defaults.
fn settings() -> PgSettings {
    SETTINGS.read().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default()
}

/// Opens the database `url` names, creating jitdesk's schema when `mode` allows.
pub fn open(url: &str, mode: OpenMode) -> Result<Arc<dyn Storage>, StoreError> {
    Ok(Arc::new(PgStorage::open(url, mode)?))
}
