//! Which backend a store URL names, for `kinko store copy`: in a module of its own so that the
//! copy (`copy.rs`) and its reading and writing (`snapshot.rs`) share it without importing each
//! other.

use super::error::CopyError;

/// A store URL's backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StoreKind {
    Sqlite,
    Postgres,
}

/// The backend of the store at `url`; refused unless it is an SQLite or PostgreSQL URL.
pub(super) fn backend(url: &str) -> Result<StoreKind, CopyError> {
    if url.starts_with("sqlite:") {
        Ok(StoreKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(StoreKind::Postgres)
    } else {
        // Only the scheme: the rest of a URL may hold a password.
        Err(CopyError::Refused(format!(
            "unsupported store URL scheme {:?}: use sqlite:// or postgres://",
            url.split_once(':').map_or("", |(scheme, _)| scheme)
        )))
    }
}
