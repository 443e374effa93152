//! Whether opening may create a new store: a plain choice that the doors pass to the engine and
//! the engine to its storage backend. It lives here, below both, so that neither has to import
//! the other for it.

/// Whether opening may create a new store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Create,
    Existing,
}
