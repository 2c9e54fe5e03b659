//! Why `kinko store copy` did not happen or did not check out: the error every step of the
//! copy returns, in a module of its own so that the copy (`copy.rs`) and its reading and
//! writing (`snapshot.rs`) share it without importing each other.

use kinko_core::StoreError;

/// Why a copy did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The copy was refused before anything was written (names why).
    #[error("{0}")]
    Refused(String),
    /// A store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The copy was written but does not match the source (names what differs).
    #[error("the copy does not match the source: {0}")]
    Mismatch(String),
}
