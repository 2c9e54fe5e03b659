//! Round trips and refusals for every asymmetric spec × algorithm × message kind, through the
//! public API, with aws-lc-rs's own parsers as a check on the encodings.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use kinko_crypto::{
    AsymmetricSpec, CryptoError, MessageKind, OaepAlgorithm, PrivateKey, SigningAlgorithm,
    generate_data_key_pair, verify_with_public_key,
};

use super::{key, signing_specs};

const ALL_ALGORITHMS: [SigningAlgorithm; 12] = [
    SigningAlgorithm::RsaPssSha256,
    SigningAlgorithm::RsaPssSha384,
    SigningAlgorithm::RsaPssSha512,
    SigningAlgorithm::RsaPkcs1Sha256,
    SigningAlgorithm::RsaPkcs1Sha384,
    SigningAlgorithm::RsaPkcs1Sha512,
    SigningAlgorithm::EcdsaSha256,
    SigningAlgorithm::EcdsaSha384,
    SigningAlgorithm::EcdsaSha512,
    SigningAlgorithm::MlDsaShake256,
    SigningAlgorithm::Ed25519Sha512,
    SigningAlgorithm::Ed25519PhSha512,
];

const ALL_KINDS: [MessageKind; 3] = [
    MessageKind::Raw,
    MessageKind::Digest,
    MessageKind::ExternalMu,
];

/// The hash a DIGEST message of `alg` is made with.
fn digest_of(alg: SigningAlgorithm, message: &[u8]) -> Vec<u8> {
    let hash = match alg.digest_len() {
        Some(32) => &digest::SHA256,
        Some(48) => &digest::SHA384,
        _ => &digest::SHA512,
    };
    digest::digest(hash, message).as_ref().to_vec()
}

/// ML-DSA μ for `message` under the public key in `spki` (empty context), from RustCrypto.
fn mu_of(spec: AsymmetricSpec, spki: &[u8], message: &[u8]) -> Vec<u8> {
    super::pq::mu(spec, spki, message)
}

/// The message to pass for `kind` when the original message is `message`.
fn message_for(
    spec: AsymmetricSpec,
    alg: SigningAlgorithm,
    kind: MessageKind,
    message: &[u8],
) -> Vec<u8> {
    match kind {
        MessageKind::Raw => message.to_vec(),
        MessageKind::Digest => digest_of(alg, message),
        MessageKind::ExternalMu => mu_of(spec, key(spec).1.public_key_der(), message),
    }
}

