//! The derived SigV4 signing key, kept secret and wiped on drop.
//!
//! The key is `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
//! It is valid for one day, one region and one service, so a server or load generator can derive it once and
//! cache it. The bytes never leave this type: `Debug` prints `SigningKey(..)`, and the only operations are
//! signing and constant-time verification.

use std::fmt;

use aws_lc_rs::hmac;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::TERMINATOR;

/// A derived SigV4 signing key (`kSigning`), zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey {
    bytes: [u8; 32],
}

impl SigningKey {
    /// Derives the key for one `date` (`YYYYMMDD`), `region` and `service` from a secret access key.
    pub fn derive(secret_access_key: &[u8], date: &str, region: &str, service: &str) -> SigningKey {
        let mut k_secret = Zeroizing::new(Vec::with_capacity(4 + secret_access_key.len()));
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(secret_access_key);
        let k_date = Zeroizing::new(mac(&k_secret, date.as_bytes()));
        let k_region = Zeroizing::new(mac(&*k_date, region.as_bytes()));
        let k_service = Zeroizing::new(mac(&*k_region, service.as_bytes()));
        SigningKey {
            bytes: mac(&*k_service, TERMINATOR.as_bytes()),
        }
    }

    /// HMAC-SHA256 of `data` under this key.
    pub(crate) fn sign(&self, data: &[u8]) -> [u8; 32] {
        mac(&self.bytes, data)
    }

    /// Whether `tag` is the HMAC of `data`, compared in constant time.
    pub(crate) fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, &self.bytes), data, tag).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    // HMAC-SHA256 tags are always 32 bytes; zip avoids a panicking length check.
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn hex(key: &SigningKey) -> String {
        key.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// AWS General Reference, "Examples of how to derive a signing key for Signature Version 4"
    /// (the current page, 20150830), whose signature `5d672d79...` the `iam_example` test also checks.
    #[test]
    fn derives_the_published_iam_key_2015() {
        let key = SigningKey::derive(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    /// The older revision of the same page used 20120215.
    #[test]
    fn derives_the_published_iam_key_2012() {
        let key = SigningKey::derive(SECRET, "20120215", "us-east-1", "iam");
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn debug_does_not_leak_and_verify_is_exact() {
        let key = SigningKey::derive(SECRET, "20150830", "us-east-1", "kms");
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
        let tag = key.sign(b"data");
        assert!(key.verify(b"data", &tag));
        assert!(!key.verify(b"datA", &tag));
        assert!(!key.verify(b"data", &tag[..31]));
        assert!(!key.clone().verify(b"data", &[0u8; 32]));
    }
}
