//! Domain errors, classified by what the caller must do about them. The server maps each
//! variant to exactly one AWS error code in one exhaustive `match`.

use crate::StoreError;

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
    /// Secrets Manager's PutResourcePolicy with BlockPublicPolicy: the policy grants broad
    /// (public) access.
    #[error("{0}")]
    PublicPolicy(String),
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
    /// The request would have succeeded, but it asked for a dry run (`DryRun: true`).
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    /// Secrets Manager could not seal a secret's value under its KMS key (the key is disabled,
    /// missing or not a symmetric encryption key).
    #[error("{0}")]
    EncryptionFailure(String),
    /// Secrets Manager could not open a secret's value (its KMS key is disabled or missing).
    #[error("{0}")]
    DecryptionFailure(String),
    /// The caller may not perform the action on the resource.
    #[error("{0}")]
    AccessDenied(String),
    /// Storage could not be reached or failed; retryable.
    #[error("storage unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// A bug or an unexpected failure inside Kinko; retryable, details logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// An unexpected failure of a layer below the domain, with its cause: a store's
    /// consistency check, a cryptographic operation, a stored policy that no longer parses.
    /// Like [`Error::Internal`]: retryable, logged with its cause, never returned.
    #[error("internal error: {what}")]
    Failed {
        /// What was being done.
        what: String,
        /// The lower layer's error.
        #[source]
        cause: InternalCause,
    },
}

/// The lower layer's error behind an [`Error::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum InternalCause {
    /// The store refused a write (a conflict where none was expected) or could not read a
    /// record back.
    #[error(transparent)]
    Store(StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(kinko_crypto::CryptoError),
    /// A stored policy document does not parse.
    #[error(transparent)]
    Policy(kinko_policy::PolicyError),
}

impl From<StoreError> for InternalCause {
    fn from(e: StoreError) -> Self {
        InternalCause::Store(e)
    }
}

impl From<kinko_crypto::CryptoError> for InternalCause {
    fn from(e: kinko_crypto::CryptoError) -> Self {
        InternalCause::Crypto(e)
    }
}

impl From<kinko_policy::PolicyError> for InternalCause {
    fn from(e: kinko_policy::PolicyError) -> Self {
        InternalCause::Policy(e)
    }
}

impl Error {
    /// [`Error::Failed`]: `what` failed because of `cause`.
    pub(crate) fn failed(what: impl Into<String>, cause: impl Into<InternalCause>) -> Error {
        Error::Failed {
            what: what.into(),
            cause: cause.into(),
        }
    }

    /// Whether this is a store's optimistic-concurrency conflict (another writer changed the
    /// record first).
    pub(crate) fn is_store_conflict(&self) -> bool {
        matches!(
            self,
            Error::Failed {
                cause: InternalCause::Store(StoreError::Conflict(_)),
                ..
            } | Error::StoreUnavailable(StoreError::Conflict(_))
        )
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Error::StoreUnavailable(e),
            StoreError::Conflict(what) => Error::failed(format!("concurrent update of {what}"), e),
            StoreError::Corrupt(_) => Error::failed("reading a stored record", e),
        }
    }
}

impl From<kinko_crypto::CryptoError> for Error {
    fn from(e: kinko_crypto::CryptoError) -> Self {
        match e {
            kinko_crypto::CryptoError::Decrypt => Error::InvalidCiphertext,
            other => Error::failed("cryptographic operation", other),
        }
    }
}
