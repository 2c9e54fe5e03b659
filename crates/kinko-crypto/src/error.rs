//! The one error type of `kinko-crypto`. Variants say what the caller must decide, never why a
//! decryption failed: a padding oracle or a context oracle starts with a helpful error message.

/// What went wrong in a cryptographic operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A ciphertext or wrapped key did not open: wrong key, wrong context, tampered or foreign
    /// bytes. Deliberately carries no detail.
    #[error("decryption failed")]
    Decrypt,
    /// An input had the wrong length or shape for the primitive (a caller bug, not an attack).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The system random number generator or a primitive failed unexpectedly.
    #[error("cryptographic primitive failed")]
    Unspecified,
}

impl From<aws_lc_rs::error::Unspecified> for CryptoError {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        CryptoError::Unspecified
    }
}
