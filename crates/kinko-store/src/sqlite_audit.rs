//! The audit trail on SQLite: appending to a node's hash chain inside the caller's transaction,
//! reading chains back in order for verification, queries for LookupEvents and `kinko audit`,
//! and pruning. The tables laid out as on PostgreSQL (heads, digests, key usage) are read by the
//! shared SQL in `sql/audit.rs`.

use kinko_core::{AuditDigest, AuditDraft, AuditEvent, AuditFilter, StoreError, chain_events};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::audit_codec;
use crate::sql::{AuditPage, Dialect, On, digest_insert, unavailable, usage, write_error};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn hash32(row: &SqliteRow, column: &str) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = row.try_get(column).map_err(|_| corrupt(column))?;
    bytes.try_into().map_err(|_| corrupt(column))
}

/// A chain's head: last sequence number and hash.
pub(crate) type Head = kinko_core::ChainPosition;

/// Reads a chain head from the database.
pub(crate) async fn read_head<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    executor: E,
    chain: &str,
) -> Result<Head, StoreError> {
    let row = sqlx::query("SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1")
        .bind(chain)
        .fetch_optional(executor)
        .await
        .map_err(unavailable)?;
    match row {
        Some(r) => Ok((
            r.try_get::<i64, _>("last_seq")
                .map_err(|_| corrupt("audit_chains.last_seq"))?,
            hash32(&r, "last_hash")?,
        )),
        None => Ok((0, [0u8; 32])),
    }
}

/// Appends `drafts` to `chain` inside `tx` (which holds the write lock); `cached` is the head
/// when the caller knows it. Returns the events and the new head (valid once `tx` commits).
pub(crate) async fn append_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    chain: &str,
    drafts: &[AuditDraft],
    cached: Option<Head>,
) -> Result<(Vec<AuditEvent>, Head), StoreError> {
    let head = match cached {
        Some(h) => h,
        None => read_head(&mut **tx, chain).await?,
    };
    if drafts.is_empty() {
        return Ok((Vec::new(), head));
    }
    let (out, new_head) = chain_events(chain, head, drafts);
    insert_batch(&mut **tx, chain, head, &out, new_head).await?;
    Ok((out, new_head))
}

/// Inserts one batch row; the table's triggers advance the chain head and the usage counts in
/// the same statement, so a group commit outside a transaction is one atomic round trip.
pub(crate) async fn insert_batch<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    executor: E,
    chain: &str,
    head: Head,
    events: &[AuditEvent],
    new_head: Head,
) -> Result<(), StoreError> {
    let row = BatchRow::new(head, events, new_head);
    insert_row(executor, chain, &row, &audit_codec::encode(events)).await
}

/// What an `audit_batches` row holds beside the chain and the encoded events.
#[derive(Debug, Clone)]
pub(crate) struct BatchRow {
    /// The chain's position before the batch.
    pub head: Head,
    /// The chain's position after it.
    pub new_head: Head,
    min_time: i64,
    max_time: i64,
    usage: Option<String>,
}

impl BatchRow {
    /// The row of `events`, which follow `head` and end at `new_head`.
    pub(crate) fn new(head: Head, events: &[AuditEvent], new_head: Head) -> BatchRow {
        BatchRow {
            head,
            new_head,
            min_time: events.iter().map(|e| e.draft.time.0).min().unwrap_or(0),
            max_time: events.iter().map(|e| e.draft.time.0).max().unwrap_or(0),
            usage: usage_json(events),
        }
    }
}

/// Inserts the row of a batch already encoded (`audit_codec`) as `encoded`.
pub(crate) async fn insert_row<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    executor: E,
    chain: &str,
    row: &BatchRow,
    encoded: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, events, last_hash, key_usage) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(chain)
    .bind(row.head.0 + 1)
    .bind(row.new_head.0)
    .bind(row.min_time)
    .bind(row.max_time)
    .bind(encoded)
    .bind(&row.new_head.1[..])
    .bind(row.usage.as_deref())
    .execute(executor)
    .await
    .map_err(unavailable)?;
    Ok(())
}

/// The batch's successful cryptographic uses as the JSON array the usage trigger reads:
/// `[{"k": key id, "o": operation, "n": uses, "t": last time, "e": last event id, "r": last request id}]`.
fn usage_json(events: &[AuditEvent]) -> Option<String> {
    let entries: Vec<serde_json::Value> = usage(events)
        .into_iter()
        .map(|((key, operation), (uses, last))| {
            serde_json::json!({
                "k": key, "o": operation, "n": uses, "t": last.time.0,
                "e": last.event_id, "r": last.request_id,
            })
        })
        .collect();
    (!entries.is_empty()).then(|| serde_json::Value::Array(entries).to_string())
}

fn batch_events(row: &SqliteRow) -> Result<Vec<AuditEvent>, StoreError> {
    let chain: String = row
        .try_get("chain")
        .map_err(|_| corrupt("audit_batches.chain"))?;
    let bytes: Vec<u8> = row
        .try_get("events")
        .map_err(|_| corrupt("audit_batches.events"))?;
    audit_codec::decode(&chain, &bytes)
}