/// The aws-lc-rs verification algorithm for a RAW message, to check our SPKI with their parser.
fn aws_lc_verification(
    spec: AsymmetricSpec,
    alg: SigningAlgorithm,
) -> &'static dyn VerificationAlgorithm {
    use SigningAlgorithm as A;
    match (spec, alg) {
        (_, A::RsaPssSha256) => &sig::RSA_PSS_2048_8192_SHA256,
        (_, A::RsaPssSha384) => &sig::RSA_PSS_2048_8192_SHA384,
        (_, A::RsaPssSha512) => &sig::RSA_PSS_2048_8192_SHA512,
        (_, A::RsaPkcs1Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (_, A::RsaPkcs1Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (_, A::RsaPkcs1Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (AsymmetricSpec::EccSecgP256k1, _) => &sig::ECDSA_P256K1_SHA256_ASN1,
        (_, A::EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (_, A::EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (_, A::EcdsaSha512) => &sig::ECDSA_P521_SHA512_ASN1,
        (AsymmetricSpec::MlDsa44, _) => &sig::ML_DSA_44,
        (AsymmetricSpec::MlDsa87, _) => &sig::ML_DSA_87,
        (_, A::MlDsaShake256) => &sig::ML_DSA_65,
        (_, _) => &sig::ED25519,
    }
}

/// The BIT STRING of a SubjectPublicKeyInfo whose key is its last `len` bytes.
fn spki_tail(spki: &[u8], len: usize) -> &[u8] {
    &spki[spki.len() - len..]
}

fn is_invalid_input<T>(r: &Result<T, CryptoError>) -> bool {
    matches!(r, Err(CryptoError::InvalidInput(_)))
}

/// Checks a DER `SEQUENCE { INTEGER r, INTEGER s }` with short or one-byte long lengths.
fn is_der_ecdsa(signature: &[u8]) -> bool {
    fn read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = b.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let (len, rest) = if len == 0x81 {
            let (&l, rest) = rest.split_first()?;
            (usize::from(l), rest)
        } else if len < 0x80 {
            (usize::from(len), rest)
        } else {
            return None;
        };
        let (content, rest) = rest.split_at_checked(len)?;
        Some((tag, content, rest))
    }
    let Some((0x30, body, [])) = read(signature) else {
        return false;
    };
    let Some((0x02, r, rest)) = read(body) else {
        return false;
    };
    let Some((0x02, s, [])) = read(rest) else {
        return false;
    };
    !r.is_empty() && !s.is_empty()
}

#[test]
fn every_spec_algorithm_and_message_kind_round_trips_and_detects_tampering() {
    let message = b"Kinko signs this message.";
    let mut checked = 0;
    for spec in signing_specs() {
        let (_, private) = key(spec);
        let spki = private.public_key_der();
        for &alg in spec.signing_algorithms() {
            for kind in ALL_KINDS.into_iter().filter(|k| alg.accepts(*k)) {
                let input = message_for(spec, alg, kind, message);
                let signature = private
                    .sign(alg, kind, &input)
                    .unwrap_or_else(|e| panic!("{spec:?} {alg:?} {kind:?}: {e}"));
                assert!(
                    private.verify(alg, kind, &input, &signature),
                    "{spec:?} {alg:?} {kind:?}"
                );
                assert!(verify_with_public_key(
                    spec, alg, kind, spki, &input, &signature
                ));

                let mut bad = signature.clone();
                let last = bad.len() - 1;
                bad[last] ^= 0x01;
                bad[0] ^= 0x80;
                assert!(
                    !private.verify(alg, kind, &input, &bad),
                    "{spec:?} {alg:?} {kind:?}"
                );
                let mut other = input.clone();
                other[0] ^= 0x01;
                assert!(!private.verify(alg, kind, &other, &signature));
                assert!(!verify_with_public_key(
                    spec, alg, kind, spki, &other, &signature
                ));
                assert!(!private.verify(alg, kind, &input, &signature[..signature.len() - 1]));
                assert!(!private.verify(alg, kind, &input, &[]));

                // A DIGEST or μ signature is a signature of the original message, and back.
                if kind != MessageKind::Raw && alg != SigningAlgorithm::Ed25519PhSha512 {
                    assert!(private.verify(alg, MessageKind::Raw, message, &signature));
                    let raw = private.sign(alg, MessageKind::Raw, message).expect("raw");
                    assert!(private.verify(alg, kind, &input, &raw));
                }
                // Our SPKI parses in aws-lc-rs and verifies a RAW-equivalent signature.
                if kind == MessageKind::Raw && alg != SigningAlgorithm::Ed25519PhSha512 {
                    let theirs = UnparsedPublicKey::new(aws_lc_verification(spec, alg), spki);
                    let ours = theirs.verify(message, &signature);
                    assert!(
                        ours.is_ok(),
                        "{spec:?} {alg:?}: aws-lc-rs refused our SPKI or signature"
                    );
                }
                match spec {
                    AsymmetricSpec::Rsa2048 => assert_eq!(signature.len(), 256),
                    AsymmetricSpec::Rsa3072 => assert_eq!(signature.len(), 384),
                    AsymmetricSpec::Rsa4096 => assert_eq!(signature.len(), 512),
                    AsymmetricSpec::EccNistP256
                    | AsymmetricSpec::EccNistP384
                    | AsymmetricSpec::EccNistP521
                    | AsymmetricSpec::EccSecgP256k1 => {
                        assert!(
                            is_der_ecdsa(&signature),
                            "{spec:?}: {}",
                            super::hex(&signature)
                        )
                    }
                    AsymmetricSpec::Ed25519 => assert_eq!(signature.len(), 64),
                    AsymmetricSpec::MlDsa44 => assert_eq!(signature.len(), 2420),
                    AsymmetricSpec::MlDsa65 => assert_eq!(signature.len(), 3309),
                    AsymmetricSpec::MlDsa87 => assert_eq!(signature.len(), 4627),
                    _ => unreachable!(),
                }
                checked += 1;
            }
        }
    }
    // RSA 3 × 6 × 2, ECC 4 × 2, Ed25519 2, ML-DSA 3 × 2.
    assert_eq!(checked, 36 + 8 + 2 + 6);
}

#[test]
fn wrong_algorithm_kind_or_length_is_invalid_input_not_a_panic() {
    for spec in AsymmetricSpec::ALL {
        let (_, private) = key(spec);
        let spki = private.public_key_der();
        for alg in ALL_ALGORITHMS {
            for kind in ALL_KINDS {
                let fits = spec.signing_algorithms().contains(&alg) && alg.accepts(kind);
                let good_len = match kind {
                    MessageKind::Raw => 10,
                    MessageKind::Digest => alg.digest_len().unwrap_or(32),
                    MessageKind::ExternalMu => 64,
                };
                for len in [0, 1, good_len - 1, good_len, good_len + 1, 4096] {
                    let message = vec![0x5a; len];
                    let result = private.sign(alg, kind, &message);
                    let length_ok = kind == MessageKind::Raw || len == good_len;
                    if fits && length_ok {
                        assert!(result.is_ok(), "{spec:?} {alg:?} {kind:?} {len}");
                    } else {
                        assert!(
                            is_invalid_input(&result),
                            "{spec:?} {alg:?} {kind:?} {len}: {result:?}"
                        );
                        assert!(!private.verify(alg, kind, &message, &[0; 64]));
                        assert!(!verify_with_public_key(
                            spec, alg, kind, spki, &message, &[0; 64]
                        ));
                    }
                }
            }
        }
    }
}

#[test]
fn verify_with_public_key_refuses_keys_of_another_spec() {
    let message = b"m";
    let (_, p256) = key(AsymmetricSpec::EccNistP256);
    let signature = p256
        .sign(SigningAlgorithm::EcdsaSha256, MessageKind::Raw, message)
        .expect("sign");
    let spki = p256.public_key_der();
    assert!(verify_with_public_key(
        AsymmetricSpec::EccNistP256,
        SigningAlgorithm::EcdsaSha256,
        MessageKind::Raw,
        spki,
        message,
        &signature
    ));
    assert!(!verify_with_public_key(
        AsymmetricSpec::EccSecgP256k1,
        SigningAlgorithm::EcdsaSha256,
        MessageKind::Raw,
        spki,
        message,
        &signature
    ));
    // The bare point is not an SPKI.
    assert!(!verify_with_public_key(
        AsymmetricSpec::EccNistP256,
        SigningAlgorithm::EcdsaSha256,
        MessageKind::Raw,
        spki_tail(spki, 65),
        message,
        &signature
    ));

    let (_, rsa) = key(AsymmetricSpec::Rsa2048);
    let signature = rsa
        .sign(SigningAlgorithm::RsaPssSha256, MessageKind::Raw, message)
        .expect("sign");
    assert!(!verify_with_public_key(
        AsymmetricSpec::Rsa3072,
        SigningAlgorithm::RsaPssSha256,
        MessageKind::Raw,
        rsa.public_key_der(),
        message,
        &signature
    ));

    let (_, ed) = key(AsymmetricSpec::Ed25519);
    let signature = ed
        .sign(SigningAlgorithm::Ed25519Sha512, MessageKind::Raw, message)
        .expect("sign");
    assert!(!verify_with_public_key(
        AsymmetricSpec::Ed25519,
        SigningAlgorithm::Ed25519Sha512,
        MessageKind::Raw,
        spki_tail(ed.public_key_der(), 32),
        message,
        &signature
    ));

    let (_, ml) = key(AsymmetricSpec::MlDsa44);
    let signature = ml
        .sign(SigningAlgorithm::MlDsaShake256, MessageKind::Raw, message)
        .expect("sign");
    assert!(!verify_with_public_key(
        AsymmetricSpec::MlDsa65,
        SigningAlgorithm::MlDsaShake256,
        MessageKind::Raw,
        ml.public_key_der(),
        message,
        &signature
    ));
    assert!(!verify_with_public_key(
        AsymmetricSpec::MlKem512,
        SigningAlgorithm::MlDsaShake256,
        MessageKind::Raw,
        ml.public_key_der(),
        message,
        &signature
    ));
}

#[test]
fn from_stored_refuses_material_of_another_spec() {
    let pairs = [
        (AsymmetricSpec::Rsa2048, AsymmetricSpec::Rsa3072),
        (AsymmetricSpec::Rsa4096, AsymmetricSpec::Rsa2048),
        (AsymmetricSpec::EccNistP256, AsymmetricSpec::EccNistP384),
        (AsymmetricSpec::EccNistP256, AsymmetricSpec::EccSecgP256k1),
        (AsymmetricSpec::EccNistP521, AsymmetricSpec::EccNistP256),
        (AsymmetricSpec::EccSecgP256k1, AsymmetricSpec::EccNistP256),
        (AsymmetricSpec::Ed25519, AsymmetricSpec::EccNistP256),
        (AsymmetricSpec::EccNistP256, AsymmetricSpec::Ed25519),
        (AsymmetricSpec::MlDsa44, AsymmetricSpec::MlDsa65),
        (AsymmetricSpec::MlDsa87, AsymmetricSpec::MlKem1024),
        (AsymmetricSpec::MlKem512, AsymmetricSpec::MlKem768),
        (AsymmetricSpec::MlKem1024, AsymmetricSpec::MlDsa87),
        (AsymmetricSpec::Rsa2048, AsymmetricSpec::MlKem512),
    ];
    for (have, claimed) in pairs {
        let (stored, _) = key(have);
        let result = PrivateKey::from_stored(claimed, stored.expose());
        assert!(
            is_invalid_input(&result),
            "{have:?} material accepted as {claimed:?}"
        );
    }
    for spec in AsymmetricSpec::ALL {
        for junk in [&[][..], &[0x30, 0x00], &[0xff; 54], &[0x30; 86]] {
            assert!(
                is_invalid_input(&PrivateKey::from_stored(spec, junk)),
                "{spec:?}"
            );
        }
        // A truncated or extended document is refused as well.
        let (stored, _) = key(spec);
        let bytes = stored.expose();
        assert!(
            is_invalid_input(&PrivateKey::from_stored(spec, &bytes[..bytes.len() - 1])),
            "{spec:?}"
        );
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(
            is_invalid_input(&PrivateKey::from_stored(spec, &longer)),
            "{spec:?}"
        );
    }
}

#[test]
fn storage_forms_have_the_documented_sizes_and_headers() {
    for spec in AsymmetricSpec::ALL {
        let (stored, private) = key(spec);
        let bytes = stored.expose();
        assert_eq!(bytes[0], 0x30, "{spec:?} is not a DER SEQUENCE");
        match spec {
            AsymmetricSpec::Ed25519 => assert_eq!(bytes.len(), 48),
            AsymmetricSpec::MlDsa44 | AsymmetricSpec::MlDsa65 | AsymmetricSpec::MlDsa87 => {
                assert_eq!(bytes.len(), 54)
            }
            AsymmetricSpec::MlKem512 | AsymmetricSpec::MlKem768 | AsymmetricSpec::MlKem1024 => {
                assert_eq!(bytes.len(), 86)
            }
            _ => {}
        }
        let spki_len = private.public_key_der().len();
        let expected = match spec {
            AsymmetricSpec::EccNistP256 => Some(91),
            AsymmetricSpec::EccSecgP256k1 => Some(88),
            AsymmetricSpec::EccNistP384 => Some(120),
            AsymmetricSpec::EccNistP521 => Some(158),
            AsymmetricSpec::Ed25519 => Some(44),
            AsymmetricSpec::MlDsa44 => Some(1334),
            AsymmetricSpec::MlDsa65 => Some(1974),
            AsymmetricSpec::MlDsa87 => Some(2614),
            AsymmetricSpec::MlKem512 => Some(822),
            AsymmetricSpec::MlKem768 => Some(1206),
            AsymmetricSpec::MlKem1024 => Some(1590),
            _ => None,
        };
        if let Some(expected) = expected {
            assert_eq!(spki_len, expected, "{spec:?} SPKI length");
        }
        assert_eq!(private.spec(), spec);
        // Parsing the same material again gives the same public key.
        let again = PrivateKey::from_stored(spec, bytes).expect("parse");
        assert_eq!(again.public_key_der(), private.public_key_der());
    }
}

#[test]
fn debug_output_is_redacted() {
    for spec in [
        AsymmetricSpec::Ed25519,
        AsymmetricSpec::EccNistP256,
        AsymmetricSpec::MlDsa44,
        AsymmetricSpec::MlKem512,
    ] {
        let (stored, private) = key(spec);
        let shown = format!("{private:?} {private:#?} {stored:?}");
        assert!(shown.contains("REDACTED"), "{shown}");
        // No run of 8 key bytes from the stored form (past the DER header) appears, in any case.
        let tail = super::hex(&stored.expose()[stored.len() - 8..]);
        assert!(!shown.to_lowercase().contains(&tail), "{shown}");
    }
}

#[test]
fn oaep_limits_are_exact_and_round_trip() {
    let cases = [
        (AsymmetricSpec::Rsa2048, 214, 190),
        (AsymmetricSpec::Rsa3072, 342, 318),
        (AsymmetricSpec::Rsa4096, 470, 446),
    ];
    for (spec, sha1, sha256) in cases {
        let (_, private) = key(spec);
        for (alg, limit) in [(OaepAlgorithm::Sha1, sha1), (OaepAlgorithm::Sha256, sha256)] {
            assert_eq!(private.max_oaep_plaintext(alg), Some(limit));
            for len in [0, 1, limit] {
                let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let ciphertext = private.encrypt_oaep(alg, &plaintext).expect("encrypt");
                assert_eq!(
                    ciphertext.len(),
                    limit + 2 * if alg == OaepAlgorithm::Sha1 { 20 } else { 32 } + 2
                );
                let opened = private.decrypt_oaep(alg, &ciphertext).expect("decrypt");
                assert_eq!(opened.expose(), &plaintext[..]);
                // The other hash, a flipped bit, a short ciphertext: one opaque error.
                let other = if alg == OaepAlgorithm::Sha1 {
                    OaepAlgorithm::Sha256
                } else {
                    OaepAlgorithm::Sha1
                };
                assert_eq!(
                    private.decrypt_oaep(other, &ciphertext).err(),
                    Some(CryptoError::Decrypt)
                );
                let mut bad = ciphertext.clone();
                bad[10] ^= 1;
                assert_eq!(
                    private.decrypt_oaep(alg, &bad).err(),
                    Some(CryptoError::Decrypt)
                );
                assert_eq!(
                    private.decrypt_oaep(alg, &ciphertext[1..]).err(),
                    Some(CryptoError::Decrypt)
                );
            }
            let too_long = vec![0u8; limit + 1];
            assert!(
                is_invalid_input(&private.encrypt_oaep(alg, &too_long)),
                "{spec:?} {alg:?}"
            );
        }
    }
    for spec in [
        AsymmetricSpec::EccNistP256,
        AsymmetricSpec::Ed25519,
        AsymmetricSpec::MlKem768,
    ] {
        let (_, private) = key(spec);
        assert_eq!(private.max_oaep_plaintext(OaepAlgorithm::Sha256), None);
        assert!(is_invalid_input(
            &private.encrypt_oaep(OaepAlgorithm::Sha256, b"x")
        ));
        assert_eq!(
            private.decrypt_oaep(OaepAlgorithm::Sha256, &[0; 256]).err(),
            Some(CryptoError::Decrypt)
        );
    }
}

#[test]
fn oaep_ciphertext_opens_in_aws_lc_rs_directly() {
    use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
    let (stored, private) = key(AsymmetricSpec::Rsa2048);
    let ciphertext = private
        .encrypt_oaep(OaepAlgorithm::Sha256, b"hello")
        .expect("encrypt");
    let theirs = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(stored.expose()).expect("pkcs8"),
    )
    .expect("key");
    let mut out = vec![0u8; 256];
    let opened = theirs
        .decrypt(&OAEP_SHA256_MGF1SHA256, &ciphertext, &mut out, None)
        .expect("decrypt");
    assert_eq!(opened, b"hello");
}

#[test]
fn ecdh_agrees_between_two_keys_and_refuses_foreign_peers() {
    for (spec, len) in [
        (AsymmetricSpec::EccNistP256, 32),
        (AsymmetricSpec::EccNistP384, 48),
        (AsymmetricSpec::EccNistP521, 66),
    ] {
        let (_, alice) = key(spec);
        let bob = PrivateKey::from_stored(
            spec,
            kinko_crypto::generate_private_key(spec)
                .expect("keygen")
                .expose(),
        )
        .expect("parse");
        let ab = alice
            .derive_shared_secret(bob.public_key_der())
            .expect("agree");
        let ba = bob
            .derive_shared_secret(alice.public_key_der())
            .expect("agree");
        assert_eq!(ab.len(), len);
        assert_eq!(ab.expose(), ba.expose());
        // Another curve, a bare point, junk: InvalidInput.
        for other in [
            AsymmetricSpec::EccNistP256,
            AsymmetricSpec::EccNistP384,
            AsymmetricSpec::EccNistP521,
            AsymmetricSpec::EccSecgP256k1,
            AsymmetricSpec::Ed25519,
        ] {
            if other != spec {
                assert!(
                    is_invalid_input(&alice.derive_shared_secret(key(other).1.public_key_der())),
                    "{spec:?} with {other:?}"
                );
            }
        }
        let spki = bob.public_key_der();
        let point = spki_tail(spki, 2 * len + 1);
        assert!(is_invalid_input(&alice.derive_shared_secret(point)));
        assert!(is_invalid_input(&alice.derive_shared_secret(&[])));
        let mut off_curve = spki.to_vec();
        let last = off_curve.len() - 1;
        off_curve[last] ^= 1;
        assert!(is_invalid_input(&alice.derive_shared_secret(&off_curve)));
    }
    for spec in [
        AsymmetricSpec::EccSecgP256k1,
        AsymmetricSpec::Rsa2048,
        AsymmetricSpec::Ed25519,
        AsymmetricSpec::MlKem512,
    ] {
        let (_, private) = key(spec);
        let peer = key(AsymmetricSpec::EccNistP256).1.public_key_der();
        assert!(
            is_invalid_input(&private.derive_shared_secret(peer)),
            "{spec:?}"
        );
    }
}

#[test]
fn ml_kem_round_trips_and_rejects_implicitly() {
    for (spec, ct_len) in [
        (AsymmetricSpec::MlKem512, 768),
        (AsymmetricSpec::MlKem768, 1088),
        (AsymmetricSpec::MlKem1024, 1568),
    ] {
        let (_, private) = key(spec);
        let (ciphertext, shared) = private.encapsulate().expect("encapsulate");
        assert_eq!(ciphertext.len(), ct_len);
        assert_eq!(shared.len(), 32);
        assert_eq!(
            private
                .decapsulate(&ciphertext)
                .expect("decapsulate")
                .expose(),
            shared.expose()
        );
        let mut bad = ciphertext.clone();
        bad[0] ^= 1;
        let rejected = private
            .decapsulate(&bad)
            .expect("implicit rejection is not an error");
        assert_eq!(rejected.len(), 32);
        assert_ne!(rejected.expose(), shared.expose());
        let again = private.decapsulate(&bad).expect("decapsulate");
        assert_eq!(
            again.expose(),
            rejected.expose(),
            "implicit rejection is deterministic"
        );
        for len in [0, ct_len - 1, ct_len + 1] {
            assert!(
                is_invalid_input(&private.decapsulate(&vec![0; len])),
                "{spec:?} {len}"
            );
        }
    }
    for spec in [AsymmetricSpec::Rsa2048, AsymmetricSpec::MlDsa65] {
        let (_, private) = key(spec);
        assert!(is_invalid_input(&private.encapsulate()));
        assert!(is_invalid_input(&private.decapsulate(&[0; 1088])));
    }
}

#[test]
#[allow(clippy::disallowed_types)] // checks kinko-crypto's keys by signing with aws-lc-rs directly
fn data_key_pair_halves_match() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
    let message = b"data key pair";
    for spec in AsymmetricSpec::ALL {
        if matches!(spec, AsymmetricSpec::Rsa3072 | AsymmetricSpec::Rsa4096) {
            continue; // same code path as RSA-2048, and slow to generate
        }
        let (private, public) = generate_data_key_pair(spec).expect("data key pair");
        let parsed = PrivateKey::from_stored(spec, private.expose()).expect("parse");
        assert_eq!(parsed.public_key_der(), &public[..]);
        // Sign with the PKCS#8 loaded by aws-lc-rs itself, verify with the SPKI through our API.
        let (alg, signature) = match spec {
            AsymmetricSpec::Rsa2048 => {
                let pair = RsaKeyPair::from_pkcs8(private.expose()).expect("rsa pkcs8");
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &sig::RSA_PSS_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut out,
                )
                .expect("sign");
                (Some(SigningAlgorithm::RsaPssSha256), out)
            }
            AsymmetricSpec::EccNistP256
            | AsymmetricSpec::EccNistP384
            | AsymmetricSpec::EccNistP521
            | AsymmetricSpec::EccSecgP256k1 => {
                let (signing, alg) = match spec {
                    AsymmetricSpec::EccNistP384 => (
                        &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
                        SigningAlgorithm::EcdsaSha384,
                    ),
                    AsymmetricSpec::EccNistP521 => (
                        &sig::ECDSA_P521_SHA512_ASN1_SIGNING,
                        SigningAlgorithm::EcdsaSha512,
                    ),
                    AsymmetricSpec::EccSecgP256k1 => (
                        &sig::ECDSA_P256K1_SHA256_ASN1_SIGNING,
                        SigningAlgorithm::EcdsaSha256,
                    ),
                    _ => (
                        &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                        SigningAlgorithm::EcdsaSha256,
                    ),
                };
                let pair = EcdsaKeyPair::from_pkcs8(signing, private.expose()).expect("ec pkcs8");
                (
                    Some(alg),
                    pair.sign(&SystemRandom::new(), message)
                        .expect("sign")
                        .as_ref()
                        .to_vec(),
                )
            }
            AsymmetricSpec::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(private.expose()).expect("ed25519 pkcs8");
                (
                    Some(SigningAlgorithm::Ed25519Sha512),
                    pair.sign(message).as_ref().to_vec(),
                )
            }
            AsymmetricSpec::MlDsa44 | AsymmetricSpec::MlDsa65 | AsymmetricSpec::MlDsa87 => {
                let signing = match spec {
                    AsymmetricSpec::MlDsa44 => &sig::ML_DSA_44_SIGNING,
                    AsymmetricSpec::MlDsa87 => &sig::ML_DSA_87_SIGNING,
                    _ => &sig::ML_DSA_65_SIGNING,
                };
                let pair =
                    sig::PqdsaKeyPair::from_pkcs8(signing, private.expose()).expect("ml-dsa pkcs8");
                let mut out = vec![0; signing.signature_len()];
                pair.sign(message, &mut out).expect("sign");
                (Some(SigningAlgorithm::MlDsaShake256), out)
            }
            _ => {
                super::pq::check_ml_kem_data_key_pair(spec, private.expose(), &public);
                (None, Vec::new())
            }
        };
        if let Some(alg) = alg {
            assert!(
                verify_with_public_key(spec, alg, MessageKind::Raw, &public, message, &signature),
                "{spec:?}"
            );
        }
    }
}
