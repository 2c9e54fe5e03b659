//! Domain errors, classified by what the caller must do about them. The server maps each
//! variant to exactly one AWS error code in one exhaustive `match`.

use crate::store::StoreError;

/// Why an operation did not succeed. Messages are safe to show to the caller: they never hold
/// plaintext, key material or secrets.
/// Deliberately not `#[non_exhaustive]`: the server's mapping to AWS codes must be an
/// exhaustive `match`, so a new variant does not compile until its code is decided.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key, alias or other resource does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// A syntactically broken ARN.
    #[error("{0}")]
    InvalidArn(String),
    /// The resource already exists (alias names).
    #[error("{0}")]
    AlreadyExists(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The key's state does not allow the operation.
    #[error("{0}")]
    InvalidState(String),
    /// The key's usage or spec does not fit the operation or algorithm.
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// A ciphertext did not decrypt. Deliberately without detail.
    #[error("")]
    InvalidCiphertext,
    /// Decrypt/ReEncrypt named a key that is not the one that encrypted the blob.
    #[error("{0}")]
    IncorrectKey(String),
    /// Verify: the signature is not valid for the message and key.
    #[error("")]
    InvalidSignature,
    /// VerifyMac: the MAC is not valid for the message and key.
    #[error("")]
    InvalidMac,
    /// An alias name is malformed or reserved.
    #[error("{0}")]
    InvalidAliasName(String),
    /// A policy document is not valid.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// ImportKeyMaterial: the import token is not one Kinko issued for this key.
    #[error("{0}")]
    InvalidImportToken(String),
    /// ImportKeyMaterial: the import token is past its 24 hours.
    #[error("{0}")]
    ExpiredImportToken(String),
    /// ImportKeyMaterial: the material is not the key's (reimport of different material).
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    /// The request conflicts with work in progress or about to start (RotateKeyOnDemand).
    #[error("{0}")]
    Conflict(String),
    /// An IAM entity cannot be deleted while it has subordinate entities (access keys,
    /// policies).
    #[error("{0}")]
    DeleteConflict(String),
    /// A quota or size limit was hit.
    #[error("{0}")]
    LimitExceeded(String),
    /// Tags are not valid.
    #[error("{0}")]
    Tag(String),
    /// The operation or parameter is not supported for this key (or not by Kinko yet).
    #[error("{0}")]
    UnsupportedOperation(String),
    /// A grant id is malformed (RetireGrant, RevokeGrant, ListGrants).
    #[error("{0}")]
    InvalidGrantId(String),
    /// A grant token is malformed or not one Kinko issued.
    #[error("{0}")]
    InvalidGrantToken(String),
    /// A pagination marker was not one Kinko issued.
    #[error("{0}")]
    InvalidMarker(String),
    /// A request value violates a constraint.
    #[error("{0}")]
    Validation(String),
    /// The caller may not perform the action on the resource.
    #[error("{0}")]
    AccessDenied(String),
    /// Storage could not be reached or failed; retryable.
    #[error("storage unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// A bug or an unexpected failure inside Kinko; retryable, details logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Error::StoreUnavailable(e),
            StoreError::Conflict(what) => Error::Internal(format!("concurrent update of {what}")),
            StoreError::Corrupt(what) => Error::Internal(format!("corrupt record: {what}")),
        }
    }
}

impl From<kinko_crypto::CryptoError> for Error {
    fn from(e: kinko_crypto::CryptoError) -> Self {
        match e {
            kinko_crypto::CryptoError::Decrypt => Error::InvalidCiphertext,
            other => Error::Internal(format!("crypto: {other}")),
        }
    }
}
