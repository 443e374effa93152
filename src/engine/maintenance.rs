//! The store's upkeep, for `jitdesk store info` and `jitdesk store compact`: what it holds, the
//! cache it is opened with, and compacting it, in the engine's terms; each backend answers them
//! through `Storage`. Both work on the store itself rather than through a running engine:
//! compacting needs the store to itself, so a service must be stopped.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::{OpenMode, Result, blocking, storage};

/// The page cache a store gets unless the config says otherwise: redb's own default is a
/// gigabyte, which a long-running service fills and keeps; the tables of a store of 100,000
/// requests take about a tenth of that.
pub const DEFAULT_CACHE_MIB: usize = 64;

static CACHE_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_CACHE_MIB << 20);

/// The page cache of every store opened from now on in this process (the config's
/// `[store] cache_mib`).
pub fn set_cache_size(bytes: usize) {
    CACHE_BYTES.store(bytes, Ordering::Relaxed);
}

/// The page cache, in bytes, that the next store opened in this process gets.
pub fn cache_size() -> usize {
    CACHE_BYTES.load(Ordering::Relaxed)
}

/// One table: its entries, and the bytes its keys and values, its bookkeeping and its unused
/// space take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    /// The table's name in the store.
    pub name: &'static str,
    /// How many keys it holds.
    pub entries: u64,
    /// Bytes of its keys and values.
    pub stored_bytes: u64,
    /// Bytes of its branch pages and other bookkeeping.
    pub metadata_bytes: u64,
    /// Bytes of its pages left unused, which `compact` gives back.
    pub fragmented_bytes: u64,
}

/// What `store info` reports: the store's schema and size, the cache it is read through, and each
/// table's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// The schema the store is written in (0 when it names none).
    pub schema: u32,
    /// The store's size on disk, in bytes.
    pub file_bytes: u64,
    /// The page cache this process opens stores with, in bytes.
    pub cache_bytes: usize,
    /// Every table, in the backend's order.
    pub tables: Vec<TableInfo>,
}

/// The store's size before and after `compact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// The size before, in bytes.
    pub before: u64,
    /// The size after, in bytes.
    pub after: u64,
}

/// Schema, size, cache and every table's entries and bytes; read-only unless the store needs
/// the repair or migration that every read-write open does.
pub async fn store_info(path: &Path) -> Result<StoreInfo> {
    let path = path.to_path_buf();
    blocking(move || match storage::open_read_only(&path)? {
        Some(storage) => storage.info(),
        None => storage::open(&path, OpenMode::Existing)?.info(),
    })
    .await
}

/// Compacts the store; refused while a service, a dashboard or any other process holds it.
pub async fn compact(path: &Path) -> Result<Compacted> {
    let path = path.to_path_buf();
    blocking(move || storage::compact(&path)).await
}
