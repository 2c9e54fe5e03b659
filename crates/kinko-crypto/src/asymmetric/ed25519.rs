//! Ed25519 keys (`ECC_NIST_EDWARDS25519`): pure Ed25519 over a message through aws-lc-rs, and
//! Ed25519ph (RFC 8032, empty context) through the FFI module. Both use the same 32-byte seed,
//! stored as RFC 8410 PKCS#8.
//!
//! `ED25519_PH_SHA_512` takes a 64-byte DIGEST message, and — as AWS KMS documents — still
//! performs the SHA-512 prehash of FIPS 186-5 §7.8.1 step 1 on it: the caller's digest is the
//! HashEdDSA *message*, hashed once more here. An outside verifier checks the signature as
//! Ed25519ph of those 64 bytes.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use super::der;
use super::ffi::{self, Ed25519phKey};
use super::spec::SigningAlgorithm;
use crate::{CryptoError, SecretBytes};

pub(super) fn generate() -> Result<SecretBytes, CryptoError> {
    let pair = Ed25519KeyPair::generate()?;
    let der: Pkcs8V1Der<'static> = pair.as_der()?;
    Ok(SecretBytes::from_slice(der.as_ref()))
}

/// A parsed Ed25519 key: the aws-lc-rs key pair for pure Ed25519 and the expanded key for
/// Ed25519ph.
pub(super) struct EdKey {
    pair: Ed25519KeyPair,
    prehash: Ed25519phKey,
}

impl EdKey {
    /// Accepts PKCS#8 v1 and v2 (a v2 public key must match the private key).
    pub(super) fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        const REJECTED: CryptoError = CryptoError::InvalidInput("not an Ed25519 key");
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|_| REJECTED)?;
        // The seed straight from the document: aws-lc-rs's `seed()` copy is not wiped on drop.
        let seed = der::ed25519_pkcs8_seed(pkcs8).ok_or(REJECTED)?;
        let prehash = Ed25519phKey::from_seed(seed)?;
        Ok(EdKey { pair, prehash })
    }

    pub(super) fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub(super) fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.pair.public_key().as_der()?.as_ref().to_vec())
    }

    pub(super) fn sign(
        &self,
        alg: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match alg {
            SigningAlgorithm::Ed25519Sha512 => Ok(self.pair.try_sign(message)?.as_ref().to_vec()),
            SigningAlgorithm::Ed25519PhSha512 => self.prehash.sign_digest(&prehash(message)),
            _ => Err(CryptoError::InvalidInput(
                "signing algorithm does not fit the key spec",
            )),
        }
    }
}

/// PH(M) of Ed25519ph: SHA-512 of the message.
fn prehash(message: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, message)
        .as_ref()
        .to_vec()
}

/// Verifies a pure Ed25519 signature over `message` or an Ed25519ph signature with `message` as
/// the HashEdDSA message, with a raw 32-byte public key.
pub(super) fn verify(
    public_key: &[u8],
    alg: SigningAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    if public_key.len() != ffi::ED25519_PUBLIC_LEN {
        return false;
    }
    match alg {
        SigningAlgorithm::Ed25519Sha512 => UnparsedPublicKey::new(&ED25519, public_key)
            .verify(message, signature)
            .is_ok(),
        SigningAlgorithm::Ed25519PhSha512 => {
            ffi::ed25519ph_verify_digest(public_key, &prehash(message), signature)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).expect("hex")
    }

    /// RFC 8032 §7.3, TEST abc (empty context), at the digest level: the signature over
    /// PH("abc") = SHA-512("abc").
    #[test]
    fn rfc8032_section_7_3_vector() {
        let seed = unhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
        let public = unhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
        let expected = unhex(
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
             31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
        );
        let key = Ed25519phKey::from_seed(&seed).expect("seed");
        let signature = key.sign_digest(&prehash(b"abc")).expect("sign");
        assert_eq!(signature, expected);
        assert!(ffi::ed25519ph_verify_digest(
            &public,
            &prehash(b"abc"),
            &expected
        ));
        assert!(!ffi::ed25519ph_verify_digest(
            &public,
            &prehash(b"abd"),
            &expected
        ));
        // Through the KMS-facing path, the 64 bytes are the message and are hashed once more.
        assert!(verify(
            &public,
            SigningAlgorithm::Ed25519PhSha512,
            &prehash(b"abc"),
            &{
                let mut der = unhex("302e020100300506032b657004220420");
                der.extend_from_slice(&seed);
                EdKey::from_pkcs8(&der)
                    .expect("key")
                    .sign(SigningAlgorithm::Ed25519PhSha512, &prehash(b"abc"))
                    .expect("sign")
            }
        ));
    }
}
