//! Key policies enforced on every request: explicit denies, conditions on the encryption
//! context, request parameters, resource tags and aliases, the lockout safety check, and AWS's
//! AccessDeniedException messages. Driven as the default account's root, whose rights come
//! only from the key policy (the default policy delegates to the account, which lets its root
//! do everything).

use serde_json::{Value, json};

use crate::harness::{Kinko, b64, str_at};

const DENIED: &str = "AccessDeniedException";

fn root_arn(k: &Kinko) -> String {
    format!("arn:aws:iam::{}:root", k.account)
}

/// A policy: the account may do everything, plus `extra` statements.
fn policy_with(k: &Kinko, extra: Value) -> String {
    let mut statements = vec![json!({
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": root_arn(k)},
        "Action": "kms:*",
        "Resource": "*"
    })];
    if let Value::Array(more) = extra {
        statements.extend(more);
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

async fn put_policy(k: &Kinko, key: &str, policy: &str) {
    k.ok(
        "PutKeyPolicy",
        json!({"KeyId": key, "PolicyName": "default", "Policy": policy}),
    )
    .await;
}

async fn encrypt(k: &Kinko, key: &str, context: Value) -> (u16, Value) {
    let (status, body, _) = k
        .check(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"secret"), "EncryptionContext": context}),
        )
        .await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn an_explicit_deny_in_the_key_policy_wins_over_the_account_allow() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    let arn = format!("arn:aws:kms:us-east-1:{}:key/{key}", k.account);
    put_policy(
        &k,
        &key,
        &policy_with(
            &k,
            json!([{
                "Sid": "NoDecryptWithoutPurpose",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"kms:EncryptionContext:purpose": "backup"}}
            }]),
        ),
    )
    .await;

    let plain = k
        .ok("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}))
        .await;
    let with_purpose = k
        .ok(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x"), "EncryptionContext": {"purpose": "backup"}}),
        )
        .await;

    let message = k
        .fails(
            "Decrypt",
            json!({"CiphertextBlob": str_at(&plain, "/CiphertextBlob")}),
            DENIED,
        )
        .await;
    assert_eq!(
        message,
        format!(
            "User: {} is not authorized to perform: kms:Decrypt on resource: {arn} with an explicit deny in a resource-based policy",
            root_arn(&k)
        )
    );
    // The key named explicitly: the same answer.
    k.fails(
        "Decrypt",
        json!({"CiphertextBlob": str_at(&plain, "/CiphertextBlob"), "KeyId": key}),
        DENIED,
    )
    .await;
    // With the context the condition asks for, the deny does not apply.
    k.ok(
        "Decrypt",
        json!({"CiphertextBlob": str_at(&with_purpose, "/CiphertextBlob"), "EncryptionContext": {"purpose": "backup"}}),
    )
    .await;
    // ReEncrypt's source half is kms:ReEncryptFrom, which the deny does not name.
    k.ok(
        "ReEncrypt",
        json!({"CiphertextBlob": str_at(&plain, "/CiphertextBlob"), "DestinationKeyId": key}),
    )
    .await;
}

