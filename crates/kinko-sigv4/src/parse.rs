//! Reading the `Authorization` header and the request time, before any key is looked up.
//!
//! Everything that can be checked without a key is checked here, with AWS's error codes and messages.
//! Errors are grouped as AWS groups them: a missing header, an incomplete or malformed one, and a
//! well-formed one whose scope or signed-header list is wrong.
//! Nothing here panics on client input: no indexing, no unwrap.

use std::borrow::Cow;

use crate::time::{format_amz_date, parse_amz_date, parse_http_date};
use crate::{ALGORITHM, Error, TERMINATOR};

/// One HTTP request as received, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The raw path as received (still percent-encoded), e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`, usually empty.
    pub query: &'a str,
    /// Every header as received: names in any case, repeated names repeated, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The complete body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Every value of header `name` (matched without regard to case), in the order received.
    pub(crate) fn values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        let headers = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn first(&self, name: &str) -> Option<&'a [u8]> {
        self.values(name).next()
    }
}

/// What the `Authorization` header and the date header say, before any key is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The access key ID from the credential scope.
    pub access_key_id: &'a str,
    /// `YYYYMMDD` from the credential scope. [`parse`] has checked it matches [`Parsed::amz_date`].
    pub date: &'a str,
    /// The region from the credential scope, as the client sent it.
    pub region: &'a str,
    /// The service from the credential scope. The caller must check it (e.g. `kms`).
    pub service: &'a str,
    /// The `SignedHeaders` list, in the order given.
    pub signed_headers: Vec<&'a str>,
    /// The request time as `YYYYMMDDTHHMMSSZ`: the `X-Amz-Date` value, or the `Date` header converted.
    /// A `Cow` because a converted `Date` header has no borrowed form.
    pub amz_date: Cow<'a, str>,
    /// The request time as Unix seconds.
    pub request_time: i64,
    /// `X-Amz-Security-Token`, if present. [`parse`] has checked that it is signed.
    pub security_token: Option<&'a str>,
    /// The signature; `None` when it isn't 64 lowercase hex digits, which can never match.
    signature: Option<[u8; 32]>,
}

impl Parsed<'_> {
    pub(crate) fn signature(&self) -> Option<&[u8; 32]> {
        self.signature.as_ref()
    }
}

const NOT_SIGNED: &str = "must be a 'SignedHeader' in the AWS Authorization.";

