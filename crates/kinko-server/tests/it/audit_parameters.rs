//! What a request's audit record shows of its body: the typed request's members, lowerCamelCase,
//! without the secret ones, and nothing the model does not know (issue 16: an Encrypt whose
//! body said `"plaintext"` instead of `"Plaintext"` used to put the plaintext in the trail).

use serde_json::{Value, json};

use crate::harness::{Kinko, expect_error};

/// The one record of `op` since the start, as text and as JSON.
async fn only_record(k: &Kinko, op: &str) -> (String, Value) {
    let records = k.audit_records(op).await;
    assert_eq!(records.len(), 1, "one record of {op}: {records:?}");
    let record = records.into_iter().next().unwrap_or_default();
    (record.to_string(), record)
}

#[tokio::test]
async fn a_misspelled_plaintext_member_leaves_no_trace_in_the_record() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    // base64 of "secret-plaintext-7f3a"; the member name is lowerCamelCase, unknown to the model.
    let value = "c2VjcmV0LXBsYWludGV4dC03ZjNh";
    let message = k
        .fails(
            "Encrypt",
            json!({"KeyId": key, "plaintext": value}),
            "ValidationException",
        )
        .await;
    assert_eq!(
        message,
        "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null"
    );
    let (text, record) = only_record(&k, "Encrypt").await;
    assert!(!text.contains(value), "{text}");
    assert!(!text.contains("secret-plaintext"), "{text}");
    assert_eq!(
        record["requestParameters"],
        json!({"keyId": key, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
    );
    assert_eq!(record["errorCode"], "ValidationException");
}

#[tokio::test]
async fn records_hold_known_members_only_and_never_secret_ones() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    k.ok(
        "Encrypt",
        json!({
            "KeyId": key,
            "Plaintext": "aGVsbG8=",
            "EncryptionContext": {"Purpose": "Test", "Dept": "x"},
            "GrantTokens": ["token-value"],
            "Extra": {"Nested": "unknown-member-value"},
        }),
    )
    .await;
    let (text, record) = only_record(&k, "Encrypt").await;
    // Encryption context keys keep their case; everything else is lowerCamelCase.
    assert_eq!(
        record["requestParameters"],
        json!({
            "keyId": key,
            "encryptionContext": {"Purpose": "Test", "Dept": "x"},
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        })
    );
    for secret in ["aGVsbG8=", "token-value", "unknown-member-value"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn a_body_that_does_not_parse_gets_one_record_without_parameters() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    // Not base64: the typed parse fails, so nothing of the body is recorded.
    let reply = k
        .check(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": "!!not-base64-value!!"}),
        )
        .await;
    expect_error(&reply, 400, "SerializationException");
    let (text, record) = only_record(&k, "Encrypt").await;
    assert_eq!(record["requestParameters"], Value::Null);
    assert_eq!(record["errorCode"], "SerializationException");
    assert!(!text.contains("not-base64-value"), "{text}");
}

#[tokio::test]
async fn nested_members_are_recorded_and_an_empty_body_records_none() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    k.ok(
        "CreateGrant",
        json!({
            "KeyId": key,
            "GranteePrincipal": format!("arn:aws:iam::{}:root", k.account),
            "Operations": ["Decrypt"],
            "Constraints": {"EncryptionContextSubset": {"Dept": "x"}},
        }),
    )
    .await;
    let (_, record) = only_record(&k, "CreateGrant").await;
    let constraints = &record["requestParameters"]["constraints"];
    assert!(
        constraints["encryptionContextSubset"].is_object(),
        "{record}"
    );
    assert_eq!(
        record["requestParameters"]["operations"],
        json!(["Decrypt"])
    );
    // An empty body records no parameters at all.
    let (status, _, _) = k.check_bytes_as("ListKeys", b"", k.signer()).await;
    assert_eq!(status, 200);
    let (_, record) = only_record(&k, "ListKeys").await;
    assert_eq!(record["requestParameters"], Value::Null);
}
