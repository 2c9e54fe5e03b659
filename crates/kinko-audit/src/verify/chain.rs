//! The chain walk over the store contract (no SQL): every chain, from its newest prune anchor,
//! in sequence order — no gaps, each `prev_hash` is the previous event's hash, each hash
//! re-derives from its contents, the indexed columns agree with the record they were taken
//! from, and the chain head names the last event.
//!
//! The walk keeps O(1) state; when a link breaks, extra scans work out what happened (modified,
//! deleted, inserted or reordered), so the cost of a diagnosis is paid only once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kinko_core::{
    AuditDigest, AuditEvent, AuditFilter, ChainHead, KeyId, Store, StoreError, chain_hash,
};
use serde_json::Value;

use super::digests::{Walked, check_checkpoints, check_digests};
use super::report::{
    BreakKind, ChainReport, VerifyBreak, VerifyError, VerifyReport, brk, digest_name,
};
use crate::record::iso8601;

/// Events read per store call.
const PAGE: usize = 1000;
/// How far a renumbered event is looked for (its hash binds its original seq).
const RENUMBER_WINDOW: i64 = 64;

/// Verifies every chain in `store` against the audit public key (32 raw bytes).
pub async fn verify(store: &dyn Store, public_key: &[u8]) -> Result<VerifyReport, VerifyError> {
    verify_chains(store, public_key, &[]).await
}

/// [`verify`], also requiring the chains in `expected` to be accounted for (a node's own chain
/// whose head and events were all deleted still has digests).
pub async fn verify_chains(
    store: &dyn Store,
    public_key: &[u8],
    expected: &[&str],
) -> Result<VerifyReport, VerifyError> {
    let heads: BTreeMap<String, ChainHead> = store
        .audit_chains()
        .await?
        .into_iter()
        .map(|h| (h.chain.clone(), h))
        .collect();
    let mut names: BTreeSet<String> = heads.keys().cloned().collect();
    names.extend(expected.iter().map(|c| (*c).to_owned()));
    names.extend(chains_with_events(store).await?);
    let mut report = VerifyReport::default();
    for name in names {
        let chain = verify_chain(store, &name, public_key).await?;
        if chain.events_checked > 0 || chain.digests_checked > 0 || heads.contains_key(&name) {
            report.chains.push(chain);
        }
    }
    Ok(report)
}

/// Every chain that has events, found by walking the whole trail (a chain whose head row was
/// deleted is still found). A row that cannot be read ends the walk: the chain walk locates it.
async fn chains_with_events(store: &dyn Store) -> Result<BTreeSet<String>, VerifyError> {
    let mut names = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = match store
            .query_audit(&AuditFilter::default(), cursor.as_ref(), PAGE)
            .await
        {
            Ok(page) => page,
            Err(StoreError::Corrupt(_)) => break,
            Err(e) => return Err(e.into()),
        };
        let Some(last) = page.last() else { break };
        cursor = Some((last.draft.time.0, last.chain.clone(), last.seq));
        names.extend(page.into_iter().map(|e| e.chain));
    }
    Ok(names)
}

