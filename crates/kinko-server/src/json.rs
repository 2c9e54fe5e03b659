//! JSON 1.1 bodies (KMS and CloudTrail): decoding a request into its typed wire struct, encoding
//! a response. A leaf beside `errors`: the protocols import it, it imports none of them.

use kinko_api::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// The media type of every JSON 1.1 request and response.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A JSON 1.1 request must say it is one: `Content-Type: application/x-amz-json-1.1` (any case,
/// parameters such as `charset` allowed), as every AWS SDK sends. AWS routes a request to its
/// protocol by this header, so a request with another (or none) is for no operation it knows:
/// `UnknownOperationException`.
pub(crate) fn check_content_type(value: Option<&[u8]>) -> Result<(), ApiError> {
    let media_type = value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if media_type.is_some_and(|t| t.eq_ignore_ascii_case(CONTENT_TYPE)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::UnknownOperationException,
        format!("A JSON request must have Content-Type: {CONTENT_TYPE}."),
    ))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_is_json_1_1() {
        for ok in [
            "application/x-amz-json-1.1",
            "Application/X-Amz-Json-1.1",
            "application/x-amz-json-1.1; charset=utf-8",
        ] {
            assert!(check_content_type(Some(ok.as_bytes())).is_ok(), "{ok}");
        }
        for bad in [
            None,
            Some(&b""[..]),
            Some(b"application/json"),
            Some(b"application/x-www-form-urlencoded"),
            Some(b"application/x-amz-json-1.0"),
            Some(b"application/x-amz-json-1.1x"),
            Some(b"\xff"),
        ] {
            let code = check_content_type(bad).err().map(|e| e.code);
            assert_eq!(code, Some(ErrorCode::UnknownOperationException), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_a_serialization_error() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            #[serde(rename = "A")]
            a: Option<serde_json::Value>,
        }
        let body = format!("{{\"A\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let code = decode::<Shape>(body.as_bytes()).err().map(|e| e.code);
        assert_eq!(code, Some(ErrorCode::SerializationException));
        let shallow = format!("{{\"A\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(decode::<Shape>(shallow.as_bytes()).is_ok());
    }
}
