//! The store file's upkeep, for `jitdesk store info` and `jitdesk store compact`: what it holds,
//! the cache it is opened with, and compacting it. Both work on the file itself rather than
//! through a running engine: compacting needs the file to itself, so a service must be stopped.

use std::path::Path;

use super::{OpenMode, Result, blocking};
use crate::store::Store;

pub use crate::store::{Compacted, DEFAULT_CACHE_MIB, StoreInfo, TableInfo, set_cache_size};

/// Schema, file size, cache and every table's entries and bytes; read-only unless the file needs
/// the repair or migration that every read-write open does.
pub async fn store_info(path: &Path) -> Result<StoreInfo> {
    let path = path.to_path_buf();
    blocking(move || {
        let info = match Store::open_read_only(&path)? {
            Some(store) => store.info(),
            None => Store::open(&path, OpenMode::Existing)?.info(),
        };
        Ok(info?)
    })
    .await
}

/// Compacts the store; refused while a service, a dashboard or any other process holds it.
pub async fn compact(path: &Path) -> Result<Compacted> {
    let path = path.to_path_buf();
    blocking(move || Ok(Store::compact(&path)?)).await
}
