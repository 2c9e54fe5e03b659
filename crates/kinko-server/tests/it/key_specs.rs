//! Every key spec × key usage through the HTTP surface: which pairs CreateKey accepts, the
//! algorithm lists of KeyMetadata and GetPublicKey, and the error code of each misuse
//! (`kms-reference.md` §3). Interoperability with outside libraries is the end-to-end suites' job.

use serde_json::{Value, json};

use crate::harness::{Kinko, b64, str_at, unb64};

/// (KeySpec, KeyUsage, the one algorithm list KeyMetadata must carry, its values).
const MATRIX: &[(&str, &str, &str, &[&str])] = &[
    (
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
        "EncryptionAlgorithms",
        &["SYMMETRIC_DEFAULT"],
    ),
    (
        "RSA_2048",
        "ENCRYPT_DECRYPT",
        "EncryptionAlgorithms",
        &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
    ),
    (
        "RSA_3072",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &[
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
        ],
    ),
    (
        "ECC_NIST_P256",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ECDSA_SHA_256"],
    ),
    (
        "ECC_NIST_P384",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ECDSA_SHA_384"],
    ),
    (
        "ECC_NIST_P521",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ECDSA_SHA_512"],
    ),
    (
        "ECC_NIST_P256",
        "KEY_AGREEMENT",
        "KeyAgreementAlgorithms",
        &["ECDH"],
    ),
    (
        "ECC_NIST_P521",
        "KEY_AGREEMENT",
        "KeyAgreementAlgorithms",
        &["ECDH"],
    ),
    (
        "ECC_SECG_P256K1",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ECDSA_SHA_256"],
    ),
    (
        "ECC_NIST_EDWARDS25519",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ED25519_SHA_512", "ED25519_PH_SHA_512"],
    ),
    (
        "ML_DSA_44",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ML_DSA_SHAKE_256"],
    ),
    (
        "ML_DSA_87",
        "SIGN_VERIFY",
        "SigningAlgorithms",
        &["ML_DSA_SHAKE_256"],
    ),
    (
        "HMAC_224",
        "GENERATE_VERIFY_MAC",
        "MacAlgorithms",
        &["HMAC_SHA_224"],
    ),
    (
        "HMAC_512",
        "GENERATE_VERIFY_MAC",
        "MacAlgorithms",
        &["HMAC_SHA_512"],
    ),
    (
        "ML_KEM_768",
        "ENCAPSULATE_DECAPSULATE",
        "EncapsulationAlgorithms",
        &["ML_KEM"],
    ),
];

const LISTS: &[&str] = &[
    "EncryptionAlgorithms",
    "SigningAlgorithms",
    "MacAlgorithms",
    "KeyAgreementAlgorithms",
    "EncapsulationAlgorithms",
];

async fn create(kinko: &Kinko, spec: &str, usage: &str) -> Value {
    kinko
        .ok("CreateKey", json!({"KeySpec": spec, "KeyUsage": usage}))
        .await["KeyMetadata"]
        .clone()
}

