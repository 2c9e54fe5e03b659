//! Ed25519ph (`ED25519_PH_SHA_512`) with AWS KMS's semantics (the 64-byte DIGEST message is hashed
//! once more), checked against ed25519-dalek's `sign_prehashed`/`verify_prehashed` as an
//! independent implementation. The RFC 8032 §7.3 vector itself is a unit test of the digest-level
//! primitive.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use kinko_crypto::{
    AsymmetricSpec, MessageKind, PrivateKey, SigningAlgorithm, verify_with_public_key,
};
use sha2::{Digest, Sha512};

use super::{key, unhex};

const ALG: SigningAlgorithm = SigningAlgorithm::Ed25519PhSha512;

/// RFC 8410 PKCS#8 v1 of a 32-byte Ed25519 seed.
fn pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = unhex("302e020100300506032b657004220420");
    der.extend_from_slice(seed);
    der
}

/// RFC 8032 §7.3's key, through the public API: the 64-byte DIGEST message is the HashEdDSA
/// message (AWS KMS hashes it once more, FIPS 186-5 §7.8.1 step 1), so the signature equals
/// dalek's Ed25519ph of those 64 bytes, not the RFC's signature of "abc".
#[test]
fn rfc8032_key_through_the_kms_semantics() {
    let secret = unhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
    let public = unhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
    let rfc_signature = unhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
         31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
    );
    let digest = Sha512::digest(b"abc");
    let key = PrivateKey::from_stored(AsymmetricSpec::Ed25519, &pkcs8(&secret)).expect("key");
    assert_eq!(&key.public_key_der()[12..], &public[..]);
    let signature = key.sign(ALG, MessageKind::Digest, &digest).expect("sign");
    assert_ne!(signature, rfc_signature, "the digest is hashed once more");
    let dalek = SigningKey::from_bytes(&secret.clone().try_into().expect("32 bytes"));
    let expected = dalek
        .sign_prehashed(Sha512::new_with_prefix(digest), None)
        .expect("dalek sign")
        .to_bytes();
    assert_eq!(signature, expected.to_vec());
    assert!(key.verify(ALG, MessageKind::Digest, &digest, &signature));
    assert!(verify_with_public_key(
        AsymmetricSpec::Ed25519,
        ALG,
        MessageKind::Digest,
        key.public_key_der(),
        &digest,
        &signature
    ));
    // Pure Ed25519 over the same bytes is a different signature.
    assert!(!key.verify(
        SigningAlgorithm::Ed25519Sha512,
        MessageKind::Raw,
        &digest,
        &signature
    ));
    let other = Sha512::digest(b"abd");
    assert!(!key.verify(ALG, MessageKind::Digest, &other, &signature));
}

#[test]
fn dalek_agrees_both_ways() {
    let (stored, key) = key(AsymmetricSpec::Ed25519);
    let seed: [u8; 32] = stored.expose()[16..48].try_into().expect("seed");
    let dalek = SigningKey::from_bytes(&seed);
    let public: VerifyingKey = dalek.verifying_key();
    assert_eq!(&key.public_key_der()[12..], public.as_bytes());
    for message in [&b""[..], b"abc", &[0xa5; 1000]] {
        // The caller's digest is the HashEdDSA message; Kinko hashes it once more.
        let digest = Sha512::digest(message);
        let prehashed = Sha512::new_with_prefix(digest);
        // Ours verifies in dalek.
        let ours = key.sign(ALG, MessageKind::Digest, &digest).expect("sign");
        let ours_sig = Signature::from_slice(&ours).expect("64 bytes");
        assert!(
            public
                .verify_prehashed(prehashed.clone(), None, &ours_sig)
                .is_ok()
        );
        // Dalek's verifies in ours (and equals ours: Ed25519ph is deterministic).
        let theirs = dalek
            .sign_prehashed(prehashed, None)
            .expect("dalek sign")
            .to_bytes();
        assert_eq!(theirs.to_vec(), ours);
        assert!(key.verify(ALG, MessageKind::Digest, &digest, &theirs));
    }
}
