//! ML-DSA and ML-KEM checked against RustCrypto's independent implementations: the same public
//! key from the same seed, signatures and encapsulations accepted in both directions, and our
//! seed-form PKCS#8 and SPKI parsed by `ml-kem`'s own DER code.

use kinko_crypto::{
    AsymmetricSpec, MessageKind, PrivateKey, SigningAlgorithm, random_array, verify_with_public_key,
};
use ml_dsa::{
    EncodedVerifyingKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, SigningKey, VerifyingKey,
};
use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ml_kem::{DecapsulationKey, EncapsulationKey, MlKem512, MlKem768, MlKem1024};
use sha2::digest::Update;

use super::key;

/// Length of the raw ML-DSA public key of `spec`.
fn ml_dsa_public_len(spec: AsymmetricSpec) -> usize {
    match spec {
        AsymmetricSpec::MlDsa44 => 1312,
        AsymmetricSpec::MlDsa87 => 2592,
        _ => 1952,
    }
}

fn mu_generic<P: MlDsaParams>(public_key: &[u8], message: &[u8]) -> Vec<u8> {
    let encoded = EncodedVerifyingKey::<P>::try_from(public_key).expect("public key length");
    let vk = VerifyingKey::<P>::decode(&encoded);
    let mu = vk
        .compute_mu(
            |h| {
                h.update(message);
                Ok(())
            },
            b"",
        )
        .expect("mu");
    mu.to_vec()
}

/// μ (FIPS 204 §6.2, empty context) of `message` for the ML-DSA key in `spki`.
pub(crate) fn mu(spec: AsymmetricSpec, spki: &[u8], message: &[u8]) -> Vec<u8> {
    let public = &spki[spki.len() - ml_dsa_public_len(spec)..];
    match spec {
        AsymmetricSpec::MlDsa44 => mu_generic::<MlDsa44>(public, message),
        AsymmetricSpec::MlDsa87 => mu_generic::<MlDsa87>(public, message),
        _ => mu_generic::<MlDsa65>(public, message),
    }
}

fn ml_dsa_cross_check<P: MlDsaParams>(spec: AsymmetricSpec) {
    let (stored, ours) = key(spec);
    // The seed is the last 32 bytes of the seed-form PKCS#8.
    let seed = &stored.expose()[stored.len() - 32..];
    let theirs = SigningKey::<P>::from_seed(&ml_dsa::B32::try_from(seed).expect("32 bytes"));
    let vk: &VerifyingKey<P> = theirs.as_ref();
    let spki = ours.public_key_der();
    assert_eq!(
        &spki[spki.len() - ml_dsa_public_len(spec)..],
        &vk.encode()[..],
        "{spec:?}: same public key from the same seed"
    );
    let alg = SigningAlgorithm::MlDsaShake256;
    for message in [&b""[..], b"abc", &[7u8; 4096]] {
        // aws-lc-rs signature (RAW) verifies in ml-dsa.
        let signature = ours.sign(alg, MessageKind::Raw, message).expect("sign");
        let parsed = ml_dsa::Signature::<P>::try_from(&signature[..]).expect("signature");
        assert!(vk.verify_with_context(message, b"", &parsed), "{spec:?}");
        // ml-dsa signature verifies in ours, as RAW and as EXTERNAL_MU.
        let theirs_sig = theirs
            .expanded_key()
            .sign_deterministic(message, b"")
            .expect("sign");
        let bytes = theirs_sig.encode().to_vec();
        assert!(
            ours.verify(alg, MessageKind::Raw, message, &bytes),
            "{spec:?}"
        );
        let mu = mu(spec, spki, message);
        assert!(
            ours.verify(alg, MessageKind::ExternalMu, &mu, &bytes),
            "{spec:?}"
        );
        assert!(verify_with_public_key(
            spec,
            alg,
            MessageKind::ExternalMu,
            spki,
            &mu,
            &bytes
        ));
        // Our μ signature verifies in ml-dsa as a signature of the message.
        let mu_sig = ours
            .sign(alg, MessageKind::ExternalMu, &mu)
            .expect("sign mu");
        let parsed = ml_dsa::Signature::<P>::try_from(&mu_sig[..]).expect("signature");
        assert!(vk.verify_with_context(message, b"", &parsed), "{spec:?}");
        // A signature with a non-empty context is not ours.
        let ctx_sig = theirs
            .expanded_key()
            .sign_deterministic(message, b"ctx")
            .expect("sign")
            .encode()
            .to_vec();
        assert!(!ours.verify(alg, MessageKind::Raw, message, &ctx_sig));
    }
}

