//! One test per error code a KMS operation can produce (`kms-reference.md` §4–6), each asserting
//! `__type` and status (400 for every client fault, as §1.3 recommends) and, where it helps,
//! that the same request succeeds once the cause is gone.

use serde_json::{Value, json};

use crate::harness::{Kinko, b64, str_at, unb64};

/// Encrypts `plaintext` under `key_id` with `context`; returns the ciphertext blob (base64).
async fn encrypt(kinko: &Kinko, key_id: &str, plaintext: &[u8], context: Value) -> String {
    let reply = kinko
        .ok(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(plaintext), "EncryptionContext": context}),
        )
        .await;
    str_at(&reply, "/CiphertextBlob").to_owned()
}

/// A fresh key id that names no key.
const UNKNOWN_KEY: &str = "0b5c2a0e-4f1d-4c3b-9a8e-7d6f5e4c3b2a";

#[tokio::test]
async fn not_found_exception() {
    let kinko = Kinko::start().await;
    // An unknown key id, bare and as an ARN of the caller's account.
    let message = kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": UNKNOWN_KEY}),
            "NotFoundException",
        )
        .await;
    assert_eq!(
        message,
        format!(
            "Key 'arn:aws:kms:us-east-1:{}:key/{UNKNOWN_KEY}' does not exist",
            kinko.account
        )
    );
    let arn = format!("arn:aws:kms:us-east-1:{}:key/{UNKNOWN_KEY}", kinko.account);
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": arn, "Plaintext": b64(b"x")}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "DisableKey",
            json!({"KeyId": UNKNOWN_KEY}),
            "NotFoundException",
        )
        .await;

    // An unknown alias, by name and by ARN.
    let message = kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": "alias/nope"}),
            "NotFoundException",
        )
        .await;
    assert_eq!(
        message,
        format!(
            "Alias arn:aws:kms:us-east-1:{}:alias/nope is not found.",
            kinko.account
        )
    );
    let alias_arn = format!("arn:aws:kms:us-east-1:{}:alias/nope", kinko.account);
    kinko
        .fails(
            "GenerateDataKey",
            json!({"KeyId": alias_arn, "KeySpec": "AES_256"}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "DeleteAlias",
            json!({"AliasName": "alias/nope"}),
            "NotFoundException",
        )
        .await;

    // A key id that is not an identifier at all [?]: the reference suggests NotFoundException.
    for malformed in [
        "not-a-key",
        "1234abcd-12ab-34cd-56ef-1234567890a",
        "mrk-xyz",
    ] {
        kinko
            .fails(
                "DescribeKey",
                json!({"KeyId": malformed}),
                "NotFoundException",
            )
            .await;
    }
}

/// A syntactically broken ARN [?]: the reference suggests InvalidArnException.
#[tokio::test]
async fn invalid_arn_exception() {
    let kinko = Kinko::start().await;
    for arn in [
        "arn:aws:s3:::bucket",
        "arn:aws:kms:us-east-1:1:key/x",
        "arn:aws:kms:us-east-1",
    ] {
        kinko
            .fails("DescribeKey", json!({"KeyId": arn}), "InvalidArnException")
            .await;
    }
}

#[tokio::test]
async fn already_exists_exception() {
    let kinko = Kinko::start().await;
    let k1 = kinko.create_key().await;
    let k2 = kinko.create_key().await;
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/taken", "TargetKeyId": k1}),
        )
        .await;
    let message = kinko
        .fails(
            "CreateAlias",
            json!({"AliasName": "alias/taken", "TargetKeyId": k2}),
            "AlreadyExistsException",
        )
        .await;
    assert!(message.contains("alias/taken"), "{message}");
    let described = kinko
        .ok("DescribeKey", json!({"KeyId": "alias/taken"}))
        .await;
    assert_eq!(
        described["KeyMetadata"]["KeyId"], k1,
        "the alias still points at its first key"
    );
}

