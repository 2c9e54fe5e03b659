//! `kinko audit verify`: re-derives the audit trail's tamper evidence and names the first place
//! where it breaks.
//!
//! [`verify`] works on the store contract only (no SQL), chain by chain:
//! - the digests: every signature verifies under the audit public key, each digest links to the
//!   signature of the one before it and starts where it ended, and prune anchors link the same way;
//! - the events after the newest prune anchor, in sequence order: no gaps, each `prev_hash` is the
//!   previous event's hash, each hash re-derives from its contents, and the indexed columns agree
//!   with the record they were taken from;
//! - each digest's `last_hash` is the stored hash of the event at its `last_seq`, and the chain
//!   head names the last event.
//!
//! The walk keeps O(1) state; when a link breaks, extra scans work out what happened (modified,
//! deleted, inserted or reordered), so the cost of a diagnosis is paid only once.
//! [`verify_export`] checks an exported CloudTrail-layout directory the same way (see
//! `audit_export`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use kinko_core::{
    AuditDigest, AuditEvent, AuditFilter, ChainHead, KeyId, Store, StoreError, UnixMillis,
    chain_hash, hex,
};
use kinko_crypto::verify_ed25519;
use serde_json::Value;

use crate::Config;
use crate::audit::{PUBLIC_KEY_FILE, iso8601};
use crate::audit_export::{DIGEST_DIR, LOG_DIR, gunzip, open_existing, path_text, unhex32};

/// Events read per store call.
const PAGE: usize = 1000;
/// Setting that records the audit public key (hex of the 32 raw bytes).
const PUBLIC_KEY_SETTING: &str = "audit.public_key";
/// How far a renumbered event is looked for (its hash binds its original seq).
const RENUMBER_WINDOW: i64 = 64;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// What kind of tampering a break shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakKind {
    /// An event, a column, a digest or a file was changed.
    Modified,
    /// Events (or a digest or file) are missing.
    Deleted,
    /// Something was added that the chain does not contain.
    Inserted,
    /// Events are out of their chain order.
    Reordered,
    /// A signature does not verify under the audit public key.
    BadSignature,
}

impl BreakKind {
    /// The kind as printed: `modified`, `deleted`, `inserted`, `reordered`, `bad-signature`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::Modified => "modified",
            BreakKind::Deleted => "deleted",
            BreakKind::Inserted => "inserted",
            BreakKind::Reordered => "reordered",
            BreakKind::BadSignature => "bad-signature",
        }
    }
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first place where the trail breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyBreak {
    /// The chain.
    pub chain: String,
    /// The sequence number where it breaks (for a missing stretch: its first seq).
    pub seq: i64,
    /// The event concerned, when there is one.
    pub event_id: Option<String>,
    /// What happened.
    pub kind: BreakKind,
    /// One line saying how it shows.
    pub detail: String,
}

impl fmt::Display for VerifyBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit trail broken at chain {} seq {}",
            self.chain, self.seq
        )?;
        if let Some(id) = &self.event_id {
            write!(f, " (event {id})")?;
        }
        write!(f, ": {}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for VerifyBreak {}

/// Why verification did not reach a verdict, or the verdict that the trail is broken.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The trail is broken.
    #[error(transparent)]
    Broken(#[from] VerifyBreak),
    /// The store could not be read (not evidence of tampering).
    #[error("reading the audit trail: {0}")]
    Store(#[from] StoreError),
    /// An exported file could not be read (not evidence of tampering).
    #[error("{0}")]
    Io(String),
}

/// What was checked on one chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// The chain.
    pub chain: String,
    /// Events whose hash, links and columns were checked.
    pub events_checked: u64,
    /// The first checked event's seq.
    pub first_seq: Option<i64>,
    /// The last checked event's seq.
    pub last_seq: Option<i64>,
    /// Digests whose signature and links were checked (prune anchors included).
    pub digests_checked: u64,
    /// Events up to this seq were pruned (0: none).
    pub pruned_through: i64,
    /// Events after the last digest: intact as far as the chain shows, not yet sealed.
    pub unsealed_events: u64,
}

/// What an intact trail looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// One entry per chain, by name.
    pub chains: Vec<ChainReport>,
    /// Exported files whose hashes were checked (0 when verifying a store).
    pub files_checked: u64,
}

