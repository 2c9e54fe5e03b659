//! The audit trail on SQLite: appending to a node's hash chain inside the caller's transaction,
//! reading chains back in order for verification, queries for LookupEvents and `kinko audit`,
//! and pruning. The tables laid out as on PostgreSQL (heads, digests, key usage) are read by the
//! shared SQL in `sql/audit.rs`.

use kinko_core::{AuditDigest, AuditDraft, AuditEvent, StoreError, chain_events};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::sql::{AuditPage, Dialect, On, digest_insert, unavailable, usage, write_error};
use crate::{audit_codec, audit_terms};

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
    insert_batch(tx, chain, head, &out, new_head).await?;
    Ok((out, new_head))
}

/// Inserts one batch row and its search terms in the caller's transaction; the table's triggers
/// advance the chain head and the usage counts.
pub(crate) async fn insert_batch(
    conn: &mut SqliteConnection,
    chain: &str,
    head: Head,
    events: &[AuditEvent],
    new_head: Head,
) -> Result<(), StoreError> {
    let row = BatchRow::new(head, events, new_head);
    insert_row(conn, chain, &row, &audit_codec::encode(events)).await
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
    /// The batch's search terms (`audit_terms`).
    terms: String,
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
            terms: audit_terms::batch_terms(events),
        }
    }
}

/// Inserts the row of a batch already encoded (`audit_codec`) as `encoded`, with its search
/// terms.
pub(crate) async fn insert_row(
    conn: &mut SqliteConnection,
    chain: &str,
    row: &BatchRow,
    encoded: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(audit_terms::INSERT_TERMS)
        .bind(row.max_time)
        .bind(chain)
        .bind(row.new_head.0)
        .bind(&row.terms)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    sqlx::query(
        "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, events, last_hash, key_usage, indexed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)",
    )
    .bind(chain)
    .bind(row.head.0 + 1)
    .bind(row.new_head.0)
    .bind(row.min_time)
    .bind(row.max_time)
    .bind(encoded)
    .bind(&row.new_head.1[..])
    .bind(row.usage.as_deref())
    .execute(&mut *conn)
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

/// Batches read by a filtered query's first round, and at most by any round: rounds grow
/// fourfold, so that a first page costs a few batches and a long scan few statements.
const FIRST_ROUND: i64 = 4;
const LAST_ROUND: i64 = 64;

/// The time bounds of a query and its page cursor, on `audit_batches b`.
fn push_time_bounds(q: &mut QueryBuilder<Sqlite>, page: &AuditPage<'_>) {
    if let Some(from) = page.filter.from {
        q.push(" AND b.max_time >= ").push_bind(from.0);
    }
    if let Some(to) = page.filter.to {
        q.push(" AND b.min_time <= ").push_bind(to.0);
    }
    if let Some((time, _, _)) = page.before {
        q.push(" AND b.min_time <= ").push_bind(*time);
    }
}

/// One round of an unfiltered query: the next batches newest first, chosen by their narrow
/// columns alone until they hold `wanted` events (at most [`LAST_ROUND`] batches), then read
/// whole. Sized by events, not batches: a trail's newest batches may hold one event each (a
/// quiet server's group commits) and the next ones hundreds, and a round of 64 such batches
/// decoded 32,000 events for a page of 50. Ordered with their `events` blobs, SQLite sorted
/// every batch of the trail in a temporary file (1.8 s for the first page over 1,000,000
/// events); the caller orders the events itself.
///
/// Returns the rows (`chain`, `events`, `max_time`, unordered), how many batches they are, and
/// whether older batches remain.
async fn unfiltered_round(
    pool: &SqlitePool,
    page: &AuditPage<'_>,
    offset: i64,
    wanted: usize,
) -> Result<(Vec<SqliteRow>, i64, bool), StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT b.rowid, b.last_seq - b.first_seq + 1 FROM audit_batches b WHERE 1 = 1",
    );
    push_time_bounds(&mut q, page);
    q.push(" ORDER BY b.max_time DESC, b.chain DESC, b.first_seq DESC LIMIT ")
        .push_bind(LAST_ROUND)
        .push(" OFFSET ")
        .push_bind(offset);
    let candidates = q.build().fetch_all(pool).await.map_err(unavailable)?;
    let mut chosen: Vec<i64> = Vec::new();
    let mut events = 0usize;
    for row in &candidates {
        // At least one batch per round, so that every round moves on.
        if events >= wanted && !chosen.is_empty() {
            break;
        }
        chosen.push(row.try_get(0).map_err(unavailable)?);
        let n: i64 = row.try_get(1).map_err(unavailable)?;
        events = events.saturating_add(usize::try_from(n).unwrap_or(1).max(1));
    }
    let more = chosen.len() < candidates.len() || candidates.len() as i64 == LAST_ROUND;
    if chosen.is_empty() {
        return Ok((Vec::new(), 0, more));
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT b.chain, b.events, b.max_time FROM audit_batches b WHERE b.rowid IN (",
    );
    let mut ids = q.separated(", ");
    for id in &chosen {
        ids.push_bind(*id);
    }
    q.push(")");
    let rows = q.build().fetch_all(pool).await.map_err(unavailable)?;
    Ok((rows, chosen.len() as i64, more))
}

