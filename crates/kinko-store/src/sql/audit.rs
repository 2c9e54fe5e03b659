//! The audit trail's tables that both backends lay out alike: chain heads, signed digests and
//! key usage. The events themselves are laid out per backend (SQLite: group-commit batches,
//! PostgreSQL: one row per event), so appending, reading events and pruning go through
//! [`Backend`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use kinko_core::{
    AuditCursor, AuditDigest, AuditDraft, AuditEvent, AuditFilter, AuditStore,
    CRYPTOGRAPHIC_OPERATIONS, ChainHead, KeyId, KeyLastUsage, StoreError, UnixMillis,
};

use super::columns::digest_columns;
use super::{AuditPage, Backend, ChainPage, Run, SqlStore, Stmt};
use crate::rows::{self, Columns};

/// Inserts a signed digest; a second digest at the same position is a conflict on
/// `"audit digest"`.
pub(crate) fn digest_insert(d: &AuditDigest) -> Stmt<'_> {
    Stmt::new(concat!(
        "INSERT INTO audit_digests (",
        digest_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&d.chain)
    .bind(d.first_seq)
    .bind(d.last_seq)
    .bind(&d.last_hash[..])
    .bind(d.time.0)
    .bind(&d.prev_signature)
    .bind(d.prune_anchor)
    .bind(&d.signature)
}

/// Successful cryptographic uses of keys, per (key, operation), with the newest use of each.
pub(crate) type Usage<'a> = BTreeMap<(String, &'a str), (i64, &'a AuditDraft)>;

/// The successful cryptographic uses in `events`; sorted, so that concurrent appends lock usage
/// rows in one order.
pub(crate) fn usage(events: &[AuditEvent]) -> Usage<'_> {
    let mut usage: Usage<'_> = BTreeMap::new();
    for e in events {
        let d = &e.draft;
        if d.error_code.is_some() || !CRYPTOGRAPHIC_OPERATIONS.contains(&d.event_name.as_str()) {
            continue;
        }
        for key in [d.key_id, d.source_key_id].into_iter().flatten() {
            let entry = usage
                .entry((key.to_string(), d.event_name.as_str()))
                .or_insert((0, d));
            entry.0 += 1;
            if d.time >= entry.1.time {
                entry.1 = d;
            }
        }
    }
    usage
}

#[async_trait]
impl<B: Backend> AuditStore for SqlStore<B> {
    async fn append_audit(
        &self,
        chain: &str,
        drafts: &[AuditDraft],
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        self.0.append_audit(chain, drafts).await
    }

    async fn audit_chains(&self) -> Result<Vec<ChainHead>, StoreError> {
        const T: &str = "audit_chains";
        self.0.settle().await?;
        let s = Stmt::new("SELECT chain, last_seq, last_hash FROM audit_chains ORDER BY chain");
        let rows = self.0.fetch_all(s).await?;
        rows.iter()
            .map(|r| {
                Ok(ChainHead {
                    chain: r.text(T, "chain")?,
                    last_seq: r.int(T, "last_seq")?,
                    last_hash: r.hash32(T, "last_hash")?,
                })
            })
            .collect()
    }

    async fn audit_events(
        &self,
        chain: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.0
            .audit_events(ChainPage {
                chain,
                after_seq,
                limit,
            })
            .await
    }

    async fn audit_hourly_counts(
        &self,
        account: &kinko_core::AccountId,
        from: UnixMillis,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.0.audit_hourly_counts(account, from).await
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.0
            .query_audit(AuditPage {
                filter,
                before,
                limit,
            })
            .await
    }

    async fn put_digest(&self, digest: &AuditDigest) -> Result<(), StoreError> {
        self.0.insert(digest_insert(digest), "audit digest").await
    }

    async fn list_digests(&self, chain: &str) -> Result<Vec<AuditDigest>, StoreError> {
        self.0.settle().await?;
        let s = Stmt::new(concat!(
            "SELECT ",
            digest_columns!(),
            " FROM audit_digests WHERE chain = $1 ORDER BY last_seq, prune_anchor"
        ))
        .bind(chain);
        self.0.read_all(s, rows::digest).await
    }

    async fn prune_audit(&self, anchor: &AuditDigest) -> Result<u64, StoreError> {
        self.0.prune_audit(anchor).await
    }

    async fn key_last_usage(&self, key: &KeyId) -> Result<Option<KeyLastUsage>, StoreError> {
        const T: &str = "audit_key_usage";
        self.0.settle().await?;
        let s = Stmt::new(
            "SELECT operation, last_time, last_event_id, last_request_id FROM audit_key_usage \
             WHERE key_id = $1 ORDER BY last_time DESC, last_event_id DESC LIMIT 1",
        )
        .bind(key.to_string());
        let Some(r) = self.0.fetch_optional(s).await? else {
            return Ok(None);
        };
        Ok(Some(KeyLastUsage {
            operation: r.text(T, "operation")?,
            time: UnixMillis(r.int(T, "last_time")?),
            event_id: r.text(T, "last_event_id")?,
            request_id: r.opt_text(T, "last_request_id")?,
        }))
    }

    async fn key_usage_counts(&self, key: &KeyId) -> Result<Vec<(String, u64)>, StoreError> {
        const T: &str = "audit_key_usage";
        self.0.settle().await?;
        let s = Stmt::new(
            "SELECT operation, uses FROM audit_key_usage WHERE key_id = $1 ORDER BY operation",
        )
        .bind(key.to_string());
        let rows = self.0.fetch_all(s).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.text(T, "operation")?,
                    u64::try_from(r.int(T, "uses")?).unwrap_or(0),
                ))
            })
            .collect()
    }
}
