//! Key policies through the real binary and the Rust SDK: a denial comes back as
//! AccessDeniedException with AWS's message, and `kinko authz explain` says which statement
//! decided, over the data directory of the running server.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use std::path::Path;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use common::{Server, kinko};

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Runs `kinko authz explain` with `args`; (exit code, stdout).
fn explain(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["authz", "explain", "--data-dir", path_str(data)];
    all.extend_from_slice(args);
    let output = kinko(&all, &[]).output().expect("run kinko authz explain");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_reaches_the_sdk_and_explain_names_the_statement() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let server = Server::start(&data, &[], &[], dir.path());
    let kms = server.client();

    let key = kms.create_key().send().await.expect("CreateKey");
    let metadata = key.key_metadata().expect("metadata");
    let (key_id, key_arn) = (
        metadata.key_id().to_owned(),
        metadata.arn().expect("arn").to_owned(),
    );
    let account = metadata.aws_account_id().expect("account").to_owned();
    let root = format!("arn:aws:iam::{account}:root");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "NoDecryptWithoutPurpose", "Effect": "Deny", "Principal": "*",
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:EncryptionContext:purpose": "backup"}}}
        ]
    });
    kms.put_key_policy()
        .key_id(&key_id)
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");

    let sealed = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"ledger".to_vec()))
        .send()
        .await
        .expect("Encrypt");
    let blob = sealed.ciphertext_blob().expect("a blob").clone();
    let err = kms
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .expect_err("Decrypt without the purpose is denied");
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert_eq!(
        err.message(),
        Some(
            format!(
                "User: {root} is not authorized to perform: kms:Decrypt on resource: {key_arn} with an explicit deny in a resource-based policy"
            )
            .as_str()
        )
    );

    // explain, over the running server's data directory.
    let (code, out) = explain(
        &data,
        &[
            "--principal",
            &root,
            "--action",
            "kms:Decrypt",
            "--key",
            &key_id,
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Statement[1] (Sid \"NoDecryptWithoutPurpose\") (Deny): applies"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "DENIED: User: {root} is not authorized to perform: kms:Decrypt on resource: {key_arn} with an explicit deny"
        )),
        "{out}"
    );
    let (code, out) = explain(
        &data,
        &[
            "--principal",
            &root,
            "--action",
            "kms:Decrypt",
            "--key",
            &key_arn,
            "--context",
            "purpose=backup",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("NoDecryptWithoutPurpose") && out.contains("does not apply"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ALLOWED: {root} may perform kms:Decrypt")),
        "{out}"
    );

    // An account-level action, and a user the key policy does not name.
    let (code, out) = explain(&data, &["--principal", &root, "--action", "kms:CreateKey"]);
    assert_eq!(code, Some(0), "{out}");
    let stranger = format!("arn:aws:iam::{account}:user/stranger");
    let (code, out) = explain(
        &data,
        &[
            "--principal",
            &stranger,
            "--action",
            "kms:Encrypt",
            "--key",
            &key_id,
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("no identity-based policy allows the kms:Encrypt action"),
        "{out}"
    );
    server.stop();
}