#[tokio::test]
async fn key_metadata_lists_exactly_the_algorithms_of_the_usage() {
    let kinko = Kinko::start().await;
    for (spec, usage, list, algorithms) in MATRIX {
        let md = create(&kinko, spec, usage).await;
        assert_eq!(str_at(&md, "/KeySpec"), *spec);
        assert_eq!(str_at(&md, "/KeyUsage"), *usage);
        for other in LISTS {
            if other == list {
                let got: Vec<&str> = md[other]
                    .as_array()
                    .unwrap_or_else(|| panic!("{spec}/{usage}: {other} missing: {md}"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(&got, algorithms, "{spec}/{usage} {other}");
            } else {
                assert!(md.get(other).is_none(), "{spec}/{usage} has {other}: {md}");
            }
        }
        let legacy = md.get("CustomerMasterKeySpec").and_then(Value::as_str);
        let new_specs = ["ECC_NIST_EDWARDS25519", "ML_DSA", "ML_KEM"];
        if new_specs.iter().any(|p| spec.starts_with(p)) {
            assert_eq!(
                legacy, None,
                "{spec}: no CustomerMasterKeySpec value exists"
            );
        } else {
            assert_eq!(legacy, Some(*spec), "{spec}: CustomerMasterKeySpec");
        }
        let key_id = str_at(&md, "/KeyId").to_owned();
        let (status, body, _) = kinko.check("GetPublicKey", json!({"KeyId": key_id})).await;
        let asymmetric = !spec.starts_with("HMAC") && *spec != "SYMMETRIC_DEFAULT";
        if asymmetric {
            assert_eq!(status, 200, "GetPublicKey {spec}: {body}");
            assert!(!unb64(str_at(&body, "/PublicKey")).is_empty());
            assert_eq!(body[*list], md[*list], "GetPublicKey {spec} lists");
            assert_eq!(str_at(&body, "/KeySpec"), *spec);
        } else {
            assert_eq!(status, 400, "GetPublicKey {spec}: {body}");
            assert_eq!(str_at(&body, "/__type"), "UnsupportedOperationException");
        }
    }
}

#[tokio::test]
async fn usages_a_spec_does_not_allow_are_refused() {
    let kinko = Kinko::start().await;
    for (spec, usage) in [
        ("RSA_2048", "GENERATE_VERIFY_MAC"),
        ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
        ("ML_DSA_65", "ENCRYPT_DECRYPT"),
        ("HMAC_256", "SIGN_VERIFY"),
        ("ML_KEM_512", "SIGN_VERIFY"),
    ] {
        let message = kinko
            .fails(
                "CreateKey",
                json!({"KeySpec": spec, "KeyUsage": usage}),
                "ValidationException",
            )
            .await;
        assert!(message.contains(spec), "{spec}/{usage}: {message}");
    }
    kinko
        .fails(
            "CreateKey",
            json!({"KeySpec": "ECC_NIST_P256"}),
            "ValidationException",
        )
        .await;
}

#[tokio::test]
async fn sign_and_verify_errors_are_the_ones_aws_gives() {
    let kinko = Kinko::start().await;
    let md = create(&kinko, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let key = str_at(&md, "/KeyId").to_owned();
    let sign = |message: &[u8], message_type: &str, algorithm: &str| {
        json!({"KeyId": key, "Message": b64(message), "MessageType": message_type,
               "SigningAlgorithm": algorithm})
    };

    let signed = kinko
        .ok("Sign", sign(b"hello", "RAW", "ECDSA_SHA_256"))
        .await;
    let signature = str_at(&signed, "/Signature").to_owned();
    assert_eq!(unb64(&signature)[0], 0x30, "ECDSA signatures are DER");
    let mut verify = sign(b"hello", "RAW", "ECDSA_SHA_256");
    verify["Signature"] = json!(signature);
    let verified = kinko.ok("Verify", verify.clone()).await;
    assert_eq!(verified["SignatureValid"], json!(true));

    verify["Message"] = json!(b64(b"hellO"));
    kinko
        .fails("Verify", verify, "KMSInvalidSignatureException")
        .await;
    kinko
        .fails(
            "Sign",
            sign(b"hello", "RAW", "ECDSA_SHA_384"),
            "InvalidKeyUsageException",
        )
        .await;
    kinko
        .fails(
            "Sign",
            sign(&[0; 31], "DIGEST", "ECDSA_SHA_256"),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "Sign",
            sign(&[0; 64], "EXTERNAL_MU", "ECDSA_SHA_256"),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "Sign",
            sign(&[0; 4097], "RAW", "ECDSA_SHA_256"),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "Sign",
            sign(b"hello", "RAW", "NOT_AN_ALGORITHM"),
            "ValidationException",
        )
        .await;
    // A symmetric key does not sign.
    let symmetric = kinko.create_key().await;
    kinko
        .fails(
            "Sign",
            json!({"KeyId": symmetric, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}),
            "InvalidKeyUsageException",
        )
        .await;
    // A signing key does not encrypt.
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"m")}),
            "InvalidKeyUsageException",
        )
        .await;
    // Disabled keys do not sign.
    kinko.ok("DisableKey", json!({"KeyId": key})).await;
    kinko
        .fails(
            "Sign",
            sign(b"hello", "RAW", "ECDSA_SHA_256"),
            "DisabledException",
        )
        .await;
}

#[tokio::test]
async fn ed25519_message_types_are_fixed_per_algorithm() {
    let kinko = Kinko::start().await;
    let md = create(&kinko, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let key = str_at(&md, "/KeyId").to_owned();
    for (message_type, algorithm, len, ok) in [
        ("RAW", "ED25519_SHA_512", 10, true),
        ("DIGEST", "ED25519_SHA_512", 64, false),
        ("DIGEST", "ED25519_PH_SHA_512", 64, true),
        ("RAW", "ED25519_PH_SHA_512", 64, false),
        ("DIGEST", "ED25519_PH_SHA_512", 32, false),
    ] {
        let body = json!({"KeyId": key, "Message": b64(&vec![7; len]),
                          "MessageType": message_type, "SigningAlgorithm": algorithm});
        if ok {
            let signed = kinko.ok("Sign", body.clone()).await;
            assert_eq!(unb64(str_at(&signed, "/Signature")).len(), 64);
        } else {
            kinko.fails("Sign", body, "ValidationException").await;
        }
    }
}

#[tokio::test]
async fn rsa_encryption_limits_and_context() {
    let kinko = Kinko::start().await;
    let md = create(&kinko, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let key = str_at(&md, "/KeyId").to_owned();
    for (algorithm, max) in [("RSAES_OAEP_SHA_1", 214), ("RSAES_OAEP_SHA_256", 190)] {
        let encrypted = kinko
            .ok(
                "Encrypt",
                json!({"KeyId": key, "Plaintext": b64(&vec![1; max]), "EncryptionAlgorithm": algorithm}),
            )
            .await;
        let blob = str_at(&encrypted, "/CiphertextBlob").to_owned();
        assert_eq!(
            unb64(&blob).len(),
            256,
            "RSA-2048 ciphertexts are 256 bytes"
        );
        let decrypted = kinko
            .ok(
                "Decrypt",
                json!({"KeyId": key, "CiphertextBlob": blob, "EncryptionAlgorithm": algorithm}),
            )
            .await;
        assert_eq!(unb64(str_at(&decrypted, "/Plaintext")), vec![1; max]);
        assert!(decrypted.get("KeyMaterialId").is_none());
        kinko
            .fails(
                "Encrypt",
                json!({"KeyId": key, "Plaintext": b64(&vec![1; max + 1]), "EncryptionAlgorithm": algorithm}),
                "ValidationException",
            )
            .await;
    }
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x")}),
            "InvalidKeyUsageException",
        )
        .await;
    assert_eq!(
        message,
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    );
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1",
                   "EncryptionContext": {"a": "b"}}),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key, "CiphertextBlob": b64(&[9; 256]), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
            "InvalidCiphertextException",
        )
        .await;
}

