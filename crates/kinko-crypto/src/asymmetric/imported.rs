//! Imported private keys (`ImportKeyMaterial`): a PKCS#8 document made elsewhere, checked against
//! the key spec and re-encoded into the storage form of [`super::generate_private_key`].
//!
//! - RSA, EC and Ed25519 documents are parsed by aws-lc (which checks the key's consistency,
//!   including an EC or Ed25519 public key carried inside) and written back out as PKCS#8 v1: an
//!   EC key with or without its public key or inner parameters, an Ed25519 v1 or v2 document all
//!   end up in the one form Kinko generates.
//! - ML-DSA (RFC 9881) and ML-KEM (RFC 9935) accept the `seed` and `both` private key choices;
//!   `both` is accepted only when the expanded key is the one the seed derives. An `expandedKey`
//!   alone is refused: the seed cannot be recovered from it, and Kinko stores seeds.
//! - A public key in a version 1 (RFC 5958) document must be the private key's.
//!
//! Refusals are [`CryptoError::InvalidInput`] with a short reason that never contains key bytes.

use aws_lc_rs::encoding::{AsBigEndian, AsDer, AsRawBytes, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, PqdsaKeyPair};

use super::spec::{AsymmetricSpec, Family};
use super::{PrivateKey, der, ec, ffi, mldsa, mlkem, rsa};
use crate::{CryptoError, SecretBytes, constant_time_eq};

const NOT_PKCS8: CryptoError =
    CryptoError::InvalidInput("imported private key is not one DER PKCS#8 document");
const WRONG_ALGORITHM: CryptoError =
    CryptoError::InvalidInput("imported private key is not of the key spec's algorithm");
const WRONG_PARAMETER_SET: CryptoError =
    CryptoError::InvalidInput("imported private key is of another parameter set than the key spec");
const NO_SEED: CryptoError = CryptoError::InvalidInput(
    "imported ML-DSA and ML-KEM private keys must contain the seed (seed or both form)",
);
const SEED_MISMATCH: CryptoError =
    CryptoError::InvalidInput("seed and expanded key of the imported private key disagree");
const PUBLIC_MISMATCH: CryptoError = CryptoError::InvalidInput(
    "public key in the imported PKCS#8 document is not the private key's",
);

/// Checks `pkcs8` against `spec` and returns it in Kinko's storage form.
pub(crate) fn normalize_pkcs8(
    spec: AsymmetricSpec,
    pkcs8: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let doc = der::parse_one_asymmetric_key(pkcs8).ok_or(NOT_PKCS8)?;
    let stored = match spec.family() {
        Family::Rsa => rsa_storage(spec, &doc, pkcs8)?,
        Family::Ec => ec_storage(spec, &doc, pkcs8)?,
        Family::Ed25519 => ed25519_storage(&doc, pkcs8)?,
        Family::MlDsa => mldsa_storage(spec, &doc)?,
        Family::MlKem => mlkem_storage(spec, &doc)?,
    };
    // What is stored must load, and a public key the document carries must be this key's.
    let key = PrivateKey::from_stored(spec, stored.expose())?;
    if let Some(public) = doc.public_key {
        let spki = der::parse_spki(key.public_key_der()).ok_or(CryptoError::Unspecified)?;
        if spki.key != public {
            return Err(PUBLIC_MISMATCH);
        }
    }
    Ok(stored)
}

fn rsa_storage(
    spec: AsymmetricSpec,
    doc: &der::OneAsymmetricKey<'_>,
    pkcs8: &[u8],
) -> Result<SecretBytes, CryptoError> {
    if doc.algorithm != der::OID_RSA {
        return Err(WRONG_ALGORITHM);
    }
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8)
        .map_err(|_| CryptoError::InvalidInput("imported RSA private key is not valid"))?;
    // Exact bit length: a 2047-bit modulus is as many bytes as a 2048-bit one.
    let spki = pair.public_key().as_der()?;
    let bits = der::parse_spki(spki.as_ref()).and_then(|s| der::rsa_modulus_bits(s.key));
    if bits != Some(rsa::modulus_bits(spec)) {
        return Err(CryptoError::InvalidInput(
            "imported RSA private key has another modulus size than the key spec",
        ));
    }
    let der: Pkcs8V1Der<'static> = pair.as_der()?;
    Ok(SecretBytes::from_slice(der.as_ref()))
}

