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
mod audit;
mod auth;
mod authz_explain;
mod changes;
mod cloudtrail;
mod compliance;
mod config;
mod console;
mod convert;
pub mod dev_tls;
mod dispatch;
mod errors;
mod explain;
mod facts;
mod files;
#[doc(hidden)]
pub mod fuzzing;
mod inflight;
mod installation;
mod jobs;
mod json;
mod key_kind;
mod kms;
pub mod listener;
mod markup;
pub mod metrics;
mod metrics_listener;
/// The Encrypt micro-bench (`kinko-bench micro`); not an API.
#[doc(hidden)]
pub mod microbench;
mod query;
pub mod quota;
mod readiness;
mod root;
mod secretsmanager;
mod server_error;
mod state;
mod util;

use std::sync::Arc;

use kinko_core::{Clock, Kms, NewAccessKey, Store, SystemClock};
use kinko_store::{PgStore, SqliteStore};

pub use admin::{AdminError, backup, copy_store, create_account, migrate_root, restore};
pub use app::{MAX_BODY_BYTES, router};
pub use auth::Authenticator;
pub use authz_explain::explain_installation;
pub use compliance::{
    ComplianceError, Report as ComplianceReport, compliance_installation,
    to_html_document as compliance_html, to_json as compliance_json,
};
pub use config::{
    Config, ConfigError, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_REGION, FileConfig,
};
pub use errors::ApiError;
pub use explain::{ExplainError, ExplainRequest, Explanation, explain};
pub use files::{CredentialsError, FileError};
pub use installation::{open_current_root, with_installation};
pub use jobs::{TEST_MODE_ENV, TestClock, run_once as run_scheduled_jobs, service_event};
pub use metrics::record_tls_handshake;
pub use metrics_listener::{MetricsError, serve_metrics};
pub use root::{Provider, RootError, RootOptions};
pub use server_error::{ServerError, StoreOpenError};
pub use state::AppState;

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
    store: OpenStore,
    signing_key: Arc<kinko_crypto::SigningKeyPair>,
    digest_every: std::time::Duration,
    retention: Option<std::time::Duration>,
    jobs_every: std::time::Duration,
    test_clock: Option<Arc<TestClock>>,
    listener: listener::ListenerSettings,
}

impl Server {
    /// Opens everything in `config` with the system clock.
    pub async fn open(config: &Config, root: &RootOptions) -> Result<Server, ServerError> {
        if !config.insecure_test_clock {
            return Self::open_with_clock(config, root, Arc::new(SystemClock)).await;
        }
        if std::env::var(TEST_MODE_ENV).as_deref() != Ok("1") {
            return Err(ServerError::TestClockRefused);
        }
        tracing::warn!(
            "insecure_test_clock: POST /insecure/clock moves time forward; end-to-end tests only"
        );
        let clock = Arc::new(TestClock::default());
        let mut server =
            Self::open_with_clocks(config, root, clock.clone(), Arc::new(SystemClock)).await?;
        server.test_clock = Some(clock);
        Ok(server)
    }

