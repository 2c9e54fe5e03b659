//! The SQL that is the same on SQLite and PostgreSQL, written once. [`SqlStore`] implements every
//! domain trait of [`kinko_core::Store`] over a [`Backend`], the small trait through which a
//! backend says what really differs: its pool, its audited write transaction, the layout of its
//! audit trail, and the job lock. `sqlite.rs` and `postgres.rs` implement [`Backend`]; the
//! statements live here, one file per domain.

mod accounts;
mod aliases;
mod audit;
mod bind;
mod columns;
mod console_sessions;
mod grants;
mod identity;
mod keys;
mod secrets;
mod settings;
mod tags;

use std::future::Future;

use kinko_core::{
    AuditAppend, AuditCursor, AuditDigest, AuditDraft, AuditEvent, AuditFilter, JobLock, StoreError,
};
use sqlx::{Database, Pool, Transaction};

pub(crate) use audit::{digest_insert, usage};
pub(crate) use bind::{Arg, Dialect, On, Stmt};

/// What a backend provides to the shared SQL.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// Its sqlx database.
    type Db: Dialect;
    /// An audited write transaction in progress (see [`Backend::begin`]).
    type Tx<'a>: Send
    where
        Self: 'a;

    /// Appended to a `SELECT` that reads a row the transaction is about to delete, so that a
    /// concurrent deleter waits for this one (PostgreSQL: `FOR UPDATE`). Empty where the write
    /// transaction already excludes other writers (SQLite).
    const LOCK_ROW: &'static str;

    /// The pool that runs single statements.
    fn pool(&self) -> &Pool<Self::Db>;

    /// The connection of a transaction.
    fn conn<'t>(tx: &'t mut Self::Tx<'_>) -> &'t mut <Self::Db as Database>::Connection;

    /// Begins a write transaction that will end with an audit event ([`Backend::commit`]).
    fn begin(&self) -> impl Future<Output = Result<Self::Tx<'_>, StoreError>> + Send;

    /// Appends the change's audit event in `tx` and commits both.
    fn commit<'a>(
        &'a self,
        tx: Self::Tx<'a>,
        audit: AuditAppend<'a>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a;

    /// Makes every audit event appended so far readable by the shared audit queries (SQLite
    /// folds its journal into the database).
    fn settle(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`kinko_core::AuditStore::append_audit`].
    fn append_audit<'a>(
        &'a self,
        chain: &'a str,
        drafts: &'a [AuditDraft],
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send + 'a;

    /// [`kinko_core::AuditStore::audit_events`].
    fn audit_events<'a>(
        &'a self,
        page: ChainPage<'a>,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send + 'a;

    /// [`kinko_core::AuditStore::query_audit`].
    fn query_audit<'a>(
        &'a self,
        page: AuditPage<'a>,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send + 'a;

    /// [`kinko_core::AuditStore::audit_hourly_counts`].
    fn audit_hourly_counts<'a>(
        &'a self,
        account: &'a kinko_core::AccountId,
        from: kinko_core::UnixMillis,
    ) -> impl Future<Output = Result<Vec<(i64, u64)>, StoreError>> + Send + 'a;

    /// [`kinko_core::AuditStore::prune_audit`].
    fn prune_audit<'a>(
        &'a self,
        anchor: &'a AuditDigest,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + 'a;

    /// [`kinko_core::SettingsStore::try_job_lock`].
    fn try_job_lock(
        &self,
    ) -> impl Future<Output = Result<Option<Box<dyn JobLock>>, StoreError>> + Send;
}

/// A page of one chain ([`kinko_core::AuditStore::audit_events`]): its events with
/// `seq > after_seq`, in chain order, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainPage<'a> {
    pub(crate) chain: &'a str,
    pub(crate) after_seq: i64,
    pub(crate) limit: usize,
}

/// A page of the audit trail ([`kinko_core::AuditStore::query_audit`]): the events matching
/// `filter`, newest first, strictly older than `before`, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditPage<'a> {
    pub(crate) filter: &'a AuditFilter,
    pub(crate) before: Option<&'a AuditCursor>,
    pub(crate) limit: usize,
}

/// A [`kinko_core::Store`] on a SQL backend: `SqliteStore` or `PgStore`.
#[derive(Debug, Clone)]
pub struct SqlStore<B>(pub(crate) B);

/// A row of a backend.
type Row<B> = <<B as Backend>::Db as Dialect>::Record;

pub(crate) fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::unavailable(e)
}

