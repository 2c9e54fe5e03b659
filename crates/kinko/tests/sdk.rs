//! End-to-end test: the real `kinko` binary driven by the official Rust SDK (`aws-sdk-kms`).
//!
//! One server process (`common::Server`: fresh temporary data directory, free loopback port) is
//! shared by the whole test, because starting the binary costs about a second. The SDK only works if the wire details
//! are right (SigV4 with the SDK's signed-header set, awsJson1_1 bodies, `__type` error codes,
//! epoch-second timestamps, padded base64 blobs), so every call below also checks those.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_kms::operation::encrypt::EncryptError;
use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    DataKeySpec, EncryptionAlgorithmSpec, KeyManagerType, KeyMetadata, KeySpec, KeyState,
    KeyUsageType, OriginType, Tag,
};

use common::{Server, read_credentials};

fn client(endpoint: &str, region: &str, id: &str, secret: &str) -> Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(id, secret, None, None, "kinko"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .expect("building a tag")
}

#[allow(clippy::disallowed_methods)] // the server under test runs on the wall clock
fn now_secs() -> i64 {
    DateTime::from(SystemTime::now()).secs()
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `arn:aws:kms:<region>:<account>:key/<id>` into (region, account, id).
fn parse_key_arn(arn: &str) -> (String, String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    assert_eq!(parts.len(), 6, "not an ARN: {arn}");
    assert_eq!(&parts[..3], ["arn", "aws", "kms"], "not a KMS ARN: {arn}");
    let id = parts[5]
        .strip_prefix("key/")
        .unwrap_or_else(|| panic!("not a key ARN: {arn}"));
    assert!(is_account_id(parts[4]), "account in {arn} is not 12 digits");
    (parts[3].to_owned(), parts[4].to_owned(), id.to_owned())
}

/// Checks the metadata of a freshly created SYMMETRIC_DEFAULT key and returns (key id, key ARN,
/// account).
fn check_new_key_metadata(
    md: &KeyMetadata,
    region: &str,
    description: &str,
) -> (String, String, String) {
    let key_id = md.key_id().to_owned();
    assert_eq!(key_id.len(), 36, "key id should be a UUID: {key_id}");
    assert!(
        key_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-'),
        "key id should be a lowercase UUID: {key_id}"
    );
    let arn = md.arn().expect("KeyMetadata.Arn").to_owned();
    let (arn_region, account, arn_id) = parse_key_arn(&arn);
    assert_eq!(arn_region, region, "ARN region: {arn}");
    assert_eq!(arn_id, key_id, "ARN key id: {arn}");
    assert_eq!(
        md.aws_account_id(),
        Some(account.as_str()),
        "KeyMetadata.AWSAccountId"
    );
    assert!(md.enabled(), "a new key is enabled");
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.key_spec(), Some(&KeySpec::SymmetricDefault));
    check_deprecated_key_spec(md);
    assert_eq!(md.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(
        md.encryption_algorithms(),
        [EncryptionAlgorithmSpec::SymmetricDefault]
    );
    assert!(md.signing_algorithms().is_empty() && md.mac_algorithms().is_empty());
    assert_eq!(md.key_manager(), Some(&KeyManagerType::Customer));
    assert_eq!(md.origin(), Some(&OriginType::AwsKms));
    assert_eq!(md.multi_region(), Some(false));
    assert_eq!(md.description(), Some(description));
    assert!(
        md.deletion_date().is_none(),
        "no deletion date on a new key"
    );
    let created = md
        .creation_date()
        .expect("KeyMetadata.CreationDate deserialized as a timestamp");
    let now = now_secs();
    assert!(
        (now - 300..=now + 60).contains(&created.secs()),
        "CreationDate {created} is not about now ({now})"
    );
    (key_id, arn, account)
}

/// `CustomerMasterKeySpec` is deprecated but old SDKs and tools only read it, so it must still be
/// returned next to `KeySpec`.
#[allow(deprecated)]
fn check_deprecated_key_spec(md: &KeyMetadata) {
    use aws_sdk_kms::types::CustomerMasterKeySpec;
    assert_eq!(
        md.customer_master_key_spec(),
        Some(&CustomerMasterKeySpec::SymmetricDefault)
    );
}

async fn create_key(kms: &Client, description: &str, tags: Vec<Tag>) -> KeyMetadata {
    kms.create_key()
        .description(description)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("CreateKey returns KeyMetadata")
}

async fn describe(kms: &Client, key_id: &str) -> KeyMetadata {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeKey {key_id}: {e:?}"))
        .key_metadata
        .expect("DescribeKey returns KeyMetadata")
}

async fn sorted_tags(kms: &Client, key_id: &str) -> Vec<(String, String)> {
    let out = kms
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .expect("ListResourceTags");
    assert!(!out.truncated() && out.next_marker().is_none());
    let mut tags: Vec<(String, String)> = out
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    tags.sort();
    tags
}

fn owned_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_against_the_real_binary() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let server = Server::start(&dir.path().join("data"), &[], &[], dir.path());
    let endpoint = server.endpoint();
    let (id, secret) = read_credentials(&server.data_dir.join("credentials"));
    let kms = client(&endpoint, "us-east-1", &id, &secret);

    // ---- CreateKey with description and tags -------------------------------------------------
    let md = create_key(
        &kms,
        "sdk test key one",
        vec![tag("team", "crypto"), tag("env", "test")],
    )
    .await;
    let (key1, arn1, account) = check_new_key_metadata(&md, "us-east-1", "sdk test key one");

    let described = describe(&kms, &key1).await;
    assert_eq!(described.arn(), Some(arn1.as_str()));
    assert_eq!(
        described.creation_date(),
        md.creation_date(),
        "CreationDate is stable"
    );
    let by_arn = describe(&kms, &arn1).await;
    assert_eq!(by_arn.key_id(), key1, "DescribeKey by key ARN");

    // UpdateKeyDescription.
    kms.update_key_description()
        .key_id(&key1)
        .description("key one, renamed")
        .send()
        .await
        .expect("UpdateKeyDescription");
    assert_eq!(
        describe(&kms, &key1).await.description(),
        Some("key one, renamed")
    );

    // ---- Aliases ------------------------------------------------------------------------------
    let alias = "alias/sdk-test-one";
    kms.create_alias()
        .alias_name(alias)
        .target_key_id(&key1)
        .send()
        .await
        .expect("CreateAlias");
    let by_alias = describe(&kms, alias).await;
    assert_eq!(by_alias.key_id(), key1, "DescribeKey by alias name");
    assert_eq!(by_alias.arn(), Some(arn1.as_str()));
    let alias_arn = format!("arn:aws:kms:us-east-1:{account}:{alias}");
    assert_eq!(
        describe(&kms, &alias_arn).await.key_id(),
        key1,
        "DescribeKey by alias ARN"
    );

    // ---- Encrypt / Decrypt with an encryption context -----------------------------------------
    let plaintext = b"attack at dawn".to_vec();
    let enc = kms
        .encrypt()
        .key_id(alias)
        .plaintext(Blob::new(plaintext.clone()))
        .encryption_context("purpose", "sdk-test")
        .encryption_context("tenant", "42")
        .send()
        .await
        .expect("Encrypt");
    assert_eq!(
        enc.key_id(),
        Some(arn1.as_str()),
        "Encrypt returns the key ARN"
    );
    assert_eq!(
        enc.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let ciphertext = enc.ciphertext_blob().expect("CiphertextBlob").clone();
    assert!(ciphertext.as_ref().len() > plaintext.len());
    assert!(
        !ciphertext
            .as_ref()
            .windows(plaintext.len())
            .any(|w| w == plaintext.as_slice()),
        "plaintext leaked"
    );

    // Without KeyId; context given in the other order.
    let dec = kms
        .decrypt()
        .ciphertext_blob(ciphertext.clone())
        .encryption_context("tenant", "42")
        .encryption_context("purpose", "sdk-test")
        .send()
        .await
        .expect("Decrypt without KeyId");
    assert_eq!(
        dec.plaintext().map(|b| b.as_ref()),
        Some(plaintext.as_slice())
    );
    assert_eq!(
        dec.key_id(),
        Some(arn1.as_str()),
        "Decrypt returns the key ARN"
    );
    assert_eq!(
        dec.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );

    // With KeyId as an alias.
    let dec = kms
        .decrypt()
        .key_id(alias)
        .ciphertext_blob(ciphertext.clone())
        .encryption_context("purpose", "sdk-test")
        .encryption_context("tenant", "42")
        .send()
        .await
        .expect("Decrypt with an alias KeyId");
    assert_eq!(
        dec.plaintext().map(|b| b.as_ref()),
        Some(plaintext.as_slice())
    );

    // Wrong context value, missing pair, no context at all: InvalidCiphertextException.
    let wrong_contexts: [&[(&str, &str)]; 3] = [
        &[("purpose", "sdk-test"), ("tenant", "43")],
        &[("purpose", "sdk-test")],
        &[],
    ];
    for context in wrong_contexts {
        let mut req = kms.decrypt().ciphertext_blob(ciphertext.clone());
        for (k, v) in context {
            req = req.encryption_context(*k, *v);
        }
        let err = req
            .send()
            .await
            .expect_err("Decrypt with the wrong context must fail")
            .into_service_error();
        assert!(
            matches!(err, DecryptError::InvalidCiphertextException(_)),
            "Decrypt with context {context:?}: expected InvalidCiphertextException, got {err:?}"
        );
    }

    // A tampered ciphertext.
    let mut tampered = ciphertext.as_ref().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let err = kms
        .decrypt()
        .ciphertext_blob(Blob::new(tampered))
        .encryption_context("purpose", "sdk-test")
        .encryption_context("tenant", "42")
        .send()
        .await
        .expect_err("Decrypt of a tampered ciphertext must fail")
        .into_service_error();
    assert!(
        matches!(err, DecryptError::InvalidCiphertextException(_)),
        "tampered ciphertext: got {err:?}"
    );

    // ---- Data keys and random bytes -----------------------------------------------------------
    let dk = kms
        .generate_data_key()
        .key_id(&key1)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("purpose", "data-key")
        .send()
        .await
        .expect("GenerateDataKey");
    assert_eq!(
        dk.key_id(),
        Some(arn1.as_str()),
        "GenerateDataKey returns the key ARN"
    );
    let dk_plain = dk
        .plaintext()
        .expect("GenerateDataKey Plaintext")
        .as_ref()
        .to_vec();
    assert_eq!(dk_plain.len(), 32, "AES_256 data key length");
    assert_ne!(dk_plain, vec![0u8; 32]);
    let dk_cipher = dk
        .ciphertext_blob()
        .expect("GenerateDataKey CiphertextBlob")
        .clone();
    let dec = kms
        .decrypt()
        .ciphertext_blob(dk_cipher)
        .encryption_context("purpose", "data-key")
        .send()
        .await
        .expect("Decrypt of a data key");
    assert_eq!(
        dec.plaintext().map(|b| b.as_ref()),
        Some(dk_plain.as_slice())
    );
    assert_eq!(dec.key_id(), Some(arn1.as_str()));

    // NumberOfBytes, as the aws-encryption-sdk sends it.
    let dk24 = kms
        .generate_data_key()
        .key_id(alias)
        .number_of_bytes(24)
        .send()
        .await
        .expect("GenerateDataKey(24)");
    assert_eq!(dk24.plaintext().map(|b| b.as_ref().len()), Some(24));
    let dk128 = kms
        .generate_data_key()
        .key_id(&key1)
        .key_spec(DataKeySpec::Aes128)
        .send()
        .await
        .expect("GenerateDataKey(AES_128)");
    assert_eq!(dk128.plaintext().map(|b| b.as_ref().len()), Some(16));

    let dkw = kms
        .generate_data_key_without_plaintext()
        .key_id(&key1)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKeyWithoutPlaintext");
    assert_eq!(dkw.key_id(), Some(arn1.as_str()));
    let dkw_plain = kms
        .decrypt()
        .ciphertext_blob(dkw.ciphertext_blob().expect("CiphertextBlob").clone())
        .send()
        .await
        .expect("Decrypt of a data key without plaintext");
    assert_eq!(dkw_plain.plaintext().map(|b| b.as_ref().len()), Some(32));

    let r1 = kms
        .generate_random()
        .number_of_bytes(64)
        .send()
        .await
        .expect("GenerateRandom");
    let r2 = kms
        .generate_random()
        .number_of_bytes(64)
        .send()
        .await
        .expect("GenerateRandom");
    let r1 = r1
        .plaintext()
        .expect("GenerateRandom Plaintext")
        .as_ref()
        .to_vec();
    let r2 = r2
        .plaintext()
        .expect("GenerateRandom Plaintext")
        .as_ref()
        .to_vec();
    assert_eq!(r1.len(), 64);
    assert_eq!(r2.len(), 64);
    assert_ne!(r1, r2, "two GenerateRandom calls returned the same bytes");

    // ---- ReEncrypt to a second key ------------------------------------------------------------
    let md2 = create_key(&kms, "sdk test key two", vec![]).await;
    let (key2, arn2, account2) = check_new_key_metadata(&md2, "us-east-1", "sdk test key two");
    assert_eq!(account2, account);
    let re = kms
        .re_encrypt()
        .ciphertext_blob(ciphertext.clone())
        .source_encryption_context("purpose", "sdk-test")
        .source_encryption_context("tenant", "42")
        .destination_key_id(&key2)
        .destination_encryption_context("purpose", "moved")
        .send()
        .await
        .expect("ReEncrypt");
    assert_eq!(
        re.source_key_id(),
        Some(arn1.as_str()),
        "ReEncrypt SourceKeyId is the source key ARN"
    );
    assert_eq!(
        re.key_id(),
        Some(arn2.as_str()),
        "ReEncrypt KeyId is the destination key ARN"
    );
    assert_eq!(
        re.source_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(
        re.destination_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let re_cipher = re
        .ciphertext_blob()
        .expect("ReEncrypt CiphertextBlob")
        .clone();
    let dec = kms
        .decrypt()
        .ciphertext_blob(re_cipher.clone())
        .encryption_context("purpose", "moved")
        .send()
        .await
        .expect("Decrypt of the re-encrypted ciphertext");
    assert_eq!(
        dec.plaintext().map(|b| b.as_ref()),
        Some(plaintext.as_slice())
    );
    assert_eq!(dec.key_id(), Some(arn2.as_str()));

    // Decrypt naming the wrong key: IncorrectKeyException.
    let err = kms
        .decrypt()
        .key_id(&key1)
        .ciphertext_blob(re_cipher)
        .encryption_context("purpose", "moved")
        .send()
        .await
        .expect_err("Decrypt with the wrong KeyId must fail")
        .into_service_error();
    assert!(
        matches!(err, DecryptError::IncorrectKeyException(_)),
        "Decrypt with the wrong KeyId: got {err:?}"
    );

    // ---- UpdateAlias, ListAliases, DeleteAlias ------------------------------------------------
    let alias2 = "alias/sdk-test-two";
    kms.create_alias()
        .alias_name(alias2)
        .target_key_id(&key1)
        .send()
        .await
        .expect("CreateAlias two");
    kms.update_alias()
        .alias_name(alias2)
        .target_key_id(&key2)
        .send()
        .await
        .expect("UpdateAlias");
    assert_eq!(
        describe(&kms, alias2).await.key_id(),
        key2,
        "alias follows UpdateAlias"
    );

    let aliases = kms.list_aliases().send().await.expect("ListAliases");
    let ours: BTreeMap<&str, (Option<&str>, Option<&str>)> = aliases
        .aliases()
        .iter()
        .filter_map(|a| {
            a.alias_name()
                .map(|n| (n, (a.target_key_id(), a.alias_arn())))
        })
        .filter(|(n, _)| n.starts_with("alias/sdk-test-"))
        .collect();
    let alias2_arn = format!("arn:aws:kms:us-east-1:{account}:{alias2}");
    assert_eq!(
        ours,
        BTreeMap::from([
            (alias, (Some(key1.as_str()), Some(alias_arn.as_str()))),
            (alias2, (Some(key2.as_str()), Some(alias2_arn.as_str()))),
        ]),
        "ListAliases"
    );
    let for_key2 = kms
        .list_aliases()
        .key_id(&key2)
        .send()
        .await
        .expect("ListAliases for a key");
    let names: Vec<&str> = for_key2
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name())
        .collect();
    assert_eq!(names, [alias2], "ListAliases filtered by KeyId");

    kms.delete_alias()
        .alias_name(alias2)
        .send()
        .await
        .expect("DeleteAlias");
    let err = kms
        .describe_key()
        .key_id(alias2)
        .send()
        .await
        .expect_err("DescribeKey of a deleted alias must fail")
        .into_service_error();
    assert!(
        matches!(err, DescribeKeyError::NotFoundException(_)),
        "deleted alias: got {err:?}"
    );

    // ---- Tags ---------------------------------------------------------------------------------
    assert_eq!(
        sorted_tags(&kms, &key1).await,
        owned_pairs(&[("env", "test"), ("team", "crypto")]),
        "tags from CreateKey"
    );
    kms.tag_resource()
        .key_id(&key1)
        .tags(tag("owner", "sdk"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .expect("TagResource");
    assert_eq!(
        sorted_tags(&kms, &key1).await,
        owned_pairs(&[("env", "prod"), ("owner", "sdk"), ("team", "crypto")]),
        "TagResource adds and overwrites"
    );
    kms.untag_resource()
        .key_id(&key1)
        .tag_keys("team")
        .send()
        .await
        .expect("UntagResource");
    assert_eq!(
        sorted_tags(&kms, &key1).await,
        owned_pairs(&[("env", "prod"), ("owner", "sdk")]),
        "UntagResource removes"
    );
    assert!(
        sorted_tags(&kms, &key2).await.is_empty(),
        "key two has no tags"
    );

    // ---- Key policy ---------------------------------------------------------------------------
    let policies = kms
        .list_key_policies()
        .key_id(&key1)
        .send()
        .await
        .expect("ListKeyPolicies");
    assert_eq!(policies.policy_names(), ["default"]);
    let policy = kms
        .get_key_policy()
        .key_id(&key1)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
    let policy_text = policy.policy().expect("GetKeyPolicy Policy");
    let root = format!("arn:aws:iam::{account}:root");
    assert!(
        policy_text.contains(&root),
        "default policy should name {root}: {policy_text}"
    );
    assert!(
        policy_text.contains("kms:*"),
        "default policy should allow kms:*: {policy_text}"
    );
    let new_policy = format!(
        r#"{{"Version":"2012-10-17","Id":"sdk-test-policy","Statement":[{{"Sid":"SdkTestRoot","Effect":"Allow","Principal":{{"AWS":"{root}"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    kms.put_key_policy()
        .key_id(&key2)
        .policy_name("default")
        .policy(&new_policy)
        .send()
        .await
        .expect("PutKeyPolicy");
    let policy2 = kms
        .get_key_policy()
        .key_id(&key2)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy after put");
    let policy2_text = policy2.policy().expect("GetKeyPolicy Policy");
    assert!(
        policy2_text.contains("SdkTestRoot"),
        "PutKeyPolicy was not stored: {policy2_text}"
    );

    // ---- Disable / enable / schedule and cancel deletion --------------------------------------
    let md3 = create_key(&kms, "sdk test key three", vec![]).await;
    let (key3, arn3, _) = check_new_key_metadata(&md3, "us-east-1", "sdk test key three");
    kms.disable_key()
        .key_id(&key3)
        .send()
        .await
        .expect("DisableKey");
    let d = describe(&kms, &key3).await;
    assert_eq!(d.key_state(), Some(&KeyState::Disabled));
    assert!(!d.enabled(), "Enabled must be false when Disabled");
    let err = kms
        .encrypt()
        .key_id(&key3)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("Encrypt with a disabled key must fail")
        .into_service_error();
    assert!(
        matches!(err, EncryptError::DisabledException(_)),
        "Encrypt with a disabled key: got {err:?}"
    );

    kms.enable_key()
        .key_id(&key3)
        .send()
        .await
        .expect("EnableKey");
    let d = describe(&kms, &key3).await;
    assert_eq!(d.key_state(), Some(&KeyState::Enabled));
    assert!(d.enabled());
    kms.encrypt()
        .key_id(&key3)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("Encrypt after EnableKey");

    let before = now_secs();
    let sched = kms
        .schedule_key_deletion()
        .key_id(&key3)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    assert_eq!(
        sched.key_id(),
        Some(arn3.as_str()),
        "ScheduleKeyDeletion returns the key ARN"
    );
    assert_eq!(sched.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(sched.pending_window_in_days(), Some(7));
    let deletion = sched
        .deletion_date()
        .expect("ScheduleKeyDeletion DeletionDate")
        .secs();
    let week = 7 * 24 * 3600;
    assert!(
        (before + week - 3600..=before + week + 24 * 3600).contains(&deletion),
        "DeletionDate {deletion} is not about 7 days after {before}"
    );
    let d = describe(&kms, &key3).await;
    assert_eq!(d.key_state(), Some(&KeyState::PendingDeletion));
    assert!(!d.enabled());
    assert_eq!(
        d.deletion_date().map(|t| t.secs()),
        Some(deletion),
        "DescribeKey DeletionDate"
    );
    let err = kms
        .encrypt()
        .key_id(&key3)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("Encrypt with a key pending deletion must fail")
        .into_service_error();
    assert!(
        matches!(err, EncryptError::KmsInvalidStateException(_)),
        "Encrypt with a key pending deletion: got {err:?}"
    );

    let cancel = kms
        .cancel_key_deletion()
        .key_id(&key3)
        .send()
        .await
        .expect("CancelKeyDeletion");
    assert_eq!(
        cancel.key_id(),
        Some(arn3.as_str()),
        "CancelKeyDeletion returns the key ARN"
    );
    let d = describe(&kms, &key3).await;
    assert_eq!(
        d.key_state(),
        Some(&KeyState::Disabled),
        "CancelKeyDeletion leaves the key Disabled"
    );
    assert!(!d.enabled());
    assert!(
        d.deletion_date().is_none(),
        "no DeletionDate after CancelKeyDeletion"
    );

    // ---- Unknown key --------------------------------------------------------------------------
    let err = kms
        .describe_key()
        .key_id("0b9f2c4e-5d1a-4c3b-8e7f-1a2b3c4d5e6f")
        .send()
        .await
        .expect_err("DescribeKey of an unknown key must fail")
        .into_service_error();
    assert!(
        matches!(err, DescribeKeyError::NotFoundException(_)),
        "unknown key: got {err:?}"
    );
    assert!(
        err.message().is_some(),
        "NotFoundException should carry a message"
    );

    // ---- ListKeys: one page by hand, then the paginator ---------------------------------------
    let created: BTreeSet<(String, String)> = [(&key1, &arn1), (&key2, &arn2), (&key3, &arn3)]
        .into_iter()
        .map(|(k, a)| (k.clone(), a.clone()))
        .collect();
    let page = kms
        .list_keys()
        .limit(1)
        .send()
        .await
        .expect("ListKeys limit 1");
    assert_eq!(page.keys().len(), 1, "ListKeys honours Limit");
    assert!(
        page.truncated(),
        "Truncated must be true when more keys remain"
    );
    assert!(
        page.next_marker().is_some_and(|m| !m.is_empty()),
        "NextMarker with Truncated"
    );
    let all: Vec<_> = kms
        .list_keys()
        .limit(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    let listed: BTreeSet<(String, String)> = all
        .into_iter()
        .map(|entry| {
            let entry = entry.expect("ListKeys page");
            (
                entry.key_id().expect("KeyId").to_owned(),
                entry.key_arn().expect("KeyArn").to_owned(),
            )
        })
        .collect();
    assert_eq!(listed, created, "ListKeys via the paginator");
    let full = kms.list_keys().send().await.expect("ListKeys");
    assert_eq!(full.keys().len(), 3);
    assert!(
        !full.truncated() && full.next_marker().is_none(),
        "last page: Truncated false, no NextMarker"
    );

    // ---- Another region -----------------------------------------------------------------------
    let kms_eu = client(&endpoint, "eu-west-2", &id, &secret);
    let md_eu = create_key(&kms_eu, "sdk test key eu", vec![]).await;
    let (key_eu, arn_eu, account_eu) =
        check_new_key_metadata(&md_eu, "eu-west-2", "sdk test key eu");
    assert_eq!(account_eu, account);
    assert!(arn_eu.starts_with("arn:aws:kms:eu-west-2:"), "{arn_eu}");
    let enc_eu = kms_eu
        .encrypt()
        .key_id(&key_eu)
        .plaintext(Blob::new(b"eu".to_vec()))
        .send()
        .await
        .expect("Encrypt (eu)");
    assert_eq!(enc_eu.key_id(), Some(arn_eu.as_str()));
    let eu_keys: BTreeSet<String> = kms_eu
        .list_keys()
        .send()
        .await
        .expect("ListKeys (eu)")
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(str::to_owned))
        .collect();
    assert_eq!(
        eu_keys,
        BTreeSet::from([key_eu.clone()]),
        "eu-west-2 sees only its own keys"
    );
    let us_keys: BTreeSet<String> = kms
        .list_keys()
        .send()
        .await
        .expect("ListKeys (us)")
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(str::to_owned))
        .collect();
    assert!(
        !us_keys.contains(&key_eu),
        "us-east-1 must not list the eu-west-2 key"
    );
    assert_eq!(us_keys.len(), 3);
    let err = kms_eu
        .describe_key()
        .key_id(&key1)
        .send()
        .await
        .expect_err("a us-east-1 key id must not resolve in eu-west-2")
        .into_service_error();
    assert!(
        matches!(err, DescribeKeyError::NotFoundException(_)),
        "us key from eu: got {err:?}"
    );

    // ---- Authentication failures --------------------------------------------------------------
    let mut bad_secret = secret.clone();
    let first = if bad_secret.starts_with('A') {
        "B"
    } else {
        "A"
    };
    bad_secret.replace_range(0..1, first);
    let wrong = client(&endpoint, "us-east-1", &id, &bad_secret);
    let err = wrong
        .list_keys()
        .send()
        .await
        .expect_err("a wrong secret must be rejected");
    assert_eq!(
        err.code(),
        Some("InvalidSignatureException"),
        "wrong secret: {err:?}"
    );
    let err = wrong
        .describe_key()
        .key_id(&key1)
        .send()
        .await
        .expect_err("a wrong secret must be rejected");
    assert_eq!(
        err.code(),
        Some("InvalidSignatureException"),
        "wrong secret: {err:?}"
    );

    let unknown = client(&endpoint, "us-east-1", "AKIAIOSFODNN7EXAMPLE", &secret);
    let err = unknown
        .list_keys()
        .send()
        .await
        .expect_err("an unknown access key must be rejected");
    assert_eq!(
        err.code(),
        Some("UnrecognizedClientException"),
        "unknown access key: {err:?}"
    );

    // The good client still works afterwards.
    assert_eq!(
        describe(&kms, &key1).await.key_state(),
        Some(&KeyState::Enabled)
    );
    drop(server);
}
