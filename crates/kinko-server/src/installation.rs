//! An existing installation, opened for an offline command (`kinko audit ...`,
//! `kinko authz explain`) while its server may be running: its store, never created, and on
//! request its current root of trust. The commands themselves live in `kinko-audit` and
//! `authz_explain`; this is only how they get at the installation's configuration.

use std::sync::Arc;

use anyhow::bail;
use kinko_core::Store;
use kinko_crypto::RootKey;

use crate::root::RootOptions;
use crate::{Config, DATABASE_FILE, OpenStore, open_store};

/// Opens the store of an existing installation (never creates one).
pub(crate) async fn open_existing(config: &Config) -> anyhow::Result<OpenStore> {
    if config.store.is_none() && !config.data_dir.join(DATABASE_FILE).exists() {
        bail!("{} holds no Kinko database", config.data_dir.display());
    }
    open_store(config).await
}

/// Runs `command` on the store of the existing installation `config` names, then closes the
/// store (whether or not the command succeeded).
pub async fn with_installation<T>(
    config: &Config,
    command: impl AsyncFnOnce(&dyn Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
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
) -> anyhow::Result<Arc<dyn RootKey>> {
    crate::root::open_current(&config.data_dir, store, options).await
}