    /// Opens everything in `config` with a given clock (tests move time).
    pub async fn open_with_clock(
        config: &Config,
        root: &RootOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Server, ServerError> {
        Self::open_with_clocks(config, root, clock.clone(), clock).await
    }

    /// Opens everything with a service clock and a separate clock for SigV4 timestamps.
    async fn open_with_clocks(
        config: &Config,
        root: &RootOptions,
        clock: Arc<dyn Clock>,
        signature_clock: Arc<dyn Clock>,
    ) -> Result<Server, ServerError> {
        files::create_private_dir(&config.data_dir)?;
        let store = open_store(config).await?;
        let root = root::open_root(&config.data_dir, &*store, root).await?;
        tracing::info!(provider = root.provider(), root_id = %root.id(), "root of trust loaded");
        let store_dyn = store.shared();
        let signing_key =
            kinko_audit::load_signing_key(&*store, root.as_ref(), &config.data_dir).await?;
        let kms = Arc::new(
            Kms::new(store_dyn.clone(), root, clock).with_audit_chain(config.node_id.clone()),
        );
        let new_access_key = kms
            .ensure_default_account()
            .await
            .map_err(ServerError::DefaultAccount)?;
        if let Some(key) = &new_access_key {
            files::write_credentials(&config.data_dir.join(CREDENTIALS_FILE), key)?;
        }
        let sink = if config.insecure_audit_memory_sink {
            tracing::warn!(
                "insecure_audit_memory_sink: audit records of read-only requests are NOT written; benchmarks only"
            );
            audit::AuditSink::InsecureMemory
        } else {
            audit::AuditSink::Store(store_dyn)
        };
        let audit = audit::AuditWriter::spawn(sink, config.node_id.clone());
        let state = Arc::new(AppState {
            kms,
            auth: Authenticator::default(),
            audit,
            default_region: config.region.clone(),
            signature_clock,
            quotas: Arc::new(quota::Quotas::new(&config.quotas)),
            in_flight: inflight::InFlight::new(config.max_requests_in_flight),
            rotation_functions: Arc::new(config.rotation_functions.clone()),
            audit_public_key: signing_key.public_key(),
            audit_retention_days: config.audit_retention_days,
        });
        Ok(Server {
            state,
            new_access_key,
            store,
            signing_key,
            digest_every: std::time::Duration::from_secs(config.audit_digest_seconds),
            retention: config
                .audit_retention_days
                .map(|d| std::time::Duration::from_secs(u64::from(d) * 86_400)),
            jobs_every: std::time::Duration::from_secs(config.jobs_interval_seconds),
            test_clock: None,
            listener: config.listener.clone(),
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains requests, seals the audit
    /// chain, drops unwrapped material and closes the store.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let mut app = router(self.state.clone());
        let rotations: jobs::ExtraPass = {
            let state = self.state.clone();
            Arc::new(move || {
                let state = state.clone();
                Box::pin(async move {
                    secretsmanager::rotate_due(&state.kms, &state.rotation_functions).await;
                })
            })
        };
        if let Some(clock) = &self.test_clock {
            app = jobs::insecure_clock_routes(
                self.state.kms.clone(),
                clock.clone(),
                rotations.clone(),
            )
            .merge(app);
        }
        let scheduler = jobs::spawn(self.state.kms.clone(), self.jobs_every, rotations);
        let quota_upkeep = quota::spawn_upkeep(self.state.quotas.clone());
        // Several nodes share a PostgreSQL database: follow what the others change.
        let follower = match &self.store {
            OpenStore::Postgres(pg) => Some(
                changes::spawn(self.state.kms.clone(), pg.clone())
                    .await
                    .map_err(ServerError::ChangeFeed)?,
            ),
            OpenStore::Sqlite(_) => None,
        };
        let sealer = {
            let kms = self.state.kms.clone();
            let key = self.signing_key.clone();
            let every = self.digest_every;
            let retention = self.retention;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let store = kms.store().as_ref();
                    let now = kms.clock().now();
                    if let Err(e) = kinko_audit::seal(store, &key, kms.audit_chain(), now).await {
                        tracing::error!(error = %e, "sealing the audit chain failed");
                    }
                    if let Some(retention) = retention
                        && let Err(e) =
                            kinko_audit::prune(store, &key, kms.audit_chain(), now, retention).await
                    {
                        tracing::error!(error = %e, "pruning the audit trail failed");
                    }
                }
            })
        };
        // Stops accepting, then drains: every answered request's audit record was durable
        // before its response, so the writer holds nothing once this returns.
        listener::serve(listener, app, &self.listener, MAX_BODY_BYTES, shutdown)
            .await
            .map_err(ServerError::Listener)?;
        sealer.abort();
        scheduler.abort();
        quota_upkeep.abort();
        if let Some(follower) = follower {
            follower.abort();
        }
        let kms = &self.state.kms;
        if let Err(e) = kinko_audit::seal(
            kms.store().as_ref(),
            &self.signing_key,
            kms.audit_chain(),
            kms.clock().now(),
        )
        .await
        {
            tracing::error!(error = %e, "sealing the audit chain at shutdown failed");
        }
        self.state.kms.shutdown();
        self.store.close().await;
        Ok(())
    }
}

/// The store a command opened: the backend itself, for what only it does (closing; backups,
/// which are SQLite's), and through [`std::ops::Deref`] the [`Store`] everything else uses.
#[derive(Debug, Clone)]
pub(crate) enum OpenStore {
    /// The embedded SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, possibly shared with other nodes.
    Postgres(PgStore),
}

impl OpenStore {
    /// The store as the core holds it.
    pub(crate) fn shared(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(s) => Arc::new(s.clone()),
            OpenStore::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The SQLite store, if that is the backend.
    pub(crate) fn sqlite(&self) -> Option<&SqliteStore> {
        match self {
            OpenStore::Sqlite(s) => Some(s),
            OpenStore::Postgres(_) => None,
        }
    }

    /// Closes the store (SQLite: flushes the WAL; PostgreSQL: disconnects the pool).
    pub(crate) async fn close(&self) {
        match self {
            OpenStore::Sqlite(s) => s.close().await,
            OpenStore::Postgres(s) => s.close().await,
        }
    }
}

impl std::ops::Deref for OpenStore {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        match self {
            OpenStore::Sqlite(s) => s,
            OpenStore::Postgres(s) => s,
        }
    }
}

/// Whether a storage URL names a PostgreSQL database.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store `config` names: the embedded SQLite file by default, a `sqlite://` URL, or a
/// `postgres://` / `postgresql://` URL.
async fn open_store(config: &Config) -> Result<OpenStore, StoreOpenError> {
    match &config.store {
        None => SqliteStore::open(&config.data_dir.join(DATABASE_FILE))
            .await
            .map(OpenStore::Sqlite),
        Some(url) if url.starts_with("sqlite:") => {
            SqliteStore::open_url(url).await.map(OpenStore::Sqlite)
        }
        Some(url) if is_postgres_url(url) => PgStore::open(url).await.map(OpenStore::Postgres),
        // Only the scheme: the rest of a URL may hold a password.
        Some(url) => {
            return Err(StoreOpenError::Scheme(
                url.split_once(':')
                    .map_or("", |(scheme, _)| scheme)
                    .to_owned(),
            ));
        }
    }
    .map_err(StoreOpenError::Open)
}
