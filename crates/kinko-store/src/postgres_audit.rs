//! The audit trail on PostgreSQL: one row per event in `audit_events`, the chain head in
//! `audit_chains`, usage counts in `audit_key_usage`.
//!
//! Several nodes share the database, so an append never trusts anything held in memory: inside
//! the caller's transaction it locks the chain's head row (`SELECT ... FOR UPDATE`, creating the
//! row first for a new chain), numbers and hashes the events after that head, and writes the
//! events, the usage counts and the new head in one statement. A second append to the same chain
//! (another task, another node) waits on the row lock until the first commits or rolls back, then
//! reads the head it left: sequence numbers stay gapless and every `prev_hash` is the hash
//! committed before it. Appends to different chains never wait for each other.

use kinko_core::{
    AccountId, AuditDigest, AuditDraft, AuditEvent, KeyId, StoreError, UnixMillis, chain_events,
};
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};

use crate::rows::{Columns, corrupt};
use crate::sql::{
    AuditPage, Dialect, On, digest_insert, limit_i64, unavailable, usage, write_error,
};

/// A chain's head: last sequence number and hash.
type Head = kinko_core::ChainPosition;

/// Reads and locks the head row of `chain` until the transaction ends.
async fn lock_head_row(conn: &mut PgConnection, chain: &str) -> Result<Option<Head>, StoreError> {
    let row =
        sqlx::query("SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1 FOR UPDATE")
            .bind(chain)
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable)?;
    row.map(|r| {
        Ok((
            r.int("audit_chains", "last_seq")?,
            r.hash32("audit_chains", "last_hash")?,
        ))
    })
    .transpose()
}

/// Locks the head of `chain` (creating an empty one for a new chain; it is only committed with
/// the events that follow it) and returns it.
async fn lock_head(conn: &mut PgConnection, chain: &str) -> Result<Head, StoreError> {
    if let Some(head) = lock_head_row(conn, chain).await? {
        return Ok(head);
    }
    // Two first appends to a new chain: the second INSERT waits for the first transaction and
    // then does nothing; the SELECT below then waits on the row lock the first one holds.
    sqlx::query(
        "INSERT INTO audit_chains (chain, last_seq, last_hash) VALUES ($1, 0, $2) \
         ON CONFLICT (chain) DO NOTHING",
    )
    .bind(chain)
    .bind(&[0u8; 32][..])
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    lock_head_row(conn, chain)
        .await?
        .ok_or_else(|| StoreError::unavailable(format!("audit chain {chain}: head row vanished")))
}

/// The columns of an event row after its chain, as a literal for `concat!`.
macro_rules! event_fields {
    () => {
        "seq, prev_hash, hash, event_id, request_id, event_time, event_source, event_name, \
         read_only, account, principal_arn, access_key_id, key_id, source_key_id, error_code, record"
    };
}

/// The columns of an event row, as a literal for `concat!`.
macro_rules! event_columns {
    () => {
        concat!("chain, ", event_fields!())
    };
}

/// The columns of a key-usage row, as a literal for `concat!`.
macro_rules! usage_fields {
    () => {
        "key_id, operation, uses, last_time, last_event_id, last_request_id"
    };
}

