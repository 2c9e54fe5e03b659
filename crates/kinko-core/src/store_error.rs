//! Why a storage call failed: the one error type of the [`Store`](crate::Store) contract. A
//! leaf of its own, importing nothing of the crate, because the domain error (`error.rs`)
//! wraps it and the store contract (`store.rs`) returns it, and the contract imports the
//! domain types that import the domain error.

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or the call failed for a reason that may go away. Holds
    /// the backend's error as its source.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// A uniqueness rule or optimistic-concurrency check was violated (names what).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// A stored record could not be read back into a domain value.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// The cause of a [`StoreError::Unavailable`]: whatever error the backend met (core knows no SQL).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StoreError {
    /// Storage unavailable because of `cause` (a backend error, or a message where there is none).
    pub fn unavailable(cause: impl Into<BoxError>) -> StoreError {
        StoreError::Unavailable(cause.into())
    }
}