#[tokio::test]
async fn hmac_and_kem_and_agreement_errors() {
    let kinko = Kinko::start().await;
    let hmac = str_at(
        &create(&kinko, "HMAC_384", "GENERATE_VERIFY_MAC").await,
        "/KeyId",
    )
    .to_owned();
    let mac = kinko
        .ok(
            "GenerateMac",
            json!({"KeyId": hmac, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_384"}),
        )
        .await;
    let tag = str_at(&mac, "/Mac").to_owned();
    assert_eq!(unb64(&tag).len(), 48);
    kinko
        .fails(
            "GenerateMac",
            json!({"KeyId": hmac, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
            "InvalidKeyUsageException",
        )
        .await;
    kinko
        .fails(
            "VerifyMac",
            json!({"KeyId": hmac, "Message": b64(b"n"), "MacAlgorithm": "HMAC_SHA_384", "Mac": tag}),
            "KMSInvalidMacException",
        )
        .await;

    let kem = str_at(
        &create(&kinko, "ML_KEM_512", "ENCAPSULATE_DECAPSULATE").await,
        "/KeyId",
    )
    .to_owned();
    let encapsulated = kinko
        .ok(
            "Encapsulate",
            json!({"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM"}),
        )
        .await;
    let ciphertext = unb64(str_at(&encapsulated, "/SharedSecretCiphertextBlob"));
    assert_eq!(ciphertext.len(), 768);
    let secret = str_at(&encapsulated, "/SharedSecret").to_owned();
    let decapsulated = kinko
        .ok(
            "Decapsulate",
            json!({"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM",
                   "SharedSecretCiphertextBlob": b64(&ciphertext)}),
        )
        .await;
    assert_eq!(str_at(&decapsulated, "/SharedSecret"), secret);
    let mut flipped = ciphertext.clone();
    flipped[5] ^= 1;
    let rejected = kinko
        .ok(
            "Decapsulate",
            json!({"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM",
                   "SharedSecretCiphertextBlob": b64(&flipped)}),
        )
        .await;
    let implicit = unb64(str_at(&rejected, "/SharedSecret"));
    assert_eq!(
        implicit.len(),
        32,
        "implicit rejection still answers 32 bytes"
    );
    assert_ne!(str_at(&rejected, "/SharedSecret"), secret);
    kinko
        .fails(
            "Decapsulate",
            json!({"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM",
                   "SharedSecretCiphertextBlob": b64(&ciphertext[..700])}),
            "InvalidCiphertextException",
        )
        .await;

    let ecdh = str_at(
        &create(&kinko, "ECC_NIST_P256", "KEY_AGREEMENT").await,
        "/KeyId",
    )
    .to_owned();
    kinko
        .fails(
            "DeriveSharedSecret",
            json!({"KeyId": ecdh, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64(b"not a key")}),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "Sign",
            json!({"KeyId": ecdh, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}),
            "InvalidKeyUsageException",
        )
        .await;

    let symmetric = kinko.create_key().await;
    let pair = kinko
        .ok(
            "GenerateDataKeyPairWithoutPlaintext",
            json!({"KeyId": symmetric, "KeyPairSpec": "ECC_NIST_P384"}),
        )
        .await;
    assert!(pair.get("PrivateKeyPlaintext").is_none());
    assert_eq!(str_at(&pair, "/KeyPairSpec"), "ECC_NIST_P384");
    let opened = kinko
        .ok(
            "Decrypt",
            json!({"CiphertextBlob": str_at(&pair, "/PrivateKeyCiphertextBlob")}),
        )
        .await;
    assert!(!unb64(str_at(&opened, "/Plaintext")).is_empty());
    kinko
        .fails(
            "GenerateDataKeyPair",
            json!({"KeyId": hmac, "KeyPairSpec": "ECC_NIST_P256"}),
            "InvalidKeyUsageException",
        )
        .await;
    kinko
        .fails(
            "GenerateDataKeyPair",
            json!({"KeyId": symmetric, "KeyPairSpec": "SM2"}),
            "UnsupportedOperationException",
        )
        .await;
}