/// A failed write: [`StoreError::Conflict`] naming `what` if it broke a uniqueness rule.
pub(crate) fn write_error(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => unavailable(e),
    }
}

/// Begins a transaction on `pool` with `statement` (each backend's `BEGIN`).
pub(crate) async fn begin<DB: Database>(
    pool: &Pool<DB>,
    statement: &'static str,
) -> Result<Transaction<'static, DB>, StoreError> {
    pool.begin_with(statement).await.map_err(unavailable)
}

pub(crate) fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A count read back as `n`.
fn count(row: &impl crate::rows::Columns, table: &str) -> Result<usize, StoreError> {
    Ok(usize::try_from(row.int(table, "n")?).unwrap_or(0))
}

/// What the shared SQL does with a backend: run a statement on its pool, begin an audited write.
trait Run: Backend + Sized {
    /// Runs a statement on the pool; returns how many rows it changed.
    fn execute(&self, s: Stmt<'_>) -> impl Future<Output = Result<u64, StoreError>> + Send {
        async move {
            Self::Db::execute(On::Pool(self.pool()), s)
                .await
                .map_err(unavailable)
        }
    }

    /// Runs an insert on the pool; a uniqueness violation is a conflict on `what`.
    fn insert(
        &self,
        s: Stmt<'_>,
        what: &'static str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            Self::Db::execute(On::Pool(self.pool()), s)
                .await
                .map_err(|e| write_error(e, what))?;
            Ok(())
        }
    }

    fn fetch_optional(
        &self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Option<Row<Self>>, StoreError>> + Send {
        async move {
            Self::Db::fetch_optional(On::Pool(self.pool()), s)
                .await
                .map_err(unavailable)
        }
    }

    fn fetch_all(
        &self,
        s: Stmt<'_>,
    ) -> impl Future<Output = Result<Vec<Row<Self>>, StoreError>> + Send {
        async move {
            Self::Db::fetch_all(On::Pool(self.pool()), s)
                .await
                .map_err(unavailable)
        }
    }

    /// Runs a query on the pool; decodes its first row, if any.
    fn read_one<T: Send>(
        &self,
        s: Stmt<'_>,
        decode: fn(&Row<Self>) -> Result<T, StoreError>,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        async move {
            self.fetch_optional(s)
                .await?
                .as_ref()
                .map(decode)
                .transpose()
        }
    }

    /// Runs a query on the pool; decodes every row.
    fn read_all<T: Send>(
        &self,
        s: Stmt<'_>,
        decode: fn(&Row<Self>) -> Result<T, StoreError>,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send {
        async move { self.fetch_all(s).await?.iter().map(decode).collect() }
    }

    /// Begins an audited write.
    fn write(&self) -> impl Future<Output = Result<Write<'_, Self>, StoreError>> + Send {
        async move {
            Ok(Write {
                backend: self,
                tx: self.begin().await?,
            })
        }
    }
}

impl<B: Backend> Run for B {}

/// An audited write in progress: statements run in its transaction, and [`Write::commit`]
/// appends the audit event and commits. Dropped without a commit, it rolls back.
struct Write<'a, B: Backend> {
    backend: &'a B,
    tx: B::Tx<'a>,
}

impl<'a, B: Backend> Write<'a, B> {
    async fn execute(&mut self, s: Stmt<'_>) -> Result<u64, StoreError> {
        B::Db::execute(On::Conn(B::conn(&mut self.tx)), s)
            .await
            .map_err(unavailable)
    }

    async fn insert(&mut self, s: Stmt<'_>, what: &'static str) -> Result<(), StoreError> {
        B::Db::execute(On::Conn(B::conn(&mut self.tx)), s)
            .await
            .map_err(|e| write_error(e, what))?;
        Ok(())
    }

    async fn fetch_optional(&mut self, s: Stmt<'_>) -> Result<Option<Row<B>>, StoreError> {
        B::Db::fetch_optional(On::Conn(B::conn(&mut self.tx)), s)
            .await
            .map_err(unavailable)
    }

    async fn commit(self, audit: AuditAppend<'a>) -> Result<(), StoreError> {
        self.backend.commit(self.tx, audit).await
    }

    /// Commits with the audit event if `changed`, else rolls back without it; returns `changed`.
    async fn commit_if(self, changed: bool, audit: AuditAppend<'a>) -> Result<bool, StoreError> {
        if !changed {
            return Ok(false);
        }
        self.commit(audit).await.map(|()| true)
    }
}
