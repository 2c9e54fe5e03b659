//! `kinko-server` is Kinko's composition root and transport: it loads the configuration, opens
//! the store, loads the root of trust, builds [`kinko_core::Kms`], and serves the AWS protocols
//! over HTTP with SigV4 authentication.
//!
//! Invariants:
//! - Only this crate knows HTTP, axum, SigV4 and AWS field names.
//! - Every domain error reaches the wire through `errors::from_core`, one exhaustive `match`.
//! - Nothing here logs request or response bodies.

mod admin;
mod app;
mod auth;
mod config;
mod convert;
mod errors;
mod protocol;
mod root;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use kinko_core::{Clock, Kms, NewAccessKey, Store, SystemClock};
use kinko_store::SqliteStore;

pub use admin::{backup, migrate_root, restore};
pub use app::{AppState, MAX_BODY_BYTES, router};
pub use auth::Authenticator;
pub use config::{Config, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_REGION, FileConfig};
pub use errors::ApiError;
pub use root::{Provider, RootOptions};

/// Name of the credentials file written on first start.
pub const CREDENTIALS_FILE: &str = "credentials";
/// Name of the embedded database file in the data directory.
pub const DATABASE_FILE: &str = "kinko.db";

/// An initialised server, not yet listening.
#[derive(Debug)]
pub struct Server {
    /// The shared state the router serves.
    pub state: Arc<AppState>,
    /// The access key created on this start, if this was the first start.
    pub new_access_key: Option<NewAccessKey>,
    store: SqliteStore,
}

impl Server {
    /// Opens everything in `config` with the system clock.
    pub async fn open(config: &Config, root: &RootOptions) -> anyhow::Result<Server> {
        Self::open_with_clock(config, root, Arc::new(SystemClock)).await
    }

    /// Opens everything in `config` with a given clock (tests move time).
    pub async fn open_with_clock(
        config: &Config,
        root: &RootOptions,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Server> {
        create_private_dir(&config.data_dir)?;
        let store = open_store(config).await?;
        let root = root::open_root(&config.data_dir, &store, root).await?;
        tracing::info!(provider = root.provider(), root_id = %root.id(), "root of trust loaded");
        let store_dyn: Arc<dyn Store> = Arc::new(store.clone());
        let kms = Arc::new(Kms::new(store_dyn, root, clock));
        let new_access_key = kms
            .ensure_default_account()
            .await
            .context("creating the default account")?;
        if let Some(key) = &new_access_key {
            write_credentials(&config.data_dir.join(CREDENTIALS_FILE), key)?;
        }
        let state = Arc::new(AppState {
            kms,
            auth: Authenticator::default(),
        });
        Ok(Server {
            state,
            new_access_key,
            store,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains requests, drops unwrapped
    /// material and closes the store.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state.clone());
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")?;
        self.state.kms.shutdown();
        self.store.close().await;
        Ok(())
    }
}

/// Opens the store `config` names (the embedded SQLite file by default).
async fn open_store(config: &Config) -> anyhow::Result<SqliteStore> {
    match &config.store {
        None => SqliteStore::open(&config.data_dir.join(DATABASE_FILE)).await,
        Some(url) if url.starts_with("sqlite:") => SqliteStore::open_url(url).await,
        Some(url) => bail!("unsupported store URL {url:?}: this build supports sqlite:// only"),
    }
    .context("opening the store")
}

pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))
}

/// Writes the AWS shared-credentials file (profile `default`, mode 0600), replacing an old one.
fn write_credentials(path: &Path, key: &NewAccessKey) -> anyhow::Result<()> {
    let secret =
        std::str::from_utf8(key.secret.expose()).context("secret access key is not text")?;
    let text = kinko_crypto::SecretBytes::new(
        format!(
            "# Kinko credentials for {} (account {}).\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.principal_arn, key.account, key.id, secret
        )
        .into_bytes(),
    );
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    root::write_private(&tmp, text.expose())?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