impl VerifyReport {
    /// Human-readable lines, one per chain.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.chains.is_empty() {
            lines.push("no audit events".to_owned());
        }
        for c in &self.chains {
            let range = match (c.first_seq, c.last_seq) {
                (Some(a), Some(b)) => format!("seq {a}..{b}"),
                _ => "no events".to_owned(),
            };
            let pruned = if c.pruned_through > 0 {
                format!(", pruned through seq {}", c.pruned_through)
            } else {
                String::new()
            };
            lines.push(format!(
                "chain {}: {} events checked ({range}){pruned}, {} digests verified, {} events not yet sealed",
                c.chain, c.events_checked, c.digests_checked, c.unsealed_events
            ));
        }
        if self.files_checked > 0 {
            lines.push(format!("{} exported files checked", self.files_checked));
        }
        lines
    }
}

/// The outcome of `kinko audit verify` on an installation.
#[derive(Debug)]
pub enum Verdict {
    /// Everything checked out.
    Intact(VerifyReport),
    /// The trail is broken there.
    Broken(VerifyBreak),
    /// The trail cannot be trusted for another reason (the published public key disagrees).
    Untrusted(String),
}

fn brk(
    chain: &str,
    seq: i64,
    event_id: Option<&str>,
    kind: BreakKind,
    detail: impl Into<String>,
) -> VerifyBreak {
    VerifyBreak {
        chain: chain.to_owned(),
        seq,
        event_id: event_id.map(str::to_owned),
        kind,
        detail: detail.into(),
    }
}

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

fn digest_name(d: &AuditDigest) -> String {
    let what = if d.prune_anchor {
        "prune anchor"
    } else {
        "digest"
    };
    format!(
        "the {what} over seqs {}..{} signed at {}",
        d.first_seq,
        d.last_seq,
        iso8601(d.time)
    )
}

/// Signatures and links of a chain's digests (as the store lists them: by `last_seq`).
fn check_digests(
    chain: &str,
    digests: &[AuditDigest],
    public_key: &[u8],
) -> Result<(), VerifyBreak> {
    for d in digests {
        if !verify_ed25519(public_key, &d.message(), &d.signature) {
            return Err(brk(
                chain,
                d.last_seq,
                None,
                BreakKind::BadSignature,
                format!(
                    "{} does not verify under the audit public key",
                    digest_name(d)
                ),
            ));
        }
    }
    let by_signature: HashMap<&[u8], &AuditDigest> = digests
        .iter()
        .map(|d| (d.signature.as_slice(), d))
        .collect();
    let mut normals: Vec<&AuditDigest> = digests.iter().filter(|d| !d.prune_anchor).collect();
    normals.sort_by_key(|d| d.last_seq);
    let mut prev: Option<&AuditDigest> = None;
    for d in normals {
        let expected_first = prev.map_or(1, |p| p.last_seq + 1);
        if d.first_seq > expected_first {
            return Err(brk(
                chain,
                expected_first,
                None,
                BreakKind::Deleted,
                format!(
                    "no digest covers seqs {expected_first}..{}: a digest was deleted",
                    d.first_seq - 1
                ),
            ));
        }
        if d.first_seq < expected_first || d.last_seq < d.first_seq {
            return Err(brk(
                chain,
                d.first_seq,
                None,
                BreakKind::Inserted,
                format!("{} overlaps the digest before it", digest_name(d)),
            ));
        }
        let linked = match prev {
            None => d.prev_signature.is_empty(),
            Some(p) => {
                d.prev_signature == p.signature
                    || by_signature
                        .get(d.prev_signature.as_slice())
                        .is_some_and(|a| {
                            a.prune_anchor
                                && a.last_seq == p.last_seq
                                && a.prev_signature == p.signature
                        })
            }
        };
        if !linked {
            let kind = if by_signature.contains_key(d.prev_signature.as_slice()) {
                BreakKind::Reordered
            } else {
                BreakKind::Deleted
            };
            return Err(brk(
                chain,
                d.first_seq,
                None,
                kind,
                format!("{} does not link to the digest before it", digest_name(d)),
            ));
        }
        prev = Some(d);
    }
    let mut anchors: Vec<&AuditDigest> = digests.iter().filter(|d| d.prune_anchor).collect();
    anchors.sort_by_key(|d| d.last_seq);
    let mut pruned_to = 0;
    for a in anchors {
        if a.first_seq != pruned_to + 1 {
            let kind = if a.first_seq > pruned_to + 1 {
                BreakKind::Deleted
            } else {
                BreakKind::Inserted
            };
            return Err(brk(
                chain,
                pruned_to + 1,
                None,
                kind,
                format!(
                    "{} does not start where the previous one ended",
                    digest_name(a)
                ),
            ));
        }
        match by_signature.get(a.prev_signature.as_slice()) {
            Some(p) if p.last_seq >= a.last_seq => {}
            Some(_) => {
                return Err(brk(
                    chain,
                    a.last_seq,
                    None,
                    BreakKind::Reordered,
                    format!("{} links to an older digest", digest_name(a)),
                ));
            }
            None => {
                return Err(brk(
                    chain,
                    a.last_seq,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "{} links to a digest that is no longer stored",
                        digest_name(a)
                    ),
                ));
            }
        }
        pruned_to = a.last_seq;
    }
    Ok(())
}

