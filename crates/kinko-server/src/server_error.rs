//! Why a server could not start or stopped serving, and why an installation's store could not
//! be opened: each names the step, keeps the cause, and passes the root-of-trust and audit-key
//! errors through unchanged (their messages already say what to do).

use std::path::PathBuf;

use kinko_audit::SigningKeyError;
use kinko_core::StoreError;

use crate::files::{CredentialsError, FileError};
use crate::jobs::TEST_MODE_ENV;
use crate::root::RootError;

/// Why the store a configuration names could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreOpenError {
    /// The store URL has a scheme Kinko does not serve (only the scheme is shown: the rest of a
    /// URL may hold a password).
    #[error(
        "opening the store: unsupported store URL scheme {0:?}: use sqlite://, postgres:// or postgresql://"
    )]
    Scheme(String),
    /// The backend refused or failed.
    #[error("opening the store")]
    Open(#[source] StoreError),
    /// An offline command on a data directory with no database.
    #[error("{} holds no Kinko database", .0.display())]
    NoDatabase(PathBuf),
}

/// Why `kinko serve` could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// `insecure_test_clock` outside test mode.
    #[error(
        "insecure_test_clock lets anyone on this host move Kinko's clock (rotating and deleting keys early); it is refused outside test mode ({TEST_MODE_ENV}=1)"
    )]
    TestClockRefused,
    /// The data directory could not be created.
    #[error(transparent)]
    DataDir(#[from] FileError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreOpenError),
    /// The root of trust could not be opened or created.
    #[error(transparent)]
    Root(#[from] RootError),
    /// The audit signing key could not be loaded or created.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// The default account could not be created on first start.
    #[error("creating the default account")]
    DefaultAccount(#[source] kinko_core::Error),
    /// The first start's credentials file could not be written.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The change feed of a shared PostgreSQL database could not be read.
    #[error("following the change feed of other nodes")]
    ChangeFeed(#[source] StoreError),
    /// The listener could not start, or stopped with an error.
    #[error("serving")]
    Listener(#[source] crate::listener::ListenerError),
}
