//! `kinko store copy` end to end: an installation served on SQLite (symmetric keys, an RSA key,
//! ciphertexts, an alias, tags, a custom key policy, a grant), stopped, copied into a fresh PostgreSQL
//! database, then served from PostgreSQL with the same data directory (the same root of trust):
//! every old ciphertext decrypts, aliases, tags, grants and policies are there, new writes work, and
//! `kinko audit verify` passes on the copy. A second copy into the now non-empty database is
//! refused and changes nothing.
//!
//! Needs PostgreSQL (`KINKO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`):
//! unreachable, the test fails when `CI` is set, and otherwise says it did NOT run.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;
#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
#[path = "common/pg.rs"]
mod pg;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{EncryptionAlgorithmSpec, KeySpec, KeyUsageType, Tag};
use common::{Server, assert_all_decrypt, create_key, encrypt, run};

const RSA_PLAINTEXT: &[u8] = b"moved with the installation";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_installation_copied_to_postgres_keeps_working() {
    let Some(server_url) = pg::server_url("store_copy") else {
        return;
    };
    let db = pg::PgDatabase::create(&server_url).await;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("data");
    let logs = tmp.path();

    // ---- 1. An installation on SQLite -----------------------------------------------------------
    let server = Server::start(&data, &[], &[], logs);
    let kms = server.client();
    let k1 = create_key(&kms, "first").await;
    let k2 = create_key(&kms, "second").await;
    let mut sealed = vec![
        encrypt(&kms, &k1, b"alpha", &[]).await,
        encrypt(&kms, &k1, b"beta", &[("purpose", "copy-test")]).await,
        encrypt(&kms, &k2, b"gamma", &[("a", "1"), ("b", "2")]).await,
    ];
    kms.rotate_key_on_demand()
        .key_id(&k2)
        .send()
        .await
        .expect("RotateKeyOnDemand");
    sealed.push(encrypt(&kms, &k2, b"after rotation", &[]).await);
    let rsa = kms
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .expect("CreateKey RSA_2048")
        .key_metadata
        .expect("KeyMetadata")
        .key_id;
    let rsa_ciphertext = kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new(RSA_PLAINTEXT))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .expect("Encrypt RSA")
        .ciphertext_blob
        .expect("CiphertextBlob")
        .into_inner();
    kms.create_alias()
        .alias_name("alias/moved")
        .target_key_id(&k1)
        .send()
        .await
        .expect("CreateAlias");
    kms.tag_resource()
        .key_id(&k2)
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("storage")
                .build()
                .expect("a tag"),
        )
        .send()
        .await
        .expect("TagResource");
    let account = kms
        .describe_key()
        .key_id(&k1)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .expect("KeyMetadata")
        .aws_account_id
        .expect("AWSAccountId");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Id":"copied","Statement":[{{"Sid":"CopiedRoot","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    kms.put_key_policy()
        .key_id(&k2)
        .policy_name("default")
        .policy(&policy)
        .send()
        .await
        .expect("PutKeyPolicy");
    let grant_id = kms
        .create_grant()
        .key_id(&k2)
        .grantee_principal(format!("arn:aws:iam::{account}:user/copied"))
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .constraints(
            aws_sdk_kms::types::GrantConstraints::builder()
                .encryption_context_subset("purpose", "copy")
                .build(),
        )
        .name("copied-grant")
        .send()
        .await
        .expect("CreateGrant")
        .grant_id
        .expect("GrantId");
    server.stop();

    // ---- 2. Copy it into PostgreSQL ---------------------------------------------------------------
    let from = format!("sqlite://{}", data.join("kinko.db").display());
    let copied = run(
        &["store", "copy", "--from", &from, "--to", &db.url],
        &[],
        logs,
    );
    copied.assert_success("kinko store copy");
    // A second copy into the same (now populated) database is refused.
    let again = run(
        &["store", "copy", "--from", &from, "--to", &db.url],
        &[],
        logs,
    );
    again.assert_refused("a copy into a non-empty store", &["not empty"]);
    // So is a source that does not exist.
    let missing = format!("sqlite://{}", tmp.path().join("nope.db").display());
    run(
        &["store", "copy", "--from", &missing, "--to", &db.url],
        &[],
        logs,
    )
    .assert_refused("a copy from a missing store", &["does not exist"]);

    // ---- 3. Serve the copy from PostgreSQL, same data directory (same root) --------------------
    let server = Server::start(&data, &["--store", &db.url], &[], logs);
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after the copy to PostgreSQL").await;
    let rsa_plain = kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(rsa_ciphertext))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .expect("Decrypt RSA after the copy")
        .plaintext
        .expect("Plaintext")
        .into_inner();
    assert_eq!(rsa_plain, RSA_PLAINTEXT);
    let aliases = kms.list_aliases().send().await.expect("ListAliases");
    let moved = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/moved"))
        .expect("alias/moved was copied");
    assert_eq!(moved.target_key_id(), Some(k1.as_str()));
    let mut via_alias = encrypt(&kms, "alias/moved", b"through the alias", &[]).await;
    via_alias.key_id.clone_from(&k1);
    let tags = kms
        .list_resource_tags()
        .key_id(&k2)
        .send()
        .await
        .expect("ListResourceTags");
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    assert_eq!(tags, [("team".to_owned(), "storage".to_owned())]);
    let grants = kms
        .list_grants()
        .key_id(&k2)
        .send()
        .await
        .expect("ListGrants")
        .grants
        .unwrap_or_default();
    assert_eq!(grants.len(), 1, "the grant was copied: {grants:?}");
    assert_eq!(grants[0].grant_id(), Some(grant_id.as_str()));
    assert_eq!(grants[0].name(), Some("copied-grant"));
    assert_eq!(
        grants[0]
            .constraints()
            .and_then(|c| c.encryption_context_subset())
            .and_then(|m| m.get("purpose"))
            .map(String::as_str),
        Some("copy")
    );
    let stored_policy = kms
        .get_key_policy()
        .key_id(&k2)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy")
        .policy
        .expect("Policy");
    assert!(
        stored_policy.contains("CopiedRoot"),
        "the custom policy was not copied: {stored_policy}"
    );
    let rotations = kms
        .list_key_rotations()
        .key_id(&k2)
        .send()
        .await
        .expect("ListKeyRotations");
    assert_eq!(
        rotations.rotations().len(),
        1,
        "the on-demand rotation was copied"
    );
    // New writes continue on the copy.
    let k3 = create_key(&kms, "made on PostgreSQL").await;
    sealed.push(encrypt(&kms, &k3, b"delta", &[]).await);
    sealed.push(via_alias);
    assert_all_decrypt(&kms, &sealed, "after new writes on PostgreSQL").await;
    server.stop();

    // ---- 4. The audit trail verifies on the copy ----------------------------------------------
    let data_text = data.to_str().expect("a UTF-8 path");
    let verify = run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data_text,
            "--store",
            &db.url,
        ],
        &[],
        logs,
    );
    verify.assert_success("kinko audit verify on the copy");
}
