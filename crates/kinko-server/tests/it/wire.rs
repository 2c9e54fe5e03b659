//! Wire formats the SDKs are strict about (`kms-reference.md` §1.2, §5): timestamps are JSON
//! numbers of epoch seconds, blobs are padded standard base64, outputs name keys by ARN, and
//! the region in ARNs is the region the request was signed for.

use serde_json::{Value, json};

use crate::harness::{Kinko, Signer, T0_MILLIS, b64, str_at, unb64};

/// A JSON number (not a string) equal to `expected_millis` in epoch seconds.
fn assert_timestamp(json: &Value, pointer: &str, expected_millis: i64) {
    let value = json
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in {json}"));
    assert!(
        value.is_number(),
        "{pointer} must be a JSON number, got {value}"
    );
    let seconds = value.as_f64().expect("a number");
    assert!(
        (seconds - expected_millis as f64 / 1000.0).abs() < 1e-6,
        "{pointer} = {seconds}, expected {expected_millis} ms"
    );
}

#[tokio::test]
async fn timestamps_are_json_numbers_of_epoch_seconds() {
    let kinko = Kinko::start().await;
    let created = kinko.ok("CreateKey", json!({})).await;
    assert_timestamp(&created, "/KeyMetadata/CreationDate", T0_MILLIS);
    let key_id = str_at(&created, "/KeyMetadata/KeyId").to_owned();
    let other = kinko.create_key().await;

    kinko.clock.advance(1_500);
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/when", "TargetKeyId": key_id}),
        )
        .await;
    kinko.clock.advance(60_000);
    kinko
        .ok(
            "UpdateAlias",
            json!({"AliasName": "alias/when", "TargetKeyId": other}),
        )
        .await;
    let aliases = kinko.ok("ListAliases", json!({})).await;
    assert_timestamp(&aliases, "/Aliases/0/CreationDate", T0_MILLIS + 1_500);
    assert_timestamp(&aliases, "/Aliases/0/LastUpdatedDate", T0_MILLIS + 61_500);

    let scheduled = kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": key_id, "PendingWindowInDays": 7}),
        )
        .await;
    let deletion = T0_MILLIS + 61_500 + 7 * 86_400_000;
    assert_timestamp(&scheduled, "/DeletionDate", deletion);
    assert_eq!(scheduled["PendingWindowInDays"], 7);
    let described = kinko.ok("DescribeKey", json!({"KeyId": key_id})).await;
    assert_timestamp(&described, "/KeyMetadata/DeletionDate", deletion);
    assert_timestamp(&described, "/KeyMetadata/CreationDate", T0_MILLIS);
}

/// Every blob in a response decodes as strictly padded standard base64, including lengths
/// that need one and two `=`.
#[tokio::test]
async fn blobs_are_padded_standard_base64() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    for (n, suffix) in [(1, "=="), (2, "="), (3, "")] {
        let reply = kinko
            .ok(
                "GenerateDataKey",
                json!({"KeyId": key_id, "NumberOfBytes": n}),
            )
            .await;
        let plaintext = str_at(&reply, "/Plaintext");
        assert!(
            plaintext.ends_with(suffix) && plaintext.len().is_multiple_of(4),
            "{n} bytes as {plaintext:?}"
        );
        assert_eq!(unb64(plaintext).len(), n);
        let blob = str_at(&reply, "/CiphertextBlob");
        assert_eq!(blob.len() % 4, 0);
        let decrypted = kinko.ok("Decrypt", json!({"CiphertextBlob": blob})).await;
        assert_eq!(unb64(str_at(&decrypted, "/Plaintext")), unb64(plaintext));

        let random = kinko
            .ok("GenerateRandom", json!({"NumberOfBytes": n}))
            .await;
        let text = str_at(&random, "/Plaintext");
        assert!(
            text.ends_with(suffix) && text.len().is_multiple_of(4),
            "{n} random bytes as {text:?}"
        );
        assert_eq!(unb64(text).len(), n);
    }
    let encrypted = kinko
        .ok("Encrypt", json!({"KeyId": key_id, "Plaintext": b64(b"ab")}))
        .await;
    unb64(str_at(&encrypted, "/CiphertextBlob"));
    let without = kinko
        .ok(
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": key_id, "KeySpec": "AES_256"}),
        )
        .await;
    assert!(
        without.get("Plaintext").is_none(),
        "WithoutPlaintext has no Plaintext: {without}"
    );
    unb64(str_at(&without, "/CiphertextBlob"));
}