/// Appends `drafts` to `chain` inside the caller's transaction (READ COMMITTED): locks the head,
/// then writes the events, the usage counts and the new head in one statement. The events are
/// durable when the transaction commits; the head lock is held until then.
pub(crate) async fn append_in_tx(
    conn: &mut PgConnection,
    chain: &str,
    drafts: &[AuditDraft],
) -> Result<Vec<AuditEvent>, StoreError> {
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let head = lock_head(conn, chain).await?;
    let (events, new_head) = chain_events(chain, head, drafts);

    let n = events.len();
    let mut seq = Vec::with_capacity(n);
    let mut prev_hash = Vec::with_capacity(n);
    let mut hash = Vec::with_capacity(n);
    let mut event_id = Vec::with_capacity(n);
    let mut request_id = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut source = Vec::with_capacity(n);
    let mut name = Vec::with_capacity(n);
    let mut read_only = Vec::with_capacity(n);
    let mut account = Vec::with_capacity(n);
    let mut principal = Vec::with_capacity(n);
    let mut access_key = Vec::with_capacity(n);
    let mut key = Vec::with_capacity(n);
    let mut source_key = Vec::with_capacity(n);
    let mut error = Vec::with_capacity(n);
    let mut record = Vec::with_capacity(n);
    for e in &events {
        let d = &e.draft;
        seq.push(e.seq);
        prev_hash.push(e.prev_hash.to_vec());
        hash.push(e.hash.to_vec());
        event_id.push(d.event_id.as_str());
        request_id.push(d.request_id.as_deref());
        time.push(d.time.0);
        source.push(d.event_source.as_str());
        name.push(d.event_name.as_str());
        read_only.push(d.read_only);
        account.push(d.account.as_ref().map(AccountId::as_str));
        principal.push(d.principal_arn.as_deref());
        access_key.push(d.access_key_id.as_deref());
        key.push(d.key_id.map(|k| k.to_string()));
        source_key.push(d.source_key_id.map(|k| k.to_string()));
        error.push(d.error_code.as_deref());
        record.push(d.record.as_slice());
    }
    let usage = usage(&events);
    let mut u_key = Vec::with_capacity(usage.len());
    let mut u_op = Vec::with_capacity(usage.len());
    let mut u_uses = Vec::with_capacity(usage.len());
    let mut u_time = Vec::with_capacity(usage.len());
    let mut u_event = Vec::with_capacity(usage.len());
    let mut u_request = Vec::with_capacity(usage.len());
    for ((k, op), (uses, last)) in &usage {
        u_key.push(k.as_str());
        u_op.push(*op);
        u_uses.push(*uses);
        u_time.push(last.time.0);
        u_event.push(last.event_id.as_str());
        u_request.push(last.request_id.as_deref());
    }

    // One round trip: the events, the usage counts (the newest use wins, whatever order nodes
    // commit in) and the head. The head row is already locked by this transaction.
    sqlx::query(concat!(
        "WITH new_events AS ( \
            INSERT INTO audit_events (chain, ",
        event_fields!(),
        ") SELECT $1, ",
        event_fields!(),
        " FROM UNNEST($2::BIGINT[], $3::BYTEA[], $4::BYTEA[], $5::TEXT[], $6::TEXT[], \
                $7::BIGINT[], $8::TEXT[], $9::TEXT[], $10::BOOLEAN[], $11::TEXT[], $12::TEXT[], \
                $13::TEXT[], $14::TEXT[], $15::TEXT[], $16::TEXT[], $17::BYTEA[]) AS e(",
        event_fields!(),
        ") \
         ), new_usage AS ( \
            INSERT INTO audit_key_usage (",
        usage_fields!(),
        ") SELECT ",
        usage_fields!(),
        " FROM UNNEST($18::TEXT[], $19::TEXT[], $20::BIGINT[], $21::BIGINT[], $22::TEXT[], \
                $23::TEXT[]) AS u(",
        usage_fields!(),
        ") \
            ON CONFLICT (key_id, operation) DO UPDATE SET \
                uses = audit_key_usage.uses + excluded.uses, \
                last_time = GREATEST(audit_key_usage.last_time, excluded.last_time), \
                last_event_id = CASE WHEN excluded.last_time >= audit_key_usage.last_time \
                    THEN excluded.last_event_id ELSE audit_key_usage.last_event_id END, \
                last_request_id = CASE WHEN excluded.last_time >= audit_key_usage.last_time \
                    THEN excluded.last_request_id ELSE audit_key_usage.last_request_id END \
         ) \
         UPDATE audit_chains SET last_seq = $24, last_hash = $25 WHERE chain = $1"
    ))
    .bind(chain)
    .bind(seq)
    .bind(prev_hash)
    .bind(hash)
    .bind(event_id)
    .bind(request_id)
    .bind(time)
    .bind(source)
    .bind(name)
    .bind(read_only)
    .bind(account)
    .bind(principal)
    .bind(access_key)
    .bind(key)
    .bind(source_key)
    .bind(error)
    .bind(record)
    .bind(u_key)
    .bind(u_op)
    .bind(u_uses)
    .bind(u_time)
    .bind(u_event)
    .bind(u_request)
    .bind(new_head.0)
    .bind(&new_head.1[..])
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    Ok(events)
}