#[test]
fn ml_dsa_agrees_with_rustcrypto() {
    ml_dsa_cross_check::<MlDsa44>(AsymmetricSpec::MlDsa44);
    ml_dsa_cross_check::<MlDsa65>(AsymmetricSpec::MlDsa65);
    ml_dsa_cross_check::<MlDsa87>(AsymmetricSpec::MlDsa87);
}

/// One parameter set of the ML-KEM cross-check (a macro: `ml-kem`'s parameter bounds are private).
macro_rules! ml_kem_cross_check {
    ($p:ty, $spec:expr, $stored:expr, $spki:expr) => {{
        let (spec, stored, spki): (AsymmetricSpec, &[u8], &[u8]) = ($spec, $stored, $spki);
        let ours = PrivateKey::from_stored(spec, stored).expect("parse");
        assert_eq!(ours.public_key_der(), spki);
        // RustCrypto reads our seed-form PKCS#8 and our SPKI, and writes the same bytes back.
        let dk = DecapsulationKey::<$p>::from_pkcs8_der(stored).expect("ml-kem reads our PKCS#8");
        let ek = EncapsulationKey::<$p>::from_public_key_der(spki).expect("ml-kem reads our SPKI");
        assert_eq!(
            dk.to_pkcs8_der().expect("encode").as_bytes(),
            stored,
            "{spec:?}"
        );
        assert_eq!(
            ek.to_public_key_der().expect("encode").as_bytes(),
            spki,
            "{spec:?}"
        );
        assert_eq!(dk.encapsulation_key().to_bytes(), ek.to_bytes());
        for _ in 0..4 {
            // RustCrypto encapsulates, we decapsulate.
            let m = ml_kem::B32::from(random_array::<32>().expect("rng"));
            let (ct, k) = ek.encapsulate_deterministic(&m);
            let shared = ours.decapsulate(ct.as_ref()).expect("decapsulate");
            assert_eq!(shared.expose(), &k[..], "{spec:?}");
            // We encapsulate, RustCrypto decapsulates.
            let (ct, shared) = ours.encapsulate().expect("encapsulate");
            let k = dk.decapsulate_slice(&ct).expect("ciphertext length");
            assert_eq!(shared.expose(), &k[..], "{spec:?}");
            // Implicit rejection agrees too.
            let mut bad = ct.clone();
            bad[5] ^= 0x40;
            let rejected = ours.decapsulate(&bad).expect("implicit rejection");
            let theirs = dk.decapsulate_slice(&bad).expect("length");
            assert_eq!(rejected.expose(), &theirs[..], "{spec:?}");
        }
    }};
}

/// The ML-KEM half of the data-key-pair test: RustCrypto reads both halves and they match.
pub(crate) fn check_ml_kem_data_key_pair(spec: AsymmetricSpec, stored: &[u8], spki: &[u8]) {
    match spec {
        AsymmetricSpec::MlKem512 => ml_kem_cross_check!(MlKem512, spec, stored, spki),
        AsymmetricSpec::MlKem768 => ml_kem_cross_check!(MlKem768, spec, stored, spki),
        _ => ml_kem_cross_check!(MlKem1024, spec, stored, spki),
    }
}

#[test]
fn ml_kem_agrees_with_rustcrypto() {
    for spec in [
        AsymmetricSpec::MlKem512,
        AsymmetricSpec::MlKem768,
        AsymmetricSpec::MlKem1024,
    ] {
        let (stored, ours) = key(spec);
        check_ml_kem_data_key_pair(spec, stored.expose(), ours.public_key_der());
    }
}