fn ec_storage(
    spec: AsymmetricSpec,
    doc: &der::OneAsymmetricKey<'_>,
    pkcs8: &[u8],
) -> Result<SecretBytes, CryptoError> {
    if doc.algorithm != der::OID_EC_PUBLIC_KEY {
        return Err(WRONG_ALGORITHM);
    }
    match doc.curve {
        Some(curve) if curve == ec::curve_oid(spec) => {}
        Some(_) => {
            return Err(CryptoError::InvalidInput(
                "imported EC private key is on another curve than the key spec",
            ));
        }
        None => {
            return Err(CryptoError::InvalidInput(
                "imported EC private key must name its curve",
            ));
        }
    }
    let (signing, _, _) = ec::algorithms(spec);
    // aws-lc checks the curve again, and a public key inside ECPrivateKey against the private key.
    let parsed = EcdsaKeyPair::from_pkcs8(signing, pkcs8)
        .map_err(|_| CryptoError::InvalidInput("imported EC private key is not valid"))?;
    // aws-lc writes back out what it read (a key parsed without its public key is written without
    // one), so the key is rebuilt from its scalar and point: the form `generate_private_key` makes.
    let scalar: EcPrivateKeyBin<'static> = parsed.private_key().as_be_bytes()?;
    let pair = EcdsaKeyPair::from_private_key_and_public_key(
        signing,
        scalar.as_ref(),
        parsed.public_key().as_ref(),
    )
    .map_err(|_| CryptoError::Unspecified)?;
    let doc = pair.to_pkcs8v1()?;
    Ok(SecretBytes::from_slice(doc.as_ref()))
}

fn ed25519_storage(
    doc: &der::OneAsymmetricKey<'_>,
    pkcs8: &[u8],
) -> Result<SecretBytes, CryptoError> {
    if doc.algorithm != der::OID_ED25519 || !doc.no_parameters {
        return Err(WRONG_ALGORITHM);
    }
    // v1 or v2; aws-lc-rs checks a v2 public key against the seed.
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
        .map_err(|_| CryptoError::InvalidInput("imported Ed25519 private key is not valid"))?;
    let der: Pkcs8V1Der<'static> = pair.as_der()?;
    Ok(SecretBytes::from_slice(der.as_ref()))
}

/// The seed of a seed-or-both ML private key whose seed is `seed_len` bytes, with the expanded key
/// of `both` checked by `expanded_matches`.
fn ml_seed<'a>(
    doc: &der::OneAsymmetricKey<'a>,
    oid: &[u8],
    family_oids: &[&[u8]],
    seed_len: usize,
    expanded_matches: impl FnOnce(&[u8], &[u8]) -> Result<bool, CryptoError>,
) -> Result<&'a [u8], CryptoError> {
    if doc.algorithm != oid {
        return Err(if family_oids.contains(&doc.algorithm) {
            WRONG_PARAMETER_SET
        } else {
            WRONG_ALGORITHM
        });
    }
    if !doc.no_parameters {
        return Err(WRONG_ALGORITHM);
    }
    const MALFORMED: CryptoError =
        CryptoError::InvalidInput("imported ML-DSA or ML-KEM private key is malformed");
    match der::parse_seed_or_expanded(doc.private_key).ok_or(MALFORMED)? {
        der::SeedOrExpanded::Seed(seed) if seed.len() == seed_len => Ok(seed),
        der::SeedOrExpanded::Both { seed, expanded } if seed.len() == seed_len => {
            if expanded_matches(seed, expanded)? {
                Ok(seed)
            } else {
                Err(SEED_MISMATCH)
            }
        }
        der::SeedOrExpanded::Expanded => Err(NO_SEED),
        _ => Err(MALFORMED),
    }
}

fn mldsa_storage(
    spec: AsymmetricSpec,
    doc: &der::OneAsymmetricKey<'_>,
) -> Result<SecretBytes, CryptoError> {
    let oid = mldsa::oid(spec);
    let family = [der::OID_ML_DSA_44, der::OID_ML_DSA_65, der::OID_ML_DSA_87];
    let seed = ml_seed(doc, oid, &family, mldsa::SEED_LEN, |seed, expanded| {
        let pair = PqdsaKeyPair::from_seed(mldsa::signing_algorithm(spec), seed)
            .map_err(|_| CryptoError::Unspecified)?;
        // A Buffer: wiped when it drops.
        let derived = pair.private_key().as_raw_bytes()?;
        Ok(constant_time_eq(derived.as_ref(), expanded))
    })?;
    Ok(SecretBytes::new(der::seed_pkcs8(oid, seed)))
}

fn mlkem_storage(
    spec: AsymmetricSpec,
    doc: &der::OneAsymmetricKey<'_>,
) -> Result<SecretBytes, CryptoError> {
    let p = mlkem::params(spec);
    let family = [
        der::OID_ML_KEM_512,
        der::OID_ML_KEM_768,
        der::OID_ML_KEM_1024,
    ];
    let seed = ml_seed(
        doc,
        p.oid,
        &family,
        ffi::ML_KEM_SEED_LEN,
        |seed, expanded| {
            let nid = ffi::ml_kem_nid(p.level).ok_or(CryptoError::Unspecified)?;
            let (_, dk) = ffi::ml_kem_keypair_from_seed(nid, seed, p.ek_len, p.dk_len)?;
            Ok(constant_time_eq(dk.expose(), expanded))
        },
    )?;
    Ok(SecretBytes::new(der::seed_pkcs8(p.oid, seed)))
}
