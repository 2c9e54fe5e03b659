//! The SQLite backend: one database file in the data directory, WAL journal, `synchronous=FULL`
//! so that an acknowledged write survives a power cut. What SQLite does differently from the
//! shared SQL (`sql/`): connecting and migrating, the audited write transaction (this process's
//! cache of chain heads, SQLite's write lock taken up front), and the audit trail, whose group
//! commits become durable in the journal (`sqlite_journal`) before they are folded into
//! `audit_batches`.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kinko_core::{
    AuditAppend, AuditDigest, AuditDraft, AuditEvent, JobLock, LocalJobLock, StoreError,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::migrate;
use crate::sql::{AuditPage, Backend, ChainPage, SqlStore, begin, unavailable};
use crate::sqlite_audit::{self, Head, append_in_tx};
use crate::sqlite_journal::Journal;

/// [`kinko_core::Store`] on SQLite.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// The SQLite side of [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    /// The one connection every write transaction (`BEGIN IMMEDIATE`) runs on. SQLite admits one
    /// writer at a time anyway; on one connection the writer's page cache stays valid from one
    /// commit to the next, where a pool connection found the database changed by another
    /// connection and read its pages again (issue #20: CreateKey on SQLite).
    writer: SqlitePool,
    /// Audit chain heads as last committed by this store. Every audit append holds this async
    /// lock from before its write transaction begins until its head is recorded here, so the
    /// cache is never stale and appends need not read the head back from SQLite. (SQLite
    /// serializes writers anyway; this is the one lock Kinko holds across an `.await`.)
    heads: Arc<tokio::sync::Mutex<HashMap<String, Head>>>,
    /// Where the group-commit writer's batches become durable (see `sqlite_journal`); `None` for
    /// an in-memory database and while another process owns the journal.
    journal: Option<Arc<Journal>>,
}

/// An audited write transaction: the audit-head lock, then SQLite's write lock.
pub struct AuditedTx<'a> {
    heads: tokio::sync::MutexGuard<'a, HashMap<String, Head>>,
    tx: Transaction<'static, Sqlite>,
}

fn options(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = options(SqliteConnectOptions::new().filename(path));
        Self::connect(options).await?.with_journal(path).await
    }

    /// Opens the database named by a `sqlite://` URL.
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        let options = options(SqliteConnectOptions::from_str(url).map_err(unavailable)?);
        let file = options.get_filename().to_path_buf();
        let store = Self::connect(options).await?;
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(store);
        }
        store.with_journal(&file).await
    }

    /// Opens the audit journal of the database at `path`, applying what it holds that the
    /// database does not (after a crash).
    async fn with_journal(mut self, path: &Path) -> Result<SqliteStore, StoreError> {
        self.0.journal = Journal::open(path, &self.0.writer).await?.map(Arc::new);
        Ok(self)
    }

    /// The audit journal's files beside the database at `db` (see `sqlite_journal`): a restore
    /// that puts another database in place removes them.
    pub fn journal_files(db: &Path) -> [std::path::PathBuf; 2] {
        crate::sqlite_journal::journal_paths(db)
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        // Migrate through a pool of one connection that is closed afterwards: connections that
        // prepared statements against the old schema must never serve queries on the new one.
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        {
            let mut conn = migrator.acquire().await.map_err(unavailable)?;
            migrate::run::<Sqlite>(&mut conn, migrate::SQLITE).await?;
            // A trail written before schema v9 becomes searchable from the index here, once.
            crate::audit_terms::index_pending(&mut conn).await?;
        }
        migrator.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(2)
            // An embedded file cannot drop a connection the way a network can: skip the ping
            // that would cost every transaction a round trip to SQLite's worker thread.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(SqlStore(SqliteBackend {
            pool,
            writer,
            heads: Arc::default(),
            journal: None,
        }))
    }

    /// Writes a consistent copy of the whole database to `path` (SQLite's `VACUUM INTO`), while
    /// other connections, including a running server's, keep reading and writing.
    pub async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::unavailable("backup path is not UTF-8"))?;
        self.0.fold().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.0.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Folds and retires the audit journal, then closes the pool (flushing the WAL on the last
    /// connection). A journal that cannot be folded stays on disk for the next open.
    pub async fn close(&self) {
        if let Some(journal) = &self.0.journal
            && journal.fold(&self.0.writer).await.is_ok()
        {
            journal.retire();
        }
        self.0.writer.close().await;
        self.0.pool.close().await;
    }
}

