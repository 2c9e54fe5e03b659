//! What verification reports: the verdict, the first break with its kind, and what was
//! checked on each chain. Shared by the store walk (`chain`, `digests`) and the export check
//! (`export`), which import it and nothing of each other beyond `digests`.

use std::fmt;

use kinko_core::{AuditDigest, StoreError};

use crate::record::iso8601;
use crate::signing::{PublicKeyError, SigningKeyError};

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
    #[error("reading the audit trail")]
    Store(#[from] StoreError),
    /// An exported file could not be read (not evidence of tampering).
    #[error("{what}")]
    Io {
        /// What was being read, such as `listing <dir>`.
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not an export.
    #[error("{} holds no AWSLogs directory: not an export", .0.display())]
    NotExport(std::path::PathBuf),
    /// The public key to verify with could not be read.
    #[error(transparent)]
    PublicKey(#[from] PublicKeyError),
    /// The store's record of the audit public key could not be read.
    #[error(transparent)]
    RecordedKey(#[from] SigningKeyError),
    /// Neither a key file nor the store names the key to trust.
    #[error("the store records no audit public key; pass --public-key")]
    NoPublicKey,
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

/// A break in `chain` at `seq`.
pub(super) fn brk(
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

/// How a break names a digest: `the digest over seqs 1..10 signed at 2026-...`.
pub(super) fn digest_name(d: &AuditDigest) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
