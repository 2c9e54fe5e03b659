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

mod backend;
mod error;
mod snapshot;
mod tables;

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use crate::{PgStore, SqliteStore, migrate};
use backend::{StoreKind, backend};
pub use error::CopyError;
use snapshot::Conn;
use tables::TABLES;

/// What was copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows per table, in copy order; the audit events under `audit_events` whatever the layout.
    pub tables: Vec<(&'static str, u64)>,
    /// Every audit chain's head: (chain, last sequence number).
    pub chains: Vec<(String, i64)>,
}

/// The name the audit events are reported under.
const EVENTS: &str = "audit_events";

/// Copies the store at `from` into the store at `to` (URLs: `sqlite://PATH`, `postgres://...`).
/// See the module documentation for the rules.
pub async fn copy(from: &str, to: &str) -> Result<CopyReport, CopyError> {
    let (from_kind, to_kind) = (backend(from)?, backend(to)?);
    if from == to {
        return Err(CopyError::Refused(
            "the source and the destination are the same store".into(),
        ));
    }
    if from_kind == StoreKind::Sqlite && !sqlite_file_exists(from) {
        return Err(CopyError::Refused(
            "the source SQLite database does not exist".into(),
        ));
    }
    let mut source = snapshot::connect(from, from_kind, false).await?;
    check_schema(&mut source, from_kind).await?;
    if from_kind == StoreKind::Sqlite && sqlite_journal_exists(from) {
        // A server that stopped without closing the store left audit events in its journal:
        // opening and closing the store moves them into the database (a running server keeps
        // its journal locked, and its store is then read as far as it has folded).
        SqliteStore::open_url(from).await?.close().await;
    }

    // The destination's own migrations, run as its server would run them.
    match to_kind {
        StoreKind::Sqlite => SqliteStore::open_url(to).await?.close().await,
        StoreKind::Postgres => PgStore::open(to).await?.close().await,
    }
    let mut dest = snapshot::connect(to, to_kind, false).await?;

    let snapshot = source.read_snapshot().await?;
    dest.write_snapshot(&snapshot).await?;

    // Check the copy against what was read.
    let mut report = CopyReport::default();
    for (table, rows) in TABLES.iter().zip(&snapshot.tables) {
        let copied = dest.count(table.name).await?;
        let read = u64::try_from(rows.len()).unwrap_or(u64::MAX);
        if copied != read {
            return Err(CopyError::Mismatch(format!(
                "{}: {read} rows in the source, {copied} in the copy",
                table.name
            )));
        }
        report.tables.push((table.name, read));
    }
    let copied_events = dest.count_events().await?;
    let read_events = u64::try_from(snapshot.events.len()).unwrap_or(u64::MAX);
    if copied_events != read_events {
        return Err(CopyError::Mismatch(format!(
            "{EVENTS}: {read_events} events in the source, {copied_events} in the copy"
        )));
    }
    report.tables.push((EVENTS, read_events));
    let source_heads = source.heads().await?;
    let dest_heads = dest.heads().await?;
    if source_heads != dest_heads {
        return Err(CopyError::Mismatch(
            "the audit chain heads differ".to_owned(),
        ));
    }
    report.chains = source_heads
        .into_iter()
        .map(|(chain, (seq, _))| (chain, seq))
        .collect();
    source.close().await;
    dest.close().await;
    Ok(report)
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
async fn check_schema(conn: &mut Conn, kind: StoreKind) -> Result<(), CopyError> {
    let known = match kind {
        StoreKind::Sqlite => migrate::SQLITE,
        StoreKind::Postgres => migrate::POSTGRES,
    };
    let applied = conn.applied_versions().await.map_err(|_| {
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
