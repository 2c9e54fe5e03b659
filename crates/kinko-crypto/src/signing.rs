//! Ed25519 for the audit trail's digests: the audit signing key signs, anybody holding the
//! published public key verifies.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::{CryptoError, SecretBytes};

/// An Ed25519 signing key. `Debug` shows only the public key.
pub struct SigningKeyPair {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let public = crate::hex::encode(&self.public_key());
        write!(
            f,
            "SigningKeyPair(ed25519, public {public}, private [REDACTED])"
        )
    }
}

impl SigningKeyPair {
    /// A new random key and its PKCS#8 encoding (to be wrapped under the root key).
    pub fn generate() -> Result<(SigningKeyPair, SecretBytes), CryptoError> {
        let pair = Ed25519KeyPair::generate().map_err(|_| CryptoError::Unspecified)?;
        let der = pair.to_pkcs8().map_err(|_| CryptoError::Unspecified)?;
        let pkcs8 = SecretBytes::from_slice(der.as_ref());
        Ok((SigningKeyPair { pair }, pkcs8))
    }

    /// Loads a key from its PKCS#8 encoding.
    pub fn from_pkcs8(pkcs8: &SecretBytes) -> Result<SigningKeyPair, CryptoError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.expose())
            .map_err(|_| CryptoError::InvalidInput("Ed25519 PKCS#8"))?;
        Ok(SigningKeyPair { pair })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The public key as SubjectPublicKeyInfo DER (for a PEM file).
    pub fn public_key_spki(&self) -> Result<Vec<u8>, CryptoError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::Unspecified)?;
        Ok(der.as_ref().to_vec())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// Verifies an Ed25519 signature by a 32-byte public key.
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).expect("hex literal")
    }

    /// RFC 8032 §7.1 TEST 2 (one-byte message 0x72).
    #[test]
    fn rfc8032_test_2_verifies() {
        let public = hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
        let sig = hex(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        );
        assert!(verify_ed25519(&public, &[0x72], &sig));
        assert!(!verify_ed25519(&public, &[0x73], &sig));
    }

    #[test]
    fn sign_round_trip_and_redacted_debug() {
        let Ok((key, pkcs8)) = SigningKeyPair::generate() else {
            panic!("keygen")
        };
        let sig = key.sign(b"digest");
        assert!(verify_ed25519(&key.public_key(), b"digest", &sig));
        let again = SigningKeyPair::from_pkcs8(&pkcs8)
            .map(|k| k.public_key())
            .unwrap_or_default();
        assert_eq!(again, key.public_key());
        let shown = format!("{key:?}");
        assert!(shown.contains("REDACTED"));
        // PKCS#8 (RFC 8410) holds the 32-byte seed at offset 16; the public key may follow it.
        let seed = crate::hex::encode(&pkcs8.expose()[16..48]);
        assert!(!shown.contains(&seed[..16]), "{shown}");
    }
}
