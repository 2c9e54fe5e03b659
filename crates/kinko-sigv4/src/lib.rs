//! AWS Signature Version 4, header form: parse and verify on the server, sign on the client.
//!
//! Every KMS request is authenticated with SigV4, and unmodified AWS SDKs must get the same answers and
//! error messages they would get from AWS. This crate is the only place that knows the algorithm.
//! It is pure: no I/O, no clock, no async. The caller passes in the time and the key.
//!
//! Server flow:
//! 1. [`parse`] reads the `Authorization` and date headers. It needs no key and rejects malformed input early.
//! 2. The server checks `parsed.service`, looks up `parsed.access_key_id` and derives (or caches) a
//!    [`SigningKey`] for `parsed.date`/`parsed.region`/`parsed.service`.
//! 3. [`verify`] checks clock skew and the payload hash, rebuilds the canonical request from exactly the
//!    client's `SignedHeaders`, and compares signatures in constant time.
//!
//! Client flow (load generator, tests): [`sign`] or, with a cached key, [`sign_with_key`].
//!
//! [`sign`] and [`verify`] build the canonical request with the same code, so they cannot drift apart.
//! Both are checked against AWS's published test suite in `tests/vectors`.

mod canonical;
mod key;
mod parse;
mod sign;
mod time;
mod verify;

use std::fmt;

pub use key::SigningKey;
pub use parse::{Parsed, Request, parse};
pub use sign::{SignParams, sign, sign_with_key};
pub use time::format_amz_date;
pub use verify::{canonical_request, string_to_sign, verify};

/// The only algorithm SigV4 header authentication defines.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The fixed last element of every credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// How far the request time may be from the server's clock, either way. This is AWS's value for KMS.
pub const MAX_SKEW_SECS: i64 = 300;

/// AWS's message for a signature that doesn't match, word for word.
pub(crate) const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
     Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Why a request failed authentication. Each variant is one AWS error code; the string is AWS's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No `Authorization` header at all: AWS `MissingAuthenticationTokenException`,
    /// message "Missing Authentication Token".
    Missing,
    /// The `Authorization` header or the date header is malformed or incomplete:
    /// AWS `IncompleteSignatureException`.
    Incomplete(String),
    /// The signature doesn't match, the clock is skewed, the scope is wrong, or a header that must be
    /// signed isn't: AWS `InvalidSignatureException`.
    InvalidSignature(String),
}

impl Error {
    /// The message to send in the error body's `message` field.
    pub fn message(&self) -> &str {
        match self {
            Error::Missing => "Missing Authentication Token",
            Error::Incomplete(m) | Error::InvalidSignature(m) => m,
        }
    }

    pub(crate) fn mismatch() -> Error {
        Error::InvalidSignature(MISMATCH.to_owned())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