pub(crate) async fn events(
    pool: &SqlitePool,
    chain: &str,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = after_seq;
    while out.len() < limit {
        let rows = sqlx::query(
            "SELECT chain, events FROM audit_batches WHERE chain = $1 AND last_seq > $2 \
             ORDER BY first_seq LIMIT 64",
        )
        .bind(chain)
        .bind(cursor)
        .fetch_all(pool)
        .await
        .map_err(unavailable)?;
        let mut events = Vec::new();
        for row in &rows {
            events.extend(batch_events(row)?.into_iter().filter(|e| e.seq > cursor));
        }
        events.sort_by_key(|e| e.seq);
        let before = out.len();
        for e in events {
            if out.len() >= limit {
                break;
            }
            cursor = e.seq;
            out.push(e);
        }
        if rows.len() < 64 || out.len() == before {
            break;
        }
    }
    Ok(out)
}

fn matches(filter: &AuditFilter, d: &AuditDraft) -> bool {
    filter.from.is_none_or(|f| d.time >= f)
        && filter.to.is_none_or(|t| d.time <= t)
        && filter
            .key_id
            .is_none_or(|k| d.key_id == Some(k) || d.source_key_id == Some(k))
        && filter
            .principal_arn
            .as_ref()
            .is_none_or(|p| d.principal_arn.as_ref() == Some(p))
        && filter
            .access_key_id
            .as_ref()
            .is_none_or(|a| d.access_key_id.as_ref() == Some(a))
        && filter
            .event_name
            .as_ref()
            .is_none_or(|n| &d.event_name == n)
        && filter.event_id.as_ref().is_none_or(|e| &d.event_id == e)
        && filter
            .account
            .as_ref()
            .is_none_or(|a| d.account.as_ref() == Some(a))
        && filter.failed.is_none_or(|f| d.error_code.is_some() == f)
        && filter.read_only.is_none_or(|r| d.read_only == r)
}

/// Newest first: batches are read by descending `max_time`, decoded and filtered; the scan stops
/// once `limit` events are found and no unread batch can hold a newer one.
pub(crate) async fn query(
    pool: &SqlitePool,
    page: AuditPage<'_>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let (filter, before, limit) = (page.filter, page.before, page.limit);
    let position = |e: &AuditEvent| (e.draft.time.0, e.chain.clone(), e.seq);
    let mut found: Vec<AuditEvent> = Vec::new();
    let mut offset: i64 = 0;
    loop {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT chain, events, max_time FROM audit_batches WHERE 1 = 1");
        if let Some(from) = filter.from {
            q.push(" AND max_time >= ").push_bind(from.0);
        }
        if let Some(to) = filter.to {
            q.push(" AND min_time <= ").push_bind(to.0);
        }
        if let Some((time, _, _)) = before {
            q.push(" AND min_time <= ").push_bind(*time);
        }
        q.push(" ORDER BY max_time DESC, chain DESC, first_seq DESC LIMIT 64 OFFSET ")
            .push_bind(offset);
        let rows = q.build().fetch_all(pool).await.map_err(unavailable)?;
        let mut oldest_batch_time = i64::MAX;
        for row in &rows {
            let max_time: i64 = row
                .try_get("max_time")
                .map_err(|_| corrupt("audit_batches.max_time"))?;
            oldest_batch_time = oldest_batch_time.min(max_time);
            for e in batch_events(row)? {
                if matches(filter, &e.draft) && before.is_none_or(|b| position(&e) < *b) {
                    found.push(e);
                }
            }
        }
        found.sort_by_key(|e| std::cmp::Reverse(position(e)));
        found.truncate(limit);
        let complete = found.len() >= limit
            && found
                .last()
                .is_some_and(|e| e.draft.time.0 > oldest_batch_time);
        if rows.len() < 64 || complete {
            break;
        }
        offset += 64;
    }
    Ok(found)
}

pub(crate) async fn prune(
    tx: &mut Transaction<'_, Sqlite>,
    anchor: &AuditDigest,
) -> Result<u64, StoreError> {
    let rows = sqlx::query("SELECT rowid AS id, chain, events, last_seq FROM audit_batches WHERE chain = $1 AND first_seq <= $2")
        .bind(&anchor.chain)
        .bind(anchor.last_seq)
        .fetch_all(&mut **tx)
        .await
        .map_err(unavailable)?;
    let mut removed = 0u64;
    for row in &rows {
        let id: i64 = row
            .try_get("id")
            .map_err(|_| corrupt("audit_batches.rowid"))?;
        let events = batch_events(row)?;
        let (gone, kept): (Vec<AuditEvent>, Vec<AuditEvent>) =
            events.into_iter().partition(|e| e.seq <= anchor.last_seq);
        removed += gone.len() as u64;
        if kept.is_empty() {
            sqlx::query("DELETE FROM audit_batches WHERE rowid = $1")
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(unavailable)?;
        } else {
            let first = kept.iter().map(|e| e.seq).min().unwrap_or(0);
            let min_time = kept.iter().map(|e| e.draft.time.0).min().unwrap_or(0);
            sqlx::query("UPDATE audit_batches SET first_seq = $1, min_time = $2, events = $3 WHERE rowid = $4")
                .bind(first)
                .bind(min_time)
                .bind(audit_codec::encode(&kept))
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(unavailable)?;
        }
    }
    Sqlite::execute(On::Conn(&mut **tx), digest_insert(anchor))
        .await
        .map_err(|e| write_error(e, "audit digest"))?;
    Ok(removed)
}
