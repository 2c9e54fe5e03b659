//! Key lifecycle through the HTTP surface with the test clock: automatic and on-demand rotation
//! (old ciphertexts keep decrypting), deletion at the end of the waiting period, imported
//! material (import, reimport, wrong material, expiry) and the errors of each.

use serde_json::{Value, json};

use crate::harness::{Kinko, b64, str_at, unb64};

const DAY_MS: i64 = 86_400_000;

async fn encrypt(kinko: &Kinko, key: &str, plaintext: &[u8]) -> String {
    let out = kinko
        .ok(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(plaintext)}),
        )
        .await;
    str_at(&out, "/CiphertextBlob").to_owned()
}

async fn decrypt(kinko: &Kinko, blob: &str) -> Value {
    kinko.ok("Decrypt", json!({"CiphertextBlob": blob})).await
}

async fn current_material(kinko: &Kinko, key: &str) -> String {
    let md = kinko.ok("DescribeKey", json!({"KeyId": key})).await;
    str_at(&md, "/KeyMetadata/CurrentKeyMaterialId").to_owned()
}

#[tokio::test]
async fn automatic_rotation_keeps_every_old_ciphertext() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    kinko
        .ok(
            "EnableKeyRotation",
            json!({"KeyId": key, "RotationPeriodInDays": 90}),
        )
        .await;
    let status = kinko
        .ok("GetKeyRotationStatus", json!({"KeyId": key}))
        .await;
    assert_eq!(status["KeyRotationEnabled"], json!(true));
    assert_eq!(status["RotationPeriodInDays"], json!(90));
    let next = status["NextRotationDate"]
        .as_f64()
        .expect("NextRotationDate");
    assert_eq!(
        next,
        (kinko.clock.now_secs() + 90 * 86_400) as f64,
        "90 days from now"
    );

    let mut sealed = Vec::new();
    for round in 0..4u8 {
        let material = current_material(&kinko, &key).await;
        sealed.push((encrypt(&kinko, &key, &[round; 20]).await, material, round));
        kinko.clock.advance(91 * DAY_MS);
        let report = kinko.run_jobs().await;
        assert_eq!(report.rotated.len(), 1, "round {round}: {report:?}");
        assert_ne!(
            current_material(&kinko, &key).await,
            sealed[usize::from(round)].1
        );
    }
    // A second pass right away has nothing to do.
    assert!(kinko.run_jobs().await.rotated.is_empty());
    for (blob, material, round) in &sealed {
        let out = decrypt(&kinko, blob).await;
        assert_eq!(unb64(str_at(&out, "/Plaintext")), vec![*round; 20]);
        assert_eq!(str_at(&out, "/KeyMaterialId"), material);
    }
    let rotations = kinko.ok("ListKeyRotations", json!({"KeyId": key})).await;
    let entries = rotations["Rotations"].as_array().expect("Rotations");
    assert_eq!(entries.len(), 4);
    assert!(
        entries
            .iter()
            .all(|e| e["RotationType"] == json!("AUTOMATIC"))
    );
    let all = kinko
        .ok(
            "ListKeyRotations",
            json!({"KeyId": key, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}),
        )
        .await;
    assert_eq!(all["Rotations"].as_array().map(Vec::len), Some(5));
    // ReEncrypt moves the oldest ciphertext to the current material.
    let moved = kinko
        .ok(
            "ReEncrypt",
            json!({"CiphertextBlob": sealed[0].0, "DestinationKeyId": key}),
        )
        .await;
    assert_eq!(
        str_at(&moved, "/DestinationKeyMaterialId"),
        current_material(&kinko, &key).await
    );
    assert_eq!(str_at(&moved, "/SourceKeyMaterialId"), sealed[0].1);

    // A disabled key does not rotate; re-enabled after missing its date, it rotates at once.
    kinko.ok("DisableKey", json!({"KeyId": key})).await;
    kinko.clock.advance(200 * DAY_MS);
    assert!(kinko.run_jobs().await.rotated.is_empty());
    kinko.ok("EnableKey", json!({"KeyId": key})).await;
    assert_eq!(kinko.run_jobs().await.rotated.len(), 1);

    kinko.ok("DisableKeyRotation", json!({"KeyId": key})).await;
    let status = kinko
        .ok("GetKeyRotationStatus", json!({"KeyId": key}))
        .await;
    assert_eq!(status["KeyRotationEnabled"], json!(false));
    assert!(status.get("NextRotationDate").is_none());
}

