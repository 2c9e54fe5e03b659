//! The audit store refusing every write (a trigger on PostgreSQL's `audit_events` that raises):
//! requests fail closed with `KMSInternalException`, none is answered without its record, a
//! CreateKey that failed left no key behind, and service resumes once the store takes writes
//! again; the trail then verifies.

use std::time::{Duration, Instant};

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::common::{Server, run};
use crate::load::Target;
use crate::pg;

/// How long service may take to resume once records can be written again.
const RESUME_WITHIN: Duration = Duration::from_secs(30);

async fn sql(url: &str, statement: &str) {
    let mut db = PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    let _ = db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_audit_store_fails_every_request_closed() {
    let Some(server_url) = pg::server_url("an_unwritable_audit_store_fails_every_request_closed")
    else {
        return;
    };
    let db = pg::PgDatabase::create(&server_url).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let extra = ["--store", db.url.as_str()];
    let server = tokio::task::block_in_place(|| Server::start(&data, &extra, &[], dir.path()));
    let target = Target::new(server.addr, &data, "");
    let kms = &target.kms;
    let key = kms
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("metadata")
        .key_id;
    let sealed = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"before".to_vec()))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob
        .expect("CiphertextBlob");
    let keys_before = kms
        .list_keys()
        .send()
        .await
        .expect("ListKeys")
        .keys
        .unwrap_or_default()
        .len();

    sql(
        &db.url,
        "CREATE FUNCTION kinko_fault_refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'fault campaign: audit store refuses writes'; END $$; \
         CREATE TRIGGER kinko_fault_refuse BEFORE INSERT ON audit_events \
         FOR EACH ROW EXECUTE FUNCTION kinko_fault_refuse();",
    )
    .await;
    let mut refused = 0;
    for i in 0..10 {
        let outcomes = [
            kms.create_key()
                .description(format!("refused {i}"))
                .send()
                .await
                .map(|_| ())
                .err()
                .map(|e| {
                    (
                        e.code().map(str::to_owned),
                        e.raw_response().map(|r| r.status().as_u16()),
                    )
                }),
            kms.encrypt()
                .key_id(&key)
                .plaintext(Blob::new(b"x".to_vec()))
                .send()
                .await
                .map(|_| ())
                .err()
                .map(|e| {
                    (
                        e.code().map(str::to_owned),
                        e.raw_response().map(|r| r.status().as_u16()),
                    )
                }),
            kms.decrypt()
                .ciphertext_blob(sealed.clone())
                .send()
                .await
                .map(|_| ())
                .err()
                .map(|e| {
                    (
                        e.code().map(str::to_owned),
                        e.raw_response().map(|r| r.status().as_u16()),
                    )
                }),
            kms.describe_key()
                .key_id(&key)
                .send()
                .await
                .map(|_| ())
                .err()
                .map(|e| {
                    (
                        e.code().map(str::to_owned),
                        e.raw_response().map(|r| r.status().as_u16()),
                    )
                }),
        ];
        for (op, outcome) in ["CreateKey", "Encrypt", "Decrypt", "DescribeKey"]
            .iter()
            .zip(outcomes)
        {
            match outcome {
                Some((Some(code), Some(500))) if code == "KMSInternalException" => refused += 1,
                other => panic!(
                    "{op} with the audit store refusing writes: {other:?} (must fail closed with KMSInternalException)"
                ),
            }
        }
    }
    sql(
        &db.url,
        "DROP TRIGGER kinko_fault_refuse ON audit_events; DROP FUNCTION kinko_fault_refuse();",
    )
    .await;
    let dropped = Instant::now();
    loop {
        match kms.describe_key().key_id(&key).send().await {
            Ok(_) => break,
            Err(e) => assert!(
                dropped.elapsed() < RESUME_WITHIN,
                "no service {RESUME_WITHIN:?} after the store took writes again: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = dropped.elapsed();
    // No CreateKey that failed left a key behind.
    let keys_after = kms
        .list_keys()
        .send()
        .await
        .expect("ListKeys")
        .keys
        .unwrap_or_default()
        .len();
    assert_eq!(
        keys_after, keys_before,
        "a CreateKey refused for its record left a key"
    );
    let plain = kms
        .decrypt()
        .ciphertext_blob(sealed)
        .send()
        .await
        .expect("Decrypt after")
        .plaintext
        .expect("Plaintext");
    assert_eq!(plain.as_ref(), b"before");
    tokio::task::block_in_place(|| server.stop());
    let data_text = data.to_str().expect("UTF-8");
    run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data_text,
            "--store",
            &db.url,
        ],
        &[],
        dir.path(),
    )
    .assert_success("kinko audit verify after the refused writes");
    eprintln!(
        "faults: audit-store-unwritable store=postgres refused={refused} answered_without_record=0 leftover_keys=0 resumed_after={resumed:?} audit_verify=ok"
    );
}
