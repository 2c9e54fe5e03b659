//! Checking a parsed request with its key: clock skew, the payload hash, then the signature in constant time.
//!
//! The canonical request and the string to sign are public too. They are what a client and the server must
//! agree on byte for byte, so the test suite compares them with AWS's and a server can log them on a mismatch.

use crate::canonical::{self, sha256_hex};
use crate::parse::{Parsed, Request};
use crate::time::format_amz_date;
use crate::{ALGORITHM, Error, MAX_SKEW_SECS, SigningKey, TERMINATOR};

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Verifies a request that [`crate::parse`] accepted, with the key for its access key ID and scope.
///
/// In order: the request time must be within ±5 minutes of `now_epoch_secs`; a signed
/// `X-Amz-Content-SHA256` must equal the body's hash (unless it is `UNSIGNED-PAYLOAD`); the signature must match.
pub fn verify(
    req: &Request<'_>,
    parsed: &Parsed<'_>,
    key: &SigningKey,
    now_epoch_secs: i64,
) -> Result<(), Error> {
    check_skew(parsed.request_time, now_epoch_secs)?;
    if let Some(claimed) = signed_content_sha256(req, parsed)
        && claimed != UNSIGNED_PAYLOAD
        && !claimed.eq_ignore_ascii_case(&sha256_hex(req.body))
    {
        return Err(Error::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_owned(),
        ));
    }
    let string_to_sign = string_to_sign(parsed, &canonical_request(req, parsed));
    match parsed.signature() {
        Some(signature) if key.verify(string_to_sign.as_bytes(), signature) => Ok(()),
        _ => Err(Error::mismatch()),
    }
}

/// The canonical request for `req` as the client should have built it, from exactly `parsed.signed_headers`.
/// The payload line is the signed `X-Amz-Content-SHA256` value if there is one, else the body's hash.
pub fn canonical_request(req: &Request<'_>, parsed: &Parsed<'_>) -> Vec<u8> {
    let payload = signed_content_sha256(req, parsed).unwrap_or_else(|| sha256_hex(req.body));
    canonical::build(
        req.method,
        req.path,
        req.query,
        req.headers,
        &parsed.signed_headers,
        &payload,
    )
}

/// The string to sign: algorithm, request time, credential scope and the hash of the canonical request.
pub fn string_to_sign(parsed: &Parsed<'_>, canonical_request: &[u8]) -> String {
    sts(
        &parsed.amz_date,
        parsed.date,
        parsed.region,
        parsed.service,
        canonical_request,
    )
}

pub(crate) fn sts(
    amz_date: &str,
    date: &str,
    region: &str,
    service: &str,
    canonical_request: &[u8],
) -> String {
    let hash = sha256_hex(canonical_request);
    format!("{ALGORITHM}\n{amz_date}\n{date}/{region}/{service}/{TERMINATOR}\n{hash}")
}

/// AWS's skew messages, e.g. `Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z
/// (20260101T001000Z - 5 min.)`.
fn check_skew(request_time: i64, now: i64) -> Result<(), Error> {
    let (earliest, latest) = (
        now.saturating_sub(MAX_SKEW_SECS),
        now.saturating_add(MAX_SKEW_SECS),
    );
    if (earliest..=latest).contains(&request_time) {
        // The common case formats nothing.
        return Ok(());
    }
    let (at, now_text) = (format_amz_date(request_time), format_amz_date(now));
    if request_time < earliest {
        let earliest = format_amz_date(earliest);
        return Err(Error::InvalidSignature(format!(
            "Signature expired: {at} is now earlier than {earliest} ({now_text} - 5 min.)"
        )));
    }
    if request_time > latest {
        let latest = format_amz_date(latest);
        return Err(Error::InvalidSignature(format!(
            "Signature not yet current: {at} is still later than {latest} ({now_text} + 5 min.)"
        )));
    }
    Ok(())
}

/// The `X-Amz-Content-SHA256` value, only when it is both present and signed.
fn signed_content_sha256(req: &Request<'_>, parsed: &Parsed<'_>) -> Option<String> {
    const NAME: &str = "x-amz-content-sha256";
    if !parsed
        .signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case(NAME))
    {
        return None;
    }
    let value = req.values(NAME).next()?;
    Some(
        String::from_utf8_lossy(value)
            .trim_matches([' ', '\t'])
            .to_owned(),
    )
}
