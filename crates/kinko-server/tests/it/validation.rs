//! `ValidationException`, one test per kind of constraint (`kms-reference.md` §1.1, §5): clients
//! check almost nothing, so the server enforces every maximum, range and enum. Each test also
//! shows the boundary value is accepted, so the refusal is about the constraint and nothing else.

use serde_json::json;

use crate::harness::{Kinko, b64};

const VALIDATION: &str = "ValidationException";

/// A required member that is absent (or `null`) names the member in AWS's form.
#[tokio::test]
async fn missing_required_member() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let message = kinko.fails("DescribeKey", json!({}), VALIDATION).await;
    assert_eq!(
        message,
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
    );
    let message = kinko
        .fails("Encrypt", json!({"KeyId": key_id}), VALIDATION)
        .await;
    assert!(message.contains("'plaintext'"), "{message}");
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": null}),
            VALIDATION,
        )
        .await;
    assert!(message.contains("'plaintext'"), "{message}");
    let message = kinko.fails("Decrypt", json!({}), VALIDATION).await;
    assert!(message.contains("'ciphertextBlob'"), "{message}");
    let message = kinko
        .fails("CreateAlias", json!({"AliasName": "alias/x"}), VALIDATION)
        .await;
    assert!(message.contains("'targetKeyId'"), "{message}");
    let message = kinko.fails("GenerateRandom", json!({}), VALIDATION).await;
    assert!(message.contains("'numberOfBytes'"), "{message}");
}

/// Plaintext is 1–4096 bytes.
#[tokio::test]
async fn plaintext_over_4096_bytes() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    kinko
        .ok(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(&[7; 4096])}),
        )
        .await;
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(&[7; 4097])}),
            VALIDATION,
        )
        .await;
    assert!(
        message.contains("'plaintext'") && message.contains("4096"),
        "{message}"
    );
    assert!(
        !message.contains(&b64(&[7; 16])),
        "the value is never echoed: {message}"
    );
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": ""}),
            VALIDATION,
        )
        .await;
}

/// CiphertextBlob is 1–6144 bytes (checked before the blob is looked at).
#[tokio::test]
async fn ciphertext_over_6144_bytes() {
    let kinko = Kinko::start().await;
    let message = kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": b64(&[1; 6145])}),
            VALIDATION,
        )
        .await;
    assert!(
        message.contains("'ciphertextBlob'") && message.contains("6144"),
        "{message}"
    );
    // 6144 bytes passes validation and fails as a ciphertext.
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": b64(&[1; 6144])}),
            "InvalidCiphertextException",
        )
        .await;
    kinko
        .fails("Decrypt", json!({"CiphertextBlob": ""}), VALIDATION)
        .await;
    let key_id = kinko.create_key().await;
    kinko
        .fails(
            "ReEncrypt",
            json!({"CiphertextBlob": b64(&[1; 6145]), "DestinationKeyId": key_id}),
            VALIDATION,
        )
        .await;
}

/// NumberOfBytes is 1–1024 (GenerateDataKey and GenerateRandom).
#[tokio::test]
async fn number_of_bytes_out_of_range() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    for n in [0, 1025, -1] {
        let message = kinko
            .fails(
                "GenerateDataKey",
                json!({"KeyId": key_id, "NumberOfBytes": n}),
                VALIDATION,
            )
            .await;
        assert!(message.contains("'numberOfBytes'"), "{message}");
        kinko
            .fails("GenerateRandom", json!({"NumberOfBytes": n}), VALIDATION)
            .await;
    }
    for n in [1, 1024] {
        kinko
            .ok(
                "GenerateDataKey",
                json!({"KeyId": key_id, "NumberOfBytes": n}),
            )
            .await;
        kinko
            .ok("GenerateRandom", json!({"NumberOfBytes": n}))
            .await;
    }
}

/// GenerateDataKey takes KeySpec or NumberOfBytes: both is refused, and so is neither.
#[tokio::test]
async fn key_spec_and_number_of_bytes_together() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    kinko
        .fails(
            "GenerateDataKey",
            json!({"KeyId": key_id, "KeySpec": "AES_256", "NumberOfBytes": 32}),
            VALIDATION,
        )
        .await;
    kinko
        .fails(
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": key_id, "KeySpec": "AES_128", "NumberOfBytes": 16}),
            VALIDATION,
        )
        .await;
    kinko
        .fails("GenerateDataKey", json!({"KeyId": key_id}), VALIDATION)
        .await;
}