#[tokio::test]
async fn rotation_errors() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    for days in [89, 2561] {
        kinko
            .fails(
                "EnableKeyRotation",
                json!({"KeyId": key, "RotationPeriodInDays": days}),
                "ValidationException",
            )
            .await;
    }
    let rsa = kinko
        .ok(
            "CreateKey",
            json!({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}),
        )
        .await;
    let rsa = str_at(&rsa, "/KeyMetadata/KeyId").to_owned();
    for op in ["EnableKeyRotation", "RotateKeyOnDemand"] {
        kinko
            .fails(op, json!({"KeyId": rsa}), "UnsupportedOperationException")
            .await;
    }
    // As AWS answers since 2025: an asymmetric key's rotation status is "not enabled".
    let status = kinko
        .ok("GetKeyRotationStatus", json!({"KeyId": rsa}))
        .await;
    assert_eq!(status["KeyRotationEnabled"], json!(false));
    assert!(status.get("RotationPeriodInDays").is_none());
    // Aliases are not accepted by the rotation operations.
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/rotating", "TargetKeyId": key}),
        )
        .await;
    kinko
        .fails(
            "EnableKeyRotation",
            json!({"KeyId": "alias/rotating"}),
            "NotFoundException",
        )
        .await;

    let first = current_material(&kinko, &key).await;
    let blob = encrypt(&kinko, &key, b"before").await;
    for n in 0..25 {
        kinko.ok("RotateKeyOnDemand", json!({"KeyId": key})).await;
        assert_ne!(current_material(&kinko, &key).await, first, "rotation {n}");
    }
    let message = kinko
        .fails(
            "RotateKeyOnDemand",
            json!({"KeyId": key}),
            "LimitExceededException",
        )
        .await;
    assert!(message.contains("25"), "{message}");
    assert_eq!(
        unb64(str_at(&decrypt(&kinko, &blob).await, "/Plaintext")),
        b"before"
    );
    let page = kinko
        .ok("ListKeyRotations", json!({"KeyId": key, "Limit": 10}))
        .await;
    assert_eq!(page["Rotations"].as_array().map(Vec::len), Some(10));
    assert_eq!(page["Truncated"], json!(true));
    assert_eq!(page["Rotations"][0]["RotationType"], json!("ON_DEMAND"));

    // An automatic rotation due within 20 minutes blocks an on-demand one.
    let other = kinko.create_key().await;
    kinko
        .ok(
            "EnableKeyRotation",
            json!({"KeyId": other, "RotationPeriodInDays": 90}),
        )
        .await;
    kinko.clock.advance(90 * DAY_MS - 10 * 60_000);
    kinko
        .fails(
            "RotateKeyOnDemand",
            json!({"KeyId": other}),
            "ConflictException",
        )
        .await;

    kinko.ok("DisableKey", json!({"KeyId": other})).await;
    kinko
        .fails(
            "EnableKeyRotation",
            json!({"KeyId": other}),
            "DisabledException",
        )
        .await;
}

#[tokio::test]
async fn deletion_happens_once_at_the_end_of_the_window() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    let keep = kinko.create_key().await;
    let blob = encrypt(&kinko, &key, b"doomed").await;
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/doomed", "TargetKeyId": key}),
        )
        .await;
    kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": key, "PendingWindowInDays": 7}),
        )
        .await;
    kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": keep, "PendingWindowInDays": 7}),
        )
        .await;
    kinko.ok("CancelKeyDeletion", json!({"KeyId": keep})).await;

    kinko.clock.advance(6 * DAY_MS);
    assert!(kinko.run_jobs().await.deleted.is_empty());
    let md = kinko.ok("DescribeKey", json!({"KeyId": key})).await;
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "PendingDeletion");

    kinko.clock.advance(DAY_MS + 1_000);
    let report = kinko.run_jobs().await;
    assert_eq!(report.deleted.len(), 1, "{report:?}");
    assert!(report.deleted[0].to_string().ends_with(&key));
    kinko
        .fails("DescribeKey", json!({"KeyId": key}), "NotFoundException")
        .await;
    kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": "alias/doomed"}),
            "NotFoundException",
        )
        .await;
    let aliases = kinko.ok("ListAliases", json!({})).await;
    assert!(
        !aliases.to_string().contains("alias/doomed"),
        "the alias went with the key: {aliases}"
    );
    let (status, body, _) = kinko
        .check("Decrypt", json!({"CiphertextBlob": blob}))
        .await;
    assert_eq!(status, 400);
    assert!(body.get("Plaintext").is_none());
    assert!(kinko.run_jobs().await.deleted.is_empty(), "deleted once");
    // The cancelled key survives, Disabled.
    let md = kinko.ok("DescribeKey", json!({"KeyId": keep})).await;
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "Disabled");
}

