//! NextToken: where a LookupEvents page stopped, bound to the query that produced it.

use base64::Engine;
use kinko_api::ErrorCode;
use kinko_core::{AuditCursor, Caller};

use super::request::Attribute;
use crate::errors::ApiError;

/// Version prefix of NextToken.
const TOKEN_VERSION: &str = "ct1";

/// Ties a NextToken to the caller's account and the request's filters, so that a token is only
/// good for the query that produced it.
pub(super) fn fingerprint(
    caller: &Caller,
    attribute: Option<&Attribute>,
    start: Option<f64>,
    end: Option<f64>,
) -> String {
    let (name, value) = attribute.map_or(("", String::new()), Attribute::name_and_value);
    let text = format!(
        "{}\n{name}\n{value}\n{:?}\n{:?}",
        caller.account,
        start.map(f64::to_bits),
        end.map(f64::to_bits)
    );
    kinko_core::hex(&kinko_crypto::sha256(text.as_bytes())[..8])
}

pub(super) fn encode_token(fingerprint: &str, cursor: &AuditCursor) -> String {
    let (time, chain, seq) = cursor;
    let body = format!("{fingerprint}\n{time}\n{seq}\n{chain}");
    let text = format!("{TOKEN_VERSION}\n{}\n{body}", token_check(&body));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A checksum over the token's content, so that a truncated or altered token is refused (not a
/// secret: whatever cursor a token names, a caller only ever sees its own account's events).
pub(super) fn token_check(body: &str) -> String {
    kinko_core::hex(&kinko_crypto::sha256(body.as_bytes())[..8])
}

pub(super) fn decode_token(token: &str, fingerprint: &str) -> Result<AuditCursor, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidNextTokenException,
            "The NextToken is invalid, or was issued for a request with other parameters.",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (version, rest) = text.split_once('\n').ok_or_else(invalid)?;
    let (check, body) = rest.split_once('\n').ok_or_else(invalid)?;
    if version != TOKEN_VERSION || check != token_check(body) {
        return Err(invalid());
    }
    let parts: Vec<&str> = body.splitn(4, '\n').collect();
    let [fp, time, seq, chain] = parts[..] else {
        return Err(invalid());
    };
    if fp != fingerprint || chain.is_empty() {
        return Err(invalid());
    }
    let time = time.parse::<i64>().map_err(|_| invalid())?;
    let seq = seq.parse::<i64>().map_err(|_| invalid())?;
    Ok((time, chain.to_owned(), seq))
}