/// Outputs name the key by ARN (KeyMetadata.KeyId excepted), and absent members are left out
/// rather than sent as `null`.
#[tokio::test]
async fn outputs_name_keys_by_arn_and_omit_absent_members() {
    let kinko = Kinko::start().await;
    let created = kinko.ok("CreateKey", json!({"Description": "d"})).await;
    let key_id = str_at(&created, "/KeyMetadata/KeyId").to_owned();
    let arn = format!("arn:aws:kms:us-east-1:{}:key/{key_id}", kinko.account);
    assert_eq!(str_at(&created, "/KeyMetadata/Arn"), arn);
    assert_eq!(str_at(&created, "/KeyMetadata/AWSAccountId"), kinko.account);
    assert_eq!(created["KeyMetadata"]["Enabled"], true);
    assert!(
        created["KeyMetadata"].get("DeletionDate").is_none(),
        "no DeletionDate on an Enabled key"
    );
    let nulls = created.to_string().matches("null").count();
    assert_eq!(nulls, 0, "no null members: {created}");

    let encrypted = kinko
        .ok("Encrypt", json!({"KeyId": key_id, "Plaintext": b64(b"x")}))
        .await;
    assert_eq!(str_at(&encrypted, "/KeyId"), arn);
    let decrypted = kinko
        .ok(
            "Decrypt",
            json!({"CiphertextBlob": encrypted["CiphertextBlob"]}),
        )
        .await;
    assert_eq!(str_at(&decrypted, "/KeyId"), arn);
    let data_key = kinko
        .ok(
            "GenerateDataKey",
            json!({"KeyId": key_id, "KeySpec": "AES_128"}),
        )
        .await;
    assert_eq!(str_at(&data_key, "/KeyId"), arn);
}

/// The credential scope's region goes into ARNs, and keys are regional: a key made in
/// eu-west-1 is not visible to requests signed for us-east-1.
#[tokio::test]
async fn key_arn_region_follows_signing_region() {
    let kinko = Kinko::start().await;
    let eu = Signer {
        region: "eu-west-1",
        ..kinko.signer()
    };
    let (status, created, _) = kinko.check_as("CreateKey", json!({}), eu).await;
    assert_eq!(status, 200, "{created}");
    let key_id = str_at(&created, "/KeyMetadata/KeyId").to_owned();
    let arn = format!("arn:aws:kms:eu-west-1:{}:key/{key_id}", kinko.account);
    assert_eq!(str_at(&created, "/KeyMetadata/Arn"), arn);

    let (_, encrypted, _) = kinko
        .check_as(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": b64(b"hello")}),
            eu,
        )
        .await;
    assert_eq!(str_at(&encrypted, "/KeyId"), arn);
    let (_, listed, _) = kinko.check_as("ListKeys", json!({}), eu).await;
    assert_eq!(listed["Keys"], json!([{"KeyId": key_id, "KeyArn": arn}]));

    kinko
        .fails("DescribeKey", json!({"KeyId": key_id}), "NotFoundException")
        .await;
    let listed = kinko.ok("ListKeys", json!({})).await;
    assert_eq!(listed["Keys"], json!([]), "us-east-1 has no keys");
    let (_, alias, _) = kinko
        .check_as(
            "CreateAlias",
            json!({"AliasName": "alias/eu", "TargetKeyId": key_id}),
            eu,
        )
        .await;
    assert_eq!(alias, json!({}));
    let (_, aliases, _) = kinko.check_as("ListAliases", json!({}), eu).await;
    assert_eq!(
        str_at(&aliases, "/Aliases/0/AliasArn"),
        format!("arn:aws:kms:eu-west-1:{}:alias/eu", kinko.account)
    );
    kinko
        .fails(
            "DescribeKey",
            json!({"KeyId": "alias/eu"}),
            "NotFoundException",
        )
        .await;
}
