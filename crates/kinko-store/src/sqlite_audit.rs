//! The audit trail on SQLite: appending to a node's hash chain inside the caller's transaction,
//! reading chains back in order for verification, queries for LookupEvents and `kinko audit`,
//! digests, pruning, and key usage.

use kinko_core::{
    AccountId, AuditCursor, AuditDigest, AuditDraft, AuditEvent, AuditFilter, ChainHead, KeyId,
    KeyLastUsage, StoreError, UnixMillis, chain_hash,
};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn hash32(row: &SqliteRow, column: &str) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = row.try_get(column).map_err(|_| corrupt(column))?;
    bytes.try_into().map_err(|_| corrupt(column))
}

/// Appends `drafts` to `chain` inside `tx` (which must hold the write lock).
pub(crate) async fn append_in_tx(
    tx: &mut Transaction<'_, Sqlite>,
    chain: &str,
    drafts: &[AuditDraft],
) -> Result<Vec<AuditEvent>, StoreError> {
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1")
        .bind(chain)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
    let (mut seq, mut prev) = match head {
        Some(r) => (
            r.try_get::<i64, _>("last_seq")
                .map_err(|_| corrupt("audit_chains.last_seq"))?,
            hash32(&r, "last_hash")?,
        ),
        None => (0, [0u8; 32]),
    };
    let mut out = Vec::with_capacity(drafts.len());
    for draft in drafts {
        seq += 1;
        let hash = chain_hash(&prev, chain, seq, &draft.record);
        sqlx::query(
            "INSERT INTO audit_events (chain, seq, prev_hash, hash, event_id, request_id, event_time, event_source, \
             event_name, read_only, account, principal_arn, access_key_id, key_id, error_code, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(chain)
        .bind(seq)
        .bind(&prev[..])
        .bind(&hash[..])
        .bind(&draft.event_id)
        .bind(draft.request_id.as_deref())
        .bind(draft.time.0)
        .bind(&draft.event_source)
        .bind(&draft.event_name)
        .bind(draft.read_only)
        .bind(draft.account.as_ref().map(AccountId::as_str))
        .bind(draft.principal_arn.as_deref())
        .bind(draft.access_key_id.as_deref())
        .bind(draft.key_id.map(|k| k.to_string()))
        .bind(draft.error_code.as_deref())
        .bind(&draft.record)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
        out.push(AuditEvent {
            chain: chain.to_owned(),
            seq,
            prev_hash: prev,
            hash,
            draft: draft.clone(),
        });
        prev = hash;
    }
    sqlx::query(
        "INSERT INTO audit_chains (chain, last_seq, last_hash) VALUES ($1, $2, $3) \
         ON CONFLICT (chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash",
    )
    .bind(chain)
    .bind(seq)
    .bind(&prev[..])
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    Ok(out)
}

fn event_from_row(row: &SqliteRow) -> Result<AuditEvent, StoreError> {
    let opt = |c: &str| row.try_get::<Option<String>, _>(c).map_err(|_| corrupt(c));
    let key_id = match opt("key_id")? {
        Some(k) => Some(KeyId::parse(&k).ok_or_else(|| corrupt("audit_events.key_id"))?),
        None => None,
    };
    let account = match opt("account")? {
        Some(a) => Some(AccountId::parse(&a).ok_or_else(|| corrupt("audit_events.account"))?),
        None => None,
    };
    Ok(AuditEvent {
        chain: row
            .try_get("chain")
            .map_err(|_| corrupt("audit_events.chain"))?,
        seq: row
            .try_get("seq")
            .map_err(|_| corrupt("audit_events.seq"))?,
        prev_hash: hash32(row, "prev_hash")?,
        hash: hash32(row, "hash")?,
        draft: AuditDraft {
            event_id: row
                .try_get("event_id")
                .map_err(|_| corrupt("audit_events.event_id"))?,
            request_id: opt("request_id")?,
            time: UnixMillis(
                row.try_get("event_time")
                    .map_err(|_| corrupt("audit_events.event_time"))?,
            ),
            event_source: row
                .try_get("event_source")
                .map_err(|_| corrupt("audit_events.event_source"))?,
            event_name: row
                .try_get("event_name")
                .map_err(|_| corrupt("audit_events.event_name"))?,
            read_only: row
                .try_get("read_only")
                .map_err(|_| corrupt("audit_events.read_only"))?,
            account,
            principal_arn: opt("principal_arn")?,
            access_key_id: opt("access_key_id")?,
            key_id,
            error_code: opt("error_code")?,
            record: row
                .try_get("record")
                .map_err(|_| corrupt("audit_events.record"))?,
        },
    })
}

fn digest_from_row(row: &SqliteRow) -> Result<AuditDigest, StoreError> {
    Ok(AuditDigest {
        chain: row
            .try_get("chain")
            .map_err(|_| corrupt("audit_digests.chain"))?,
        first_seq: row
            .try_get("first_seq")
            .map_err(|_| corrupt("audit_digests.first_seq"))?,
        last_seq: row
            .try_get("last_seq")
            .map_err(|_| corrupt("audit_digests.last_seq"))?,
        last_hash: hash32(row, "last_hash")?,
        time: UnixMillis(
            row.try_get("digest_time")
                .map_err(|_| corrupt("audit_digests.digest_time"))?,
        ),
        prev_signature: row
            .try_get("prev_signature")
            .map_err(|_| corrupt("audit_digests.prev_signature"))?,
        prune_anchor: row
            .try_get("prune_anchor")
            .map_err(|_| corrupt("audit_digests.prune_anchor"))?,
        signature: row
            .try_get("signature")
            .map_err(|_| corrupt("audit_digests.signature"))?,
    })
}

pub(crate) async fn chains(pool: &SqlitePool) -> Result<Vec<ChainHead>, StoreError> {
    let rows = sqlx::query("SELECT chain, last_seq, last_hash FROM audit_chains ORDER BY chain")
        .fetch_all(pool)
        .await
        .map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            Ok(ChainHead {
                chain: r
                    .try_get("chain")
                    .map_err(|_| corrupt("audit_chains.chain"))?,
                last_seq: r
                    .try_get("last_seq")
                    .map_err(|_| corrupt("audit_chains.last_seq"))?,
                last_hash: hash32(r, "last_hash")?,
            })
        })
        .collect()
}

