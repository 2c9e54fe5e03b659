//! Sealing: signing a digest of what each chain gained since its last digest, and retention
//! pruning, which seals first and leaves a signed anchor where the chain now starts. The server
//! runs these on a timer and at shutdown; they need only the store contract and the key.

use std::time::Duration;

use kinko_core::{AuditDigest, Store, UnixMillis};
use kinko_crypto::SigningKeyPair;

use crate::trail_error::TrailError;

/// Seals the chain: signs a digest of everything appended since the last digest.
pub async fn seal(
    store: &dyn Store,
    key: &SigningKeyPair,
    chain: &str,
    now: UnixMillis,
) -> Result<Option<AuditDigest>, TrailError> {
    let head = store
        .audit_chains()
        .await
        .map_err(TrailError::store("reading chain heads"))?
        .into_iter()
        .find(|h| h.chain == chain);
    let Some(head) = head else { return Ok(None) };
    let digests = store
        .list_digests(chain)
        .await
        .map_err(TrailError::store("reading digests"))?;
    let last = digests.last();
    let sealed_to = last.map_or(0, |d| d.last_seq);
    if head.last_seq <= sealed_to {
        return Ok(None);
    }
    let mut digest = AuditDigest {
        chain: chain.to_owned(),
        first_seq: sealed_to + 1,
        last_seq: head.last_seq,
        last_hash: head.last_hash,
        time: now,
        prev_signature: last.map(|d| d.signature.clone()).unwrap_or_default(),
        prune_anchor: false,
        signature: Vec::new(),
    };
    digest.signature = key.sign(&digest.message());
    store
        .put_digest(&digest)
        .await
        .map_err(TrailError::store("storing the digest"))?;
    Ok(Some(digest))
}

/// Deletes events older than `retention`, first sealing the chain so that a signed anchor marks
/// where it now starts.
pub async fn prune(
    store: &dyn Store,
    key: &SigningKeyPair,
    chain: &str,
    now: UnixMillis,
    retention: Duration,
) -> Result<u64, TrailError> {
    let cutoff = now.0 - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    seal(store, key, chain, now).await?;
    let digests = store
        .list_digests(chain)
        .await
        .map_err(TrailError::store("reading digests"))?;
    let start = digests
        .iter()
        .filter(|d| d.prune_anchor)
        .map(|d| d.last_seq)
        .max()
        .unwrap_or(0);
    // The newest event older than the cutoff.
    let mut last_old = None;
    let mut after = start;
    loop {
        let events = store
            .audit_events(chain, after, 1000)
            .await
            .map_err(TrailError::store("reading events"))?;
        let Some(tail) = events.last() else { break };
        after = tail.seq;
        let mut stop = false;
        for e in &events {
            if e.draft.time.0 < cutoff {
                last_old = Some((e.seq, e.hash));
            } else {
                stop = true;
                break;
            }
        }
        if stop {
            break;
        }
    }
    let Some((last_seq, last_hash)) = last_old else {
        return Ok(0);
    };
    let mut anchor = AuditDigest {
        chain: chain.to_owned(),
        first_seq: start + 1,
        last_seq,
        last_hash,
        time: now,
        prev_signature: digests
            .last()
            .map(|d| d.signature.clone())
            .unwrap_or_default(),
        prune_anchor: true,
        signature: Vec::new(),
    };
    anchor.signature = key.sign(&anchor.message());
    store
        .prune_audit(&anchor)
        .await
        .map_err(TrailError::store("pruning"))
}
