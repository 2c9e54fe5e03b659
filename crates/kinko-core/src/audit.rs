//! The audit trail's domain: one event per request, chained per node so that modifying,
//! deleting, inserting or reordering events is detectable, and periodically sealed by a digest
//! signed with the audit signing key.
//!
//! The CloudTrail record itself is built by the server (it knows the AWS field names) and
//! arrives here as opaque canonical JSON bytes; the columns beside it are what the store indexes
//! for queries. `verify` re-derives those columns from the record, so they are covered too.

use crate::{AccountId, KeyId, UnixMillis};

/// An event before it has a place in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// CloudTrail `eventID` (a UUID).
    pub event_id: String,
    /// The request id returned to the caller (`x-amzn-RequestId`), if any.
    pub request_id: Option<String>,
    /// `eventTime`.
    pub time: UnixMillis,
    /// `eventSource`, e.g. `kms.amazonaws.com`.
    pub event_source: String,
    /// `eventName`, e.g. `Encrypt`.
    pub event_name: String,
    /// `readOnly`.
    pub read_only: bool,
    /// The caller's account, when authentication got that far.
    pub account: Option<AccountId>,
    /// The caller's principal ARN, when known.
    pub principal_arn: Option<String>,
    /// The access key id the request was signed with, when known.
    pub access_key_id: Option<String>,
    /// The KMS key the event concerns, if any (for ReEncrypt: the destination key).
    pub key_id: Option<KeyId>,
    /// A second key the event concerns (ReEncrypt's source key).
    pub source_key_id: Option<KeyId>,
    /// `errorCode`, absent on success.
    pub error_code: Option<String>,
    /// The CloudTrail record: canonical JSON (sorted keys, compact), never plaintext or secrets.
    pub record: Vec<u8>,
}

/// An event with its place in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The chain (one per node).
    pub chain: String,
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Hash of the previous event (zeros for the first).
    pub prev_hash: [u8; 32],
    /// `chain_hash(prev_hash, chain, seq, record)`.
    pub hash: [u8; 32],
    /// The event.
    pub draft: AuditDraft,
}

/// The head of a chain: its last position and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain.
    pub chain: String,
    /// Last sequence number (0 when empty).
    pub last_seq: i64,
    /// Last hash (zeros when empty).
    pub last_hash: [u8; 32],
}

/// A signed statement that a chain had `last_hash` at `last_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDigest {
    /// The chain.
    pub chain: String,
    /// First sequence number this digest covers.
    pub first_seq: i64,
    /// Last sequence number it covers.
    pub last_seq: i64,
    /// The chain's hash at `last_seq`.
    pub last_hash: [u8; 32],
    /// When it was made.
    pub time: UnixMillis,
    /// The previous digest's signature (empty for the first), linking digests together.
    pub prev_signature: Vec<u8>,
    /// True for the digest that marks where a pruned chain now starts.
    pub prune_anchor: bool,
    /// Ed25519 signature over [`AuditDigest::message`].
    pub signature: Vec<u8>,
}

impl AuditDigest {
    /// The bytes the signature covers.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "kinko-audit-digest-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.chain,
            self.first_seq,
            self.last_seq,
            hex(&self.last_hash),
            self.time.0,
            hex(&self.prev_signature),
            self.prune_anchor
        )
        .into_bytes()
    }
}

/// Hex of bytes (lowercase).
pub fn hex(bytes: &[u8]) -> String {
    kinko_crypto::hex::encode(bytes)
}

/// The chain hash: SHA-256(prev_hash ‖ len(chain) ‖ chain ‖ seq ‖ record).
pub fn chain_hash(prev_hash: &[u8; 32], chain: &str, seq: i64, record: &[u8]) -> [u8; 32] {
    kinko_crypto::sha256_parts(&[
        prev_hash,
        &(chain.len() as u32).to_be_bytes(),
        chain.as_bytes(),
        &seq.to_be_bytes(),
        record,
    ])
}

/// A chain's position: its last sequence number and hash (`(0, zeros)` for an empty chain).
pub type ChainPosition = (i64, [u8; 32]);

/// Places `drafts` after `head` in `chain`: sequence numbers and hashes. Returns the events and
/// the chain's new position.
pub fn chain_events(
    chain: &str,
    head: ChainPosition,
    drafts: &[AuditDraft],
) -> (Vec<AuditEvent>, ChainPosition) {
    let (mut seq, mut prev) = head;
    let mut out = Vec::with_capacity(drafts.len());
    for draft in drafts {
        seq += 1;
        let hash = chain_hash(&prev, chain, seq, &draft.record);
        out.push(AuditEvent {
            chain: chain.to_owned(),
            seq,
            prev_hash: prev,
            hash,
            draft: draft.clone(),
        });
        prev = hash;
    }
    (out, (seq, prev))
}

