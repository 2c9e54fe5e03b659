//! What the signed digests prove about a chain: every signature verifies under the audit public
//! key, each digest starts where the one before it ended and links to its signature, prune
//! anchors link the same way, and each digest's `last_hash` is the hash of the event the chain
//! walk finds at its `last_seq`.

use std::collections::{HashMap, VecDeque};

use kinko_core::{AuditDigest, hex};
use kinko_crypto::verify_ed25519;

use super::report::{BreakKind, VerifyBreak, brk, digest_name};

/// Signatures and links of a chain's digests (as the store lists them: by `last_seq`).
pub(super) fn check_digests(
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
pub(super) struct Walked {
    pub(super) seq: i64,
    pub(super) hash: [u8; 32],
    pub(super) event_id: String,
}

/// Compares the digests that end at `at` with the event there.
pub(super) fn check_checkpoints(
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
