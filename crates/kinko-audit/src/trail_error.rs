//! The error of the commands that read and write the trail through the store (`query`, `tail`,
//! `seal`, `prune`, and `export`'s reads): which step failed, with the store's or the writer's
//! error as its cause.

use kinko_core::StoreError;

/// Why reading, sealing or printing the audit trail failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrailError {
    /// The store failed; `what` names the step (`reading chain heads`, `pruning`, ...).
    #[error("{what}")]
    Store {
        /// The step.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A record could not be written to the output (other than its reader going away).
    #[error("writing a record")]
    Write(#[source] std::io::Error),
}

impl TrailError {
    /// A `map_err` adapter naming the step a store call was for.
    pub(crate) fn store(what: &'static str) -> impl FnOnce(StoreError) -> TrailError {
        move |source| TrailError::Store { what, source }
    }
}
