//! Reading a whole store and writing it into an empty one, for `kinko store copy`. The tables
//! are read and written by the same generic code on both backends; only the audit events differ
//! (SQLite: group-commit batches, PostgreSQL: one row per event).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use kinko_core::{AccountId, AuditEvent, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Connection, Postgres, Sqlite};

use super::backend::StoreKind;
use super::error::CopyError;
use super::tables::{TABLES, Table, Value, read_value};
use crate::audit_codec;
use crate::rows::Columns;
use crate::sql::{Dialect, On, Stmt, unavailable};

/// Rows per INSERT statement (well under both backends' bind-parameter limits).
const CHUNK: usize = 256;

/// Events per `audit_batches` row written to SQLite.
const SQLITE_BATCH: usize = 512;

/// The columns of an `audit_events` row (PostgreSQL).
const EVENT_COLUMNS: &str = "chain, seq, prev_hash, hash, event_id, request_id, event_time, \
     event_source, event_name, read_only, account, principal_arn, access_key_id, key_id, \
     source_key_id, error_code, record";

/// Everything read from the source.
pub(super) struct Snapshot {
    pub(super) tables: Vec<Vec<Vec<Value>>>,
    pub(super) events: Vec<AuditEvent>,
}

/// One open connection to either backend.
pub(super) enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

pub(super) async fn connect(url: &str, kind: StoreKind, create: bool) -> Result<Conn, CopyError> {
    let timeout = Duration::from_secs(10);
    Ok(match kind {
        StoreKind::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(unavailable)?
                .create_if_missing(create)
                .foreign_keys(true)
                .busy_timeout(timeout);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .connect_with(options)
                .await
                .map_err(unavailable)?;
            Conn::Sqlite(pool.acquire().await.map_err(unavailable)?)
        }
        StoreKind::Postgres => {
            let options = PgConnectOptions::from_str(url).map_err(unavailable)?;
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .connect_with(options)
                .await
                .map_err(unavailable)?;
            Conn::Postgres(pool.acquire().await.map_err(unavailable)?)
        }
    })
}

impl Conn {
    pub(super) async fn close(self) {
        let _ = match self {
            Conn::Sqlite(c) => c.detach().close().await,
            Conn::Postgres(c) => c.detach().close().await,
        };
    }

    /// The schema versions applied.
    pub(super) async fn applied_versions(&mut self) -> Result<Vec<i64>, StoreError> {
        match self {
            Conn::Sqlite(c) => applied_versions::<Sqlite>(c).await,
            Conn::Postgres(c) => applied_versions::<Postgres>(c).await,
        }
    }

