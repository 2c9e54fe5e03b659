//! Elliptic-curve keys (P-256, P-384, P-521, secp256k1): ECDSA with DER signatures over a message
//! or a caller's digest, and ECDH with a peer's SubjectPublicKeyInfo on the NIST curves.

use aws_lc_rs::agreement;
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair as _,
    UnparsedPublicKey,
};

use super::der;
use super::spec::{AsymmetricSpec, MessageKind};
use crate::random::system_random;
use crate::{CryptoError, SecretBytes};

/// Signing, verification and digest algorithms of a curve spec (the hash is fixed per curve).
pub(super) fn algorithms(
    spec: AsymmetricSpec,
) -> (
    &'static EcdsaSigningAlgorithm,
    &'static EcdsaVerificationAlgorithm,
    &'static digest::Algorithm,
) {
    match spec {
        AsymmetricSpec::EccNistP384 => (
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            &signature::ECDSA_P384_SHA384_ASN1,
            &digest::SHA384,
        ),
        AsymmetricSpec::EccNistP521 => (
            &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            &signature::ECDSA_P521_SHA512_ASN1,
            &digest::SHA512,
        ),
        AsymmetricSpec::EccSecgP256k1 => (
            &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
            &signature::ECDSA_P256K1_SHA256_ASN1,
            &digest::SHA256,
        ),
        _ => (
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &signature::ECDSA_P256_SHA256_ASN1,
            &digest::SHA256,
        ),
    }
}

/// The named-curve OID of a curve spec.
pub(super) fn curve_oid(spec: AsymmetricSpec) -> &'static [u8] {
    match spec {
        AsymmetricSpec::EccNistP384 => der::OID_P384,
        AsymmetricSpec::EccNistP521 => der::OID_P521,
        AsymmetricSpec::EccSecgP256k1 => der::OID_SECP256K1,
        _ => der::OID_P256,
    }
}

/// The ECDH algorithm of a curve spec; secp256k1 has none in KMS.
fn ecdh(spec: AsymmetricSpec) -> Option<&'static agreement::Algorithm> {
    match spec {
        AsymmetricSpec::EccNistP256 => Some(&agreement::ECDH_P256),
        AsymmetricSpec::EccNistP384 => Some(&agreement::ECDH_P384),
        AsymmetricSpec::EccNistP521 => Some(&agreement::ECDH_P521),
        _ => None,
    }
}

pub(super) fn generate(spec: AsymmetricSpec) -> Result<SecretBytes, CryptoError> {
    let (signing, _, _) = algorithms(spec);
    let doc = EcdsaKeyPair::generate_pkcs8(signing, &system_random())?;
    Ok(SecretBytes::from_slice(doc.as_ref()))
}

/// A parsed EC private key: the ECDSA key pair and, on the NIST curves, the same key for ECDH.
pub(super) struct EcKey {
    spec: AsymmetricSpec,
    pair: EcdsaKeyPair,
    agreement: Option<agreement::PrivateKey>,
}

impl EcKey {
    pub(super) fn from_pkcs8(spec: AsymmetricSpec, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        const REJECTED: CryptoError = CryptoError::InvalidInput("not an EC key of this spec");
        let (signing, _, _) = algorithms(spec);
        // aws-lc-rs checks that the PKCS#8 names the signing algorithm's curve.
        let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8).map_err(|_| REJECTED)?;
        let agreement = match ecdh(spec) {
            Some(alg) => Some(
                agreement::PrivateKey::from_private_key_der(alg, pkcs8).map_err(|_| REJECTED)?,
            ),
            None => None,
        };
        Ok(EcKey {
            spec,
            pair,
            agreement,
        })
    }

    pub(super) fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.pair.public_key().as_der()?.as_ref().to_vec())
    }

    pub(super) fn sign(&self, kind: MessageKind, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature = match kind {
            MessageKind::Raw => self.pair.sign(&system_random(), message)?,
            MessageKind::Digest => {
                let (_, _, hash) = algorithms(self.spec);
                let digest = Digest::import_less_safe(message, hash)
                    .map_err(|_| CryptoError::InvalidInput("digest length does not fit"))?;
                self.pair.sign_digest(&digest)?
            }
            MessageKind::ExternalMu => {
                return Err(CryptoError::InvalidInput(
                    "message type does not fit the signing algorithm",
                ));
            }
        };
        Ok(signature.as_ref().to_vec())
    }

    pub(super) fn derive_shared_secret(
        &self,
        peer_spki: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        const BAD_PEER: CryptoError =
            CryptoError::InvalidInput("peer public key is not an SPKI on this key's curve");
        let (Some(private), Some(alg)) = (&self.agreement, ecdh(self.spec)) else {
            return Err(CryptoError::InvalidInput("ECDH needs a NIST curve key"));
        };
        // aws-lc-rs would also take a bare point; KMS takes only SubjectPublicKeyInfo.
        let spki = der::parse_spki(peer_spki).ok_or(BAD_PEER)?;
        if spki.algorithm != der::OID_EC_PUBLIC_KEY || spki.curve != Some(curve_oid(self.spec)) {
            return Err(BAD_PEER);
        }
        let peer = agreement::UnparsedPublicKey::new(alg, peer_spki);
        agreement::agree(private, peer, BAD_PEER, |z| Ok(SecretBytes::from_slice(z)))
    }
}

/// Verifies a DER ECDSA signature with a public key (SPKI DER, checked by the caller).
pub(super) fn verify(
    spec: AsymmetricSpec,
    public_key: &[u8],
    kind: MessageKind,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let (_, verification, hash) = algorithms(spec);
    let key = UnparsedPublicKey::new(verification, public_key);
    match kind {
        MessageKind::Raw => key.verify(message, signature).is_ok(),
        MessageKind::Digest => match Digest::import_less_safe(message, hash) {
            Ok(digest) => key.verify_digest(&digest, signature).is_ok(),
            Err(_) => false,
        },
        MessageKind::ExternalMu => false,
    }
}
