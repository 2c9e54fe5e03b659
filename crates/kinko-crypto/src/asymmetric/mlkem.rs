//! ML-KEM keys (FIPS 203), stored as the 64-byte seed d ‖ z in RFC 9935 seed-form PKCS#8 (what
//! `GenerateDataKeyPair` returns for ML-KEM, the same 86 bytes for every parameter set).
//!
//! aws-lc-rs cannot load a seed, so the FFI module expands it with aws-lc's own
//! `ML-KEM.KeyGen_internal`; encapsulation and decapsulation (with implicit rejection) then run
//! in aws-lc-rs on the expanded keys.

use aws_lc_rs::kem::{
    AlgorithmId, Ciphertext, DecapsulationKey, EncapsulationKey, ML_KEM_512, ML_KEM_768,
    ML_KEM_1024,
};

use super::der;
use super::ffi;
use super::spec::AsymmetricSpec;
use crate::random::fill_random;
use crate::{CryptoError, SecretBytes};

/// Sizes of one parameter set, FIPS 203 Table 3.
pub(super) struct Params {
    pub(super) level: usize,
    pub(super) oid: &'static [u8],
    algorithm: &'static aws_lc_rs::kem::Algorithm<AlgorithmId>,
    pub(super) ek_len: usize,
    pub(super) dk_len: usize,
    ciphertext_len: usize,
}

pub(super) fn params(spec: AsymmetricSpec) -> Params {
    match spec {
        AsymmetricSpec::MlKem512 => Params {
            level: 512,
            oid: der::OID_ML_KEM_512,
            algorithm: &ML_KEM_512,
            ek_len: 800,
            dk_len: 1632,
            ciphertext_len: 768,
        },
        AsymmetricSpec::MlKem1024 => Params {
            level: 1024,
            oid: der::OID_ML_KEM_1024,
            algorithm: &ML_KEM_1024,
            ek_len: 1568,
            dk_len: 3168,
            ciphertext_len: 1568,
        },
        _ => Params {
            level: 768,
            oid: der::OID_ML_KEM_768,
            algorithm: &ML_KEM_768,
            ek_len: 1184,
            dk_len: 2400,
            ciphertext_len: 1088,
        },
    }
}

pub(super) fn generate(spec: AsymmetricSpec) -> Result<SecretBytes, CryptoError> {
    let mut seed = SecretBytes::new(vec![0u8; ffi::ML_KEM_SEED_LEN]);
    fill_random(seed.expose_mut())?;
    Ok(SecretBytes::new(der::seed_pkcs8(
        params(spec).oid,
        seed.expose(),
    )))
}

/// A parsed ML-KEM key.
pub(super) struct MlKemKey {
    oid: &'static [u8],
    ciphertext_len: usize,
    ek: Vec<u8>,
    decapsulation: DecapsulationKey<AlgorithmId>,
    encapsulation: EncapsulationKey<AlgorithmId>,
}

impl MlKemKey {
    pub(super) fn from_pkcs8(spec: AsymmetricSpec, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        const REJECTED: CryptoError = CryptoError::InvalidInput("not an ML-KEM key of this spec");
        let p = params(spec);
        let seed = der::parse_seed_pkcs8(pkcs8, p.oid, ffi::ML_KEM_SEED_LEN).ok_or(REJECTED)?;
        let nid = ffi::ml_kem_nid(p.level).ok_or(REJECTED)?;
        let (ek, dk) = ffi::ml_kem_keypair_from_seed(nid, seed, p.ek_len, p.dk_len)?;
        let decapsulation =
            DecapsulationKey::new(p.algorithm, dk.expose()).map_err(|_| REJECTED)?;
        let encapsulation = EncapsulationKey::new(p.algorithm, &ek).map_err(|_| REJECTED)?;
        Ok(MlKemKey {
            oid: p.oid,
            ciphertext_len: p.ciphertext_len,
            ek,
            decapsulation,
            encapsulation,
        })
    }

    /// SubjectPublicKeyInfo per RFC 9935: the OID with absent parameters and the raw encapsulation
    /// key as the BIT STRING.
    pub(super) fn public_key_der(&self) -> Vec<u8> {
        der::spki_without_parameters(self.oid, &self.ek)
    }

    pub(super) fn encapsulate(&self) -> Result<(Vec<u8>, SecretBytes), CryptoError> {
        let (ciphertext, shared) = self.encapsulation.encapsulate()?;
        Ok((
            ciphertext.as_ref().to_vec(),
            SecretBytes::from_slice(shared.as_ref()),
        ))
    }

    pub(super) fn decapsulate(&self, ciphertext: &[u8]) -> Result<SecretBytes, CryptoError> {
        if ciphertext.len() != self.ciphertext_len {
            return Err(CryptoError::InvalidInput(
                "ML-KEM ciphertext has the wrong length",
            ));
        }
        // With the length right, ML-KEM.Decaps cannot fail: a bad ciphertext gives the implicit
        // rejection secret. An error here is an internal failure, not a client's.
        let shared = self
            .decapsulation
            .decapsulate(Ciphertext::from(ciphertext))?;
        Ok(SecretBytes::from_slice(shared.as_ref()))
    }
}
