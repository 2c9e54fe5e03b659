//! Secrets Manager's error codes: one exhaustive `match` from the core's errors, as the KMS
//! mapping in `crate::errors` does for KMS. Internal details are logged, never returned.

use kinko_api::ErrorCode;
use kinko_core::Error;

use crate::errors::ApiError;

/// Maps a domain error to Secrets Manager's wire. No `_ =>` arm.
pub(crate) fn from_core(error: Error, request_id: &str) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match error {
        Error::NotFound(m) => (C::ResourceNotFoundException, m),
        Error::AlreadyExists(m) => (C::ResourceExistsException, m),
        Error::InvalidState(m) | Error::Conflict(m) | Error::DeleteConflict(m) => {
            (C::InvalidRequestException, m)
        }
        Error::Validation(m)
        | Error::InvalidArn(m)
        | Error::InvalidAliasName(m)
        | Error::Tag(m) => (C::InvalidParameterException, m),
        Error::MalformedPolicyDocument(m) => (C::MalformedPolicyDocumentException, m),
        Error::PublicPolicy(m) => (C::PublicPolicyException, m),
        Error::InvalidMarker(m) => (C::InvalidNextTokenException, m),
        Error::LimitExceeded(m) => (C::LimitExceededException, m),
        Error::AccessDenied(m) => (C::AccessDeniedException, m),
        Error::EncryptionFailure(m) => (C::EncryptionFailure, m),
        Error::DecryptionFailure(m) => (C::DecryptionFailure, m),
        Error::UnsupportedOperation(m) => (C::UnsupportedOperationException, m),
        // KMS's own refusals reach Secrets Manager's callers through `secrets_seal`, which
        // turns them into the errors above; these cannot arrive here, but are decided anyway.
        Error::Disabled(m)
        | Error::InvalidKeyUsage(m)
        | Error::IncorrectKey(m)
        | Error::InvalidImportToken(m)
        | Error::ExpiredImportToken(m)
        | Error::IncorrectKeyMaterial(m)
        | Error::InvalidGrantId(m)
        | Error::InvalidGrantToken(m) => (C::InvalidRequestException, m),
        Error::InvalidCiphertext | Error::InvalidSignature | Error::InvalidMac => (
            C::DecryptionFailure,
            "Secrets Manager can't decrypt the protected secret text.".to_owned(),
        ),
        Error::DryRun => (C::InvalidRequestException, Error::DryRun.to_string()),
        Error::StoreUnavailable(source) => {
            tracing::error!(request_id, error = %source, "storage unavailable");
            (
                C::InternalServiceError,
                "The storage backend is unavailable; retry the request.".to_owned(),
            )
        }
        Error::Internal(detail) => {
            tracing::error!(request_id, %detail, "internal error");
            (
                C::InternalServiceError,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
        Error::Failed { what, cause } => {
            tracing::error!(request_id, detail = %what, %cause, "internal error");
            (
                C::InternalServiceError,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
    };
    ApiError { code, message }
}
