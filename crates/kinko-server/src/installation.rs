//! An existing installation, opened for an offline command (`kinko audit ...`,
//! `kinko authz explain`) while its server may be running: its store, never created, and on
//! request its current root of trust. The commands themselves live in `kinko-audit` and
//! `authz_explain`; this is only how they get at the installation's configuration.

use std::sync::Arc;

use kinko_core::Store;
use kinko_crypto::RootKey;

use crate::root::{RootError, RootOptions};
use crate::{Config, DATABASE_FILE, OpenStore, StoreOpenError, open_store};

/// Opens the store of an existing installation (never creates one).
pub(crate) async fn open_existing(config: &Config) -> Result<OpenStore, StoreOpenError> {
    if config.store.is_none() && !config.data_dir.join(DATABASE_FILE).exists() {
        return Err(StoreOpenError::NoDatabase(config.data_dir.clone()));
    }
    open_store(config).await
}

/// Runs `command` on the store of the existing installation `config` names, then closes the
/// store (whether or not the command succeeded). The command's error type `E` must hold a
/// [`StoreOpenError`] too.
pub async fn with_installation<T, E: From<StoreOpenError>>(
    config: &Config,
    command: impl AsyncFnOnce(&dyn Store) -> Result<T, E>,
) -> Result<T, E> {
    let store = open_existing(config).await?;
    let result = command(&*store).await;
    store.close().await;
    result
}

/// Opens the current root of trust of the installation `config` names, whose store is `store`
/// (for an export, which signs with the audit signing key wrapped under it).
pub async fn open_current_root(
    config: &Config,
    store: &dyn Store,
    options: &RootOptions,
) -> Result<Arc<dyn RootKey>, RootError> {
    crate::root::open_current(&config.data_dir, store, options).await
}
