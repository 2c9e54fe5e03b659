//! The SQLite audit trail's search index: the terms of a group-commit batch (one per distinct
//! searchable value its events carry) and the terms a query filter asks for. A filtered query
//! reads only the batches that hold every term of its filter (`audit_terms`, migration 0009),
//! then checks each decoded event against the whole filter, so a term is a necessary condition,
//! never a sufficient one. Batches stored without their terms (`indexed = 0`: written before
//! schema v9, or by tools that insert rows directly) are indexed when the store opens
//! ([`index_pending`]).

use std::collections::BTreeSet;

use kinko_core::{AuditDraft, AuditEvent, AuditFilter, StoreError};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};

use crate::audit_codec;
use crate::sql::unavailable;

/// The term of a batch holding an event that names a key (CloudTrail's `AWS::KMS::Key`).
const NAMES_A_KEY: &str = "t:key";

fn flag(prefix: &str, on: bool) -> String {
    format!("{prefix}{}", if on { "1" } else { "0" })
}

/// The searchable values of one event, borrowed: (term prefix, value).
fn event_values<'a>(d: &'a AuditDraft, out: &mut BTreeSet<(&'static str, &'a str)>) {
    out.insert(("e:", &d.event_id));
    out.insert(("n:", &d.event_name));
    out.insert(("s:", &d.event_source));
    out.insert(("r:", if d.read_only { "1" } else { "0" }));
    out.insert(("f:", if d.error_code.is_some() { "1" } else { "0" }));
    if let Some(p) = &d.principal_arn {
        out.insert(("p:", p));
        out.insert(("u:", kinko_core::user_name(p)));
    }
    if let Some(a) = &d.access_key_id {
        out.insert(("a:", a));
    }
    if let Some(a) = &d.account {
        out.insert(("c:", a.as_str()));
    }
    if d.key_id.is_some() || d.source_key_id.is_some() {
        out.insert((NAMES_A_KEY, ""));
    }
}

/// The terms of a batch, as the JSON array the insert statement reads. Values a batch's events
/// share (most of them, in a group commit) are collected once, without allocating.
pub(crate) fn batch_terms(events: &[AuditEvent]) -> String {
    let mut values = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for e in events {
        event_values(&e.draft, &mut values);
        keys.extend(
            [e.draft.key_id, e.draft.source_key_id]
                .into_iter()
                .flatten(),
        );
    }
    let terms: Vec<String> = values
        .into_iter()
        .map(|(prefix, value)| format!("{prefix}{value}"))
        .chain(keys.into_iter().map(|k| format!("k:{k}")))
        .collect();
    serde_json::Value::from(terms).to_string()
}

/// The terms every batch holding a match of `filter` has, most selective first (the first one
/// drives the query). Empty for a filter of times only.
pub(crate) fn filter_terms(filter: &AuditFilter) -> Vec<String> {
    let mut terms = Vec::new();
    if let Some(e) = &filter.event_id {
        terms.push(format!("e:{e}"));
    }
    if let Some(k) = &filter.key_id {
        terms.push(format!("k:{k}"));
    }
    if let Some(a) = &filter.access_key_id {
        terms.push(format!("a:{a}"));
    }
    if let Some(p) = &filter.principal_arn {
        terms.push(format!("p:{p}"));
    }
    if let Some(u) = &filter.user_name {
        terms.push(format!("u:{u}"));
    }
    if let Some(n) = &filter.event_name {
        terms.push(format!("n:{n}"));
    }
    if let Some(s) = &filter.event_source {
        terms.push(format!("s:{s}"));
    }
    if let Some(a) = &filter.account {
        terms.push(format!("c:{}", a.as_str()));
    }
    if let Some(f) = filter.failed {
        terms.push(flag("f:", f));
    }
    if let Some(r) = filter.read_only {
        terms.push(flag("r:", r));
    }
    if filter.names_a_key {
        terms.push(NAMES_A_KEY.to_owned());
    }
    terms
}

