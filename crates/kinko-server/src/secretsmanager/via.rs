//! The audit record of a KMS call Secrets Manager made on a caller's behalf: a KMS event of its
//! own (`eventSource: kms.amazonaws.com`) with the caller's `userIdentity` plus
//! `invokedBy: secretsmanager.amazonaws.com`, and the source address and user agent CloudTrail
//! gives such calls (the service's name). Its parameters are the key and the encryption
//! context, never a data key.

use kinko_api::ErrorCode;
use kinko_core::{AuditDraft, Error, ViaCall};
use serde_json::{Map, Value, json};

use crate::audit::{Recorded, RequestInfo};
use crate::errors::ApiError;

/// The KMS error code a refused call was answered with.
fn kms_error(e: &Error) -> ApiError {
    let code = match e {
        Error::AccessDenied(_) => ErrorCode::AccessDeniedException,
        Error::NotFound(_) => ErrorCode::NotFoundException,
        Error::Disabled(_) => ErrorCode::DisabledException,
        Error::InvalidState(_) => ErrorCode::KMSInvalidStateException,
        Error::InvalidKeyUsage(_) => ErrorCode::InvalidKeyUsageException,
        Error::InvalidCiphertext => ErrorCode::InvalidCiphertextException,
        Error::InvalidArn(_) => ErrorCode::InvalidArnException,
        Error::Validation(_) => ErrorCode::ValidationException,
        _ => ErrorCode::KMSInternalException,
    };
    let message = match e {
        Error::AccessDenied(m)
        | Error::NotFound(m)
        | Error::Disabled(m)
        | Error::InvalidState(m)
        | Error::InvalidKeyUsage(m)
        | Error::InvalidArn(m)
        | Error::Validation(m) => m.clone(),
        _ => String::new(),
    };
    ApiError::new(code, message)
}

/// The record of `call`, made while serving the Secrets Manager request `info`.
pub(crate) fn record(info: &RequestInfo, call: &ViaCall<'_>) -> AuditDraft {
    let service = call.service.principal();
    let mut parameters = Map::new();
    if let Some(key_id) = call.key_id {
        parameters.insert("keyId".into(), json!(key_id));
    }
    parameters.insert("encryptionContext".into(), json!(call.context.0));
    if call.operation == "GenerateDataKey" {
        parameters.insert("keySpec".into(), json!("AES_256"));
    } else {
        parameters.insert("encryptionAlgorithm".into(), json!("SYMMETRIC_DEFAULT"));
    }
    let kms = RequestInfo {
        request_id: crate::util::new_uuid(),
        time: info.time,
        source_ip: service.to_owned(),
        secure_transport: true,
        // The service's own connection to KMS, not the client's.
        tls_details: None,
        user_agent: Some(service.to_owned()),
        event_source: "kms.amazonaws.com",
        operation: call.operation.to_owned(),
        read_only: true,
        region: info.region.clone(),
        access_key_id: info.access_key_id.clone(),
        caller: Some(call.caller.clone()),
        request_parameters: Some(Value::Object(parameters)),
        invoked_by: Some(service),
    };
    let error = call.error.map(kms_error);
    kms.draft(&Recorded {
        key: call.key,
        source_key: None,
        response_elements: None,
        error: error.as_ref(),
    })
}