/// Imports `material` into external key `key` with a fresh wrapping key.
async fn import(kinko: &Kinko, key: &str, material: &[u8], extra: Value) -> Value {
    let params = kinko
        .ok(
            "GetParametersForImport",
            json!({"KeyId": key, "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256",
                   "WrappingKeySpec": "RSA_2048"}),
        )
        .await;
    let spki = unb64(str_at(&params, "/PublicKey"));
    let wrapped = kinko_crypto::wrap_key_material(
        &spki,
        kinko_crypto::WrappingAlgorithm::RsaAesKeyWrapSha256,
        material,
    )
    .expect("wrap the material");
    let mut body = json!({"KeyId": key, "ImportToken": str_at(&params, "/ImportToken"),
                          "EncryptedKeyMaterial": b64(&wrapped)});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

#[tokio::test]
async fn imported_material_round_trips_and_expires() {
    let kinko = Kinko::start().await;
    let md = kinko.ok("CreateKey", json!({"Origin": "EXTERNAL"})).await;
    let key = str_at(&md, "/KeyMetadata/KeyId").to_owned();
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "PendingImport");
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x")}),
            "KMSInvalidStateException",
        )
        .await;
    let material = [7u8; 32];
    let body = import(
        &kinko,
        &key,
        &material,
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    kinko.ok("ImportKeyMaterial", body).await;
    let md = kinko.ok("DescribeKey", json!({"KeyId": key})).await;
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "Enabled");
    assert_eq!(
        str_at(&md, "/KeyMetadata/ExpirationModel"),
        "KEY_MATERIAL_DOES_NOT_EXPIRE"
    );
    let blob = encrypt(&kinko, &key, b"imported").await;

    // Delete, and the key waits for its material again; the same material brings it back.
    kinko
        .ok("DeleteImportedKeyMaterial", json!({"KeyId": key}))
        .await;
    let md = kinko.ok("DescribeKey", json!({"KeyId": key})).await;
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "PendingImport");
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": blob}),
            "KMSInvalidStateException",
        )
        .await;
    let other = import(
        &kinko,
        &key,
        &[8u8; 32],
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    kinko
        .fails("ImportKeyMaterial", other, "IncorrectKeyMaterialException")
        .await;
    let valid_to = (kinko.clock.now_secs() + 2 * 86_400) as f64;
    let again = import(&kinko, &key, &material, json!({"ValidTo": valid_to})).await;
    kinko.ok("ImportKeyMaterial", again).await;
    assert_eq!(
        unb64(str_at(&decrypt(&kinko, &blob).await, "/Plaintext")),
        b"imported"
    );

    // Expiry: two days on, the material is gone.
    kinko.clock.advance(3 * DAY_MS);
    let report = kinko.run_jobs().await;
    assert_eq!(report.expired.len(), 1, "{report:?}");
    let md = kinko.ok("DescribeKey", json!({"KeyId": key})).await;
    assert_eq!(str_at(&md, "/KeyMetadata/KeyState"), "PendingImport");

    // Wrong sizes, bad tokens, tampering, old tokens.
    let short = import(
        &kinko,
        &key,
        &[1u8; 16],
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    kinko
        .fails("ImportKeyMaterial", short, "IncorrectKeyMaterialException")
        .await;
    let mut tampered = import(
        &kinko,
        &key,
        &material,
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    let mut bytes = unb64(str_at(&tampered, "/EncryptedKeyMaterial"));
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    tampered["EncryptedKeyMaterial"] = json!(b64(&bytes));
    kinko
        .fails("ImportKeyMaterial", tampered, "InvalidCiphertextException")
        .await;
    let no_valid_to = import(&kinko, &key, &material, json!({})).await;
    kinko
        .fails("ImportKeyMaterial", no_valid_to, "ValidationException")
        .await;
    let stale = import(
        &kinko,
        &key,
        &material,
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    kinko.clock.advance(25 * 3_600_000);
    kinko
        .fails("ImportKeyMaterial", stale, "ExpiredImportTokenException")
        .await;
    let second = kinko.ok("CreateKey", json!({"Origin": "EXTERNAL"})).await;
    let second = str_at(&second, "/KeyMetadata/KeyId").to_owned();
    let mut foreign = import(
        &kinko,
        &key,
        &material,
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    foreign["KeyId"] = json!(second);
    kinko
        .fails("ImportKeyMaterial", foreign, "InvalidImportTokenException")
        .await;
    let generated = kinko.create_key().await;
    kinko
        .fails(
            "GetParametersForImport",
            json!({"KeyId": generated, "WrappingAlgorithm": "RSAES_OAEP_SHA_256",
                   "WrappingKeySpec": "RSA_2048"}),
            "UnsupportedOperationException",
        )
        .await;
    kinko
        .fails(
            "GetParametersForImport",
            json!({"KeyId": key, "WrappingAlgorithm": "RSAES_PKCS1_V1_5",
                   "WrappingKeySpec": "RSA_2048"}),
            "ValidationException",
        )
        .await;
}

#[tokio::test]
async fn imported_hmac_material_computes_the_same_macs() {
    let kinko = Kinko::start().await;
    let md = kinko
        .ok(
            "CreateKey",
            json!({"Origin": "EXTERNAL", "KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
        )
        .await;
    let key = str_at(&md, "/KeyMetadata/KeyId").to_owned();
    let material = [0x42u8; 32];
    let body = import(
        &kinko,
        &key,
        &material,
        json!({"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
    )
    .await;
    kinko.ok("ImportKeyMaterial", body).await;
    let mac = kinko
        .ok(
            "GenerateMac",
            json!({"KeyId": key, "Message": b64(b"hello"), "MacAlgorithm": "HMAC_SHA_256"}),
        )
        .await;
    // The imported bytes are the HMAC key (Python's `hmac` checks the same end to end).
    let expected =
        kinko_crypto::MacKey::new(kinko_crypto::MacAlgorithm::HmacSha256, &material).sign(b"hello");
    assert_eq!(unb64(str_at(&mac, "/Mac")), expected);
}
