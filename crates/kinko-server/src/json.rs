//! JSON 1.1 bodies (KMS and CloudTrail): decoding a request into its typed wire struct, encoding
//! a response. A leaf beside `errors`: the protocols import it, it imports none of them.

use kinko_api::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// Whether a body is empty (only whitespace), which reads as `{}`.
pub(crate) fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Decodes a JSON 1.1 request body (an object; empty reads as `{}`).
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if is_blank(body) {
        b"{}".as_slice()
    } else {
        body
    };
    // serde's derived structs also read JSON arrays positionally; the protocol only has objects.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            ErrorCode::SerializationException,
            "The request body must be a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the position and the expected type, never the value's bytes.
        let message = match e.classify() {
            serde_json::error::Category::Data => {
                format!("Unexpected value in the request body: {e}")
            }
            _ => "Malformed JSON in the request body".to_owned(),
        };
        ApiError::new(ErrorCode::SerializationException, message)
    })
}

/// Encodes a JSON 1.1 response body.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|_| {
        ApiError::new(
            ErrorCode::KMSInternalException,
            "An internal error occurred; retry the request.",
        )
    })
}