/// The last event walked: what a digest at its seq must record.
#[derive(Debug, Clone)]
struct Walked {
    seq: i64,
    hash: [u8; 32],
    event_id: String,
}

/// Compares the digests that end at `at` with the event there.
fn check_checkpoints(
    chain: &str,
    checkpoints: &mut VecDeque<&AuditDigest>,
    at: &Walked,
) -> Result<(), VerifyBreak> {
    while let Some(d) = checkpoints.front().copied() {
        if d.last_seq > at.seq {
            break;
        }
        checkpoints.pop_front();
        if d.last_seq < at.seq {
            return Err(brk(
                chain,
                d.last_seq,
                None,
                BreakKind::Deleted,
                format!(
                    "{} ends at seq {}, which the chain skips",
                    digest_name(d),
                    d.last_seq
                ),
            ));
        }
        if d.last_hash != at.hash {
            return Err(brk(
                chain,
                at.seq,
                Some(&at.event_id),
                BreakKind::Modified,
                format!(
                    "events up to seq {} were rewritten after they were sealed ({} records hash {}, the chain has {})",
                    at.seq,
                    digest_name(d),
                    short(&d.last_hash),
                    short(&at.hash)
                ),
            ));
        }
    }
    Ok(())
}

fn short(hash: &[u8; 32]) -> String {
    let mut h = hex(hash);
    h.truncate(16);
    h
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

/// The 32-byte Ed25519 key of a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_from_pem(text: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let body = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(body, _)| body)
        .ok_or_else(|| anyhow!("not a PEM public key (no BEGIN/END PUBLIC KEY lines)"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .context("the PEM body is not base64")?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => Ok(key.to_vec()),
        _ => bail!("not an Ed25519 public key"),
    }
}

fn read_pem_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the public key {}", path.display()))?;
    public_key_from_pem(&text).with_context(|| format!("reading {}", path.display()))
}

/// `kinko audit verify --data-dir`: verifies the installation's trail with `public_key_file`, or
/// else with the key the store records, which `<data-dir>/audit-public-key.pem` must then match.
pub async fn verify_installation(
    config: &Config,
    public_key_file: Option<&Path>,
) -> anyhow::Result<Verdict> {
    let store = open_existing(config).await?;
    let result = async {
        let recorded = store
            .get_setting(PUBLIC_KEY_SETTING)
            .await
            .context("reading settings")?
            .map(|h| unhex(&h))
            .transpose()?;
        let public_key = match public_key_file {
            Some(path) => {
                let trusted = read_pem_file(path)?;
                if recorded.as_ref().is_some_and(|r| *r != trusted) {
                    return Ok(Verdict::Untrusted(format!(
                        "the store records a different audit public key than {}",
                        path.display()
                    )));
                }
                trusted
            }
            None => {
                let recorded = recorded.ok_or_else(|| {
                    anyhow!("the store records no audit public key; pass --public-key")
                })?;
                let published = config.data_dir.join(PUBLIC_KEY_FILE);
                if published.exists() {
                    let file_key = read_pem_file(&published)?;
                    if file_key != recorded {
                        return Ok(Verdict::Untrusted(format!(
                            "the published public key {} does not match the audit public key the store records",
                            published.display()
                        )));
                    }
                }
                recorded
            }
        };
        match verify_chains(&*store, &public_key, &[config.node_id.as_str()]).await {
            Ok(report) => Ok(Verdict::Intact(report)),
            Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b)),
            Err(e) => Err(anyhow::Error::new(e)),
        }
    }
    .await;
    store.close().await;
    result
}

fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd-length hex");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad hex"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Exported trails.

/// A record of an exported log file, as far as the chain is concerned.
#[derive(Debug, Clone)]
struct ExportedRecord {
    seq: i64,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    event_id: Option<String>,
    file: String,
}

/// A log file as a digest file lists it.
#[derive(Debug, Clone)]
struct Listed {
    path: String,
    hash: String,
    chain: String,
    first_seq: i64,
    digest_file: String,
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> VerifyError {
    move |e| VerifyError::Io(format!("{what}: {e}"))
}

/// Every regular file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(io_err(format!("listing {}", d.display())))?;
        for entry in entries {
            let path = entry
                .map_err(io_err(format!("listing {}", d.display())))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A break about a whole file (chain and seq from what the digest file says it holds).
fn file_break(listed: &Listed, kind: BreakKind, detail: String) -> VerifyBreak {
    brk(&listed.chain, listed.first_seq, None, kind, detail)
}

/// Verifies an exported directory (`kinko audit export --out DIR`) with the audit public key:
/// digest-file signatures and links, log-file hashes, record hashes and chain links, and the
/// chain digests the digest files carry.
pub fn verify_export(dir: &Path, public_key: &[u8]) -> Result<VerifyReport, VerifyError> {
    let root = dir.join("AWSLogs");
    if !root.is_dir() {
        return Err(VerifyError::Io(format!(
            "{} holds no AWSLogs directory: not an export",
            dir.display()
        )));
    }
    let files = files_under(&root)?;
    let relative = |p: &Path| -> String {
        p.strip_prefix(dir)
            .map(path_text)
            .unwrap_or_else(|_| path_text(p))
    };
    let is_digest = |p: &Path| p.components().any(|c| c.as_os_str() == DIGEST_DIR);
    let is_log = |p: &Path| p.components().any(|c| c.as_os_str() == LOG_DIR);

    // Digest files: signatures, self-names, and their chain of previous-digest links.
    struct DigestFile {
        path: String,
        bytes_hash: String,
        body: serde_json::Map<String, Value>,
        signature: String,
        group: (String, String),
        start: String,
    }
    let mut digest_files = Vec::new();
    let mut chain_digests: BTreeMap<(String, i64, bool), AuditDigest> = BTreeMap::new();
    let mut listed: BTreeMap<String, Listed> = BTreeMap::new();
    let mut files_checked = 0u64;
    for path in files.iter().filter(|p| is_digest(p)) {
        let name = relative(path);
        let bytes = std::fs::read(path).map_err(io_err(format!("reading {name}")))?;
        files_checked += 1;
        let here = brk("-", 0, None, BreakKind::Modified, "");
        let bad = |kind: BreakKind, detail: String| VerifyBreak {
            kind,
            detail,
            ..here.clone()
        };
        let json = gunzip(&bytes)
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok());
        let Some(Value::Object(mut body)) = json else {
            return Err(bad(
                BreakKind::Modified,
                format!("digest file {name} is not gzipped JSON"),
            )
            .into());
        };
        let signature = body
            .remove("digestSignature")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let message = crate::audit::canonical(&Value::Object(body.clone()));
        let sig_ok = unhex(&signature)
            .map(|s| verify_ed25519(public_key, &message, &s))
            .unwrap_or(false);
        if !sig_ok {
            return Err(bad(
                BreakKind::BadSignature,
                format!("digest file {name} is not signed by the audit public key"),
            )
            .into());
        }
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
        if field("digestS3Object") != name {
            return Err(bad(
                BreakKind::Modified,
                format!(
                    "digest file {name} says it is {}: it was moved or renamed",
                    field("digestS3Object")
                ),
            )
            .into());
        }
        for entry in body
            .get("logFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let get = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default();
            let item = Listed {
                path: get("s3Object").to_owned(),
                hash: get("hashValue").to_owned(),
                chain: get("kinkoChain").to_owned(),
                first_seq: entry
                    .get("kinkoFirstSeq")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                digest_file: name.clone(),
            };
            listed.insert(item.path.clone(), item);
        }
        for d in body
            .get("kinkoDigests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let digest = digest_from_json(d).ok_or_else(|| {
                bad(
                    BreakKind::Modified,
                    format!("digest file {name} holds a malformed chain digest"),
                )
            })?;
            if !verify_ed25519(public_key, &digest.message(), &digest.signature) {
                return Err(brk(
                    &digest.chain,
                    digest.last_seq,
                    None,
                    BreakKind::BadSignature,
                    format!(
                        "{} (in {name}) does not verify under the audit public key",
                        digest_name(&digest)
                    ),
                )
                .into());
            }
            chain_digests.insert(
                (digest.chain.clone(), digest.last_seq, digest.prune_anchor),
                digest,
            );
        }
        digest_files.push(DigestFile {
            path: name,
            bytes_hash: hex(&kinko_crypto::sha256(&bytes)),
            group: (
                field("awsAccountId").to_owned(),
                field("awsRegion").to_owned(),
            ),
            start: field("digestStartTime").to_owned(),
            signature,
            body,
        });
    }
    if digest_files.is_empty() {
        return Err(VerifyError::Broken(brk(
            "-",
            0,
            None,
            BreakKind::Deleted,
            format!("{} holds no digest files", dir.display()),
        )));
    }
    // Each digest file names the one before it (per account and region).
    digest_files.sort_by(|a, b| (&a.group, &a.start).cmp(&(&b.group, &b.start)));
    let mut previous: Option<&DigestFile> = None;
    for f in &digest_files {
        let prev_name = f.body.get("previousDigestS3Object").and_then(Value::as_str);
        let same_group = previous.filter(|p| p.group == f.group);
        let ok = match (same_group, prev_name) {
            (None, None) => true,
            (Some(p), Some(name)) => {
                name == p.path
                    && f.body
                        .get("previousDigestSignature")
                        .and_then(Value::as_str)
                        == Some(p.signature.as_str())
                    && f.body
                        .get("previousDigestHashValue")
                        .and_then(Value::as_str)
                        == Some(p.bytes_hash.as_str())
            }
            _ => false,
        };
        if !ok {
            let missing = prev_name.is_some_and(|n| !digest_files.iter().any(|d| d.path == n));
            let (kind, detail) = if missing {
                (
                    BreakKind::Deleted,
                    format!(
                        "digest file {} links to {}, which is missing",
                        f.path,
                        prev_name.unwrap_or_default()
                    ),
                )
            } else if prev_name.is_none() {
                (
                    BreakKind::Inserted,
                    format!("digest file {} links to no previous digest file", f.path),
                )
            } else {
                (
                    BreakKind::Modified,
                    format!(
                        "digest file {} does not link to the digest file before it",
                        f.path
                    ),
                )
            };
            return Err(brk("-", 0, None, kind, detail).into());
        }
        previous = Some(f);
    }
    let filtered = digest_files
        .iter()
        .any(|f| f.body.get("kinkoFiltered").and_then(Value::as_bool) != Some(false));

    // Log files: every one listed, present, with the listed hash; then their records.
    for path in files.iter().filter(|p| is_log(p) && !is_digest(p)) {
        let name = relative(path);
        if !listed.contains_key(&name) {
            return Err(brk(
                "-",
                0,
                None,
                BreakKind::Inserted,
                format!("log file {name} is not listed in any digest file"),
            )
            .into());
        }
    }
    let mut records: BTreeMap<String, Vec<ExportedRecord>> = BTreeMap::new();
    for item in listed.values() {
        let path = dir.join(&item.path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(file_break(
                    item,
                    BreakKind::Deleted,
                    format!(
                        "log file {} (listed in {}) is missing",
                        item.path, item.digest_file
                    ),
                )
                .into());
            }
            Err(e) => return Err(VerifyError::Io(format!("reading {}: {e}", item.path))),
        };
        files_checked += 1;
        if hex(&kinko_crypto::sha256(&bytes)) != item.hash {
            return Err(file_break(
                item,
                BreakKind::Modified,
                format!(
                    "log file {} does not match the hash that digest file {} records",
                    item.path, item.digest_file
                ),
            )
            .into());
        }
        let parsed = gunzip(&bytes)
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok());
        let Some(list) = parsed
            .as_ref()
            .and_then(|v| v.get("Records"))
            .and_then(Value::as_array)
        else {
            return Err(file_break(
                item,
                BreakKind::Modified,
                format!("log file {} holds no Records", item.path),
            )
            .into());
        };
        for r in list {
            let (chain, record) = exported_record(r, &item.path)
                .map_err(|detail| file_break(item, BreakKind::Modified, detail))?;
            records.entry(chain).or_default().push(record);
        }
    }

    // Records, per chain: hashes were checked when parsed; now order, links and digests.
    let mut report = VerifyReport {
        chains: Vec::new(),
        files_checked,
    };
    for (chain, mut list) in records {
        list.sort_by_key(|r| r.seq);
        let digests: Vec<&AuditDigest> = chain_digests
            .values()
            .filter(|d| d.chain == chain)
            .collect();
        let anchor = digests
            .iter()
            .filter(|d| d.prune_anchor)
            .max_by_key(|d| d.last_seq);
        let by_seq: HashMap<i64, &ExportedRecord> = list.iter().map(|r| (r.seq, r)).collect();
        for pair in list.windows(2) {
            let [a, b] = pair else { continue };
            if a.seq == b.seq {
                return Err(brk(
                    &chain,
                    b.seq,
                    b.event_id.as_deref(),
                    BreakKind::Inserted,
                    format!("seq {} appears twice ({} and {})", b.seq, a.file, b.file),
                )
                .into());
            }
            if b.seq == a.seq + 1 && b.prev_hash != a.hash {
                let later = list.iter().find(|x| x.hash == b.prev_hash);
                let (kind, detail) = match later {
                    Some(t) if t.seq > b.seq => (
                        BreakKind::Reordered,
                        format!("seq {} links to seq {}, which comes after it", b.seq, t.seq),
                    ),
                    _ => (
                        BreakKind::Modified,
                        format!("seq {} does not link to seq {}", b.seq, a.seq),
                    ),
                };
                return Err(brk(&chain, b.seq, b.event_id.as_deref(), kind, detail).into());
            }
            if b.seq > a.seq + 1 && !filtered {
                return Err(brk(
                    &chain,
                    a.seq + 1,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "seqs {}..{} are missing from the export",
                        a.seq + 1,
                        b.seq - 1
                    ),
                )
                .into());
            }
        }
        if !filtered && let Some(first) = list.first() {
            let (start, start_hash) = anchor.map_or((0, [0u8; 32]), |a| (a.last_seq, a.last_hash));
            if first.seq != start + 1 || first.prev_hash != start_hash {
                return Err(brk(
                    &chain,
                    start + 1,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "the export of chain {chain} starts at seq {}, not at seq {}",
                        first.seq,
                        start + 1
                    ),
                )
                .into());
            }
        }
        let mut sealed_to = 0;
        for d in digests.iter().filter(|d| !d.prune_anchor) {
            sealed_to = sealed_to.max(d.last_seq);
            if let Some(r) = by_seq.get(&d.last_seq)
                && r.hash != d.last_hash
            {
                return Err(brk(
                    &chain,
                    r.seq,
                    r.event_id.as_deref(),
                    BreakKind::Modified,
                    format!(
                        "events up to seq {} were rewritten after they were sealed ({})",
                        r.seq,
                        digest_name(d)
                    ),
                )
                .into());
            }
        }
        let last_seq = list.last().map(|r| r.seq);
        report.chains.push(ChainReport {
            chain: chain.clone(),
            events_checked: u64::try_from(list.len()).unwrap_or(u64::MAX),
            first_seq: list.first().map(|r| r.seq),
            last_seq,
            digests_checked: u64::try_from(digests.len()).unwrap_or(u64::MAX),
            pruned_through: anchor.map_or(0, |a| a.last_seq),
            unsealed_events: u64::try_from(list.iter().filter(|r| r.seq > sealed_to).count())
                .unwrap_or(u64::MAX),
        });
    }
    Ok(report)
}

