//! HMAC keys (`HMAC_224` … `HMAC_512` key specs): generation, `GenerateMac` and a constant-time
//! `VerifyMac`, through aws-lc-rs.

use aws_lc_rs::hmac;

use crate::random::random_secret;
use crate::{CryptoError, SecretBytes};

/// HMAC algorithms. The AWS `MacAlgorithmSpec` name of each is in its doc comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// `HMAC_SHA_224` (key spec `HMAC_224`).
    HmacSha224,
    /// `HMAC_SHA_256` (key spec `HMAC_256`).
    HmacSha256,
    /// `HMAC_SHA_384` (key spec `HMAC_384`).
    HmacSha384,
    /// `HMAC_SHA_512` (key spec `HMAC_512`).
    HmacSha512,
}

impl MacAlgorithm {
    /// Length of the MAC: 28, 32, 48 or 64 bytes.
    pub fn output_len(self) -> usize {
        match self {
            MacAlgorithm::HmacSha224 => 28,
            MacAlgorithm::HmacSha256 => 32,
            MacAlgorithm::HmacSha384 => 48,
            MacAlgorithm::HmacSha512 => 64,
        }
    }

    /// Length of a generated key: the output length, as KMS generates them.
    pub fn key_len(self) -> usize {
        self.output_len()
    }

    fn aws_lc(self) -> hmac::Algorithm {
        match self {
            MacAlgorithm::HmacSha224 => hmac::HMAC_SHA224,
            MacAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
            MacAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
            MacAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }
}

/// New random key material for `alg`, [`MacAlgorithm::key_len`] bytes.
pub fn generate_mac_key(alg: MacAlgorithm) -> Result<SecretBytes, CryptoError> {
    random_secret(alg.key_len())
}

/// A prepared HMAC key (the padded key blocks are computed once). `Debug` shows the algorithm
/// only; aws-lc wipes the key when it drops.
pub struct MacKey {
    alg: MacAlgorithm,
    key: hmac::Key,
}

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MacKey({:?}, [REDACTED])", self.alg)
    }
}

impl MacKey {
    /// Prepares `key` (any length; HMAC hashes keys longer than the block size).
    pub fn new(alg: MacAlgorithm, key: &[u8]) -> MacKey {
        MacKey {
            alg,
            key: hmac::Key::new(alg.aws_lc(), key),
        }
    }

    /// The algorithm this key was prepared for.
    pub fn algorithm(&self) -> MacAlgorithm {
        self.alg
    }

    /// The MAC of `message`, [`MacAlgorithm::output_len`] bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, message).as_ref().to_vec()
    }

    /// Whether `mac` is the MAC of `message`, compared in constant time. A truncated MAC is
    /// refused.
    pub fn verify(&self, message: &[u8], mac: &[u8]) -> bool {
        hmac::verify(&self.key, message, mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_key_lengths_match_outputs() {
        let key = MacKey::new(MacAlgorithm::HmacSha256, b"hunter2-hunter2");
        let shown = format!("{key:?}");
        assert!(
            shown.contains("REDACTED") && !shown.contains("hunter2"),
            "{shown}"
        );
        for alg in [
            MacAlgorithm::HmacSha224,
            MacAlgorithm::HmacSha256,
            MacAlgorithm::HmacSha384,
            MacAlgorithm::HmacSha512,
        ] {
            let material = generate_mac_key(alg).map(|k| k.len()).unwrap_or_default();
            assert_eq!(material, alg.output_len());
            let key = MacKey::new(alg, &[1; 16]);
            let mac = key.sign(b"m");
            assert_eq!(mac.len(), alg.output_len());
            assert!(key.verify(b"m", &mac));
            assert!(!key.verify(b"m", &mac[..mac.len() - 1]));
        }
    }
}
