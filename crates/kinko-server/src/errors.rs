//! The one place where errors become wire responses: a single exhaustive `match` from
//! [`kinko_core::Error`] to an AWS error code, plus the protocol-level errors that happen before
//! the core is reached. Internal details are logged with the request id and never returned.

use kinko_api::ErrorCode;
use kinko_core::Error;

/// An error ready to go on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The `__type`.
    pub code: ErrorCode,
    /// The `message`.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `ValidationException` in AWS's "1 validation error detected" form.
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ValidationException, message)
    }
}

/// Maps a domain error to the wire. No `_ =>` arm: a new variant must be decided here.
pub fn from_core(error: Error, request_id: &str) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match error {
        Error::NotFound(m) => (C::NotFoundException, m),
        Error::InvalidArn(m) => (C::InvalidArnException, m),
        Error::AlreadyExists(m) => (C::AlreadyExistsException, m),
        Error::Disabled(m) => (C::DisabledException, m),
        Error::InvalidState(m) => (C::KMSInvalidStateException, m),
        Error::InvalidKeyUsage(m) => (C::InvalidKeyUsageException, m),
        Error::InvalidCiphertext => (C::InvalidCiphertextException, String::new()),
        Error::IncorrectKey(m) => (C::IncorrectKeyException, m),
        Error::InvalidSignature => (C::KMSInvalidSignatureException, String::new()),
        Error::InvalidMac => (C::KMSInvalidMacException, String::new()),
        Error::InvalidAliasName(m) => (C::InvalidAliasNameException, m),
        Error::MalformedPolicyDocument(m) | Error::PublicPolicy(m) => {
            (C::MalformedPolicyDocumentException, m)
        }
        Error::Conflict(m) => (C::ConflictException, m),
        Error::InvalidImportToken(m) => (C::InvalidImportTokenException, m),
        Error::ExpiredImportToken(m) => (C::ExpiredImportTokenException, m),
        Error::IncorrectKeyMaterial(m) => (C::IncorrectKeyMaterialException, m),
        Error::LimitExceeded(m) => (C::LimitExceededException, m),
        Error::DeleteConflict(m) => (C::ConflictException, m),
        Error::Tag(m) => (C::TagException, m),
        Error::UnsupportedOperation(m) => (C::UnsupportedOperationException, m),
        Error::InvalidMarker(m) => (C::InvalidMarkerException, m),
        Error::InvalidGrantId(m) => (C::InvalidGrantIdException, m),
        Error::InvalidGrantToken(m) => (C::InvalidGrantTokenException, m),
        Error::Validation(m) => (C::ValidationException, m),
        Error::DryRun => (C::DryRunOperationException, Error::DryRun.to_string()),
        // Secrets Manager's; no KMS operation fails with them.
        Error::EncryptionFailure(m) | Error::DecryptionFailure(m) => {
            (C::KMSInvalidStateException, m)
        }
        Error::AccessDenied(m) => (C::AccessDeniedException, m),
        Error::StoreUnavailable(source) => {
            tracing::error!(request_id, error = %source, "storage unavailable");
            (
                C::DependencyTimeoutException,
                "The storage backend is unavailable; retry the request.".to_owned(),
            )
        }
        Error::Internal(detail) => {
            tracing::error!(request_id, %detail, "internal error");
            (
                C::KMSInternalException,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
        Error::Failed { what, cause } => {
            tracing::error!(request_id, detail = %what, %cause, "internal error");
            (
                C::KMSInternalException,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
    };
    ApiError { code, message }
}
