//! Whether opening may create a new store: a plain choice that the doors pass to the engine and
//! the engine to its storage backend. It lives here, below both, so that neither has to import
//! the other for it.

/// Whether opening may create a new store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Opens the store, creating a new one if none is at the path.
    Create,
    /// Opens only a store that exists; a missing one is an error.
    Existing,
}