    /// Rows in `table`.
    pub(super) async fn count(&mut self, table: &str) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(c) => count::<Sqlite>(c, table).await,
            Conn::Postgres(c) => count::<Postgres>(c, table).await,
        }
    }

    /// Every chain head: chain → (last sequence number, last hash).
    pub(super) async fn heads(&mut self) -> Result<BTreeMap<String, (i64, Vec<u8>)>, StoreError> {
        match self {
            Conn::Sqlite(c) => heads::<Sqlite>(c).await,
            Conn::Postgres(c) => heads::<Postgres>(c).await,
        }
    }

    /// The number of audit events, whatever the layout.
    pub(super) async fn count_events(&mut self) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(sqlite_events(c).await?.len() as u64),
            Conn::Postgres(c) => count::<Postgres>(c, "audit_events").await,
        }
    }

    /// Reads every table and event in one read-only transaction.
    pub(super) async fn read_snapshot(&mut self) -> Result<Snapshot, StoreError> {
        match self {
            Conn::Sqlite(c) => {
                let mut tx = c.begin().await.map_err(unavailable)?;
                let tables = read_tables::<Sqlite>(&mut *tx).await?;
                let events = sqlite_events(&mut tx).await?;
                tx.commit().await.map_err(unavailable)?;
                Ok(Snapshot { tables, events })
            }
            Conn::Postgres(c) => {
                let mut tx = c
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(unavailable)?;
                let tables = read_tables::<Postgres>(&mut *tx).await?;
                let s = Stmt::new(AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY chain, seq"
                )));
                let rows = Postgres::fetch_all(On::Conn(&mut *tx), s)
                    .await
                    .map_err(unavailable)?;
                let events = rows
                    .iter()
                    .map(crate::postgres_audit::event_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                tx.commit().await.map_err(unavailable)?;
                Ok(Snapshot { tables, events })
            }
        }
    }

    /// Writes the snapshot in one transaction, after checking the destination is empty.
    pub(super) async fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), CopyError> {
        self.check_empty().await?;
        match self {
            Conn::Sqlite(c) => {
                let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
                write_tables::<Sqlite>(&mut tx, &snapshot.tables).await?;
                write_sqlite_events(&mut tx, &snapshot.events).await?;
                tx.commit().await.map_err(unavailable)?;
            }
            Conn::Postgres(c) => {
                // Another copy or a node starting on this database at the same time makes one
                // of the two fail on a primary key instead of interleaving.
                let mut tx = c
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await
                    .map_err(unavailable)?;
                write_tables::<Postgres>(&mut tx, &snapshot.tables).await?;
                write_pg_events(&mut tx, &snapshot.events).await?;
                tx.commit().await.map_err(unavailable)?;
            }
        }
        Ok(())
    }

    /// Fails unless every table of the destination is empty.
    async fn check_empty(&mut self) -> Result<(), CopyError> {
        for table in TABLES {
            let n = self.count(table.name).await?;
            if n > 0 {
                return Err(CopyError::Refused(format!(
                    "the destination is not empty ({} holds {n} rows): copy into a new, empty database",
                    table.name
                )));
            }
        }
        if self.count_events().await? > 0 {
            return Err(CopyError::Refused(
                "the destination is not empty (it holds audit events): copy into a new, empty database"
                    .into(),
            ));
        }
        Ok(())
    }
}

async fn applied_versions<DB: Dialect>(conn: &mut DB::Connection) -> Result<Vec<i64>, StoreError> {
    let s = Stmt::new("SELECT version FROM schema_migrations ORDER BY version");
    let rows = DB::fetch_all(On::Conn(conn), s)
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| r.int("schema_migrations", "version"))
        .collect()
}

async fn count<DB: Dialect>(conn: &mut DB::Connection, table: &str) -> Result<u64, StoreError> {
    let s = Stmt::new(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")));
    let row = DB::fetch_optional(On::Conn(conn), s)
        .await
        .map_err(unavailable)?;
    match row {
        Some(r) => Ok(u64::try_from(r.int(table, "n")?).unwrap_or(0)),
        None => Ok(0),
    }
}

async fn heads<DB: Dialect>(
    conn: &mut DB::Connection,
) -> Result<BTreeMap<String, (i64, Vec<u8>)>, StoreError> {
    const T: &str = "audit_chains";
    let s = Stmt::new("SELECT chain, last_seq, last_hash FROM audit_chains");
    let rows = DB::fetch_all(On::Conn(conn), s)
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.text(T, "chain")?,
                (r.int(T, "last_seq")?, r.bytes(T, "last_hash")?),
            ))
        })
        .collect()
}

fn select(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order
    )
}

async fn read_tables<DB: Dialect>(
    conn: &mut DB::Connection,
) -> Result<Vec<Vec<Vec<Value>>>, StoreError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let s = Stmt::new(AssertSqlSafe(select(table)));
        let rows = DB::fetch_all(On::Conn(&mut *conn), s)
            .await
            .map_err(unavailable)?;
        let decoded = rows
            .iter()
            .map(|row| {
                table
                    .columns
                    .iter()
                    .map(|(column, kind)| read_value(row, table.name, column, *kind))
                    .collect()
            })
            .collect::<Result<Vec<Vec<Value>>, StoreError>>()?;
        tables.push(decoded);
    }
    Ok(tables)
}

