//! The client side: sign a request the way the AWS SDKs do, for the load generator and for tests.
//!
//! It signs every header the caller gives plus `x-amz-date` (and the session token), and uses the same
//! canonical-request code as the verifier. The test suite checks its output against AWS's published
//! `Authorization` values.

use std::fmt;

use crate::canonical::{self, hex, sha256_hex};
use crate::time::format_amz_date;
use crate::verify::sts;
use crate::{ALGORITHM, SigningKey, TERMINATOR};

/// Credentials, scope and time for [`sign`].
#[derive(Clone, Copy)]
pub struct SignParams<'a> {
    /// The access key ID that goes into the credential scope.
    pub access_key_id: &'a str,
    /// The secret access key. Not printed by `Debug`.
    pub secret_access_key: &'a str,
    /// A session token for temporary credentials. Not printed by `Debug`.
    pub session_token: Option<&'a str>,
    /// The region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The signing name of the service, e.g. `kms`.
    pub service: &'a str,
    /// The signing time as Unix seconds.
    pub now_epoch_secs: i64,
}

impl fmt::Debug for SignParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignParams")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"..")
            .field("session_token", &self.session_token.map(|_| ".."))
            .field("region", &self.region)
            .field("service", &self.service)
            .field("now_epoch_secs", &self.now_epoch_secs)
            .finish()
    }
}

/// Signs a request. Returns the headers to add: `x-amz-date`, `authorization`, and `x-amz-security-token`
/// when a session token is given.
///
/// `headers` are the headers that will be sent and signed. They must include `host`, exactly as it will be
/// sent (with `:port` for non-default ports). Any `authorization`, `x-amz-date` or `x-amz-security-token`
/// among them is ignored, because the returned values replace them.
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    params: &SignParams<'_>,
) -> Vec<(String, String)> {
    let amz_date = format_amz_date(params.now_epoch_secs);
    let date = amz_date.get(..8).unwrap_or_default();
    let key = SigningKey::derive(
        params.secret_access_key.as_bytes(),
        date,
        params.region,
        params.service,
    );
    sign_with_key(
        method,
        path,
        query,
        headers,
        body,
        params.access_key_id,
        &key,
        params.region,
        params.service,
        &amz_date,
        params.session_token,
    )
}

/// [`sign`] with a key the caller has cached. `amz_date` is `YYYYMMDDTHHMMSSZ` on the key's date.
// The argument list is the agreed public API; a params struct would only move the same fields around.
#[allow(clippy::too_many_arguments)]
pub fn sign_with_key(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    access_key_id: &str,
    key: &SigningKey,
    region: &str,
    service: &str,
    amz_date: &str,
    session_token: Option<&str>,
) -> Vec<(String, String)> {
    let replaced = |name: &str| {
        ["authorization", "x-amz-date", "x-amz-security-token"]
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r))
    };
    let mut all: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(n, _)| !replaced(n))
        .map(|(n, v)| (*n, v.as_bytes()))
        .collect();
    all.push(("x-amz-date", amz_date.as_bytes()));
    if let Some(token) = session_token {
        all.push(("x-amz-security-token", token.as_bytes()));
    }

    let mut names: Vec<String> = all.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let signed: Vec<&str> = names.iter().map(String::as_str).collect();

    // A caller that sends X-Amz-Content-SHA256 signs with that value, as the SDKs do.
    let payload = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map_or_else(
            || sha256_hex(body),
            |(_, v)| v.trim_matches([' ', '\t']).to_owned(),
        );
    let canonical_request = canonical::build(method, path, query, &all, &signed, &payload);
    let date = amz_date.get(..8).unwrap_or_default();
    let signature =
        hex(&key.sign(sts(amz_date, date, region, service, &canonical_request).as_bytes()));

    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}/{date}/{region}/{service}/{TERMINATOR}, \
         SignedHeaders={}, Signature={signature}",
        signed.join(";")
    );
    let mut out = vec![
        ("x-amz-date".to_owned(), amz_date.to_owned()),
        ("authorization".to_owned(), authorization),
    ];
    if let Some(token) = session_token {
        out.push(("x-amz-security-token".to_owned(), token.to_owned()));
    }
    out
}
