//! `kinko store copy`: an exact logical copy of one store into another, across backends
//! (SQLite → PostgreSQL to move an installation to a shared database, and back, or within one).
//!
//! Every table is copied row for row: accounts, access keys, keys, key materials (wrapped bytes
//! and root ids as stored: nothing is unwrapped), aliases, tags, grants, import parameters, settings (root
//! records, the wrapped audit signing key), and the audit trail (chain heads, events, digests,
//! usage counts). The audit events are the one table laid out differently per backend — SQLite
//! keeps a group commit per `audit_batches` row (`audit_codec`), PostgreSQL one `audit_events`
//! row per event — so they go through [`kinko_core::AuditEvent`]; their hashes are copied, never
//! recomputed, so the chains verify on the copy exactly as on the original.
//!
//! Rules: the source must be at this binary's schema version (no pending migrations: start the
//! current `kinko serve` on it once, or copy with the binary that wrote it); the destination is
//! migrated first and must then be empty; the whole copy is one transaction on the destination, so
//! a failed copy leaves it empty; the source is read in one read-only transaction (a consistent
//! snapshot — still, stop the server first: writes made after the snapshot are not copied).
//! Afterwards the copy is checked: row counts per table and every chain head equal.
//!
//! The root of trust is not in the store (file, passphrase and PKCS#11 providers keep it
//! elsewhere); the copy must be served with the same root.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use kinko_core::{AuditDraft, AuditEvent, StoreError, UnixMillis};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Postgres, QueryBuilder, Row, Sqlite};

use crate::rows::{Columns, corrupt};
use crate::{PgStore, SqliteStore, audit_codec, migrate};

/// Why a copy did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The copy was refused before anything was written (names why).
    #[error("{0}")]
    Refused(String),
    /// A store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The copy was written but does not match the source (names what differs).
    #[error("the copy does not match the source: {0}")]
    Mismatch(String),
}

/// What was copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows per table, in copy order; the audit events under `audit_events` whatever the layout.
    pub tables: Vec<(&'static str, u64)>,
    /// Every audit chain's head: (chain, last sequence number).
    pub chains: Vec<(String, i64)>,
}

/// How a column is typed (the same in both schemas, up to representation).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    OptText,
    Int,
    OptInt,
    Bytes,
    Flag,
}

/// A table copied column for column.
struct Table {
    name: &'static str,
    order: &'static str,
    columns: &'static [(&'static str, Kind)],
}

use Kind::{Bytes, Flag, Int, OptInt, OptText, Text};

