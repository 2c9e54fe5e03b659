//! Domain errors in the Query protocol's codes (IAM's, which STS shares): one exhaustive match.

use kinko_api::ErrorCode;
use kinko_core::Error;

use crate::errors::ApiError;

/// Maps a domain error to IAM's codes. No `_ =>` arm: a new variant must be decided here too.
pub fn from_core(error: Error, request_id: &str) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match error {
        Error::NotFound(m) => (C::NoSuchEntity, m),
        Error::AlreadyExists(m) => (C::EntityAlreadyExists, m),
        Error::LimitExceeded(m) => (C::LimitExceeded, m),
        Error::MalformedPolicyDocument(m) | Error::PublicPolicy(m) => {
            (C::MalformedPolicyDocument, m)
        }
        Error::DeleteConflict(m) => (C::DeleteConflict, m),
        Error::AccessDenied(m) => (C::AccessDenied, m),
        Error::Validation(m)
        | Error::InvalidArn(m)
        | Error::Tag(m)
        | Error::InvalidMarker(m)
        | Error::InvalidAliasName(m)
        | Error::UnsupportedOperation(m)
        | Error::Conflict(m)
        | Error::Disabled(m)
        | Error::InvalidState(m)
        | Error::InvalidKeyUsage(m)
        | Error::IncorrectKey(m)
        | Error::InvalidImportToken(m)
        | Error::ExpiredImportToken(m)
        | Error::IncorrectKeyMaterial(m)
        | Error::InvalidGrantId(m)
        | Error::InvalidGrantToken(m)
        | Error::EncryptionFailure(m)
        | Error::DecryptionFailure(m) => (C::ValidationError, m),
        Error::DryRun => (C::ValidationError, Error::DryRun.to_string()),
        Error::InvalidCiphertext | Error::InvalidSignature | Error::InvalidMac => {
            (C::ValidationError, String::new())
        }
        Error::StoreUnavailable(e) => {
            tracing::warn!(request_id, error = %e, "storage unavailable");
            (
                C::ServiceFailure,
                "Service unavailable; retry the request.".to_owned(),
            )
        }
        Error::Internal(detail) => {
            tracing::error!(request_id, detail, "internal error");
            (
                C::ServiceFailure,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
        Error::Failed { what, cause } => {
            tracing::error!(request_id, detail = %what, %cause, "internal error");
            (
                C::ServiceFailure,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
    };
    ApiError::new(code, message)
}