pub(crate) fn event_from_row(row: &PgRow) -> Result<AuditEvent, StoreError> {
    const T: &str = "audit_events";
    let opt_key = |column: &str| -> Result<Option<KeyId>, StoreError> {
        row.opt_text(T, column)?
            .map(|k| KeyId::parse(&k).ok_or_else(|| corrupt(T, column)))
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
                .map(|a| AccountId::parse(&a).ok_or_else(|| corrupt(T, "account")))
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

pub(crate) async fn events(
    pool: &PgPool,
    chain: &str,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(chain)
    .bind(after_seq)
    .bind(limit_i64(limit))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    rows.iter().map(event_from_row).collect()
}

/// The conditions of `page` but its key, each answered by an index (migration 0009).
fn push_conditions(q: &mut QueryBuilder<Postgres>, page: &AuditPage<'_>) {
    let filter = page.filter;
    if let Some(from) = filter.from {
        q.push(" AND event_time >= ").push_bind(from.0);
    }
    if let Some(to) = filter.to {
        q.push(" AND event_time <= ").push_bind(to.0);
    }
    if let Some(p) = &filter.principal_arn {
        q.push(" AND principal_arn = ").push_bind(p.clone());
    }
    if let Some(u) = &filter.user_name {
        // The expression of the index audit_events_by_user: kinko_core::user_name.
        q.push(
            " AND principal_arn IS NOT NULL \
             AND regexp_replace(principal_arn, '^.*[/:]', '') = ",
        )
        .push_bind(u.clone());
    }
    if let Some(a) = &filter.access_key_id {
        q.push(" AND access_key_id = ").push_bind(a.clone());
    }
    if let Some(n) = &filter.event_name {
        q.push(" AND event_name = ").push_bind(n.clone());
    }
    if let Some(s) = &filter.event_source {
        q.push(" AND event_source = ").push_bind(s.clone());
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
    if filter.names_a_key {
        q.push(" AND (key_id IS NOT NULL OR source_key_id IS NOT NULL)");
    }
    if let Some((time, chain, seq)) = page.before {
        q.push(" AND (event_time, chain, seq) < (")
            .push_bind(*time)
            .push(", ")
            .push_bind(chain.clone())
            .push(", ")
            .push_bind(*seq)
            .push(")");
    }
}

/// The trail's order, newest first, and the page's length.
fn push_order(q: &mut QueryBuilder<Postgres>, limit: usize) {
    q.push(" ORDER BY event_time DESC, chain DESC, seq DESC LIMIT ")
        .push_bind(limit_i64(limit));
}

/// [`kinko_core::AuditStore::audit_hourly_counts`]: the account's events per hour from the hour
/// holding `from`, summed over the chains from `audit_hourly` (kept by triggers on
/// `audit_events`, schema v15), without reading an event.
pub(crate) async fn hourly_counts(
    pool: &PgPool,
    account: &kinko_core::AccountId,
    from: kinko_core::UnixMillis,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT hour, sum(events)::BIGINT FROM audit_hourly \
         WHERE account = $1 AND hour >= $2 GROUP BY hour ORDER BY hour",
    )
    .bind(account.as_str())
    .bind(from.0 - from.0.rem_euclid(3_600_000))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    Ok(rows
        .into_iter()
        .map(|(h, n)| (h, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Newest first by (time, chain, seq), every filter in SQL. A key filter is two index scans
/// (the key as `key_id`, then as `source_key_id` alone), each stopping at the page's length,
/// merged: one scan with `OR` would read every event of a busy key before the first page.
pub(crate) async fn query(
    pool: &PgPool,
    page: AuditPage<'_>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    q.push(event_columns!());
    match (page.filter.key_id, &page.filter.event_id) {
        // An event id names one event (two at most): its index finds them and the rest of the
        // filter is checked on those. `OFFSET 0` keeps the planner from walking the whole trail
        // in time order instead, hoping to meet the id early (1.8 s on 1,000,000 events when no
        // event has it).
        (None, Some(id)) => {
            q.push(" FROM (SELECT ");
            q.push(event_columns!());
            q.push(" FROM audit_events WHERE event_id = ")
                .push_bind(id.clone())
                .push(" OFFSET 0) AS e WHERE TRUE");
            push_conditions(&mut q, &page);
        }
        (None, None) => {
            q.push(" FROM audit_events WHERE TRUE");
            push_conditions(&mut q, &page);
        }
        (Some(key), _) => {
            let key = key.to_string();
            q.push(" FROM ((SELECT ");
            q.push(event_columns!());
            q.push(" FROM audit_events WHERE key_id = ")
                .push_bind(key.clone());
            push_conditions(&mut q, &page);
            push_order(&mut q, page.limit);
            q.push(") UNION ALL (SELECT ");
            q.push(event_columns!());
            q.push(" FROM audit_events WHERE source_key_id = ")
                .push_bind(key.clone())
                .push(" AND key_id IS DISTINCT FROM ")
                .push_bind(key);
            push_conditions(&mut q, &page);
            push_order(&mut q, page.limit);
            q.push(")) AS e WHERE TRUE");
        }
    }
    push_order(&mut q, page.limit);
    let rows = q.build().fetch_all(pool).await.map_err(unavailable)?;
    rows.iter().map(event_from_row).collect()
}

/// Deletes the chain's events up to the anchor and stores the anchor, in the caller's
/// transaction: if the anchor cannot be stored, the transaction rolls back the deletion too.
pub(crate) async fn prune(
    conn: &mut PgConnection,
    anchor: &AuditDigest,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM audit_events WHERE chain = $1 AND seq <= $2")
        .bind(&anchor.chain)
        .bind(anchor.last_seq)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    Postgres::execute(On::Conn(conn), digest_insert(anchor))
        .await
        .map_err(|e| write_error(e, "audit digest"))?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use kinko_core::{AuditFilter, UnixMillis};
    use sqlx::Connection;
    use sqlx::postgres::PgConnectOptions;

    use super::*;
    use crate::sql::AuditPage;

    /// A trail written at schema v8 is found through the indexes schema v9 adds, by every
    /// filter, and each filter's plan can use an index (sequential scans off): the user-name
    /// expression is the one the index is built on.
    #[tokio::test]
    async fn a_trail_of_schema_v8_answers_every_filter_from_an_index_after_the_upgrade() {
        let url = std::env::var("KINKO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let Ok(options) = PgConnectOptions::from_str(&url) else {
            panic!("bad KINKO_TEST_POSTGRES_URL {url}");
        };
        let mut admin = match PgConnection::connect_with(&options).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("PostgreSQL at {url} unreachable ({e}): this test did NOT run");
                return;
            }
            Err(e) => panic!("PostgreSQL at {url} unreachable: {e}"),
        };
        let name = format!(
            "kinko_perf_upgrade_{}",
            kinko_core::hex(&kinko_crypto::random_array::<6>().expect("random"))
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        let options = options.database(&name);
        let result = async {
            let mut conn = PgConnection::connect_with(&options).await.expect("connect");
            // Every step before 9 (the audit indexes), whatever steps came after it.
            let steps = crate::migrate::POSTGRES;
            let v8 = &steps[..steps.iter().position(|m| m.version == 9).expect("step 9")];
            assert_eq!(v8.last().map(|m| m.version), Some(8));
            crate::migrate::run::<Postgres>(&mut conn, v8)
                .await
                .expect("schema v8");
            let drafts: Vec<AuditDraft> = (0..30)
                .map(|n| AuditDraft {
                    event_id: format!("e{n}"),
                    request_id: None,
                    time: UnixMillis(1_700_000_000_000 + n),
                    event_source: "kms.amazonaws.com".into(),
                    event_name: if n % 3 == 0 { "CreateKey" } else { "Encrypt" }.into(),
                    read_only: n % 3 != 0,
                    account: None,
                    principal_arn: Some(format!("arn:aws:iam::111122223333:user/team/u{}", n % 4)),
                    access_key_id: Some(format!("AKIA{}", n % 4)),
                    key_id: (n % 5 != 0)
                        .then(|| KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab"))
                        .flatten(),
                    source_key_id: None,
                    error_code: (n % 7 == 0).then(|| "AccessDeniedException".to_owned()),
                    record: format!("{{\"n\":{n}}}").into_bytes(),
                })
                .collect();
            let mut tx = conn.begin().await.expect("begin");
            let events = append_in_tx(&mut tx, "node-1", &drafts)
                .await
                .expect("append at v8");
            tx.commit().await.expect("commit");
            crate::migrate::run::<Postgres>(&mut conn, crate::migrate::POSTGRES)
                .await
                .expect("upgrade to v9");
            conn.close().await.expect("close");

            let pool = PgPool::connect_with(options.clone()).await.expect("pool");
            let filters = [
                AuditFilter {
                    event_name: Some("CreateKey".into()),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    event_source: Some("kms.amazonaws.com".into()),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    user_name: Some("u1".into()),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    access_key_id: Some("AKIA2".into()),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    read_only: Some(false),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    failed: Some(true),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    names_a_key: true,
                    ..AuditFilter::default()
                },
                AuditFilter {
                    event_id: Some("e17".into()),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    key_id: KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab"),
                    ..AuditFilter::default()
                },
                AuditFilter {
                    user_name: Some("nobody".into()),
                    ..AuditFilter::default()
                },
            ];
            for filter in &filters {
                let mut expected: Vec<AuditEvent> = events
                    .iter()
                    .filter(|e| filter.matches(&e.draft))
                    .cloned()
                    .collect();
                expected.reverse();
                let page = AuditPage {
                    filter,
                    before: None,
                    limit: 100,
                };
                let got = query(&pool, page).await.expect("query");
                assert_eq!(got, expected, "{filter:?}");
            }
            // The user-name lookup can use its expression index.
            let mut conn = pool.acquire().await.expect("acquire");
            sqlx::raw_sql("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .expect("set");
            let plan: Vec<String> = sqlx::query_scalar(
                "EXPLAIN SELECT seq FROM audit_events WHERE principal_arn IS NOT NULL \
                 AND regexp_replace(principal_arn, '^.*[/:]', '') = $1 \
                 ORDER BY event_time DESC, chain DESC, seq DESC LIMIT 50",
            )
            .bind("u1")
            .fetch_all(&mut *conn)
            .await
            .expect("explain");
            assert!(
                plan.iter().any(|l| l.contains("audit_events_by_user")),
                "{plan:#?}"
            );
            drop(conn);
            pool.close().await;
        }
        .await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop database");
        result
    }

    /// A trail written before schema v15 is counted per hour by the roll-up v15 fills in, and
    /// events appended after the upgrade are added to it.
    #[tokio::test]
    async fn the_hourly_roll_up_counts_a_trail_written_before_it() {
        let url = std::env::var("KINKO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let Ok(options) = PgConnectOptions::from_str(&url) else {
            panic!("bad KINKO_TEST_POSTGRES_URL {url}");
        };
        let mut admin = match PgConnection::connect_with(&options).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("PostgreSQL at {url} unreachable ({e}): this test did NOT run");
                return;
            }
            Err(e) => panic!("PostgreSQL at {url} unreachable: {e}"),
        };
        let name = format!(
            "kinko_test_hourly_{}",
            kinko_core::hex(&kinko_crypto::random_array::<6>().expect("random"))
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        let options = options.database(&name);
        let result = async {
            const HOUR: i64 = 3_600_000;
            const T0: i64 = 1_767_225_600_000;
            let account = AccountId::parse("111122223333").expect("account");
            let draft = |n: i64, time: i64, account: Option<&AccountId>| AuditDraft {
                event_id: format!("e{n}"),
                request_id: None,
                time: UnixMillis(time),
                event_source: "kms.amazonaws.com".into(),
                event_name: "Encrypt".into(),
                read_only: true,
                account: account.cloned(),
                principal_arn: None,
                access_key_id: None,
                key_id: None,
                source_key_id: None,
                error_code: None,
                record: b"{}".to_vec(),
            };
            let mut conn = PgConnection::connect_with(&options).await.expect("connect");
            let steps = crate::migrate::POSTGRES;
            let v14 = &steps[..steps.iter().position(|m| m.version == 15).expect("step 15")];
            crate::migrate::run::<Postgres>(&mut conn, v14)
                .await
                .expect("schema v14");
            let before = [
                draft(1, T0 + 1, Some(&account)),
                draft(2, T0 + HOUR - 1, Some(&account)),
                draft(3, T0 + HOUR, Some(&account)),
                draft(4, T0 + 5, None),
            ];
            for (chain, drafts) in [("node-1", &before[..3]), ("node-2", &before[2..])] {
                let mut tx = conn.begin().await.expect("begin");
                append_in_tx(&mut tx, chain, drafts).await.expect("append");
                tx.commit().await.expect("commit");
            }
            crate::migrate::run::<Postgres>(&mut conn, steps)
                .await
                .expect("upgrade to v15");
            let pool = PgPool::connect_with(options.clone()).await.expect("pool");
            let counts = hourly_counts(&pool, &account, UnixMillis(T0))
                .await
                .expect("counts");
            assert_eq!(counts, vec![(T0, 2), (T0 + HOUR, 2)]);
            let mut tx = pool.begin().await.expect("begin");
            append_in_tx(&mut tx, "node-2", &[draft(5, T0 + 2, Some(&account))])
                .await
                .expect("append");
            tx.commit().await.expect("commit");
            let counts = hourly_counts(&pool, &account, UnixMillis(T0 + HOUR + 7))
                .await
                .expect("counts");
            assert_eq!(counts, vec![(T0 + HOUR, 2)], "from the hour holding `from`");
            let counts = hourly_counts(&pool, &account, UnixMillis(T0))
                .await
                .expect("counts");
            assert_eq!(counts, vec![(T0, 3), (T0 + HOUR, 2)]);
            pool.close().await;
        }
        .await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop database");
        result
    }
}
