//! Asymmetric, HMAC and post-quantum keys through the official Rust SDK (`aws-sdk-kms`) against
//! the real binary: the SDK's enums for key specs and algorithms, its error types for
//! `KMSInvalidSignatureException` / `KMSInvalidMacException` / `InvalidKeyUsageException`, and
//! signatures and ciphertexts checked with aws-lc-rs outside the server.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use aws_sdk_kms::Client;
use aws_sdk_kms::operation::get_public_key::GetPublicKeyError;
use aws_sdk_kms::operation::sign::SignError;
use aws_sdk_kms::operation::verify::VerifyError;
use aws_sdk_kms::operation::verify_mac::VerifyMacError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType,
    SigningAlgorithmSpec,
};
use common::Server;

async fn create(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let md = kms
        .create_key()
        .key_spec(spec.clone())
        .key_usage(usage.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey {spec:?} {usage:?}: {e:?}"))
        .key_metadata
        .expect("KeyMetadata");
    assert_eq!(md.key_spec(), Some(&spec));
    assert_eq!(md.key_usage(), Some(&usage));
    md.key_id().to_owned()
}

async fn public_key(kms: &Client, key: &str) -> Vec<u8> {
    kms.get_public_key()
        .key_id(key)
        .send()
        .await
        .expect("GetPublicKey")
        .public_key
        .expect("PublicKey")
        .into_inner()
}

async fn sign(kms: &Client, key: &str, alg: SigningAlgorithmSpec, message: &[u8]) -> Vec<u8> {
    kms.sign()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(MessageType::Raw)
        .signing_algorithm(alg)
        .send()
        .await
        .expect("Sign")
        .signature
        .expect("Signature")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asymmetric_and_hmac_keys_through_the_rust_sdk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = Server::start(&dir.path().join("data"), &[], &[], dir.path());
    let kms = server.client();
    let message = b"signed by kinko, checked by aws-lc-rs";

    // ---- ECDSA P-256: DER signature over SHA-256, verified outside with the SPKI --------------
    let p256 = create(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let md = kms
        .describe_key()
        .key_id(&p256)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .expect("KeyMetadata");
    assert_eq!(
        md.signing_algorithms(),
        [SigningAlgorithmSpec::EcdsaSha256].as_slice()
    );
    assert!(md.encryption_algorithms().is_empty());
    let spki = public_key(&kms, &p256).await;
    let sig = sign(&kms, &p256, SigningAlgorithmSpec::EcdsaSha256, message).await;
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &spki)
        .verify(message, &sig)
        .expect("the P-256 signature verifies outside Kinko");
    let ok = kms
        .verify()
        .key_id(&p256)
        .message(Blob::new(message.as_slice()))
        .signature(Blob::new(sig.clone()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("Verify");
    assert!(ok.signature_valid());

    let mut bad = sig.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = kms
        .verify()
        .key_id(&p256)
        .message(Blob::new(message.as_slice()))
        .signature(Blob::new(bad))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect_err("a tampered signature must not verify")
        .into_service_error();
    assert!(
        matches!(err, VerifyError::KmsInvalidSignatureException(_)),
        "tampered signature: {err:?}"
    );

    let err = kms
        .sign()
        .key_id(&p256)
        .message(Blob::new(message.as_slice()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .expect_err("an RSA algorithm on a P-256 key must fail")
        .into_service_error();
    assert!(
        matches!(err, SignError::InvalidKeyUsageException(_)),
        "wrong algorithm: {err:?}"
    );

    // ---- Ed25519 (pure) ------------------------------------------------------------------------
    let ed = create(&kms, KeySpec::EccNistEdwards25519, KeyUsageType::SignVerify).await;
    let spki = public_key(&kms, &ed).await;
    let sig = sign(&kms, &ed, SigningAlgorithmSpec::Ed25519Sha512, message).await;
    assert_eq!(sig.len(), 64);
    // The raw public key is the last 32 bytes of its SPKI.
    UnparsedPublicKey::new(&signature::ED25519, &spki[spki.len() - 32..])
        .verify(message, &sig)
        .expect("the Ed25519 signature verifies outside Kinko");

    // ---- RSA-2048 encryption: OAEP-SHA-256 made outside, decrypted inside ----------------------
    let rsa = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let spki = public_key(&kms, &rsa).await;
    let public = PublicEncryptingKey::from_der(&spki).expect("RSA SPKI");
    let oaep = OaepPublicEncryptingKey::new(public).expect("OAEP key");
    let mut ciphertext = vec![0u8; oaep.ciphertext_size()];
    let ciphertext = oaep
        .encrypt(
            &OAEP_SHA256_MGF1SHA256,
            b"a secret for the RSA key",
            &mut ciphertext,
            None,
        )
        .expect("OAEP encryption outside Kinko")
        .to_vec();
    let out = kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(ciphertext))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .expect("Decrypt with RSAES_OAEP_SHA_256");
    assert_eq!(
        out.plaintext().map(|b| b.as_ref()),
        Some(b"a secret for the RSA key".as_slice())
    );
    assert_eq!(
        out.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::RsaesOaepSha256)
    );

    // ---- HMAC-256 ------------------------------------------------------------------------------
    let hmac = create(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = kms
        .generate_mac()
        .key_id(&hmac)
        .message(Blob::new(message.as_slice()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("GenerateMac")
        .mac
        .expect("Mac")
        .into_inner();
    assert_eq!(mac.len(), 32);
    let valid = kms
        .verify_mac()
        .key_id(&hmac)
        .message(Blob::new(message.as_slice()))
        .mac(Blob::new(mac.clone()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("VerifyMac");
    assert!(valid.mac_valid());
    let err = kms
        .verify_mac()
        .key_id(&hmac)
        .message(Blob::new(b"another message".as_slice()))
        .mac(Blob::new(mac))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect_err("a MAC of another message must not verify")
        .into_service_error();
    assert!(
        matches!(err, VerifyMacError::KmsInvalidMacException(_)),
        "wrong MAC: {err:?}"
    );
    let err = kms
        .get_public_key()
        .key_id(&hmac)
        .send()
        .await
        .expect_err("an HMAC key has no public key")
        .into_service_error();
    assert!(
        matches!(err, GetPublicKeyError::UnsupportedOperationException(_)),
        "GetPublicKey on HMAC: {err:?}"
    );

    // ---- ML-DSA-65 -----------------------------------------------------------------------------
    let mldsa = create(&kms, KeySpec::MlDsa65, KeyUsageType::SignVerify).await;
    let spki = public_key(&kms, &mldsa).await;
    let sig = sign(&kms, &mldsa, SigningAlgorithmSpec::MlDsaShake256, message).await;
    assert_eq!(sig.len(), 3309);
    UnparsedPublicKey::new(&signature::ML_DSA_65, &spki)
        .verify(message, &sig)
        .expect("the ML-DSA-65 signature verifies outside Kinko");

    // ---- A P-256 data key pair under a symmetric key -------------------------------------------
    let wrapping = kms
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("KeyMetadata")
        .key_id()
        .to_owned();
    let pair = kms
        .generate_data_key_pair()
        .key_id(&wrapping)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .expect("GenerateDataKeyPair");
    let pkcs8 = pair.private_key_plaintext().expect("PrivateKeyPlaintext");
    let spki = pair.public_key().expect("PublicKey");
    let private = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
    )
    .expect("the private key is PKCS#8");
    #[allow(clippy::disallowed_types)] // signs outside Kinko, as a client would
    let sig = private
        .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
        .expect("signing with the data key pair");
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, spki.as_ref())
        .verify(message, sig.as_ref())
        .expect("the halves of the data key pair match");
    let opened = kms
        .decrypt()
        .ciphertext_blob(
            pair.private_key_ciphertext_blob()
                .expect("PrivateKeyCiphertextBlob")
                .clone(),
        )
        .send()
        .await
        .expect("Decrypt of the wrapped private key");
    assert_eq!(opened.plaintext().map(|b| b.as_ref()), Some(pkcs8.as_ref()));

    server.stop();
}