/// One exported record: strips `kinkoChain`, re-derives the canonical bytes and checks the hash.
fn exported_record(r: &Value, file: &str) -> Result<(String, ExportedRecord), String> {
    let mut record = r
        .as_object()
        .cloned()
        .ok_or_else(|| format!("log file {file} holds a record that is not an object"))?;
    let link = record
        .remove("kinkoChain")
        .ok_or_else(|| format!("log file {file} holds a record without kinkoChain"))?;
    let chain = link
        .get("chain")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("log file {file}: kinkoChain without chain"))?
        .to_owned();
    let seq = link
        .get("seq")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("log file {file}: kinkoChain without seq"))?;
    let hash32 = |k: &str| {
        link.get(k)
            .and_then(Value::as_str)
            .and_then(unhex32)
            .ok_or_else(|| format!("log file {file}: kinkoChain without {k}"))
    };
    let prev_hash = hash32("prevHash")?;
    let hash = hash32("hash")?;
    let event_id = record
        .get("eventID")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bytes = crate::audit::canonical(&Value::Object(record));
    if chain_hash(&prev_hash, &chain, seq, &bytes) != hash {
        return Err(format!(
            "record seq {seq} of chain {chain} in {file} does not match its hash"
        ));
    }
    Ok((
        chain,
        ExportedRecord {
            seq,
            prev_hash,
            hash,
            event_id,
            file: file.to_owned(),
        },
    ))
}

