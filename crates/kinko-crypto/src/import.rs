//! Key material import (BYOK: `GetParametersForImport`, `ImportKeyMaterial`): RSA wrapping key
//! pairs, unwrapping `EncryptedKeyMaterial`, and checking imported material against the key spec
//! before it is stored (see `kms-reference.md` §2 and §3).
//!
//! `EncryptedKeyMaterial` is, per AWS `WrappingAlgorithm`:
//! - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: RSA-OAEP (MGF1 with the same hash, empty label) of
//!   the material itself, so at most k − 2·hLen − 2 bytes (190 with SHA-256 and RSA-2048);
//! - `RSA_AES_KEY_WRAP_SHA_1` / `_256`: RSA-OAEP of an ephemeral AES-256 key (the first k bytes,
//!   k = modulus size), then AES key wrap with padding (RFC 5649, KWP) of the material under that
//!   key. This is what the AWS guide's OpenSSL recipe makes (`openssl enc -id-aes256-wrap-pad`,
//!   `openssl pkeyutl -encrypt` with OAEP, wrapped AES key first).
//!
//! Every unwrapping failure is the same [`CryptoError::Decrypt`]. The ephemeral AES key and the
//! unwrapped material live only in [`SecretBytes`].

use std::ops::RangeInclusive;

use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};

use crate::asymmetric::normalize_pkcs8;
use crate::random::random_secret;
use crate::{
    AsymmetricSpec, CryptoError, MacAlgorithm, PrivateKey, SecretBytes, constant_time_eq,
    generate_data_key_pair,
};

/// Length of the ephemeral AES key of the `RSA_AES_KEY_WRAP` algorithms and of a KWP KEK.
pub const AES_KWP_KEK_LEN: usize = 32;
/// Length of `SYMMETRIC_DEFAULT` key material.
pub const SYMMETRIC_MATERIAL_LEN: usize = 32;

/// AWS WrappingKeySpec (SM2 is China-only: not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrappingKeySpec {
    /// `RSA_2048`.
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
}

impl WrappingKeySpec {
    /// Every wrapping key spec, for tables and tests.
    pub const ALL: [WrappingKeySpec; 3] = [
        WrappingKeySpec::Rsa2048,
        WrappingKeySpec::Rsa3072,
        WrappingKeySpec::Rsa4096,
    ];

    /// The modulus size in bytes (k): 256, 384 or 512.
    pub fn modulus_len(self) -> usize {
        match self {
            WrappingKeySpec::Rsa2048 => 256,
            WrappingKeySpec::Rsa3072 => 384,
            WrappingKeySpec::Rsa4096 => 512,
        }
    }

    fn asymmetric_spec(self) -> AsymmetricSpec {
        match self {
            WrappingKeySpec::Rsa2048 => AsymmetricSpec::Rsa2048,
            WrappingKeySpec::Rsa3072 => AsymmetricSpec::Rsa3072,
            WrappingKeySpec::Rsa4096 => AsymmetricSpec::Rsa4096,
        }
    }
}

/// AWS AlgorithmSpec for ImportKeyMaterial wrapping (RSAES_PKCS1_V1_5 is no longer supported by
/// AWS; callers refuse it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrappingAlgorithm {
    /// `RSAES_OAEP_SHA_1`.
    RsaesOaepSha1,
    /// `RSAES_OAEP_SHA_256`.
    RsaesOaepSha256,
    /// `RSA_AES_KEY_WRAP_SHA_1`.
    RsaAesKeyWrapSha1,
    /// `RSA_AES_KEY_WRAP_SHA_256`.
    RsaAesKeyWrapSha256,
}

impl WrappingAlgorithm {
    /// Every wrapping algorithm, for tables and tests.
    pub const ALL: [WrappingAlgorithm; 4] = [
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ];

    /// True for the `RSA_AES_KEY_WRAP` algorithms (RSA-OAEP of an AES key, then KWP).
    pub fn uses_aes_key_wrap(self) -> bool {
        matches!(
            self,
            WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256
        )
    }