/// The rows a filtered query round reads: `chain`, `events`, `max_time`. Driven by the first
/// term's primary-key range, newest first; the other terms are point lookups of the same batch.
fn round_sql(
    page: &AuditPage<'_>,
    (first, rest): (&String, &[String]),
    offset: i64,
    round: i64,
) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::new(
        "SELECT b.chain, b.events, b.max_time FROM audit_terms t \
         JOIN audit_batches b ON b.chain = t.chain AND b.last_seq = t.last_seq \
         WHERE b.indexed = 1 AND t.term = ",
    );
    q.push_bind(first.clone());
    if let Some(from) = page.filter.from {
        q.push(" AND t.max_time >= ").push_bind(from.0);
    }
    for term in rest {
        q.push(" AND EXISTS (SELECT 1 FROM audit_terms x WHERE x.term = ")
            .push_bind(term.clone())
            .push(
                " AND x.max_time = t.max_time AND x.chain = t.chain \
                 AND x.last_seq = t.last_seq)",
            );
    }
    push_time_bounds(&mut q, page);
    q.push(" ORDER BY t.max_time DESC, t.chain DESC, t.last_seq DESC LIMIT ")
        .push_bind(round)
        .push(" OFFSET ")
        .push_bind(offset);
    q
}

/// Newest first. With a filter on anything but time, the batches holding every term of the
/// filter are read from `audit_terms` (plus any batch not indexed yet); otherwise batches are
/// read by descending `max_time`. Batches are decoded and their events checked against the whole
/// filter; the scan stops once `limit` events are found and no unread batch can hold a newer one.
/// [`kinko_core::AuditStore::audit_hourly_counts`]: the batches the account's term names (and
/// any not yet indexed), each counted whole in the hour of its last event.
pub(crate) async fn hourly_counts(
    pool: &SqlitePool,
    account: &kinko_core::AccountId,
    from: kinko_core::UnixMillis,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT b.max_time, b.last_seq - b.first_seq + 1 FROM audit_terms t \
         JOIN audit_batches b ON b.chain = t.chain AND b.last_seq = t.last_seq \
         WHERE t.term = ?1 AND t.max_time >= ?2 \
         UNION ALL SELECT max_time, last_seq - first_seq + 1 FROM audit_batches \
         WHERE indexed = 0 AND max_time >= ?2",
    )
    .bind(format!("c:{}", account.as_str()))
    .bind(from.0)
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    let mut hours = std::collections::BTreeMap::<i64, u64>::new();
    for row in &rows {
        let time: i64 = row.try_get(0).map_err(unavailable)?;
        let n: i64 = row.try_get(1).map_err(unavailable)?;
        *hours.entry(time - time.rem_euclid(3_600_000)).or_insert(0) +=
            u64::try_from(n).unwrap_or(0);
    }
    Ok(hours.into_iter().collect())
}

pub(crate) async fn query(
    pool: &SqlitePool,
    page: AuditPage<'_>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let (filter, before, limit) = (page.filter, page.before, page.limit);
    let position = |e: &AuditEvent| (e.draft.time.0, e.chain.clone(), e.seq);
    let wanted =
        |e: &AuditEvent| filter.matches(&e.draft) && before.is_none_or(|b| position(e) < *b);
    let terms = audit_terms::filter_terms(filter);
    let mut found: Vec<AuditEvent> = Vec::new();
    if !terms.is_empty() {
        // Batches stored without their terms (see `audit_terms`): normally none.
        let rows = sqlx::query("SELECT chain, events FROM audit_batches WHERE indexed = 0")
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
        for row in &rows {
            found.extend(batch_events(row)?.into_iter().filter(|e| wanted(e)));
        }
    }
    let (mut offset, mut round) = (0, FIRST_ROUND);
    loop {
        let (rows, taken, more) = if let Some(terms) = terms.split_first() {
            let rows = round_sql(&page, terms, offset, round)
                .build()
                .fetch_all(pool)
                .await
                .map_err(unavailable)?;
            let taken = rows.len() as i64;
            (rows, taken, taken == round)
        } else {
            unfiltered_round(pool, &page, offset, limit).await?
        };
        let mut oldest_batch_time = i64::MAX;
        for row in &rows {
            let max_time: i64 = row
                .try_get("max_time")
                .map_err(|_| corrupt("audit_batches.max_time"))?;
            oldest_batch_time = oldest_batch_time.min(max_time);
            found.extend(batch_events(row)?.into_iter().filter(|e| wanted(e)));
        }
        found.sort_by_key(|e| std::cmp::Reverse(position(e)));
        // Rounds page by OFFSET: a batch folded in between shifts them, and a batch read twice
        // would give its events twice.
        found.dedup_by(|a, b| a.seq == b.seq && a.chain == b.chain);
        found.truncate(limit);
        let complete = found.len() >= limit
            && found
                .last()
                .is_some_and(|e| e.draft.time.0 > oldest_batch_time);
        if !more || complete {
            break;
        }
        offset += taken;
        round = (round * 4).min(LAST_ROUND);
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
    // The terms of the batches deleted (those of a batch cut short stay: a term is only ever a
    // necessary condition).
    sqlx::query(
        "DELETE FROM audit_terms WHERE chain = $1 AND last_seq <= $2 AND NOT EXISTS \
         (SELECT 1 FROM audit_batches b WHERE b.chain = audit_terms.chain \
          AND b.last_seq = audit_terms.last_seq)",
    )
    .bind(&anchor.chain)
    .bind(anchor.last_seq)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Sqlite::execute(On::Conn(&mut **tx), digest_insert(anchor))
        .await
        .map_err(|e| write_error(e, "audit digest"))?;
    Ok(removed)
}