/// Reads the `Authorization` header and the request time. Does not need the key and does not check the clock.
pub fn parse<'a>(req: &Request<'a>) -> Result<Parsed<'a>, Error> {
    let mut auth_headers = req.values("authorization");
    let Some(raw_auth) = auth_headers.next() else {
        if req
            .query
            .split('&')
            .any(|p| p.split('=').next() == Some("X-Amz-Algorithm"))
        {
            return Err(Error::Incomplete(
                "Query-string (presigned URL) authentication is not supported. \
                 Sign the request with an Authorization header."
                    .to_owned(),
            ));
        }
        return Err(Error::Missing);
    };
    if auth_headers.next().is_some() {
        return Err(Error::Incomplete(
            "The request has more than one Authorization header.".to_owned(),
        ));
    }
    let auth = std::str::from_utf8(raw_auth)
        .map_err(|_| {
            incomplete(format!(
                "Authorization header is not valid UTF-8: '{}'.",
                lossy(raw_auth)
            ))
        })?
        .trim_matches([' ', '\t']);

    let (algorithm, params) = auth.split_once(' ').unwrap_or((auth, ""));
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in params
        .split(',')
        .map(|p| p.trim_matches([' ', '\t']))
        .filter(|p| !p.is_empty())
    {
        let Some((key, value)) = part.split_once('=') else {
            return Err(incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'."
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(incomplete(format!(
                "Authorization header has more than one '{key}' parameter. Authorization={auth}"
            )));
        }
    }

    // AWS takes X-Amz-Date first and falls back to Date.
    let date_source = match req.first("x-amz-date") {
        Some(v) => Some(("x-amz-date", v)),
        None => req.first("date").map(|v| ("date", v)),
    };
    let (Some(credential), Some(signed_headers), Some(signature), Some((date_header, raw_date))) =
        (credential, signed_headers, signature, date_source)
    else {
        let mut missing = Vec::new();
        for (absent, name) in [
            (credential.is_none(), "'Credential' parameter."),
            (signature.is_none(), "'Signature' parameter."),
            (signed_headers.is_none(), "'SignedHeaders' parameter."),
            (
                date_source.is_none(),
                "existence of either a 'X-Amz-Date' or a 'Date' header.",
            ),
        ] {
            if absent {
                missing.push(format!("Authorization header requires {name}"));
            }
        }
        return Err(incomplete(format!(
            "{} Authorization={auth}",
            missing.join(" ")
        )));
    };
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }

    let scope: Vec<&str> = credential.split('/').collect();
    let &[access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
             got '{credential}'"
        )));
    };

    let (request_time, amz_date) = request_time(date_header, raw_date).ok_or_else(|| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            lossy(raw_date)
        ))
    })?;

    let mut scope_errors = Vec::new();
    if terminator != TERMINATOR {
        scope_errors.push(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        ));
    }
    let day = amz_date.get(..8).unwrap_or_default();
    if date != day {
        scope_errors.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{date}' != '{day}', from '{amz_date}'."
        ));
    }
    if !scope_errors.is_empty() {
        return Err(Error::InvalidSignature(scope_errors.join(" ")));
    }

    let signed_headers: Vec<&str> = signed_headers.split(';').collect();
    let is_signed = |name: &str| signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name));
    if !is_signed("host") {
        return Err(Error::InvalidSignature(format!(
            "'Host' or ':authority' {NOT_SIGNED}"
        )));
    }
    if !is_signed(date_header) {
        let shown = if date_header == "date" {
            "Date"
        } else {
            "X-Amz-Date"
        };
        return Err(Error::InvalidSignature(format!("'{shown}' {NOT_SIGNED}")));
    }
    let security_token = match req.first("x-amz-security-token") {
        None => None,
        Some(_) if !is_signed("x-amz-security-token") => {
            return Err(Error::InvalidSignature(format!(
                "'X-Amz-Security-Token' {NOT_SIGNED}"
            )));
        }
        Some(raw) => Some(
            std::str::from_utf8(raw)
                .map_err(|_| incomplete("X-Amz-Security-Token is not valid UTF-8.".to_owned()))?
                .trim_matches([' ', '\t']),
        ),
    };

    // Every `x-amz-*` header the request carries must be signed, as AWS requires; above all
    // `X-Amz-Target`, which names the operation: otherwise a captured signature could be resent
    // with another operation in it.
    if let Some((name, _)) = req
        .headers
        .iter()
        .find(|(name, _)| is_amz_header(name) && !is_signed(name))
    {
        return Err(Error::InvalidSignature(format!("'{name}' {NOT_SIGNED}")));
    }

    Ok(Parsed {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        amz_date,
        request_time,
        security_token,
        signature: decode_signature(signature),
    })
}

/// Whether `name` is an `x-amz-*` header (any case).
fn is_amz_header(name: &str) -> bool {
    name.get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-amz-"))
}

fn incomplete(message: String) -> Error {
    Error::Incomplete(message)
}

fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The request time from `X-Amz-Date` (basic format only) or `Date` (basic or HTTP-date format).
fn request_time<'a>(header: &str, raw: &'a [u8]) -> Option<(i64, Cow<'a, str>)> {
    let text = std::str::from_utf8(raw).ok()?.trim_matches([' ', '\t']);
    if let Some(t) = parse_amz_date(text) {
        return Some((t, Cow::Borrowed(text)));
    }
    if header == "date" {
        let t = parse_http_date(text)?;
        return Some((t, Cow::Owned(format_amz_date(t))));
    }
    None
}

/// 64 lowercase hex digits into bytes. AWS compares the hex text, so uppercase never matches.
fn decode_signature(hex: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let [h, l] = pair else { return None };
        *o = (digit(*h)? << 4) | digit(*l)?;
    }
    Some(out)
}