/// A page of events after `after`; when a row cannot be read, the readable ones before it and
/// the break it makes.
async fn read_page(
    store: &dyn Store,
    chain: &str,
    after: i64,
) -> Result<(Vec<AuditEvent>, Option<VerifyBreak>), VerifyError> {
    match store.audit_events(chain, after, PAGE).await {
        Ok(page) => Ok((page, None)),
        Err(StoreError::Corrupt(_)) => {
            let mut good = Vec::new();
            let mut at = after;
            loop {
                match store.audit_events(chain, at, 1).await {
                    Ok(mut one) => match one.pop() {
                        Some(e) => {
                            at = e.seq;
                            good.push(e);
                        }
                        None => return Ok((good, None)),
                    },
                    Err(StoreError::Corrupt(what)) => {
                        let b = brk(
                            chain,
                            at + 1,
                            None,
                            BreakKind::Modified,
                            format!("the stored event after seq {at} cannot be read ({what})"),
                        );
                        return Ok((good, Some(b)));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Where an event sits and what it links to (what a diagnosis needs, without the record).
#[derive(Debug, Clone)]
struct Link {
    seq: i64,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    event_id: String,
}

impl Link {
    fn of(e: &AuditEvent) -> Link {
        Link {
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            event_id: e.draft.event_id.clone(),
        }
    }
}

/// The links of every readable event of `chain` after `after`, for diagnosis.
async fn all_links(store: &dyn Store, chain: &str, after: i64) -> Result<Vec<Link>, VerifyError> {
    let mut out = Vec::new();
    let mut at = after;
    loop {
        let (page, broken) = read_page(store, chain, at).await?;
        let Some(last) = page.last() else { break };
        at = last.seq;
        out.extend(page.iter().map(Link::of));
        if broken.is_some() {
            break;
        }
    }
    Ok(out)
}

/// Verifies one chain.
async fn verify_chain(
    store: &dyn Store,
    chain: &str,
    public_key: &[u8],
) -> Result<ChainReport, VerifyError> {
    let digests = store.list_digests(chain).await?;
    check_digests(chain, &digests, public_key)?;
    let anchor = digests
        .iter()
        .filter(|d| d.prune_anchor)
        .max_by_key(|d| d.last_seq);
    let start = anchor.map_or(0, |a| a.last_seq);
    let start_hash = anchor.map_or([0u8; 32], |a| a.last_hash);
    let mut normals: Vec<&AuditDigest> = digests.iter().filter(|d| !d.prune_anchor).collect();
    normals.sort_by_key(|d| d.last_seq);
    let sealed_to = normals.last().map_or(0, |d| d.last_seq);
    let mut checkpoints: VecDeque<&AuditDigest> = VecDeque::new();
    for d in normals {
        if d.last_seq < start {
            continue;
        }
        if d.last_seq == start {
            if d.last_hash != start_hash {
                return Err(brk(
                    chain,
                    start,
                    None,
                    BreakKind::Modified,
                    format!("{} disagrees with the prune anchor", digest_name(d)),
                )
                .into());
            }
            continue;
        }
        checkpoints.push_back(d);
    }

    let mut report = ChainReport {
        chain: chain.to_owned(),
        digests_checked: u64::try_from(digests.len()).unwrap_or(u64::MAX),
        pruned_through: start,
        ..ChainReport::default()
    };
    let mut last: Option<Walked> = None;
    let mut after = start;
    let head = loop {
        let (page, unreadable) = read_page(store, chain, after).await?;
        if page.is_empty() && unreadable.is_none() {
            // The head is read after the walk, so that events the running server appended
            // meanwhile are walked too instead of looking like a tampered head.
            let fresh = store
                .audit_chains()
                .await?
                .into_iter()
                .find(|h| h.chain == chain);
            let more = match &fresh {
                Some(h) if h.last_seq > after => store
                    .audit_events(chain, after, 1)
                    .await
                    .map_or(true, |next| !next.is_empty()),
                _ => false,
            };
            if more {
                continue;
            }
            break fresh;
        }
        for e in &page {
            let expected_seq = last.as_ref().map_or(start + 1, |l| l.seq + 1);
            let expected_prev = last.as_ref().map_or(start_hash, |l| l.hash);
            if e.seq != expected_seq {
                let detail = if e.seq == expected_seq + 1 {
                    format!(
                        "seq {expected_seq} is missing (seq {} follows seq {})",
                        e.seq,
                        expected_seq - 1
                    )
                } else {
                    format!(
                        "seqs {expected_seq}..{} are missing (seq {} follows seq {})",
                        e.seq - 1,
                        e.seq,
                        expected_seq - 1
                    )
                };
                let kind = if e.seq > expected_seq {
                    BreakKind::Deleted
                } else {
                    BreakKind::Inserted
                };
                return Err(brk(chain, expected_seq, None, kind, detail).into());
            }
            if e.prev_hash != expected_prev {
                return Err(diagnose_link(store, chain, start, e, last.as_ref())
                    .await?
                    .into());
            }
            if let Some(l) = &last {
                check_checkpoints(chain, &mut checkpoints, l)?;
            }
            if e.hash != chain_hash(&e.prev_hash, chain, e.seq, &e.draft.record) {
                return Err(brk(
                    chain,
                    e.seq,
                    Some(&e.draft.event_id),
                    BreakKind::Modified,
                    "the event's hash does not match its record: the record or the hash was changed",
                )
                .into());
            }
            check_columns(e)?;
            report.events_checked += 1;
            report.first_seq.get_or_insert(e.seq);
            last = Some(Walked {
                seq: e.seq,
                hash: e.hash,
                event_id: e.draft.event_id.clone(),
            });
        }
        if let Some(b) = unreadable {
            return Err(b.into());
        }
        if let Some(l) = page.last() {
            after = l.seq;
        }
    };
    if let Some(l) = &last {
        check_checkpoints(chain, &mut checkpoints, l)?;
    }
    let (last_seq, last_hash) = last
        .as_ref()
        .map_or((start, start_hash), |l| (l.seq, l.hash));
    report.last_seq = last.as_ref().map(|l| l.seq);
    if let Some(d) = checkpoints.front() {
        return Err(brk(
            chain,
            last_seq + 1,
            None,
            BreakKind::Deleted,
            format!(
                "{} covers up to seq {}, but the chain ends at seq {last_seq}: events were deleted from its end",
                digest_name(d),
                d.last_seq
            ),
        )
        .into());
    }
    match &head {
        None => {
            if report.events_checked > 0 || !digests.is_empty() {
                return Err(brk(
                    chain,
                    last_seq,
                    None,
                    BreakKind::Deleted,
                    "the chain head is missing",
                )
                .into());
            }
        }
        Some(h) => {
            if h.last_seq > last_seq {
                return Err(brk(
                    chain,
                    last_seq + 1,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "the chain head records seq {} but the last stored event is seq {last_seq}",
                        h.last_seq
                    ),
                )
                .into());
            }
            if h.last_seq < last_seq {
                return Err(brk(
                    chain,
                    h.last_seq + 1,
                    None,
                    BreakKind::Inserted,
                    format!(
                        "events follow the chain head (seq {}) up to seq {last_seq}",
                        h.last_seq
                    ),
                )
                .into());
            }
            if h.last_hash != last_hash {
                return Err(brk(
                    chain,
                    last_seq,
                    last.as_ref().map(|l| l.event_id.as_str()),
                    BreakKind::Modified,
                    "the chain head's hash disagrees with the last event",
                )
                .into());
            }
        }
    }
    report.unsealed_events = u64::try_from(last_seq - sealed_to.max(start)).unwrap_or(0);
    Ok(report)
}

/// `e` does not link to the event before it (`prev`, or the chain's start when `None`): works
/// out what happened.
async fn diagnose_link(
    store: &dyn Store,
    chain: &str,
    start: i64,
    e: &AuditEvent,
    prev: Option<&Walked>,
) -> Result<VerifyBreak, VerifyError> {
    let link = e.prev_hash;
    let events = all_links(store, chain, start).await?;
    let target = events.iter().find(|x| x.hash == link);
    let id = Some(e.draft.event_id.as_str());
    if let Some(t) = target {
        if t.seq > e.seq {
            return Ok(brk(
                chain,
                e.seq,
                id,
                BreakKind::Reordered,
                format!(
                    "seq {} links to seq {}, which comes after it: events were reordered",
                    e.seq, t.seq
                ),
            ));
        }
        let sibling = events
            .iter()
            .find(|x| x.prev_hash == link && x.seq != e.seq);
        if let Some(s) = sibling {
            let linked = |h: &[u8; 32]| events.iter().any(|x| x.prev_hash == *h);
            let this = Link::of(e);
            let intruder = if !linked(&s.hash) { s } else { &this };
            return Ok(brk(
                chain,
                intruder.seq,
                Some(&intruder.event_id),
                BreakKind::Inserted,
                format!(
                    "seq {} and seq {} both follow seq {}; seq {} is not part of the chain",
                    s.seq.min(e.seq),
                    s.seq.max(e.seq),
                    t.seq,
                    intruder.seq
                ),
            ));
        }
        return Ok(brk(
            chain,
            e.seq,
            id,
            BreakKind::Reordered,
            format!("seq {} links back to seq {}", e.seq, t.seq),
        ));
    }
    if e.hash == chain_hash(&link, chain, e.seq, &e.draft.record) {
        return Ok(match prev {
            Some(p) => brk(
                chain,
                p.seq,
                Some(&p.event_id),
                BreakKind::Modified,
                format!(
                    "seq {} links to a version of seq {} that is no longer stored: seq {} was rewritten",
                    e.seq, p.seq, p.seq
                ),
            ),
            None if start > 0 => brk(
                chain,
                e.seq,
                id,
                BreakKind::Modified,
                format!(
                    "seq {} does not link to the prune anchor at seq {start}",
                    e.seq
                ),
            ),
            None => brk(
                chain,
                e.seq,
                id,
                BreakKind::Modified,
                format!("seq {} does not link to the start of the chain", e.seq),
            ),
        });
    }
    for k in 1..=RENUMBER_WINDOW {
        if e.hash == chain_hash(&link, chain, e.seq + k, &e.draft.record) {
            return Ok(brk(
                chain,
                e.seq,
                id,
                BreakKind::Deleted,
                format!(
                    "{k} event(s) before seq {} were deleted and the later events renumbered (its hash is that of seq {})",
                    e.seq,
                    e.seq + k
                ),
            ));
        }
        if e.seq - k > start && e.hash == chain_hash(&link, chain, e.seq - k, &e.draft.record) {
            return Ok(brk(
                chain,
                e.seq - k,
                None,
                BreakKind::Inserted,
                format!(
                    "{k} event(s) were inserted before the event now at seq {} (its hash is that of seq {})",
                    e.seq,
                    e.seq - k
                ),
            ));
        }
    }
    Ok(brk(
        chain,
        e.seq,
        id,
        BreakKind::Modified,
        "the event's link to its predecessor was changed",
    ))
}

/// The indexed columns must say what the record says.
fn check_columns(e: &AuditEvent) -> Result<(), VerifyBreak> {
    let fail = |column: &str| {
        brk(
            &e.chain,
            e.seq,
            Some(&e.draft.event_id),
            BreakKind::Modified,
            format!("column {column} disagrees with the record"),
        )
    };
    let record: Value = serde_json::from_slice(&e.draft.record).map_err(|_| {
        brk(
            &e.chain,
            e.seq,
            Some(&e.draft.event_id),
            BreakKind::Modified,
            "the record is not JSON",
        )
    })?;
    let text = |name: &str| record.get(name).and_then(Value::as_str);
    let identity = |name: &str| {
        record
            .get("userIdentity")
            .and_then(|u| u.get(name))
            .and_then(Value::as_str)
    };
    let d = &e.draft;
    if text("eventID") != Some(d.event_id.as_str()) {
        return Err(fail("event_id"));
    }
    if text("requestID") != d.request_id.as_deref() {
        return Err(fail("request_id"));
    }
    if text("eventTime") != Some(iso8601(d.time).as_str()) {
        return Err(fail("event_time"));
    }
    if text("eventName") != Some(d.event_name.as_str()) {
        return Err(fail("event_name"));
    }
    if text("eventSource") != Some(d.event_source.as_str()) {
        return Err(fail("event_source"));
    }
    if record.get("readOnly").and_then(Value::as_bool) != Some(d.read_only) {
        return Err(fail("read_only"));
    }
    if text("errorCode") != d.error_code.as_deref() {
        return Err(fail("error_code"));
    }
    if record_key_id(&record, 0) != d.key_id {
        return Err(fail("key_id"));
    }
    if record_key_id(&record, 1) != d.source_key_id {
        return Err(fail("source_key_id"));
    }
    if text("recipientAccountId") != d.account.as_ref().map(|a| a.as_str()) {
        return Err(fail("account"));
    }
    if identity("arn") != d.principal_arn.as_deref() {
        return Err(fail("principal_arn"));
    }
    if identity("accessKeyId") != d.access_key_id.as_deref() {
        return Err(fail("access_key_id"));
    }
    Ok(())
}

/// The `nth` key a record's `resources` names (ReEncrypt names its destination, then its source).
fn record_key_id(record: &Value, nth: usize) -> Option<KeyId> {
    let arn = record
        .get("resources")?
        .as_array()?
        .iter()
        .filter(|r| r.get("type").and_then(Value::as_str) == Some("AWS::KMS::Key"))
        .nth(nth)?
        .get("ARN")?
        .as_str()?;
    KeyId::parse(arn.rsplit_once(":key/")?.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::{AuditStore, UnixMillis};

    fn draft(n: i64, time: i64) -> kinko_core::AuditDraft {
        let event_id = format!("00000000-0000-4000-8000-{n:012}");
        let record = serde_json::json!({
            "eventID": event_id,
            "eventName": "Encrypt",
            "eventSource": "kms.amazonaws.com",
            "eventTime": iso8601(UnixMillis(time)),
            "readOnly": true,
            "requestID": format!("request-{n}"),
        });
        kinko_core::AuditDraft {
            event_id,
            request_id: Some(format!("request-{n}")),
            time: UnixMillis(time),
            event_source: "kms.amazonaws.com".into(),
            event_name: "Encrypt".into(),
            read_only: true,
            account: None,
            principal_arn: None,
            access_key_id: None,
            key_id: None,
            source_key_id: None,
            error_code: None,
            record: crate::record::canonical(&record),
        }
    }

    /// Retention pruning leaves a signed anchor; the chain verifies from it, through later
    /// seals and a second prune, including an anchor at the very head.
    #[tokio::test]
    async fn pruned_chains_verify_from_their_anchor() {
        let Ok(dir) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let Ok(store) = kinko_store::SqliteStore::open(&dir.path().join("t.db")).await else {
            panic!("open store")
        };
        let Ok((key, _)) = kinko_crypto::SigningKeyPair::generate() else {
            panic!("keygen")
        };
        let public = key.public_key();
        let chain = "node-1";
        let day = std::time::Duration::from_secs(86_400);
        let mut n = 0;
        let mut append = async |count: i64, time: i64| {
            let drafts: Vec<_> = (0..count)
                .map(|i| {
                    n += 1;
                    draft(n, time + i)
                })
                .collect();
            assert!(store.append_audit(chain, &drafts).await.is_ok());
        };
        let t0: i64 = 1_700_000_000_000;
        let seal = async |now: i64| {
            assert!(
                crate::seal::seal(&store, &key, chain, UnixMillis(now))
                    .await
                    .is_ok()
            );
        };
        let prune = async |now: i64| {
            crate::seal::prune(&store, &key, chain, UnixMillis(now), day)
                .await
                .unwrap_or(0)
        };
        let day_ms = 86_400_000;

        append(10, t0).await;
        seal(t0 + 10).await;
        append(5, t0 + 3 * day_ms).await;
        // Ten events are older than a day at t0 + 3 days: pruned below a fresh seal of all 15.
        assert_eq!(prune(t0 + 3 * day_ms + 100).await, 10);
        let report = verify(&store, &public).await;
        let Ok(report) = report else {
            panic!("{report:?}")
        };
        assert_eq!(report.chains[0].pruned_through, 10);
        assert_eq!(report.chains[0].events_checked, 5);
        assert_eq!(report.chains[0].first_seq, Some(11));

        append(3, t0 + 5 * day_ms).await;
        seal(t0 + 5 * day_ms + 10).await;
        // Everything up to the head is old now: the anchor sits at the head.
        assert_eq!(prune(t0 + 9 * day_ms).await, 8);
        append(2, t0 + 9 * day_ms + 5).await;
        seal(t0 + 9 * day_ms + 20).await;
        let report = verify(&store, &public).await;
        let Ok(report) = report else {
            panic!("{report:?}")
        };
        let c = &report.chains[0];
        assert_eq!((c.pruned_through, c.events_checked), (18, 2));
        assert_eq!(
            (c.first_seq, c.last_seq, c.unsealed_events),
            (Some(19), Some(20), 0)
        );
        assert_eq!(c.digests_checked, 6);

        // An unsealed event is counted, not flagged; another key does not verify.
        append(1, t0 + 9 * day_ms + 30).await;
        let report = verify(&store, &public).await;
        assert_eq!(report.ok().map(|r| r.chains[0].unsealed_events), Some(1));
        let Ok((other, _)) = kinko_crypto::SigningKeyPair::generate() else {
            panic!("keygen")
        };
        match verify(&store, &other.public_key()).await {
            Err(VerifyError::Broken(b)) => assert_eq!(b.kind, BreakKind::BadSignature),
            other => panic!("{other:?}"),
        }
        store.close().await;
    }
}