/// Cryptographic operations on a Disabled key; EnableKey makes them work again.
#[tokio::test]
async fn disabled_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let blob = encrypt(&kinko, &key_id, b"secret", json!({})).await;
    kinko.ok("DisableKey", json!({"KeyId": key_id})).await;

    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(b"x")}),
            "DisabledException",
        )
        .await;
    assert!(
        message.contains(&key_id) && message.contains("disabled"),
        "{message}"
    );
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": blob}),
            "DisabledException",
        )
        .await;
    kinko
        .fails(
            "GenerateDataKey",
            json!({"KeyId": key_id, "KeySpec": "AES_256"}),
            "DisabledException",
        )
        .await;
    kinko
        .fails(
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "DestinationKeyId": key_id}),
            "DisabledException",
        )
        .await;

    kinko.ok("EnableKey", json!({"KeyId": key_id})).await;
    let reply = kinko.ok("Decrypt", json!({"CiphertextBlob": blob})).await;
    assert_eq!(unb64(str_at(&reply, "/Plaintext")), b"secret");
}

/// Pending deletion refuses cryptographic use and a second schedule; cancelling a key that is
/// not pending deletion is refused too. (The key-state table allows DisabledException or
/// KMSInvalidStateException for pending deletion; the reference suggests the latter.)
#[tokio::test]
async fn kms_invalid_state_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let blob = encrypt(&kinko, &key_id, b"secret", json!({})).await;

    let message = kinko
        .fails(
            "CancelKeyDeletion",
            json!({"KeyId": key_id}),
            "KMSInvalidStateException",
        )
        .await;
    assert!(message.contains("is not pending deletion"), "{message}");

    kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": key_id, "PendingWindowInDays": 7}),
        )
        .await;
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(b"x")}),
            "KMSInvalidStateException",
        )
        .await;
    assert!(message.contains("is pending deletion"), "{message}");
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": blob}),
            "KMSInvalidStateException",
        )
        .await;
    kinko
        .fails(
            "ScheduleKeyDeletion",
            json!({"KeyId": key_id}),
            "KMSInvalidStateException",
        )
        .await;
    kinko
        .fails(
            "EnableKey",
            json!({"KeyId": key_id}),
            "KMSInvalidStateException",
        )
        .await;
    kinko
        .fails(
            "CreateAlias",
            json!({"AliasName": "alias/late", "TargetKeyId": key_id}),
            "KMSInvalidStateException",
        )
        .await;
    // Describe still works in any state.
    let described = kinko.ok("DescribeKey", json!({"KeyId": key_id})).await;
    assert_eq!(described["KeyMetadata"]["KeyState"], "PendingDeletion");

    // Cancelling leaves the key Disabled (§4), so crypto is now DisabledException.
    kinko
        .ok("CancelKeyDeletion", json!({"KeyId": key_id}))
        .await;
    let described = kinko.ok("DescribeKey", json!({"KeyId": key_id})).await;
    assert_eq!(described["KeyMetadata"]["KeyState"], "Disabled");
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": blob}),
            "DisabledException",
        )
        .await;
    kinko
        .fails(
            "CancelKeyDeletion",
            json!({"KeyId": key_id}),
            "KMSInvalidStateException",
        )
        .await;
}

