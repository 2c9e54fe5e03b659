//! `DryRun` (issue 21): validation, authorization and the key's checks run; nothing changes,
//! nothing secret is answered, and the answer is `DryRunOperationException`, recorded in the
//! audit as CloudTrail records it. Also: a key ARN of another region names nothing.

use serde_json::{Value, json};

use crate::harness::{Kinko, Signer, b64, str_at};

const DRY_RUN: &str = "DryRunOperationException";
const WOULD_SUCCEED: &str = "The request would have succeeded, but the DryRun option is set.";

async fn grant_ids(kinko: &Kinko, key_id: &str) -> Vec<String> {
    let reply = kinko.ok("ListGrants", json!({"KeyId": key_id})).await;
    reply["Grants"]
        .as_array()
        .map(|g| g.iter().map(|g| str_at(g, "/GrantId").to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn cryptographic_operations_answer_that_they_would_have_succeeded() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    let mac_key = str_at(
        &kinko
            .ok(
                "CreateKey",
                json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
            )
            .await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    let sign_key = str_at(
        &kinko
            .ok(
                "CreateKey",
                json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
            )
            .await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    let blob = str_at(
        &kinko
            .ok("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")}))
            .await,
        "/CiphertextBlob",
    )
    .to_owned();
    let requests = [
        ("Encrypt", json!({"KeyId": key, "Plaintext": b64(b"x")})),
        ("Decrypt", json!({"CiphertextBlob": blob})),
        (
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "DestinationKeyId": key}),
        ),
        (
            "GenerateDataKey",
            json!({"KeyId": key, "KeySpec": "AES_256"}),
        ),
        (
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": key, "NumberOfBytes": 16}),
        ),
        (
            "GenerateDataKeyPair",
            json!({"KeyId": key, "KeyPairSpec": "ECC_NIST_P256"}),
        ),
        (
            "GenerateMac",
            json!({"KeyId": mac_key, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
        ),
        (
            "Sign",
            json!({"KeyId": sign_key, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}),
        ),
    ];
    for (op, mut body) in requests {
        body["DryRun"] = json!(true);
        let message = kinko.fails(op, body.clone(), DRY_RUN).await;
        assert_eq!(message, WOULD_SUCCEED, "{op}");
        // `DryRun: false` is an ordinary request.
        body["DryRun"] = json!(false);
        kinko.ok(op, body).await;
        // The audit records the dry run with its error, as CloudTrail does.
        let records = kinko.audit_records(op).await;
        assert!(
            records.iter().any(|r| r["errorCode"] == DRY_RUN),
            "{op}: {records:?}"
        );
    }
}

#[tokio::test]
async fn a_dry_run_still_checks_the_key_and_the_request() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    // Validation first: a missing plaintext is still a validation error.
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "DryRun": true}),
            "ValidationException",
        )
        .await;
    // The key's state: a disabled key is refused as without DryRun.
    kinko.ok("DisableKey", json!({"KeyId": key})).await;
    kinko
        .fails(
            "Encrypt",
            json!({"KeyId": key, "Plaintext": b64(b"x"), "DryRun": true}),
            "DisabledException",
        )
        .await;
    kinko.ok("EnableKey", json!({"KeyId": key})).await;
    // Authorization: a user no policy allows is denied, not told it would have succeeded.
    let (id, secret) = kinko
        .access_key_for(&format!("arn:aws:iam::{}:user/nobody", kinko.account))
        .await;
    let nobody = Signer {
        access_key_id: &id,
        secret: &secret,
        ..kinko.signer()
    };
    crate::harness::expect_error(
        &kinko
            .check_as(
                "Encrypt",
                json!({"KeyId": key, "Plaintext": b64(b"x"), "DryRun": true}),
                nobody,
            )
            .await,
        400,
        "AccessDeniedException",
    );
}

