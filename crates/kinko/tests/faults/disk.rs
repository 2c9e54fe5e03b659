//! A full disk, as a file-size limit on the running server (`prlimit --pid P --fsize=1:`, the soft limit: every
//! write past the first byte of any file fails with `EFBIG`, the database, its WAL, the audit
//! journal and the log alike). Requests fail with `KMSInternalException` and the process stays
//! up (it ignores SIGXFSZ, and a log it cannot write does not bring it down); whatever was
//! answered with a success is there afterwards; once the limit is lifted, service resumes without
//! a restart, and the trail verifies.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;

use crate::common::{Sealed, Server, healthz_ok, run};
use crate::load::{Ledger, Target, check};

/// How long service may take to resume once space returns.
const RESUME_WITHIN: Duration = Duration::from_secs(30);
/// Requests sent while the disk is full.
const TRIES: usize = 40;

fn limit_file_size(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}")])
        .status()
        .expect("run prlimit");
    assert!(
        status.success(),
        "prlimit --pid {pid} --fsize={limit}: {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_requests_cleanly_and_service_resumes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let mut server = tokio::task::block_in_place(|| Server::start(&data, &[], &[], dir.path()));
    let target = Target::new(server.addr, &data, "");
    let kms = &target.kms;
    let mut ledger = Ledger::default();
    let key = kms
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("metadata")
        .key_id;
    ledger.keys.push(key.clone());

    limit_file_size(server.pid(), "1:");
    let mut failed = 0;
    for i in 0..TRIES {
        let plaintext = format!("full {i}").into_bytes();
        let outcome = if i % 2 == 0 {
            kms.create_key()
                .send()
                .await
                .map(|out| {
                    ledger.keys.push(out.key_metadata.expect("metadata").key_id);
                })
                .map_err(|e| (e.code().map(str::to_owned), format!("{e:?}")))
        } else {
            kms.encrypt()
                .key_id(&key)
                .plaintext(Blob::new(plaintext.clone()))
                .send()
                .await
                .map(|out| {
                    ledger.sealed.push(Sealed {
                        key_id: key.clone(),
                        context: Vec::new(),
                        plaintext,
                        ciphertext: out.ciphertext_blob.expect("CiphertextBlob").into_inner(),
                    });
                })
                .map_err(|e| (e.code().map(str::to_owned), format!("{e:?}")))
        };
        match outcome {
            Ok(()) => {}
            Err((code, e)) => {
                assert_eq!(
                    server.exited(),
                    None,
                    "the server died on a full disk at request {i}: {e}"
                );
                assert_eq!(
                    code.as_deref(),
                    Some("KMSInternalException"),
                    "request {i} on a full disk: {e}"
                );
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "no request failed with every write refused");
    assert_eq!(
        server.exited(),
        None,
        "the server died on a full disk:\n{}",
        server.log_text()
    );
    assert!(
        healthz_ok(server.addr),
        "the server stopped answering /healthz on a full disk"
    );

    limit_file_size(server.pid(), "unlimited:");
    let lifted = Instant::now();
    let resumed = loop {
        match kms.create_key().send().await {
            Ok(out) => {
                ledger.keys.push(out.key_metadata.expect("metadata").key_id);
                break lifted.elapsed();
            }
            Err(e) => assert!(
                lifted.elapsed() < RESUME_WITHIN,
                "no CreateKey {RESUME_WITHIN:?} after space returned: {e:?}\n{}",
                server.log_text()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let missing = check(&target, &ledger).await;
    assert!(
        missing.is_empty(),
        "acknowledged on a full disk, then lost:\n{}",
        missing.join("\n")
    );
    let listed = kms
        .list_keys()
        .limit(1000)
        .send()
        .await
        .expect("ListKeys")
        .keys
        .unwrap_or_default()
        .len();
    assert_eq!(
        listed,
        ledger.keys.len(),
        "a CreateKey that failed left a key behind"
    );
    tokio::task::block_in_place(|| server.stop());
    run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data.to_str().expect("UTF-8"),
        ],
        &[],
        dir.path(),
    )
    .assert_success("kinko audit verify after the full disk");
    eprintln!(
        "faults: full-disk store=sqlite requests={TRIES} failed_cleanly={failed} acknowledged[{}] all_found=true resumed_after={resumed:?} audit_verify=ok",
        ledger.figures()
    );
}
