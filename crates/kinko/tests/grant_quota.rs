//! The quota of 50,000 grants per key, against the real binary on SQLite. Making 50,000 grants
//! through the API would take minutes, so all but one are written straight into the store (one
//! statement) while the server runs; the server has not cached the key's grants, so its next
//! CreateGrant reads them all. The 50,001st grant is `LimitExceededException` and changes
//! nothing; revoking one makes room for exactly one more.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::GrantOperation;
use common::{Server, create_key};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grant_after_fifty_thousand_is_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[], &[], tmp.path());
    let kms = server.client();
    let key = create_key(&kms, "grant quota").await;
    let arn = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("an ARN");
    let parts: Vec<&str> = arn.split(':').collect();
    let (region, account) = (parts[3], parts[4]);
    let grantee = format!("arn:aws:iam::{account}:user/quota");
    let create = || {
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(&grantee)
            .operations(GrantOperation::Encrypt)
            .send()
    };
    let first = create()
        .await
        .expect("the first grant")
        .grant_id
        .expect("GrantId");

    let db = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(data.join("kinko.db"))
            .busy_timeout(std::time::Duration::from_secs(10)),
    )
    .await
    .expect("open the store");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 49999) \
         INSERT INTO grants (grant_id, key_id, account, region, name, grantee_principal, \
         retiring_principal, operations, encryption_context_equals, encryption_context_subset, \
         issuing_account, created_at) \
         SELECT printf('%064x', i), $1, $2, $3, NULL, $4, NULL, 'Encrypt', NULL, NULL, $5, 0 FROM n",
    )
    .bind(&key)
    .bind(account)
    .bind(region)
    .bind(&grantee)
    .bind(format!("arn:aws:iam::{account}:root"))
    .execute(&db)
    .await
    .expect("write 49,999 grants");
    db.close().await;

    let refused = create().await.expect_err("the 50,001st grant");
    assert_eq!(
        refused.code(),
        Some("LimitExceededException"),
        "{refused:?}"
    );
    kms.revoke_grant()
        .key_id(&key)
        .grant_id(&first)
        .send()
        .await
        .expect("RevokeGrant");
    create().await.expect("room for one more after a revoke");
    let again = create().await.expect_err("full again");
    assert_eq!(again.code(), Some("LimitExceededException"), "{again:?}");
    server.stop();
}
