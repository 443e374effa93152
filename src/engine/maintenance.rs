//! The store file's upkeep, for `jitdesk store info` and `jitdesk store compact`: what it holds,
//! the cache it is opened with, and compacting it. Both work on the file itself rather than
//! through a running engine: compacting needs the file to itself, so a service must be stopped.

use std::path::Path;

use super::blocking;
use crate::store::{Result, Store};

pub use crate::store::{Compacted, DEFAULT_CACHE_MIB, StoreInfo, TableInfo, set_cache_size};

/// Schema, file size, cache and every table's entries and bytes; read-only unless the file needs
/// the repair or migration that every read-write open does.
pub async fn store_info(path: &Path) -> Result<StoreInfo> {
    let path = path.to_path_buf();
    blocking(move || match Store::open_read_only(&path)? {
        Some(store) => store.info(),
        None => Store::open(&path, crate::store::OpenMode::Existing)?.info(),
    })
    .await
}

/// Compacts the store; refused while a service, a dashboard or any other process holds it.
pub async fn compact(path: &Path) -> Result<Compacted> {
    let path = path.to_path_buf();
    blocking(move || Store::compact(&path)).await
}