impl SqliteBackend {
    /// Writes the journal's pending batches to the database.
    async fn fold(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(journal) => journal.fold(&self.writer).await,
            None => Ok(()),
        }
    }

    /// A write transaction that takes SQLite's write lock up front, so that reading the audit
    /// chain head and appending to it cannot race another writer.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        begin(&self.writer, "BEGIN IMMEDIATE").await
    }
}

impl Backend for SqliteBackend {
    type Db = Sqlite;
    type Tx<'a> = AuditedTx<'a>;

    // `BEGIN IMMEDIATE` already keeps every other writer out.
    const LOCK_ROW: &'static str = "";

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn conn<'t>(tx: &'t mut AuditedTx<'_>) -> &'t mut SqliteConnection {
        &mut tx.tx
    }

    /// Takes the audit-head lock, folds the journal (so the change's event follows every event
    /// before it in the database), then takes SQLite's write lock: the order every audited write
    /// uses.
    async fn begin(&self) -> Result<AuditedTx<'_>, StoreError> {
        let heads = self.heads.lock().await;
        self.fold().await?;
        let tx = self.write_tx().await?;
        Ok(AuditedTx { heads, tx })
    }

    /// Appends the change's event, commits, and records the chain's new head.
    async fn commit<'a>(
        &'a self,
        mut t: AuditedTx<'a>,
        audit: AuditAppend<'a>,
    ) -> Result<(), StoreError> {
        let cached = t.heads.get(audit.chain).copied();
        let (_, head) = append_in_tx(
            &mut t.tx,
            audit.chain,
            std::slice::from_ref(audit.draft),
            cached,
        )
        .await?;
        match t.tx.commit().await {
            Ok(()) => {
                t.heads.insert(audit.chain.to_owned(), head);
                Ok(())
            }
            Err(e) => {
                t.heads.remove(audit.chain);
                Err(unavailable(e))
            }
        }
    }

    async fn settle(&self) -> Result<(), StoreError> {
        self.fold().await
    }

    async fn append_audit<'a>(
        &'a self,
        chain: &'a str,
        drafts: &'a [AuditDraft],
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut heads = self.heads.lock().await;
        let head = match heads.get(chain) {
            Some(h) => *h,
            None => sqlite_audit::read_head(&self.pool, chain).await?,
        };
        let (events, new_head) = kinko_core::chain_events(chain, head, drafts);
        if let Some(journal) = &self.journal {
            // A failed append changes nothing: the head stays, and the retry rewrites the spot.
            journal.append(chain, head, &events, new_head).await?;
            heads.insert(chain.to_owned(), new_head);
            drop(heads);
            if journal.should_schedule_fold() {
                let backend = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(crate::sqlite_journal::FOLD_DELAY).await;
                    // A failure leaves the batches pending; the next reader's fold reports it.
                    let _ = backend.fold().await;
                });
            }
            return Ok(events);
        }
        // One transaction: the batch row with its search terms, and through the row's triggers
        // the chain head and the usage counts.
        let written = async {
            let mut tx = self.write_tx().await?;
            sqlite_audit::insert_batch(&mut tx, chain, head, &events, new_head).await?;
            tx.commit().await.map_err(unavailable)
        };
        match written.await {
            Ok(()) => {
                heads.insert(chain.to_owned(), new_head);
                Ok(events)
            }
            Err(e) => {
                heads.remove(chain);
                Err(e)
            }
        }
    }

    async fn audit_events<'a>(
        &'a self,
        page: ChainPage<'a>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.fold().await?;
        sqlite_audit::events(&self.pool, page.chain, page.after_seq, page.limit).await
    }

    async fn query_audit<'a>(&'a self, page: AuditPage<'a>) -> Result<Vec<AuditEvent>, StoreError> {
        self.fold().await?;
        sqlite_audit::query(&self.pool, page).await
    }

    async fn audit_hourly_counts<'a>(
        &'a self,
        account: &'a kinko_core::AccountId,
        from: kinko_core::UnixMillis,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.fold().await?;
        sqlite_audit::hourly_counts(&self.pool, account, from).await
    }

    async fn prune_audit<'a>(&'a self, anchor: &'a AuditDigest) -> Result<u64, StoreError> {
        self.fold().await?;
        let mut tx = self.write_tx().await?;
        let n = sqlite_audit::prune(&mut tx, anchor).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n)
    }

    // One process at a time opens the file (the server holds it), so the lock is always granted.
    async fn try_job_lock(&self) -> Result<Option<Box<dyn JobLock>>, StoreError> {
        Ok(Some(Box::new(LocalJobLock)))
    }
}