/// A tampered blob, the wrong encryption context and bytes Kinko never produced all fail the
/// same way, with the same message: nothing tells the caller which check failed.
#[tokio::test]
async fn invalid_ciphertext_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let context = json!({"purpose": "test", "tenant": "a"});
    let blob = unb64(&encrypt(&kinko, &key_id, b"attack at dawn", context.clone()).await);
    let decrypt = |blob: &[u8], context: Value| json!({"CiphertextBlob": b64(blob), "EncryptionContext": context});

    let reply = kinko
        .ok(
            "Decrypt",
            decrypt(&blob, json!({"tenant": "a", "purpose": "test"})),
        )
        .await;
    assert_eq!(
        unb64(str_at(&reply, "/Plaintext")),
        b"attack at dawn",
        "context order does not matter"
    );

    let mut messages = Vec::new();
    let code = "InvalidCiphertextException";
    for i in [blob.len() - 1, blob.len() / 2, 40] {
        let mut tampered = blob.clone();
        if let Some(byte) = tampered.get_mut(i) {
            *byte ^= 0x01;
        }
        messages.push(
            kinko
                .fails("Decrypt", decrypt(&tampered, context.clone()), code)
                .await,
        );
    }
    messages.push(
        kinko
            .fails(
                "Decrypt",
                decrypt(&blob[..blob.len() - 1], context.clone()),
                code,
            )
            .await,
    );
    for wrong in [
        json!({}),
        json!({"purpose": "test"}),
        json!({"purpose": "Test", "tenant": "a"}),
    ] {
        messages.push(kinko.fails("Decrypt", decrypt(&blob, wrong), code).await);
    }
    messages.push(
        kinko
            .fails("Decrypt", decrypt(&[0x42; 200], json!({})), code)
            .await,
    );
    // Kinko's own header shape naming a key that does not exist.
    let mut foreign = blob.clone();
    if let Some(id) = foreign.get_mut(2..18) {
        id.copy_from_slice(&[0xee; 16]);
    }
    messages.push(
        kinko
            .fails("Decrypt", decrypt(&foreign, context.clone()), code)
            .await,
    );
    messages.push(
        kinko
            .fails(
                "ReEncrypt",
                json!({"CiphertextBlob": b64(&[0x42; 200]), "DestinationKeyId": key_id}),
                code,
            )
            .await,
    );

    assert!(
        messages.windows(2).all(|w| w.first() == w.last()),
        "the messages differ: {messages:?}"
    );
}

/// Decrypt naming a key other than the one that encrypted the blob.
#[tokio::test]
async fn incorrect_key_exception() {
    let kinko = Kinko::start().await;
    let k1 = kinko.create_key().await;
    let k2 = kinko.create_key().await;
    let blob = encrypt(&kinko, &k1, b"secret", json!({})).await;
    kinko
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": blob, "KeyId": k2}),
            "IncorrectKeyException",
        )
        .await;
    kinko
        .fails(
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "SourceKeyId": k2, "DestinationKeyId": k1}),
            "IncorrectKeyException",
        )
        .await;
    kinko
        .ok("Decrypt", json!({"CiphertextBlob": blob, "KeyId": k1}))
        .await;
}

/// Reserved `alias/aws/` names and an empty name (the reference suggests
/// InvalidAliasNameException for the reserved ones [?]); a name without the `alias/` prefix is
/// AWS's ValidationException (issue 21's table).
#[tokio::test]
async fn invalid_alias_name_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let code = "InvalidAliasNameException";
    for name in ["alias/aws/s3", "alias/aws/mine", "alias/"] {
        kinko
            .fails(
                "CreateAlias",
                json!({"AliasName": name, "TargetKeyId": key_id}),
                code,
            )
            .await;
    }
    kinko
        .fails(
            "UpdateAlias",
            json!({"AliasName": "alias/aws/ebs", "TargetKeyId": key_id}),
            code,
        )
        .await;
    kinko
        .fails("DeleteAlias", json!({"AliasName": "alias/aws/ebs"}), code)
        .await;
    for op in ["CreateAlias", "DeleteAlias"] {
        let message = kinko
            .fails(
                op,
                json!({"AliasName": "no-prefix", "TargetKeyId": key_id}),
                "ValidationException",
            )
            .await;
        assert_eq!(
            message,
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        );
    }
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/awsome", "TargetKeyId": key_id}),
        )
        .await;
}

