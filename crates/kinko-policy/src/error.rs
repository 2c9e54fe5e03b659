//! The one error type of `kinko-policy`. Parsing is the only fallible step: evaluation of a
//! compiled policy cannot fail, it only decides.

/// Why a policy document was refused.
///
/// The two variants map to different KMS exceptions: an oversized document is a quota problem
/// (`LimitExceededException`), anything else is a `MalformedPolicyDocumentException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is longer than the key-policy quota.
    #[error("policy document is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Length of the submitted document in bytes.
        size: usize,
        /// The limit it exceeded ([`crate::MAX_POLICY_BYTES`]).
        limit: usize,
    },
    /// The document is not valid JSON or breaks the policy grammar. The message names the
    /// statement and element at fault, in the style of AWS's MalformedPolicyDocument messages.
    #[error("{0}")]
    Malformed(String),
}