/// Filters for audit queries; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this time.
    pub from: Option<UnixMillis>,
    /// Events at or before this time.
    pub to: Option<UnixMillis>,
    /// Events about this key.
    pub key_id: Option<KeyId>,
    /// Events by this principal ARN.
    pub principal_arn: Option<String>,
    /// Events with this access key id.
    pub access_key_id: Option<String>,
    /// Events with this name (operation).
    pub event_name: Option<String>,
    /// This event id.
    pub event_id: Option<String>,
    /// `Some(true)`: failures only; `Some(false)`: successes only.
    pub failed: Option<bool>,
    /// Read-only or not.
    pub read_only: Option<bool>,
    /// Events of this account.
    pub account: Option<AccountId>,
    /// Events from this service (`eventSource`, e.g. `kms.amazonaws.com`).
    pub event_source: Option<String>,
    /// Events whose principal has this user name (see [`user_name`]).
    pub user_name: Option<String>,
    /// Only events that name a key (CloudTrail's resource type `AWS::KMS::Key`).
    pub names_a_key: bool,
}

impl AuditFilter {
    /// True when `d` matches every field this filter sets (what the stores' indexes answer).
    pub fn matches(&self, d: &AuditDraft) -> bool {
        self.from.is_none_or(|f| d.time >= f)
            && self.to.is_none_or(|t| d.time <= t)
            && self
                .key_id
                .is_none_or(|k| d.key_id == Some(k) || d.source_key_id == Some(k))
            && (!self.names_a_key || d.key_id.is_some() || d.source_key_id.is_some())
            && self
                .principal_arn
                .as_ref()
                .is_none_or(|p| d.principal_arn.as_ref() == Some(p))
            && self
                .user_name
                .as_deref()
                .is_none_or(|u| d.principal_arn.as_deref().map(user_name) == Some(u))
            && self
                .access_key_id
                .as_ref()
                .is_none_or(|a| d.access_key_id.as_ref() == Some(a))
            && self.event_name.as_ref().is_none_or(|n| &d.event_name == n)
            && self
                .event_source
                .as_ref()
                .is_none_or(|s| &d.event_source == s)
            && self.event_id.as_ref().is_none_or(|e| &d.event_id == e)
            && self
                .account
                .as_ref()
                .is_none_or(|a| d.account.as_ref() == Some(a))
            && self.failed.is_none_or(|f| d.error_code.is_some() == f)
            && self.read_only.is_none_or(|r| d.read_only == r)
    }
}

/// CloudTrail's `Username` of a principal: the last segment of its ARN (`root` for the root
/// user, the session name for an assumed role). The stores index it; PostgreSQL computes the
/// same with `regexp_replace(principal_arn, '^.*[/:]', '')`.
pub fn user_name(principal_arn: &str) -> &str {
    principal_arn
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(principal_arn)
}

/// The last successful cryptographic use of a key (GetKeyLastUsage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUsage {
    /// Operation name.
    pub operation: String,
    /// When.
    pub time: UnixMillis,
    /// The event id.
    pub event_id: String,
    /// The request id.
    pub request_id: Option<String>,
}

/// Operations that count as cryptographic use of a key.
pub const CRYPTOGRAPHIC_OPERATIONS: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "Sign",
    "Verify",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hash_binds_every_input() {
        let base = chain_hash(&[0; 32], "node-1", 1, b"{}");
        assert_ne!(base, chain_hash(&[1; 32], "node-1", 1, b"{}"));
        assert_ne!(base, chain_hash(&[0; 32], "node-2", 1, b"{}"));
        assert_ne!(base, chain_hash(&[0; 32], "node-1", 2, b"{}"));
        assert_ne!(base, chain_hash(&[0; 32], "node-1", 1, b"{ }"));
        assert_eq!(base, chain_hash(&[0; 32], "node-1", 1, b"{}"));
    }

    #[test]
    fn chain_hash_is_sha256_of_the_documented_layout() {
        let mut input = vec![7u8; 32];
        input.extend_from_slice(&6u32.to_be_bytes());
        input.extend_from_slice(b"node-1");
        input.extend_from_slice(&42i64.to_be_bytes());
        input.extend_from_slice(b"{\"eventName\":\"Encrypt\"}");
        assert_eq!(
            chain_hash(&[7; 32], "node-1", 42, b"{\"eventName\":\"Encrypt\"}"),
            kinko_crypto::sha256(&input)
        );
    }

    #[test]
    fn chain_events_number_and_link_after_the_head() {
        let draft = |name: &str| AuditDraft {
            event_id: format!("id-{name}"),
            request_id: None,
            time: UnixMillis(0),
            event_source: "kms.amazonaws.com".to_owned(),
            event_name: name.to_owned(),
            read_only: true,
            account: None,
            principal_arn: None,
            access_key_id: None,
            key_id: None,
            source_key_id: None,
            error_code: None,
            record: format!("{{\"eventName\":\"{name}\"}}").into_bytes(),
        };
        let head = (5, [9u8; 32]);
        let (events, new_head) = chain_events("n", head, &[draft("A"), draft("B")]);
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].seq, events[0].prev_hash), (6, [9u8; 32]));
        assert_eq!(
            events[0].hash,
            chain_hash(&[9; 32], "n", 6, &events[0].draft.record)
        );
        assert_eq!((events[1].seq, events[1].prev_hash), (7, events[0].hash));
        assert_eq!(new_head, (7, events[1].hash));
        assert_eq!(
            chain_events("n", head, &[]).1,
            head,
            "nothing appended, head unchanged"
        );
    }
}