/// `INSERT INTO table (columns) VALUES ($1, ..., $n), ...` for `rows` rows of `columns` values.
fn insert_sql(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for r in 0..rows {
        let placeholders: Vec<String> =
            (1..=width).map(|c| format!("${}", r * width + c)).collect();
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    sql
}

async fn write_tables<DB: Dialect>(
    conn: &mut DB::Connection,
    tables: &[Vec<Vec<Value>>],
) -> Result<(), StoreError> {
    for (table, rows) in TABLES.iter().zip(tables) {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        for chunk in rows.chunks(CHUNK) {
            let sql = insert_sql(table.name, &columns.join(", "), columns.len(), chunk.len());
            let mut s = Stmt::new(AssertSqlSafe(sql));
            for value in chunk.iter().flatten() {
                s = s.bind(value);
            }
            DB::execute(On::Conn(&mut *conn), s)
                .await
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Every audit event of a SQLite store, sorted by chain and sequence number.
async fn sqlite_events(conn: &mut SqliteConnection) -> Result<Vec<AuditEvent>, StoreError> {
    let s = Stmt::new("SELECT chain, events FROM audit_batches ORDER BY chain, first_seq");
    let batches = Sqlite::fetch_all(On::Conn(conn), s)
        .await
        .map_err(unavailable)?;
    let mut events = Vec::new();
    for row in &batches {
        let chain = row.text("audit_batches", "chain")?;
        let bytes = row.bytes("audit_batches", "events")?;
        events.extend(audit_codec::decode(&chain, &bytes)?);
    }
    events.sort_by(|a, b| (&a.chain, a.seq).cmp(&(&b.chain, b.seq)));
    Ok(events)
}

/// Writes events as `audit_batches` rows without `last_hash` and `key_usage`: the heads and usage
/// counts were copied as rows, so the batch triggers must not fold these events in again.
async fn write_sqlite_events(
    conn: &mut SqliteConnection,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    for chain_events in group_by_chain(events) {
        for batch in chain_events.chunks(SQLITE_BATCH) {
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                continue;
            };
            let min_time = batch.iter().map(|e| e.draft.time.0).min().unwrap_or(0);
            let max_time = batch.iter().map(|e| e.draft.time.0).max().unwrap_or(0);
            let s = Stmt::new(
                "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, \
                 events, last_hash, key_usage) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)",
            )
            .bind(&first.chain)
            .bind(first.seq)
            .bind(last.seq)
            .bind(min_time)
            .bind(max_time)
            .bind(audit_codec::encode(batch));
            Sqlite::execute(On::Conn(&mut *conn), s)
                .await
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Writes events as `audit_events` rows, their hashes as they are.
async fn write_pg_events(conn: &mut PgConnection, events: &[AuditEvent]) -> Result<(), StoreError> {
    for chunk in events.chunks(CHUNK) {
        let mut s = Stmt::new(AssertSqlSafe(insert_sql(
            "audit_events",
            EVENT_COLUMNS,
            17,
            chunk.len(),
        )));
        for e in chunk {
            let d = &e.draft;
            s = s
                .bind(&e.chain)
                .bind(e.seq)
                .bind(&e.prev_hash[..])
                .bind(&e.hash[..])
                .bind(&d.event_id)
                .bind(d.request_id.as_deref())
                .bind(d.time.0)
                .bind(&d.event_source)
                .bind(&d.event_name)
                .bind(d.read_only)
                .bind(d.account.as_ref().map(AccountId::as_str))
                .bind(d.principal_arn.as_deref())
                .bind(d.access_key_id.as_deref())
                .bind(d.key_id.map(|k| k.to_string()))
                .bind(d.source_key_id.map(|k| k.to_string()))
                .bind(d.error_code.as_deref())
                .bind(&d.record);
        }
        Postgres::execute(On::Conn(&mut *conn), s)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Runs of consecutive events of one chain (the input is sorted by chain, then sequence).
fn group_by_chain(events: &[AuditEvent]) -> Vec<&[AuditEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=events.len() {
        let boundary = match (events.get(i - 1), events.get(i)) {
            (Some(a), Some(b)) => a.chain != b.chain,
            _ => true,
        };
        if boundary {
            if let Some(run) = events.get(start..i) {
                out.push(run);
            }
            start = i;
        }
    }
    out
}