/// A chain digest as an export carries it.
pub(crate) fn digest_to_json(d: &AuditDigest) -> Value {
    serde_json::json!({
        "chain": d.chain,
        "firstSeq": d.first_seq,
        "lastSeq": d.last_seq,
        "lastHash": hex(&d.last_hash),
        "time": d.time.0,
        "prevSignature": hex(&d.prev_signature),
        "pruneAnchor": d.prune_anchor,
        "signature": hex(&d.signature),
    })
}

fn digest_from_json(v: &Value) -> Option<AuditDigest> {
    Some(AuditDigest {
        chain: v.get("chain")?.as_str()?.to_owned(),
        first_seq: v.get("firstSeq")?.as_i64()?,
        last_seq: v.get("lastSeq")?.as_i64()?,
        last_hash: unhex32(v.get("lastHash")?.as_str()?)?,
        time: UnixMillis(v.get("time")?.as_i64()?),
        prev_signature: unhex(v.get("prevSignature")?.as_str()?).ok()?,
        prune_anchor: v.get("pruneAnchor")?.as_bool()?,
        signature: unhex(v.get("signature")?.as_str()?).ok()?,
    })
}

/// `kinko audit verify --export DIR --public-key FILE`.
pub fn verify_export_dir(dir: &Path, public_key_file: &Path) -> anyhow::Result<Verdict> {
    let key = read_pem_file(public_key_file)?;
    match verify_export(dir, &key) {
        Ok(report) => Ok(Verdict::Intact(report)),
        Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b)),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::AuditStore;

    #[test]
    fn break_prints_the_documented_line() {
        let b = brk(
            "node-1",
            7,
            Some("e-1"),
            BreakKind::Modified,
            "column error_code disagrees with the record",
        );
        assert_eq!(
            b.to_string(),
            "audit trail broken at chain node-1 seq 7 (event e-1): modified: column error_code disagrees with the record"
        );
        let d = brk("node-1", 8, None, BreakKind::BadSignature, "x");
        assert_eq!(
            d.to_string(),
            "audit trail broken at chain node-1 seq 8: bad-signature: x"
        );
    }

    #[test]
    fn pem_round_trip_and_rejects_other_keys() {
        use base64::Engine;
        let Ok((key, _)) = kinko_crypto::SigningKeyPair::generate() else {
            panic!("keygen")
        };
        let spki = key.public_key_spki().unwrap_or_default();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        );
        assert_eq!(public_key_from_pem(&pem).ok(), Some(key.public_key()));
        assert!(public_key_from_pem("nonsense").is_err());
        let truncated = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki[..40])
        );
        assert!(public_key_from_pem(&truncated).is_err());
    }

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
            record: crate::audit::canonical(&record),
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
                crate::audit::seal(&store, &key, chain, UnixMillis(now))
                    .await
                    .is_ok()
            );
        };
        let prune = async |now: i64| {
            crate::audit::prune(&store, &key, chain, UnixMillis(now), day)
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