/// Inserts a batch's terms (`batch_terms`).
pub(crate) const INSERT_TERMS: &str = "INSERT INTO audit_terms (term, max_time, chain, last_seq) \
     SELECT value, $1, $2, $3 FROM json_each($4) WHERE true ON CONFLICT DO NOTHING";

/// Batches indexed per transaction by [`index_pending`].
const INDEX_CHUNK: i64 = 256;

/// Indexes every batch stored without its terms, oldest first, a chunk per transaction; returns
/// how many. Run when the store opens, so that a trail written before schema v9 is searchable
/// from the index (queries read unindexed batches whole meanwhile, so they are never wrong).
pub(crate) async fn index_pending(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let mut done = 0u64;
    loop {
        let mut tx = conn.begin().await.map_err(unavailable)?;
        let rows = sqlx::query(
            "SELECT rowid AS id, chain, last_seq, max_time, events FROM audit_batches \
             WHERE indexed = 0 ORDER BY max_time LIMIT $1",
        )
        .bind(INDEX_CHUNK)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
        for row in &rows {
            let get = |e: sqlx::Error| {
                StoreError::Corrupt(format!("audit_batches while indexing the trail: {e}"))
            };
            let id: i64 = row.try_get("id").map_err(get)?;
            let chain: String = row.try_get("chain").map_err(get)?;
            let last_seq: i64 = row.try_get("last_seq").map_err(get)?;
            let max_time: i64 = row.try_get("max_time").map_err(get)?;
            let bytes: Vec<u8> = row.try_get("events").map_err(get)?;
            let events = audit_codec::decode(&chain, &bytes)?;
            sqlx::query(INSERT_TERMS)
                .bind(max_time)
                .bind(&chain)
                .bind(last_seq)
                .bind(batch_terms(&events))
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            sqlx::query("UPDATE audit_batches SET indexed = 1 WHERE rowid = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        done += rows.len() as u64;
        if (rows.len() as i64) < INDEX_CHUNK {
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::{AccountId, KeyId, UnixMillis};

    fn draft() -> AuditDraft {
        AuditDraft {
            event_id: "e1".into(),
            request_id: None,
            time: UnixMillis(1),
            event_source: "kms.amazonaws.com".into(),
            event_name: "ReEncrypt".into(),
            read_only: true,
            account: AccountId::parse("111122223333"),
            principal_arn: Some("arn:aws:iam::111122223333:user/team/alice".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            key_id: KeyId::parse("1234abcd-12ab-34cd-56ef-1234567890ab"),
            source_key_id: KeyId::parse("0000abcd-12ab-34cd-56ef-1234567890ab"),
            error_code: None,
            record: b"{}".to_vec(),
        }
    }

    /// A filter built from an event's own values asks only for terms that event has.
    #[test]
    fn an_event_has_every_term_a_filter_matching_it_asks_for() {
        let d = draft();
        let events = kinko_core::chain_events("node-1", (0, [0; 32]), std::slice::from_ref(&d)).0;
        let have: BTreeSet<String> =
            serde_json::from_str(&batch_terms(&events)).expect("a JSON array of terms");
        let filter = AuditFilter {
            key_id: d.source_key_id,
            principal_arn: d.principal_arn.clone(),
            access_key_id: d.access_key_id.clone(),
            event_name: Some(d.event_name.clone()),
            event_id: Some(d.event_id.clone()),
            failed: Some(false),
            read_only: Some(true),
            account: d.account.clone(),
            event_source: Some(d.event_source.clone()),
            user_name: Some("alice".into()),
            names_a_key: true,
            ..AuditFilter::default()
        };
        assert!(filter.matches(&d));
        let wanted = filter_terms(&filter);
        assert_eq!(wanted.len(), 11);
        for t in &wanted {
            assert!(have.contains(t), "{t} missing from {have:?}");
        }
        let other = AuditFilter {
            user_name: Some("bob".into()),
            ..AuditFilter::default()
        };
        assert!(!have.contains(&filter_terms(&other)[0]));
    }

    /// A trail written by the previous version (schema v8: batches without terms) is indexed
    /// when the store opens, and answers every filter from the index afterwards; the chain it
    /// reads back is the chain that was written.
    #[tokio::test]
    async fn a_trail_of_schema_v8_is_indexed_when_the_store_opens() {
        use kinko_core::{AuditStore, chain_events};
        use sqlx::sqlite::SqliteConnectOptions;

        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("kinko.db");
        let drafts: Vec<AuditDraft> = (0..40)
            .map(|n| AuditDraft {
                event_id: format!("e{n}"),
                event_name: if n % 4 == 0 { "CreateKey" } else { "Encrypt" }.into(),
                read_only: n % 4 != 0,
                principal_arn: Some(format!("arn:aws:iam::111122223333:user/u{}", n % 3)),
                access_key_id: Some(format!("AKIA{}", n % 3)),
                key_id: (n % 5 != 0).then_some(draft().key_id).flatten(),
                source_key_id: None,
                error_code: (n % 7 == 0).then(|| "AccessDeniedException".to_owned()),
                time: UnixMillis(1_700_000_000_000 + n),
                ..draft()
            })
            .collect();
        let (events, _) = chain_events("node-1", (0, [0; 32]), &drafts);
        {
            let options = SqliteConnectOptions::new()
                .filename(&db)
                .create_if_missing(true);
            let mut conn = SqliteConnection::connect_with(&options)
                .await
                .expect("connect");
            // Every step before 9 (the audit indexes), whatever steps came after it.
            let steps = crate::migrate::SQLITE;
            let v8 = &steps[..steps.iter().position(|m| m.version == 9).expect("step 9")];
            assert_eq!(v8.last().map(|m| m.version), Some(8));
            crate::migrate::run::<sqlx::Sqlite>(&mut conn, v8)
                .await
                .expect("schema v8");
            // The previous version's insert, in batches of 16.
            for batch in events.chunks(16) {
                let (first, last) = (&batch[0], &batch[batch.len() - 1]);
                sqlx::query(
                    "INSERT INTO audit_batches (chain, first_seq, last_seq, min_time, max_time, \
                     events, last_hash, key_usage) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
                )
                .bind("node-1")
                .bind(first.seq)
                .bind(last.seq)
                .bind(first.draft.time.0)
                .bind(last.draft.time.0)
                .bind(audit_codec::encode(batch))
                .bind(&last.hash[..])
                .execute(&mut conn)
                .await
                .expect("a v8 batch");
            }
            conn.close().await.expect("close");
        }

        let store = crate::SqliteStore::open(&db)
            .await
            .expect("open and upgrade");
        let options = SqliteConnectOptions::new().filename(&db);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .expect("connect");
        let unindexed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_batches WHERE indexed = 0")
                .fetch_one(&mut conn)
                .await
                .expect("count");
        assert_eq!(unindexed, 0, "every batch is indexed");
        let terms: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_terms WHERE term = 'n:CreateKey'")
                .fetch_one(&mut conn)
                .await
                .expect("count");
        conn.close().await.expect("close");
        assert_eq!(terms, 3, "each of the three batches holds a CreateKey");
        assert_eq!(
            store.audit_events("node-1", 0, 100).await.expect("read"),
            events
        );

        let filters = [
            AuditFilter {
                event_name: Some("CreateKey".into()),
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
                event_source: Some("kms.amazonaws.com".into()),
                ..AuditFilter::default()
            },
            AuditFilter {
                event_name: Some("NoSuchEvent".into()),
                ..AuditFilter::default()
            },
        ];
        for filter in filters {
            let mut expected: Vec<AuditEvent> = events
                .iter()
                .filter(|e| filter.matches(&e.draft))
                .cloned()
                .collect();
            expected.reverse();
            let got = store.query_audit(&filter, None, 100).await.expect("query");
            assert_eq!(got, expected, "{filter:?}");
        }
        store.close().await;
    }
}