pub(crate) async fn events(
    pool: &SqlitePool,
    chain: &str,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(chain)
    .bind(after_seq)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    rows.iter().map(event_from_row).collect()
}

pub(crate) async fn query(
    pool: &SqlitePool,
    filter: &AuditFilter,
    before: Option<&AuditCursor>,
    limit: usize,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM audit_events WHERE 1 = 1");
    if let Some(from) = filter.from {
        q.push(" AND event_time >= ").push_bind(from.0);
    }
    if let Some(to) = filter.to {
        q.push(" AND event_time <= ").push_bind(to.0);
    }
    if let Some(k) = filter.key_id {
        q.push(" AND key_id = ").push_bind(k.to_string());
    }
    if let Some(p) = &filter.principal_arn {
        q.push(" AND principal_arn = ").push_bind(p.clone());
    }
    if let Some(a) = &filter.access_key_id {
        q.push(" AND access_key_id = ").push_bind(a.clone());
    }
    if let Some(n) = &filter.event_name {
        q.push(" AND event_name = ").push_bind(n.clone());
    }
    if let Some(e) = &filter.event_id {
        q.push(" AND event_id = ").push_bind(e.clone());
    }
    if let Some(a) = &filter.account {
        q.push(" AND account = ").push_bind(a.as_str().to_owned());
    }
    match filter.failed {
        Some(true) => {
            q.push(" AND error_code IS NOT NULL");
        }
        Some(false) => {
            q.push(" AND error_code IS NULL");
        }
        None => {}
    }
    if let Some(r) = filter.read_only {
        q.push(" AND read_only = ").push_bind(r);
    }
    if let Some((time, chain, seq)) = before {
        q.push(" AND (event_time < ")
            .push_bind(*time)
            .push(" OR (event_time = ")
            .push_bind(*time)
            .push(" AND (chain < ")
            .push_bind(chain.clone())
            .push(" OR (chain = ")
            .push_bind(chain.clone())
            .push(" AND seq < ")
            .push_bind(*seq)
            .push("))))");
    }
    q.push(" ORDER BY event_time DESC, chain DESC, seq DESC LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = q.build().fetch_all(pool).await.map_err(unavailable)?;
    rows.iter().map(event_from_row).collect()
}

pub(crate) async fn put_digest(pool: &SqlitePool, d: &AuditDigest) -> Result<(), StoreError> {
    insert_digest(pool, d).await
}

async fn insert_digest<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    executor: E,
    d: &AuditDigest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_digests (chain, first_seq, last_seq, last_hash, digest_time, prev_signature, prune_anchor, signature) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.chain)
    .bind(d.first_seq)
    .bind(d.last_seq)
    .bind(&d.last_hash[..])
    .bind(d.time.0)
    .bind(&d.prev_signature)
    .bind(d.prune_anchor)
    .bind(&d.signature)
    .execute(executor)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("audit digest"),
        _ => unavailable(e),
    })?;
    Ok(())
}