#[tokio::test]
async fn a_policy_that_does_not_name_the_caller_denies_with_awss_message() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    let arn = format!("arn:aws:kms:us-east-1:{}:key/{key}", k.account);
    // Only DescribeKey and PutKeyPolicy for the account; nothing else.
    let narrow = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": root_arn(&k)},
            "Action": ["kms:DescribeKey", "kms:PutKeyPolicy", "kms:GetKeyPolicy"],
            "Resource": "*"
        }]
    })
    .to_string();
    put_policy(&k, &key, &narrow).await;
    k.ok("DescribeKey", json!({"KeyId": key})).await;
    let message = k
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x")}),
            DENIED,
        )
        .await;
    assert_eq!(
        message,
        format!(
            "User: {} is not authorized to perform: kms:Encrypt on resource: {arn} because no resource-based policy allows the kms:Encrypt action",
            root_arn(&k)
        )
    );
    for (op, body) in [
        ("DisableKey", json!({"KeyId": key})),
        (
            "TagResource",
            json!({"KeyId": key, "Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        ),
        (
            "GenerateDataKey",
            json!({"KeyId": key, "KeySpec": "AES_256"}),
        ),
        ("ScheduleKeyDeletion", json!({"KeyId": key})),
    ] {
        k.fails(op, body, DENIED).await;
    }
    // Nothing changed: the key is still enabled and untagged.
    let described = k.ok("DescribeKey", json!({"KeyId": key})).await;
    assert_eq!(str_at(&described, "/KeyMetadata/KeyState"), "Enabled");
    // The policy can still be changed back, since it allows PutKeyPolicy.
    put_policy(&k, &key, &policy_with(&k, json!([]))).await;
    k.ok("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}))
        .await;
}

#[tokio::test]
async fn the_lockout_safety_check_refuses_a_policy_that_locks_the_caller_out() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    let lockout = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": root_arn(&k)},
            "Action": ["kms:Encrypt", "kms:Decrypt"],
            "Resource": "*"
        }]
    })
    .to_string();
    let message = k
        .fails(
            "PutKeyPolicy",
            json!({"KeyId": key, "PolicyName": "default", "Policy": lockout}),
            "MalformedPolicyDocumentException",
        )
        .await;
    assert!(
        message.contains("will not allow you to update the key policy"),
        "{message}"
    );
    let kept = k
        .ok(
            "GetKeyPolicy",
            json!({"KeyId": key, "PolicyName": "default"}),
        )
        .await;
    assert!(str_at(&kept, "/Policy").contains("kms:*"), "policy changed");

    // CreateKey runs the same check on its Policy.
    k.fails(
        "CreateKey",
        json!({"Policy": lockout}),
        "MalformedPolicyDocumentException",
    )
    .await;

    // Bypassing it is allowed, and then the caller really is locked out of management.
    k.ok(
        "PutKeyPolicy",
        json!({"KeyId": key, "PolicyName": "default", "Policy": lockout,
               "BypassPolicyLockoutSafetyCheck": true}),
    )
    .await;
    k.ok("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}))
        .await;
    k.fails(
        "PutKeyPolicy",
        json!({"KeyId": key, "PolicyName": "default", "Policy": policy_with(&k, json!([]))}),
        DENIED,
    )
    .await;
    let created = k
        .ok(
            "CreateKey",
            json!({"Policy": lockout, "BypassPolicyLockoutSafetyCheck": true}),
        )
        .await;
    let id = str_at(&created, "/KeyMetadata/KeyId");
    k.fails("DescribeKey", json!({"KeyId": id}), DENIED).await;
}

#[tokio::test]
async fn conditions_on_request_parameters_aliases_and_resource_tags() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    k.ok(
        "CreateAlias",
        json!({"AliasName": "alias/payments", "TargetKeyId": key}),
    )
    .await;
    put_policy(
        &k,
        &key,
        &policy_with(
            &k,
            json!([
                {
                    "Sid": "OnlyThroughTheAlias",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                    "Condition": {"Null": {"kms:RequestAlias": "true"}}
                },
                {
                    "Sid": "DataKeysOnlyForProd",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:ResourceTag/env": "prod"}}
                },
                {
                    "Sid": "OnlyThisTenant",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringNotEquals": {"kms:EncryptionContextKeys": ["tenant"]}}
                }
            ]),
        ),
    )
    .await;

    assert_eq!(encrypt(&k, &key, json!({})).await.0, 400);
    assert_eq!(encrypt(&k, "alias/payments", json!({})).await.0, 200);
    assert_eq!(
        encrypt(&k, "alias/payments", json!({"tenant": "a"}))
            .await
            .0,
        200
    );
    let (status, body) = encrypt(&k, "alias/payments", json!({"other": "a"})).await;
    assert_eq!((status, str_at(&body, "/__type")), (400, DENIED));

    k.fails(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
        DENIED,
    )
    .await;
    k.ok(
        "TagResource",
        json!({"KeyId": key, "Tags": [{"TagKey": "env", "TagValue": "prod"}]}),
    )
    .await;
    k.ok(
        "GenerateDataKey",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    )
    .await;
    k.ok(
        "GenerateDataKeyWithoutPlaintext",
        json!({"KeyId": key, "KeySpec": "AES_256"}),
    )
    .await;
}

#[tokio::test]
async fn a_denied_request_is_audited_as_access_denied() {
    let k = Kinko::start().await;
    let key = k.create_key().await;
    put_policy(
        &k,
        &key,
        &policy_with(
            &k,
            json!([{
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:GenerateDataKey",
                "Resource": "*"
            }]),
        ),
    )
    .await;
    k.fails(
        "GenerateDataKey",
        json!({"KeyId": key, "NumberOfBytes": 32}),
        DENIED,
    )
    .await;
    let events = k.audit_records("GenerateDataKey").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events
            .first()
            .and_then(|e| e.get("errorCode"))
            .and_then(Value::as_str),
        Some(DENIED)
    );
}
