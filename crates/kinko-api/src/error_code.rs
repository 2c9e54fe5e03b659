//! Every `__type` Kinko can answer with, and the HTTP status it goes out with
//! (`kms-reference.md` §1.3, §1.4, §6: 400 for client faults, 500/503 for retryable faults), and
//! the codes of IAM and STS (AWS Query protocol) with IAM's statuses.

macro_rules! codes {
    ($($variant:ident = $status:literal),+ $(,)?) => {
        /// An AWS error code (the `__type` of an error body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $(
            #[doc = concat!("`", stringify!($variant), "`")]
            $variant
        ),+ }
        impl ErrorCode {
            /// Every code.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];
            /// The shape name sent as `__type`.
            pub fn as_str(self) -> &'static str { match self { $(ErrorCode::$variant => stringify!($variant)),+ } }
            /// The HTTP status code.
            pub fn status(self) -> u16 { match self { $(ErrorCode::$variant => $status),+ } }
        }
    };
}

codes! {
    AccessDeniedException = 400,
    AlreadyExistsException = 400,
    ExpiredImportTokenException = 400,
    IncorrectKeyMaterialException = 400,
    InvalidImportTokenException = 400,
    ConflictException = 400,
    DependencyTimeoutException = 503,
    DisabledException = 400,
    DryRunOperationException = 400,
    IncompleteSignatureException = 400,
    IncorrectKeyException = 400,
    InvalidAliasNameException = 400,
    InvalidArnException = 400,
    InvalidCiphertextException = 400,
    InvalidEventCategoryException = 400,
    InvalidGrantIdException = 400,
    InvalidGrantTokenException = 400,
    InvalidKeyUsageException = 400,
    InvalidLookupAttributesException = 400,
    InvalidMarkerException = 400,
    InvalidMaxResultsException = 400,
    InvalidNextTokenException = 400,
    InvalidSignatureException = 400,
    InvalidTimeRangeException = 400,
    KMSInternalException = 500,
    KMSInvalidMacException = 400,
    KMSInvalidSignatureException = 400,
    KMSInvalidStateException = 400,
    LimitExceededException = 400,
    MalformedPolicyDocumentException = 400,
    MissingAuthenticationTokenException = 400,
    NotFoundException = 400,
    RequestEntityTooLargeException = 413,
    SerializationException = 400,
    TagException = 400,
    ThrottlingException = 400,
    UnknownOperationException = 400,
    UnrecognizedClientException = 400,
    UnsupportedOperationException = 400,
    ValidationException = 400,
    ExpiredTokenException = 400,
    // IAM and STS (the AWS Query protocol), with their own statuses.
    AccessDenied = 403,
    DeleteConflict = 409,
    EntityAlreadyExists = 409,
    ExpiredToken = 400,
    IncompleteSignature = 400,
    InvalidAction = 400,
    InvalidClientTokenId = 403,
    LimitExceeded = 409,
    MalformedPolicyDocument = 400,
    MalformedQueryString = 400,
    MissingAuthenticationToken = 403,
    NoSuchEntity = 404,
    ServiceFailure = 500,
    SignatureDoesNotMatch = 403,
    Throttling = 400,
    ValidationError = 400,
    // Secrets Manager's.
    DecryptionFailure = 400,
    EncryptionFailure = 400,
    InternalServiceError = 500,
    InvalidParameterException = 400,
    InvalidRequestException = 400,
    PublicPolicyException = 400,
    ResourceExistsException = 400,
    ResourceNotFoundException = 400,
}

impl ErrorCode {
    /// The errors AWS answers with no `message` member at all: a ciphertext that does not
    /// decrypt, a signature or MAC that does not verify. They deliberately say nothing.
    pub fn says_nothing(self) -> bool {
        matches!(
            self,
            ErrorCode::InvalidCiphertextException
                | ErrorCode::KMSInvalidSignatureException
                | ErrorCode::KMSInvalidMacException
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_faults_are_5xx_and_client_faults_4xx() {
        for c in ErrorCode::ALL {
            let server = matches!(
                c,
                ErrorCode::KMSInternalException
                    | ErrorCode::DependencyTimeoutException
                    | ErrorCode::ServiceFailure
                    | ErrorCode::InternalServiceError
            );
            assert_eq!(c.status() >= 500, server, "{c:?}");
        }
    }
}