    /// The longest material this algorithm can carry with a wrapping key of `spec`: k − 2·hLen − 2
    /// for plain RSA-OAEP (RSA-2048: 214 with SHA-1, 190 with SHA-256), `None` (no practical
    /// limit) for the AES key wrap algorithms.
    pub fn max_material_len(self, spec: WrappingKeySpec) -> Option<usize> {
        match self {
            WrappingAlgorithm::RsaesOaepSha1 => Some(spec.modulus_len() - 2 * 20 - 2),
            WrappingAlgorithm::RsaesOaepSha256 => Some(spec.modulus_len() - 2 * 32 - 2),
            WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256 => None,
        }
    }

    fn oaep(self) -> &'static aws_lc_rs::rsa::OaepAlgorithm {
        match self {
            WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
                &OAEP_SHA1_MGF1SHA1
            }
            WrappingAlgorithm::RsaesOaepSha256 | WrappingAlgorithm::RsaAesKeyWrapSha256 => {
                &OAEP_SHA256_MGF1SHA256
            }
        }
    }
}

/// A new RSA wrapping key pair: (PKCS#8 DER private key, SPKI DER public key).
pub fn generate_wrapping_key(spec: WrappingKeySpec) -> Result<(SecretBytes, Vec<u8>), CryptoError> {
    generate_data_key_pair(spec.asymmetric_spec())
}

/// Unwraps EncryptedKeyMaterial with the wrapping private key (PKCS#8).
///
/// RSAES_OAEP_SHA_1/256: RSA-OAEP (MGF1 with the same hash, empty label) of the material itself.
/// RSA_AES_KEY_WRAP_SHA_1/256: the first k bytes (k = modulus size) are RSA-OAEP (SHA-1 or
/// SHA-256) of an ephemeral 256-bit AES key; the rest is AES key wrap with padding (RFC 5649) of
/// the material under that AES key.
///
/// Every failure of the encrypted material (wrong wrapping key, tampered bytes, wrong lengths) is
/// [`CryptoError::Decrypt`] with no detail; the AES key is zeroized. A `wrapping_pkcs8` that is
/// not an RSA PKCS#8 private key is the caller's own fault and is [`CryptoError::InvalidInput`].
pub fn unwrap_imported_material(
    wrapping_pkcs8: &[u8],
    algorithm: WrappingAlgorithm,
    encrypted: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let private = PrivateDecryptingKey::from_pkcs8(wrapping_pkcs8)
        .map_err(|_| CryptoError::InvalidInput("wrapping key is not an RSA PKCS#8 private key"))?;
    let key = OaepPrivateDecryptingKey::new(private)?;
    if !algorithm.uses_aes_key_wrap() {
        return oaep_decrypt(&key, algorithm, encrypted);
    }
    let (wrapped_key, wrapped_material) = encrypted
        .split_at_checked(key.key_size_bytes())
        .ok_or(CryptoError::Decrypt)?;
    let aes_key = oaep_decrypt(&key, algorithm, wrapped_key)?;
    if aes_key.len() != AES_KWP_KEK_LEN {
        return Err(CryptoError::Decrypt);
    }
    aes_kwp_unwrap(aes_key.expose(), wrapped_material).map_err(|_| CryptoError::Decrypt)
}