#[tokio::test]
async fn grant_operations_change_nothing() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    let grantee = format!("arn:aws:iam::{}:user/bob", kinko.account);
    let create = json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Encrypt"]});
    let mut dry = create.clone();
    dry["DryRun"] = json!(true);
    kinko.fails("CreateGrant", dry, DRY_RUN).await;
    assert!(
        grant_ids(&kinko, &key).await.is_empty(),
        "no grant was made"
    );

    let reply = kinko.ok("CreateGrant", create).await;
    let (grant_id, token) = (
        str_at(&reply, "/GrantId").to_owned(),
        str_at(&reply, "/GrantToken").to_owned(),
    );
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key, "GrantId": grant_id, "DryRun": true}),
            DRY_RUN,
        )
        .await;
    kinko
        .fails(
            "RetireGrant",
            json!({"GrantToken": token, "DryRun": true}),
            DRY_RUN,
        )
        .await;
    assert_eq!(grant_ids(&kinko, &key).await, vec![grant_id.clone()]);
    // A dry run of revoking a grant the key does not have answers as the revocation would.
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key, "GrantId": "0".repeat(64), "DryRun": true}),
            "NotFoundException",
        )
        .await;
}

#[tokio::test]
async fn ignore_ciphertext_checks_the_named_key_instead() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    let other = kinko.create_key().await;
    let ignore = json!(["IGNORE_CIPHERTEXT"]);
    kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key, "DryRun": true, "DryRunModifiers": ignore}),
            DRY_RUN,
        )
        .await;
    // The blob is not read: garbage passes too.
    kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key, "CiphertextBlob": b64(b"garbage"), "DryRun": true,
                   "DryRunModifiers": ignore}),
            DRY_RUN,
        )
        .await;
    // Without the blob, the key must be named.
    kinko
        .fails(
            "Decrypt",
            json!({"DryRun": true, "DryRunModifiers": ignore}),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "ReEncrypt",
            json!({"SourceKeyId": key, "DestinationKeyId": other, "DryRun": true,
                   "DryRunModifiers": ignore}),
            DRY_RUN,
        )
        .await;
    // Only the model's modifier is accepted.
    let message = kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key, "DryRun": true, "DryRunModifiers": ["IGNORE_EVERYTHING"]}),
            "ValidationException",
        )
        .await;
    assert!(message.contains("IGNORE_CIPHERTEXT"), "{message}");
    // The key's state is still checked.
    kinko.ok("DisableKey", json!({"KeyId": key})).await;
    kinko
        .fails(
            "Decrypt",
            json!({"KeyId": key, "DryRun": true, "DryRunModifiers": ignore}),
            "DisabledException",
        )
        .await;
}

/// A key ARN or alias ARN of another region than the request's names nothing (issue 21).
#[tokio::test]
async fn an_arn_of_another_region_is_not_found() {
    let kinko = Kinko::start().await;
    let key = kinko.create_key().await;
    let arn = |region: &str| format!("arn:aws:kms:{region}:{}:key/{key}", kinko.account);
    kinko
        .ok("DescribeKey", json!({"KeyId": arn(crate::harness::REGION)}))
        .await;
    for op in [
        "DescribeKey",
        "EnableKey",
        "ListResourceTags",
        "GetKeyPolicy",
    ] {
        let body: Value = if op == "GetKeyPolicy" {
            json!({"KeyId": arn("us-west-2"), "PolicyName": "default"})
        } else {
            json!({"KeyId": arn("us-west-2")})
        };
        let message = kinko.fails(op, body, "NotFoundException").await;
        assert_eq!(message, "Invalid arn us-west-2", "{op}");
    }
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/here", "TargetKeyId": key}),
        )
        .await;
    let alias_arn = format!("arn:aws:kms:eu-west-1:{}:alias/here", kinko.account);
    let message = kinko
        .fails(
            "Encrypt",
            json!({"KeyId": alias_arn, "Plaintext": b64(b"x")}),
            "NotFoundException",
        )
        .await;
    assert_eq!(message, "Invalid arn eu-west-1");
}