/// Every table but the audit events, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        order: "id",
        columns: &[("id", Text), ("created_at", Int)],
    },
    Table {
        name: "access_keys",
        order: "id",
        columns: &[
            ("id", Text),
            ("account", Text),
            ("principal_arn", Text),
            ("wrapped_secret", Bytes),
            ("active", Flag),
            ("created_at", Int),
            ("root_id", Text),
        ],
    },
    Table {
        name: "iam_users",
        order: "account, name_key",
        columns: &[
            ("account", Text),
            ("name_key", Text),
            ("name", Text),
            ("path", Text),
            ("id", Text),
            ("arn", Text),
            ("created_at", Int),
            ("tags", Text),
        ],
    },
    Table {
        name: "iam_roles",
        order: "account, name_key",
        columns: &[
            ("account", Text),
            ("name_key", Text),
            ("name", Text),
            ("path", Text),
            ("id", Text),
            ("arn", Text),
            ("trust_policy", Text),
            ("description", Text),
            ("max_session_duration", Int),
            ("created_at", Int),
            ("tags", Text),
        ],
    },
    Table {
        name: "iam_inline_policies",
        order: "account, owner_kind, owner_key, name",
        columns: &[
            ("account", Text),
            ("owner_kind", Text),
            ("owner_key", Text),
            ("owner_name", Text),
            ("name", Text),
            ("document", Text),
        ],
    },
    Table {
        name: "sts_sessions",
        order: "access_key_id",
        columns: &[
            ("access_key_id", Text),
            ("account", Text),
            ("principal_arn", Text),
            ("role_arn", Text),
            ("wrapped_secret", Bytes),
            ("root_id", Text),
            ("token_hash", Bytes),
            ("created_at", Int),
            ("expires_at", Int),
            ("role_id", Text),
        ],
    },
    Table {
        name: "keys",
        order: "id",
        columns: &[
            ("id", Text),
            ("account", Text),
            ("region", Text),
            ("created_at", Int),
            ("description", Text),
            ("spec", Text),
            ("usage", Text),
            ("origin", Text),
            ("state", Text),
            ("deletion_date", OptInt),
            ("pending_window_days", OptInt),
            ("current_material", Text),
            ("policy", Text),
            ("version", Int),
            ("rotation_period_days", OptInt),
            ("next_rotation", OptInt),
            ("on_demand_rotations", Int),
            ("valid_to", OptInt),
            ("expiration_model", OptText),
        ],
    },
    Table {
        name: "key_materials",
        order: "key_id, material_id",
        columns: &[
            ("key_id", Text),
            ("material_id", Text),
            ("wrapped", Bytes),
            ("created_at", Int),
            ("root_id", Text),
            ("rotation_type", OptText),
            ("description", Text),
            ("valid_to", OptInt),
            ("expiration_model", OptText),
            ("pending_rotation", Flag),
            ("fingerprint", OptText),
        ],
    },
    Table {
        name: "aliases",
        order: "account, region, name",
        columns: &[
            ("account", Text),
            ("region", Text),
            ("name", Text),
            ("target", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    Table {
        name: "tags",
        order: "key_id, tag_key",
        columns: &[("key_id", Text), ("tag_key", Text), ("tag_value", Text)],
    },
    Table {
        name: "grants",
        order: "grant_id",
        columns: &[
            ("grant_id", Text),
            ("key_id", Text),
            ("account", Text),
            ("region", Text),
            ("name", OptText),
            ("grantee_principal", Text),
            ("retiring_principal", OptText),
            ("operations", Text),
            ("encryption_context_equals", OptText),
            ("encryption_context_subset", OptText),
            ("issuing_account", Text),
            ("created_at", Int),
        ],
    },
    Table {
        name: "import_parameters",
        order: "token_id",
        columns: &[
            ("token_id", Text),
            ("key_id", Text),
            ("wrapping_algorithm", Text),
            ("wrapping_key_spec", Text),
            ("wrapped_private_key", Bytes),
            ("root_id", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    },
    Table {
        name: "settings",
        order: "name",
        columns: &[("name", Text), ("value", Text)],
    },
    Table {
        name: "audit_chains",
        order: "chain",
        columns: &[("chain", Text), ("last_seq", Int), ("last_hash", Bytes)],
    },
    Table {
        name: "audit_key_usage",
        order: "key_id, operation",
        columns: &[
            ("key_id", Text),
            ("operation", Text),
            ("uses", Int),
            ("last_time", Int),
            ("last_event_id", Text),
            ("last_request_id", OptText),
        ],
    },
    Table {
        name: "audit_digests",
        order: "chain, last_seq, prune_anchor",
        columns: &[
            ("chain", Text),
            ("first_seq", Int),
            ("last_seq", Int),
            ("last_hash", Bytes),
            ("digest_time", Int),
            ("prev_signature", Bytes),
            ("prune_anchor", Flag),
            ("signature", Bytes),
        ],
    },
];

/// The name the audit events are reported under.
const EVENTS: &str = "audit_events";

/// Rows per INSERT statement (well under both backends' bind-parameter limits).
const CHUNK: usize = 256;

/// Events per `audit_batches` row written to SQLite.
const SQLITE_BATCH: usize = 512;

/// One column value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Vec<u8>),
    Flag(bool),
}

fn read_value(
    row: &impl Columns,
    table: &str,
    column: &str,
    kind: Kind,
) -> Result<Value, StoreError> {
    Ok(match kind {
        Text => Value::Text(row.text(table, column)?),
        OptText => Value::OptText(row.opt_text(table, column)?),
        Int => Value::Int(row.int(table, column)?),
        OptInt => Value::OptInt(row.opt_int(table, column)?),
        Bytes => Value::Bytes(row.bytes(table, column)?),
        Flag => Value::Flag(row.flag(table, column)?),
    })
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A store URL's backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn backend(url: &str) -> Result<Backend, CopyError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        // Only the scheme: the rest of a URL may hold a password.
        Err(CopyError::Refused(format!(
            "unsupported store URL scheme {:?}: use sqlite:// or postgres://",
            url.split_once(':').map_or("", |(scheme, _)| scheme)
        )))
    }
}

/// One open connection to either backend.
enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

async fn connect(url: &str, kind: Backend, create: bool) -> Result<Conn, CopyError> {
    let timeout = Duration::from_secs(10);
    Ok(match kind {
        Backend::Sqlite => {
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
        Backend::Postgres => {
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

/// Everything read from the source.
struct Snapshot {
    tables: Vec<Vec<Vec<Value>>>,
    events: Vec<AuditEvent>,
}

/// Copies the store at `from` into the store at `to` (URLs: `sqlite://PATH`, `postgres://...`).
/// See the module documentation for the rules.
pub async fn copy(from: &str, to: &str) -> Result<CopyReport, CopyError> {
    let (from_kind, to_kind) = (backend(from)?, backend(to)?);
    if from == to {
        return Err(CopyError::Refused(
            "the source and the destination are the same store".into(),
        ));
    }
    if from_kind == Backend::Sqlite && !sqlite_file_exists(from) {
        return Err(CopyError::Refused(
            "the source SQLite database does not exist".into(),
        ));
    }
    let mut source = connect(from, from_kind, false).await?;
    check_schema(&mut source).await?;
    if from_kind == Backend::Sqlite && sqlite_journal_exists(from) {
        // A server that stopped without closing the store left audit events in its journal:
        // opening and closing the store moves them into the database (a running server keeps
        // its journal locked, and its store is then read as far as it has folded).
        SqliteStore::open_url(from).await?.close().await;
    }

    // The destination's own migrations, run as its server would run them.
    match to_kind {
        Backend::Sqlite => SqliteStore::open_url(to).await?.close().await,
        Backend::Postgres => PgStore::open(to).await?.close().await,
    }
    let mut dest = connect(to, to_kind, false).await?;

    let snapshot = read_snapshot(&mut source).await?;
    write_snapshot(&mut dest, &snapshot).await?;

    // Check the copy against what was read.
    let mut report = CopyReport::default();
    for (table, rows) in TABLES.iter().zip(&snapshot.tables) {
        let copied = count(&mut dest, table.name).await?;
        let read = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        if copied != read {
            return Err(CopyError::Mismatch(format!(
                "{}: {read} rows in the source, {copied} in the copy",
                table.name
            )));
        }
        report.tables.push((table.name, read));
    }
    let copied_events = count_events(&mut dest).await?;
    let read_events = u64::try_from(snapshot.events.len()).unwrap_or(u64::MAX);
    if copied_events != read_events {
        return Err(CopyError::Mismatch(format!(
            "{EVENTS}: {read_events} events in the source, {copied_events} in the copy"
        )));
    }
    report.tables.push((EVENTS, read_events));
    let source_heads = heads(&mut source).await?;
    let dest_heads = heads(&mut dest).await?;
    if source_heads != dest_heads {
        return Err(CopyError::Mismatch(
            "the audit chain heads differ".to_owned(),
        ));
    }
    report.chains = source_heads
        .into_iter()
        .map(|(chain, (seq, _))| (chain, seq))
        .collect();
    close(source).await;
    close(dest).await;
    Ok(report)
}

async fn close(conn: Conn) {
    match conn {
        Conn::Sqlite(c) => {
            let _ = c.detach().close().await;
        }
        Conn::Postgres(c) => {
            let _ = c.detach().close().await;
        }
    }
}

/// Whether the file a `sqlite:` URL names exists (in-memory databases count as existing).
fn sqlite_file_exists(url: &str) -> bool {
    match SqliteConnectOptions::from_str(url) {
        Ok(options) => {
            let name = options.get_filename();
            name.as_os_str() == ":memory:" || name.exists()
        }
        Err(_) => false,
    }
}

fn sqlite_journal_exists(url: &str) -> bool {
    SqliteConnectOptions::from_str(url).is_ok_and(|options| {
        SqliteStore::journal_files(options.get_filename())
            .iter()
            .any(|p| p.exists())
    })
}

/// Refuses a source that this binary would migrate (or that a newer binary migrated).
async fn check_schema(conn: &mut Conn) -> Result<(), CopyError> {
    let (applied, known): (Result<Vec<i64>, sqlx::Error>, &[migrate::Migration]) = match conn {
        Conn::Sqlite(c) => (
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&mut **c)
                .await,
            migrate::SQLITE,
        ),
        Conn::Postgres(c) => (
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&mut **c)
                .await,
            migrate::POSTGRES,
        ),
    };
    let applied = applied.map_err(|_| {
        CopyError::Refused("the source holds no Kinko store (no schema_migrations table)".into())
    })?;
    let pending: Vec<i64> = known
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    if !pending.is_empty() {
        return Err(CopyError::Refused(format!(
            "the source has pending migrations (schema versions {pending:?}): start this version of `kinko serve` on it once, stop it, then copy"
        )));
    }
    let newest = known.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(v) = applied.iter().find(|v| **v > newest) {
        return Err(CopyError::Refused(format!(
            "the source is at schema version {v}, newer than this binary knows ({newest}): copy with the newer kinko"
        )));
    }
    Ok(())
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

fn decode_rows<R: Columns>(table: &Table, rows: &[R]) -> Result<Vec<Vec<Value>>, StoreError> {
    rows.iter()
        .map(|row| {
            table
                .columns
                .iter()
                .map(|(column, kind)| read_value(row, table.name, column, *kind))
                .collect()
        })
        .collect()
}

/// Reads every table and event in one read-only transaction.
async fn read_snapshot(conn: &mut Conn) -> Result<Snapshot, StoreError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    match conn {
        Conn::Sqlite(c) => {
            let mut tx = c.begin().await.map_err(unavailable)?;
            for table in TABLES {
                let rows: Vec<SqliteRow> = sqlx::query(AssertSqlSafe(select(table)))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                tables.push(decode_rows(table, &rows)?);
            }
            let batches =
                sqlx::query("SELECT chain, events FROM audit_batches ORDER BY chain, first_seq")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            let mut events = Vec::new();
            for row in &batches {
                let chain = row.text("audit_batches", "chain")?;
                let bytes = row.bytes("audit_batches", "events")?;
                events.extend(audit_codec::decode(&chain, &bytes)?);
            }
            events.sort_by(|a, b| (&a.chain, a.seq).cmp(&(&b.chain, b.seq)));
            tx.commit().await.map_err(unavailable)?;
            Ok(Snapshot { tables, events })
        }
        Conn::Postgres(c) => {
            let mut tx = c
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(unavailable)?;
            for table in TABLES {
                let rows: Vec<PgRow> = sqlx::query(AssertSqlSafe(select(table)))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                tables.push(decode_rows(table, &rows)?);
            }
            let rows = sqlx::query(
                "SELECT chain, seq, prev_hash, hash, event_id, request_id, event_time, event_source, \
                 event_name, read_only, account, principal_arn, access_key_id, key_id, source_key_id, \
                 error_code, record FROM audit_events ORDER BY chain, seq",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable)?;
            let events = rows.iter().map(pg_event).collect::<Result<Vec<_>, _>>()?;
            tx.commit().await.map_err(unavailable)?;
            Ok(Snapshot { tables, events })
        }
    }
}

fn pg_event(row: &PgRow) -> Result<AuditEvent, StoreError> {
    const T: &str = "audit_events";
    let opt_key = |column: &str| -> Result<Option<kinko_core::KeyId>, StoreError> {
        row.opt_text(T, column)?
            .map(|k| kinko_core::KeyId::parse(&k).ok_or_else(|| corrupt(T, column)))
            .transpose()
    };
    Ok(AuditEvent {
        chain: row.text(T, "chain")?,
        seq: row.int(T, "seq")?,
        prev_hash: row.hash32(T, "prev_hash")?,
        hash: row.hash32(T, "hash")?,
        draft: AuditDraft {
            event_id: row.text(T, "event_id")?,
            request_id: row.opt_text(T, "request_id")?,
            time: UnixMillis(row.int(T, "event_time")?),
            event_source: row.text(T, "event_source")?,
            event_name: row.text(T, "event_name")?,
            read_only: row.flag(T, "read_only")?,
            account: row
                .opt_text(T, "account")?
                .map(|a| kinko_core::AccountId::parse(&a).ok_or_else(|| corrupt(T, "account")))
                .transpose()?,
            principal_arn: row.opt_text(T, "principal_arn")?,
            access_key_id: row.opt_text(T, "access_key_id")?,
            key_id: opt_key("key_id")?,
            source_key_id: opt_key("source_key_id")?,
            error_code: row.opt_text(T, "error_code")?,
            record: row.bytes(T, "record")?,
        },
    })
}

/// Pushes one row's values as binds of a `push_values` tuple.
macro_rules! push_row {
    ($b:expr, $row:expr) => {
        for value in $row {
            match value {
                Value::Text(v) => $b.push_bind(v.clone()),
                Value::OptText(v) => $b.push_bind(v.clone()),
                Value::Int(v) => $b.push_bind(*v),
                Value::OptInt(v) => $b.push_bind(*v),
                Value::Bytes(v) => $b.push_bind(v.clone()),
                Value::Flag(v) => $b.push_bind(*v),
            };
        }
    };
}

fn insert_head(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    format!("INSERT INTO {} ({}) ", table.name, columns.join(", "))
}

/// Fails unless every table of the destination is empty.
async fn check_empty(conn: &mut Conn) -> Result<(), CopyError> {
    for table in TABLES {
        let n = count(conn, table.name).await?;
        if n > 0 {
            return Err(CopyError::Refused(format!(
                "the destination is not empty ({} holds {n} rows): copy into a new, empty database",
                table.name
            )));
        }
    }
    if count_events(conn).await? > 0 {
        return Err(CopyError::Refused(
            "the destination is not empty (it holds audit events): copy into a new, empty database"
                .into(),
        ));
    }
    Ok(())
}

/// Writes the snapshot in one transaction, after checking the destination is empty.
async fn write_snapshot(conn: &mut Conn, snapshot: &Snapshot) -> Result<(), CopyError> {
    check_empty(conn).await?;
    match conn {
        Conn::Sqlite(c) => {
            let mut tx = c.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
            for (table, rows) in TABLES.iter().zip(&snapshot.tables) {
                for chunk in rows.chunks(CHUNK) {
                    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(insert_head(table));
                    b.push_values(chunk, |mut t, row| push_row!(t, row));
                    b.build().execute(&mut *tx).await.map_err(unavailable)?;
                }
            }
            // Batches without `last_hash` and `key_usage`: the heads and usage counts were copied
            // as rows above, so the batch triggers must not fold these events in again.
            for chain_events in group_by_chain(&snapshot.events) {
                for batch in chain_events.chunks(SQLITE_BATCH) {
                    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                        continue;
                    };
                    let min_time = batch.iter().map(|e| e.draft.time.0).min().unwrap_or(0);
                    let max_time = batch.iter().map(|e| e.draft.time.0).max().unwrap_or(0);
                    sqlx::query(
                        "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, events, last_hash, key_usage) \
                         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)",
                    )
                    .bind(&first.chain)
                    .bind(first.seq)
                    .bind(last.seq)
                    .bind(min_time)
                    .bind(max_time)
                    .bind(audit_codec::encode(batch))
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                }
            }
            tx.commit().await.map_err(unavailable)?;
        }
        Conn::Postgres(c) => {
            let mut tx = c
                .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                .await
                .map_err(unavailable)?;
            // Another copy or a node starting on this database at the same time makes one of
            // the two fail on a primary key instead of interleaving.
            for (table, rows) in TABLES.iter().zip(&snapshot.tables) {
                for chunk in rows.chunks(CHUNK) {
                    let mut b: QueryBuilder<Postgres> = QueryBuilder::new(insert_head(table));
                    b.push_values(chunk, |mut t, row| push_row!(t, row));
                    b.build().execute(&mut *tx).await.map_err(unavailable)?;
                }
            }
            for chunk in snapshot.events.chunks(CHUNK) {
                let mut b: QueryBuilder<Postgres> = QueryBuilder::new(
                    "INSERT INTO audit_events (chain, seq, prev_hash, hash, event_id, request_id, \
                     event_time, event_source, event_name, read_only, account, principal_arn, \
                     access_key_id, key_id, source_key_id, error_code, record) ",
                );
                b.push_values(chunk, |mut t, e| {
                    let d = &e.draft;
                    t.push_bind(e.chain.clone())
                        .push_bind(e.seq)
                        .push_bind(e.prev_hash.to_vec())
                        .push_bind(e.hash.to_vec())
                        .push_bind(d.event_id.clone())
                        .push_bind(d.request_id.clone())
                        .push_bind(d.time.0)
                        .push_bind(d.event_source.clone())
                        .push_bind(d.event_name.clone())
                        .push_bind(d.read_only)
                        .push_bind(d.account.as_ref().map(|a| a.as_str().to_owned()))
                        .push_bind(d.principal_arn.clone())
                        .push_bind(d.access_key_id.clone())
                        .push_bind(d.key_id.map(|k| k.to_string()))
                        .push_bind(d.source_key_id.map(|k| k.to_string()))
                        .push_bind(d.error_code.clone())
                        .push_bind(d.record.clone());
                });
                b.build().execute(&mut *tx).await.map_err(unavailable)?;
            }
            tx.commit().await.map_err(unavailable)?;
        }
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

async fn count(conn: &mut Conn, table: &str) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let n: i64 = match conn {
        Conn::Sqlite(c) => sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut **c)
            .await
            .map_err(unavailable)?,
        Conn::Postgres(c) => sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut **c)
            .await
            .map_err(unavailable)?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The number of audit events, whatever the layout.
async fn count_events(conn: &mut Conn) -> Result<u64, StoreError> {
    match conn {
        Conn::Sqlite(c) => {
            let rows = sqlx::query("SELECT chain, events FROM audit_batches")
                .fetch_all(&mut **c)
                .await
                .map_err(unavailable)?;
            let mut n = 0u64;
            for row in &rows {
                let chain = row.text("audit_batches", "chain")?;
                let bytes = row.bytes("audit_batches", "events")?;
                n += u64::try_from(audit_codec::decode(&chain, &bytes)?.len()).unwrap_or(0);
            }
            Ok(n)
        }
        Conn::Postgres(c) => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
                .fetch_one(&mut **c)
                .await
                .map_err(unavailable)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
    }
}

/// Every chain head: chain → (last sequence number, last hash).
async fn heads(conn: &mut Conn) -> Result<BTreeMap<String, (i64, Vec<u8>)>, StoreError> {
    const SQL: &str = "SELECT chain, last_seq, last_hash FROM audit_chains";
    let mut out = BTreeMap::new();
    match conn {
        Conn::Sqlite(c) => {
            for r in sqlx::query(SQL)
                .fetch_all(&mut **c)
                .await
                .map_err(unavailable)?
            {
                out.insert(
                    r.try_get("chain").map_err(unavailable)?,
                    (
                        r.try_get("last_seq").map_err(unavailable)?,
                        r.try_get("last_hash").map_err(unavailable)?,
                    ),
                );
            }
        }
        Conn::Postgres(c) => {
            for r in sqlx::query(SQL)
                .fetch_all(&mut **c)
                .await
                .map_err(unavailable)?
            {
                out.insert(
                    r.try_get("chain").map_err(unavailable)?,
                    (
                        r.try_get("last_seq").map_err(unavailable)?,
                        r.try_get("last_hash").map_err(unavailable)?,
                    ),
                );
            }
        }
    }
    Ok(out)
}