/// A key policy that is not JSON, or has no Statement.
#[tokio::test]
async fn malformed_policy_document_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let code = "MalformedPolicyDocumentException";
    for policy in ["not json", "{\"Version\": \"2012-10-17\"", "[]", "{}"] {
        kinko
            .fails(
                "PutKeyPolicy",
                json!({"KeyId": key_id, "Policy": policy}),
                code,
            )
            .await;
        kinko
            .fails("CreateKey", json!({"Policy": policy}), code)
            .await;
    }
    let default = kinko.ok("GetKeyPolicy", json!({"KeyId": key_id})).await;
    assert!(
        str_at(&default, "/Policy").contains("Enable IAM User Permissions"),
        "the refused puts changed nothing"
    );
}

/// A key policy over the 32 KB quota, and a 51st alias on one key.
#[tokio::test]
async fn limit_exceeded_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let policy = |len: usize| {
        let head = r#"{"Version":"2012-10-17","Statement":[{"Sid":""#;
        let tail =
            r#"","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#;
        format!("{head}{}{tail}", "s".repeat(len - head.len() - tail.len()))
    };
    kinko
        .ok(
            "PutKeyPolicy",
            json!({"KeyId": key_id, "Policy": policy(32_768)}),
        )
        .await;
    kinko
        .fails(
            "PutKeyPolicy",
            json!({"KeyId": key_id, "Policy": policy(32_769)}),
            "LimitExceededException",
        )
        .await;
    kinko
        .fails(
            "CreateKey",
            json!({"Policy": policy(40_000)}),
            "LimitExceededException",
        )
        .await;

    for i in 0..50 {
        kinko
            .ok(
                "CreateAlias",
                json!({"AliasName": format!("alias/many-{i:02}"), "TargetKeyId": key_id}),
            )
            .await;
    }
    kinko
        .fails(
            "CreateAlias",
            json!({"AliasName": "alias/many-50", "TargetKeyId": key_id}),
            "LimitExceededException",
        )
        .await;
    let other = kinko.create_key().await;
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/many-50", "TargetKeyId": other}),
        )
        .await;
    kinko
        .fails(
            "UpdateAlias",
            json!({"AliasName": "alias/many-50", "TargetKeyId": key_id}),
            "LimitExceededException",
        )
        .await;
}

/// Reserved `aws:` tag keys and a tag key given twice in one request.
#[tokio::test]
async fn tag_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    for reserved in ["aws:createdBy", "AWS:x"] {
        let tags = json!([{"TagKey": reserved, "TagValue": "me"}]);
        kinko
            .fails(
                "TagResource",
                json!({"KeyId": key_id, "Tags": tags}),
                "TagException",
            )
            .await;
        kinko
            .fails("CreateKey", json!({"Tags": tags}), "TagException")
            .await;
    }
    let twice = json!([{"TagKey": "env", "TagValue": "a"}, {"TagKey": "env", "TagValue": "b"}]);
    kinko
        .fails(
            "TagResource",
            json!({"KeyId": key_id, "Tags": twice}),
            "TagException",
        )
        .await;
    kinko
        .fails("CreateKey", json!({"Tags": twice}), "TagException")
        .await;
    let tags = kinko.ok("ListResourceTags", json!({"KeyId": key_id})).await;
    assert_eq!(tags["Tags"], json!([]), "refused tags are not stored");
}

/// A marker Kinko did not issue.
#[tokio::test]
async fn invalid_marker_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    kinko
        .fails(
            "ListKeys",
            json!({"Marker": "zz"}),
            "InvalidMarkerException",
        )
        .await;
    kinko
        .fails(
            "ListKeys",
            json!({"Marker": "6e6f742d612d6b65792d6964"}),
            "InvalidMarkerException",
        )
        .await;
    kinko
        .fails(
            "ListAliases",
            json!({"Marker": "zz"}),
            "InvalidMarkerException",
        )
        .await;
    kinko
        .fails(
            "ListResourceTags",
            json!({"KeyId": key_id, "Marker": "zz"}),
            "InvalidMarkerException",
        )
        .await;
}