pub(crate) async fn digests(
    pool: &SqlitePool,
    chain: &str,
) -> Result<Vec<AuditDigest>, StoreError> {
    let rows =
        sqlx::query("SELECT * FROM audit_digests WHERE chain = $1 ORDER BY last_seq, prune_anchor")
            .bind(chain)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
    rows.iter().map(digest_from_row).collect()
}

pub(crate) async fn prune(
    tx: &mut Transaction<'_, Sqlite>,
    anchor: &AuditDigest,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM audit_events WHERE chain = $1 AND seq <= $2")
        .bind(&anchor.chain)
        .bind(anchor.last_seq)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
    insert_digest(&mut **tx, anchor).await?;
    Ok(done.rows_affected())
}

pub(crate) async fn last_usage(
    pool: &SqlitePool,
    key: &KeyId,
    operations: &[&str],
) -> Result<Option<KeyLastUsage>, StoreError> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT event_name, event_time, event_id, request_id FROM audit_events WHERE key_id = ",
    );
    q.push_bind(key.to_string())
        .push(" AND error_code IS NULL AND event_name IN (");
    let mut sep = q.separated(", ");
    for op in operations {
        sep.push_bind(*op);
    }
    q.push(") ORDER BY event_time DESC, seq DESC LIMIT 1");
    let row = q.build().fetch_optional(pool).await.map_err(unavailable)?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(KeyLastUsage {
        operation: r
            .try_get("event_name")
            .map_err(|_| corrupt("audit_events.event_name"))?,
        time: UnixMillis(
            r.try_get("event_time")
                .map_err(|_| corrupt("audit_events.event_time"))?,
        ),
        event_id: r
            .try_get("event_id")
            .map_err(|_| corrupt("audit_events.event_id"))?,
        request_id: r
            .try_get("request_id")
            .map_err(|_| corrupt("audit_events.request_id"))?,
    }))
}

pub(crate) async fn usage_counts(
    pool: &SqlitePool,
    key: &KeyId,
    operations: &[&str],
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT event_name, COUNT(*) AS n FROM audit_events WHERE key_id = ");
    q.push_bind(key.to_string())
        .push(" AND error_code IS NULL AND event_name IN (");
    let mut sep = q.separated(", ");
    for op in operations {
        sep.push_bind(*op);
    }
    q.push(") GROUP BY event_name ORDER BY event_name");
    let rows = q.build().fetch_all(pool).await.map_err(unavailable)?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get("n").map_err(|_| corrupt("count"))?;
            Ok((
                r.try_get("event_name")
                    .map_err(|_| corrupt("audit_events.event_name"))?,
                u64::try_from(n).unwrap_or(0),
            ))
        })
        .collect()
}