fn oaep_decrypt(
    key: &OaepPrivateDecryptingKey,
    algorithm: WrappingAlgorithm,
    ciphertext: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let mut out = SecretBytes::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(algorithm.oaep(), ciphertext, out.expose_mut(), None)
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// The client's half of [`unwrap_imported_material`]: EncryptedKeyMaterial for `material` under a
/// wrapping public key (SPKI DER), with a fresh ephemeral AES key for the AES key wrap
/// algorithms. For tests and tools; the server never wraps.
///
/// [`CryptoError::InvalidInput`] when the public key is not RSA, or when the material is empty or
/// longer than [`WrappingAlgorithm::max_material_len`] allows with plain RSA-OAEP.
pub fn wrap_key_material(
    wrapping_spki: &[u8],
    algorithm: WrappingAlgorithm,
    material: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let public = PublicEncryptingKey::from_der(wrapping_spki)
        .map_err(|_| CryptoError::InvalidInput("wrapping public key is not an RSA SPKI"))?;
    let key = OaepPublicEncryptingKey::new(public)?;
    if !algorithm.uses_aes_key_wrap() {
        return oaep_encrypt(&key, algorithm, material);
    }
    let aes_key = random_secret(AES_KWP_KEK_LEN)?;
    let mut out = oaep_encrypt(&key, algorithm, aes_key.expose())?;
    out.extend_from_slice(&aes_kwp_wrap(aes_key.expose(), material)?);
    Ok(out)
}

fn oaep_encrypt(
    key: &OaepPublicEncryptingKey,
    algorithm: WrappingAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if plaintext.is_empty() {
        return Err(CryptoError::InvalidInput("key material is empty"));
    }
    if plaintext.len() > key.max_plaintext_size(algorithm.oaep()) {
        return Err(CryptoError::InvalidInput(
            "key material is too long for RSA-OAEP with this wrapping key",
        ));
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(algorithm.oaep(), plaintext, &mut out, None)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// AES-256 key wrap with padding (RFC 5649, NIST SP 800-38F KWP) of `plaintext` under `kek`:
/// the KWP half of the `RSA_AES_KEY_WRAP` algorithms. [`CryptoError::InvalidInput`] for a KEK
/// that is not 32 bytes or an empty plaintext.
pub fn aes_kwp_wrap(kek: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if kek.len() != AES_KWP_KEK_LEN {
        return Err(CryptoError::InvalidInput(
            "AES key wrap needs a 256-bit key",
        ));
    }
    if plaintext.is_empty() || u32::try_from(plaintext.len()).is_err() {
        return Err(CryptoError::InvalidInput(
            "AES key wrap with padding takes 1 to 2^32 - 1 bytes",
        ));
    }
    let kek = AesKek::new(&AES_256, kek)?;
    // Padded to a multiple of 8, plus the 8-byte integrity block.
    let mut out = vec![0u8; plaintext.len().div_ceil(8) * 8 + 8];
    let len = kek.wrap_with_padding(plaintext, &mut out)?.len();
    out.truncate(len);
    Ok(out)
}

/// Unwraps AES-256 key wrap with padding (RFC 5649): the inverse of [`aes_kwp_wrap`], the path
/// [`unwrap_imported_material`] takes. Any bad `wrapped` (length, integrity check, padding) is
/// [`CryptoError::Decrypt`]; a KEK that is not 32 bytes is [`CryptoError::InvalidInput`].
pub fn aes_kwp_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<SecretBytes, CryptoError> {
    if kek.len() != AES_KWP_KEK_LEN {
        return Err(CryptoError::InvalidInput(
            "AES key wrap needs a 256-bit key",
        ));
    }
    // aws-lc-rs wipes its copy of the KEK when `kek` drops (consumed by the unwrap).
    let kek = AesKek::new(&AES_256, kek).map_err(|_| CryptoError::Decrypt)?;
    let mut out = SecretBytes::new(vec![0u8; wrapped.len()]);
    let len = kek
        .unwrap_with_padding(wrapped, out.expose_mut())
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// What imported material is for: the key spec's family, and for HMAC and asymmetric keys the
/// exact spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportedKind {
    /// `SYMMETRIC_DEFAULT`: 32 raw bytes.
    Symmetric,
    /// `HMAC_224` … `HMAC_512`: raw key bytes, see [`hmac_import_lengths`].
    Hmac(MacAlgorithm),
    /// An asymmetric key spec: a PKCS#8 DER private key.
    Asymmetric(AsymmetricSpec),
}

/// The HMAC key lengths AWS accepts for imported material, in bytes: `HMAC_224` 28–64,
/// `HMAC_256` 32–64, `HMAC_384` 48–128, `HMAC_512` 64–128 (at least the output length, at most
/// the hash's block size).
pub fn hmac_import_lengths(alg: MacAlgorithm) -> RangeInclusive<usize> {
    match alg {
        MacAlgorithm::HmacSha224 => 28..=64,
        MacAlgorithm::HmacSha256 => 32..=64,
        MacAlgorithm::HmacSha384 => 48..=128,
        MacAlgorithm::HmacSha512 => 64..=128,
    }
}

/// Checks imported material for a key spec and returns it in Kinko's storage form (what
/// [`PrivateKey::from_stored`], [`crate::MacKey::new`] and the symmetric path read):
/// - `Symmetric`: exactly 32 bytes, returned as is;
/// - `Hmac`: a length in [`hmac_import_lengths`], returned as is;
/// - `Asymmetric`: a PKCS#8 DER private key of exactly that spec (RSA modulus size, curve,
///   Ed25519, ML-DSA or ML-KEM parameter set), re-encoded to the storage form: PKCS#8 v1 for RSA,
///   EC (with or without the optional public key and inner parameters) and Ed25519 (v1 or v2);
///   the seed form for ML-DSA and ML-KEM, which accept the `seed` and `both` encodings (the
///   expanded key must match the seed) but not an expanded key alone.
///
/// Anything else is [`CryptoError::InvalidInput`] with a short reason that holds no key bytes.
pub fn normalize_imported_material(
    kind: ImportedKind,
    material: &[u8],
) -> Result<SecretBytes, CryptoError> {
    match kind {
        ImportedKind::Symmetric => {
            if material.len() != SYMMETRIC_MATERIAL_LEN {
                return Err(CryptoError::InvalidInput(
                    "symmetric key material must be 32 bytes",
                ));
            }
            Ok(SecretBytes::from_slice(material))
        }
        ImportedKind::Hmac(alg) => {
            if !hmac_import_lengths(alg).contains(&material.len()) {
                return Err(CryptoError::InvalidInput(
                    "HMAC key material length does not fit the key spec",
                ));
            }
            Ok(SecretBytes::from_slice(material))
        }
        ImportedKind::Asymmetric(spec) => normalize_pkcs8(spec, material),
    }
}

/// Whether two stored materials (outputs of [`normalize_imported_material`]) are the same key:
/// the bytes compared in constant time for symmetric and HMAC material (lengths are not secret),
/// the public keys for asymmetric material. Used to accept a reimport of the same material and
/// refuse different material. [`CryptoError::InvalidInput`] when asymmetric material does not
/// load for the spec.
pub fn same_material(kind: ImportedKind, a: &[u8], b: &[u8]) -> Result<bool, CryptoError> {
    match kind {
        ImportedKind::Symmetric | ImportedKind::Hmac(_) => Ok(constant_time_eq(a, b)),
        ImportedKind::Asymmetric(spec) => {
            let a = PrivateKey::from_stored(spec, a)?;
            let b = PrivateKey::from_stored(spec, b)?;
            Ok(a.public_key_der() == b.public_key_der())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_material_len_matches_the_kms_oaep_limits() {
        let limits: Vec<_> = WrappingKeySpec::ALL
            .iter()
            .flat_map(|&spec| {
                [
                    WrappingAlgorithm::RsaesOaepSha1,
                    WrappingAlgorithm::RsaesOaepSha256,
                ]
                .map(|alg| alg.max_material_len(spec))
            })
            .collect();
        let expected = [214, 190, 342, 318, 470, 446].map(Some);
        assert_eq!(limits, expected);
        assert_eq!(
            WrappingAlgorithm::RsaAesKeyWrapSha256.max_material_len(WrappingKeySpec::Rsa2048),
            None
        );
    }

    #[test]
    fn kwp_refuses_bad_keks_and_empty_plaintext() {
        assert!(matches!(
            aes_kwp_wrap(&[0; 16], b"x"),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(matches!(
            aes_kwp_wrap(&[0; 32], b""),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(matches!(
            aes_kwp_unwrap(&[0; 24], &[0; 16]),
            Err(CryptoError::InvalidInput(_))
        ));
        for len in [0, 8, 15, 17, 23] {
            assert_eq!(
                aes_kwp_unwrap(&[0; 32], &vec![0; len]).map(|s| s.len()),
                Err(CryptoError::Decrypt)
            );
        }
    }

    #[test]
    fn hmac_ranges_start_at_the_output_length() {
        for alg in [
            MacAlgorithm::HmacSha224,
            MacAlgorithm::HmacSha256,
            MacAlgorithm::HmacSha384,
            MacAlgorithm::HmacSha512,
        ] {
            assert_eq!(*hmac_import_lengths(alg).start(), alg.output_len());
        }
    }
}