/// Parameters Kinko does not support are refused by name: SM2 (China Regions only), custom key
/// stores, multi-Region keys.
#[tokio::test]
async fn unsupported_operation_exception() {
    let kinko = Kinko::start().await;
    kinko.create_key().await;
    let code = "UnsupportedOperationException";
    let message = kinko
        .fails(
            "CreateKey",
            json!({"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"}),
            code,
        )
        .await;
    assert!(message.contains("SM2"), "{message}");
    let message = kinko
        .fails("CreateKey", json!({"Origin": "AWS_CLOUDHSM"}), code)
        .await;
    assert!(message.contains("AWS_CLOUDHSM"), "{message}");
    // Multi-Region keys are served, but not with imported material.
    kinko
        .fails(
            "CreateKey",
            json!({"MultiRegion": true, "Origin": "EXTERNAL"}),
            code,
        )
        .await;
    kinko.ok("CreateKey", json!({"MultiRegion": false})).await;
    let keys = kinko.ok("ListKeys", json!({})).await;
    assert_eq!(
        keys["Keys"].as_array().map(Vec::len),
        Some(2),
        "no refused CreateKey made a key"
    );
}

/// An RSA algorithm on a symmetric key.
#[tokio::test]
async fn invalid_key_usage_exception() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let blob = encrypt(&kinko, &key_id, b"x", json!({})).await;
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(b"x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
            "InvalidKeyUsageException",
        )
        .await;
    kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key_id, "CiphertextBlob": blob, "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
            "InvalidKeyUsageException",
        )
        .await;
    // AWS's message names the operation (issue 21's table).
    let arn = str_at(
        &kinko.ok("DescribeKey", json!({"KeyId": key_id})).await,
        "/KeyMetadata/Arn",
    )
    .to_owned();
    let message = kinko
        .fails(
            "GenerateMac",
            json!({"KeyId": key_id, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
            "InvalidKeyUsageException",
        )
        .await;
    assert_eq!(
        message,
        format!("{arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.")
    );
}

/// Decrypt or ReEncrypt naming, as the ciphertext's key, a key that cannot decrypt: AWS answers
/// IncorrectKeyException (issue 21's table).
#[tokio::test]
async fn a_named_key_that_cannot_decrypt_is_the_incorrect_key() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let blob = encrypt(&kinko, &key_id, b"x", json!({})).await;
    let hmac = str_at(
        &kinko
            .ok(
                "CreateKey",
                json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
            )
            .await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    for (op, body) in [
        ("Decrypt", json!({"KeyId": hmac, "CiphertextBlob": blob})),
        (
            "ReEncrypt",
            json!({"SourceKeyId": hmac, "CiphertextBlob": blob, "DestinationKeyId": key_id}),
        ),
    ] {
        let message = kinko.fails(op, body, "IncorrectKeyException").await;
        assert_eq!(
            message,
            "The key ID in the request does not identify a CMK that can perform this operation.",
            "{op}"
        );
    }
}

/// A key or alias ARN naming another account's key that does not exist: denied, so that
/// nobody learns which keys other accounts have.
#[tokio::test]
async fn access_denied_exception() {
    let kinko = Kinko::start().await;
    let other = if kinko.account == "444455556666" {
        "777788889999"
    } else {
        "444455556666"
    };
    let key_arn = format!("arn:aws:kms:us-east-1:{other}:key/{UNKNOWN_KEY}");
    let message = kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": key_arn}),
            "AccessDeniedException",
        )
        .await;
    assert!(message.contains(&key_arn), "{message}");
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key_arn, "Plaintext": b64(b"x")}),
            "AccessDeniedException",
        )
        .await;
    let alias_arn = format!("arn:aws:kms:us-east-1:{other}:alias/theirs");
    kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": alias_arn}),
            "AccessDeniedException",
        )
        .await;
}