/// PendingWindowInDays is 7–30 (the documented range, narrower than the model's 1–365).
#[tokio::test]
async fn pending_window_out_of_range() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    for days in [6, 31, 0, 365] {
        let message = kinko
            .fails(
                "ScheduleKeyDeletion",
                json!({"KeyId": key_id, "PendingWindowInDays": days}),
                VALIDATION,
            )
            .await;
        assert!(message.contains("'pendingWindowInDays'"), "{message}");
    }
    let described = kinko.ok("DescribeKey", json!({"KeyId": key_id})).await;
    assert_eq!(
        described["KeyMetadata"]["KeyState"], "Enabled",
        "refused schedules change nothing"
    );
    for days in [7, 30] {
        let key_id = kinko.create_key().await;
        kinko
            .ok(
                "ScheduleKeyDeletion",
                json!({"KeyId": key_id, "PendingWindowInDays": days}),
            )
            .await;
    }
}

/// Limit ranges: ListKeys 1–1000, ListAliases 1–100, ListResourceTags 1–50.
#[tokio::test]
async fn limit_out_of_range() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    for limit in [0, 1001] {
        let message = kinko
            .fails("ListKeys", json!({"Limit": limit}), VALIDATION)
            .await;
        assert!(message.contains("'limit'"), "{message}");
    }
    kinko.ok("ListKeys", json!({"Limit": 1000})).await;
    kinko.ok("ListKeys", json!({"Limit": 1})).await;
    kinko
        .fails("ListAliases", json!({"Limit": 101}), VALIDATION)
        .await;
    kinko
        .fails("ListAliases", json!({"Limit": 0}), VALIDATION)
        .await;
    kinko.ok("ListAliases", json!({"Limit": 100})).await;
    kinko
        .fails(
            "ListResourceTags",
            json!({"KeyId": key_id, "Limit": 51}),
            VALIDATION,
        )
        .await;
    kinko
        .ok("ListResourceTags", json!({"KeyId": key_id, "Limit": 50}))
        .await;
}

/// Description is 0–8192 characters.
#[tokio::test]
async fn description_over_8192_chars() {
    let kinko = Kinko::start().await;
    let long = "d".repeat(8193);
    let message = kinko
        .fails("CreateKey", json!({"Description": long}), VALIDATION)
        .await;
    assert!(
        message.contains("'description'") && message.contains("8192"),
        "{message}"
    );
    let created = kinko
        .ok("CreateKey", json!({"Description": "é".repeat(8192)}))
        .await;
    let key_id = created["KeyMetadata"]["KeyId"]
        .as_str()
        .expect("a key id")
        .to_owned();
    kinko
        .fails(
            "UpdateKeyDescription",
            json!({"KeyId": key_id, "Description": long}),
            VALIDATION,
        )
        .await;
    kinko
        .ok(
            "UpdateKeyDescription",
            json!({"KeyId": key_id, "Description": ""}),
        )
        .await;
}

/// TagKey is 1–128 characters, TagValue 0–256.
#[tokio::test]
async fn tag_key_over_128_chars() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let long_key = "k".repeat(129);
    let message = kinko
        .fails(
            "TagResource",
            json!({"KeyId": key_id, "Tags": [{"TagKey": long_key, "TagValue": "v"}]}),
            VALIDATION,
        )
        .await;
    assert!(message.contains("tagKey"), "{message}");
    kinko
        .fails(
            "CreateKey",
            json!({"Tags": [{"TagKey": long_key, "TagValue": "v"}]}),
            VALIDATION,
        )
        .await;
    kinko
        .fails(
            "TagResource",
            json!({"KeyId": key_id, "Tags": [{"TagKey": "", "TagValue": "v"}]}),
            VALIDATION,
        )
        .await;
    kinko
        .fails(
            "TagResource",
            json!({"KeyId": key_id, "Tags": [{"TagKey": "k", "TagValue": "v".repeat(257)}]}),
            VALIDATION,
        )
        .await;
    kinko
        .ok("TagResource", json!({"KeyId": key_id, "Tags": [{"TagKey": "k".repeat(128), "TagValue": "v".repeat(256)}]}))
        .await;
}

/// A value outside an enum (KeySpec, KeyUsage, Origin, data-key KeySpec, EncryptionAlgorithm).
#[tokio::test]
async fn value_outside_an_enum() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let message = kinko
        .fails("CreateKey", json!({"KeySpec": "AES_999"}), VALIDATION)
        .await;
    assert!(
        message.contains("'keySpec'") && message.contains("enum value set"),
        "{message}"
    );
    kinko
        .fails("CreateKey", json!({"KeyUsage": "ENCRYPT"}), VALIDATION)
        .await;
    kinko
        .fails("CreateKey", json!({"Origin": "SOMEWHERE"}), VALIDATION)
        .await;
    kinko
        .fails(
            "CreateKey",
            json!({"KeySpec": "symmetric_default"}),
            VALIDATION,
        )
        .await;
    kinko
        .fails(
            "GenerateDataKey",
            json!({"KeyId": key_id, "KeySpec": "AES_512"}),
            VALIDATION,
        )
        .await;
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(b"x"), "EncryptionAlgorithm": "ROT13"}),
            VALIDATION,
        )
        .await;
    assert!(message.contains("'encryptionAlgorithm'"), "{message}");
}
