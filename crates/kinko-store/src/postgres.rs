//! The PostgreSQL backend: one database that several Kinko nodes share.
//!
//! Every method is one transaction at READ COMMITTED (set explicitly, whatever the server's
//! default), so that a conditional `UPDATE ... WHERE version = $n` that waited for another
//! node's commit re-checks its condition against that commit and reports a [`StoreError::Conflict`]
//! instead of a serialization failure. Audited changes append their event in the same
//! transaction (see [`crate::postgres_audit`] for how appends to one chain are serialized across
//! nodes). What PostgreSQL does differently from the shared SQL (`sql/`): connecting, migrating
//! one node at a time under an advisory lock, the audit trail's layout, the change feed and the
//! job lock.

use std::str::FromStr;
use std::time::Duration;

use kinko_core::{AuditAppend, AuditDigest, AuditDraft, AuditEvent, JobLock, StoreError};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};

use crate::migrate;
use crate::postgres_audit;
use crate::postgres_changes::{ChangeFeed, ChangeListener, PgJobLock};
use crate::sql::{AuditPage, Backend, ChainPage, SqlStore, begin, unavailable};

/// Key of the session-level advisory lock that serializes migrations of nodes starting at once
/// (an arbitrary constant: "kinko-mg" in ASCII).
const MIGRATION_LOCK: i64 = 0x6b69_6e6b_6f2d_6d67;

/// How long opening waits for the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a call waits for a working pooled connection before it fails as `Unavailable`
/// (HTTP 500 DependencyTimeoutException): while the database is unreachable, requests fail after
/// this long instead of hanging, and the pool reconnects by itself once it is back.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How every transaction begins (see the module documentation).
const READ_COMMITTED: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// [`kinko_core::Store`] on PostgreSQL.
pub type PgStore = SqlStore<PgBackend>;

/// The PostgreSQL side of [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgBackend {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database named by a `postgres://` or `postgresql://` URL (TLS as its
    /// `sslmode` says) and runs pending migrations, one node at a time.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        migrate(&options).await?;
        // The pool connects after migrating, so that no pooled connection has prepared a
        // statement against the old schema.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(SqlStore(PgBackend { pool }))
    }

    /// A reader of the change feed (what other nodes changed), positioned at its end: a node
    /// starting with empty caches has nothing older to forget.
    pub async fn change_feed(&self) -> Result<ChangeFeed, StoreError> {
        ChangeFeed::start(self.0.pool.clone()).await
    }

    /// A connection listening for change notifications (each one: poll the feed now).
    pub async fn listen_changes(&self) -> Result<ChangeListener, StoreError> {
        ChangeListener::start(&self.0.pool).await
    }

    /// Closes the pool: waits for calls in flight, then disconnects.
    pub async fn close(&self) {
        self.0.pool.close().await;
    }
}

/// Runs pending migrations on a connection of its own, under an advisory lock: nodes that start
/// at once migrate one after the other, and the later ones find nothing left to do.
async fn migrate(options: &PgConnectOptions) -> Result<(), StoreError> {
    // Without the NOTICE that `CREATE TABLE IF NOT EXISTS` raises on every start.
    let options = options
        .clone()
        .options([("client_min_messages", "warning")]);
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            StoreError::unavailable(format!(
                "no connection to PostgreSQL within {}s",
                CONNECT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(unavailable)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut conn)
        .await
        .map_err(unavailable)?;
    let migrated = migrate::run::<Postgres>(&mut conn, migrate::POSTGRES).await;
    // Closing the session releases the lock too; unlocking first lets the next node in without
    // waiting for the server to notice the disconnect.
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    migrated?;
    unlocked.map_err(unavailable)?;
    Ok(())
}

impl Backend for PgBackend {
    type Db = Postgres;
    type Tx<'a> = Transaction<'static, Postgres>;

    // A second deleter of the same key (another node) waits on the row, then finds it gone.
    const LOCK_ROW: &'static str = " FOR UPDATE";

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn conn<'t>(tx: &'t mut Transaction<'static, Postgres>) -> &'t mut PgConnection {
        tx
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        begin(&self.pool, READ_COMMITTED).await
    }

    /// Appends the change's event to its chain in `tx` and commits both.
    async fn commit<'a>(
        &'a self,
        mut tx: Transaction<'static, Postgres>,
        audit: AuditAppend<'a>,
    ) -> Result<(), StoreError> {
        postgres_audit::append_in_tx(&mut tx, audit.chain, std::slice::from_ref(audit.draft))
            .await?;
        tx.commit().await.map_err(unavailable)
    }

    // Every append commits before it returns: nothing to settle.
    async fn settle(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn append_audit<'a>(
        &'a self,
        chain: &'a str,
        drafts: &'a [AuditDraft],
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut tx = begin(&self.pool, READ_COMMITTED).await?;
        let events = postgres_audit::append_in_tx(&mut tx, chain, drafts).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(events)
    }

    async fn audit_events<'a>(
        &'a self,
        page: ChainPage<'a>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        postgres_audit::events(&self.pool, page.chain, page.after_seq, page.limit).await
    }

    async fn query_audit<'a>(&'a self, page: AuditPage<'a>) -> Result<Vec<AuditEvent>, StoreError> {
        postgres_audit::query(&self.pool, page).await
    }

    async fn audit_hourly_counts<'a>(
        &'a self,
        account: &'a kinko_core::AccountId,
        from: kinko_core::UnixMillis,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        postgres_audit::hourly_counts(&self.pool, account, from).await
    }

    async fn prune_audit<'a>(&'a self, anchor: &'a AuditDigest) -> Result<u64, StoreError> {
        let mut tx = begin(&self.pool, READ_COMMITTED).await?;
        let n = postgres_audit::prune(&mut tx, anchor).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n)
    }

    async fn try_job_lock(&self) -> Result<Option<Box<dyn JobLock>>, StoreError> {
        Ok(PgJobLock::try_take(&self.pool)
            .await?
            .map(|lock| Box::new(lock) as Box<dyn JobLock>))
    }
}
