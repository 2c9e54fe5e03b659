//! A real full file system: the data directory on a small tmpfs of the test's own (needs the
//! right to mount, as root in a container; without it the test says it did NOT run). Under mixed
//! load the rest of the file system is filled (`ENOSPC`); every request that fails does so with a
//! server error, the process stays up, and once the filler is deleted service resumes without a
//! restart; every acknowledged write is there with its audit record, and the trail verifies.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::operation::RequestId;

use crate::common::{Server, run};
use crate::load::{
    Ledger, Rng, Target, check, is_server_error, recorded_request_ids, steady_worker,
};

/// The file system's size: room for the store and its journals, little more.
const SIZE: &str = "48m";
/// How long the disk stays full under load.
const FULL_FOR: Duration = Duration::from_secs(3);
/// How long service may take to resume once space returns.
const RESUME_WITHIN: Duration = Duration::from_secs(30);

/// A tmpfs mounted for one test, unmounted with the value.
struct Mounted(PathBuf);

impl Mounted {
    fn try_mount(dir: &Path) -> Option<Mounted> {
        std::fs::create_dir_all(dir).expect("create the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SIZE}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?;
        out.status.success().then(|| Mounted(dir.to_owned()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `path` with one file, until a write fails with `ENOSPC`.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create the filler");
    let block = vec![0x5au8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = file.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_system_fails_requests_cleanly_and_service_resumes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let Some(mount) = Mounted::try_mount(&dir.path().join("fs")) else {
        eprintln!(
            "cannot mount a tmpfs here: a_full_file_system_fails_requests_cleanly did NOT run"
        );
        return;
    };
    let data = mount.0.join("data");
    let logs = dir.path();
    let mut server = tokio::task::block_in_place(|| Server::start(&data, &[], &[], logs));
    let target = Target::new(server.addr, &data, "");
    let out = target.kms.create_key().send().await.expect("CreateKey");
    let request_id = out.request_id().map(str::to_owned);
    let made = out.key_metadata.expect("metadata");
    let target = Target::new(server.addr, &data, &made.aws_account_id.unwrap_or_default());
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    {
        let mut l = ledger.lock().expect("the ledger");
        l.keys.push(made.key_id);
        l.request_ids.extend(request_id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let tag = format!("full-w{w}");
            tokio::spawn(steady_worker(
                target.clone(),
                ledger.clone(),
                Rng::new(w + 7),
                tag,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let filler = mount.0.join("filler");
    let filled = tokio::task::block_in_place(|| fill(&filler));
    tokio::time::sleep(FULL_FOR).await;
    assert_eq!(
        server.exited(),
        None,
        "the server died on a full disk:\n{}",
        server.log_text()
    );
    std::fs::remove_file(&filler).expect("delete the filler");
    let freed = Instant::now();
    let resumed = loop {
        let ok = target.kms.create_key().send().await.is_ok_and(|out| {
            let mut l = ledger.lock().expect("the ledger");
            l.request_ids.extend(out.request_id().map(str::to_owned));
            l.keys
                .push(out.key_metadata.map(|m| m.key_id).unwrap_or_default());
            true
        });
        if ok {
            break freed.elapsed();
        }
        assert!(
            freed.elapsed() < RESUME_WITHIN,
            "no CreateKey {RESUME_WITHIN:?} after space returned:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Release);
    let (mut succeeded, mut errors) = (0, Vec::new());
    for w in workers {
        let (ok, e) = w.await.expect("a worker");
        succeeded += ok;
        errors.extend(e);
    }
    let wrong: Vec<_> = errors.iter().filter(|e| !is_server_error(e)).collect();
    assert!(
        wrong.is_empty(),
        "errors on a full disk that are not server errors: {wrong:#?}"
    );
    assert!(
        !errors.is_empty(),
        "no request failed on a full file system ({filled} bytes of filler)"
    );
    let all = ledger.lock().expect("the ledger").clone();
    let missing = check(&target, &all).await;
    assert!(
        missing.is_empty(),
        "acknowledged on a full disk, then lost:\n{}",
        missing.join("\n")
    );
    tokio::task::block_in_place(|| server.stop());
    let recorded = recorded_request_ids(&data, &[]);
    let unrecorded = all
        .request_ids
        .iter()
        .filter(|id| !recorded.contains(id.as_str()))
        .count();
    assert_eq!(
        unrecorded, 0,
        "acknowledged requests without their audit record"
    );
    run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data.to_str().expect("UTF-8"),
        ],
        &[],
        logs,
    )
    .assert_success("kinko audit verify after the full file system");
    eprintln!(
        "faults: full-tmpfs store=sqlite size={SIZE} requests_ok={succeeded} requests_failed_5xx={} acknowledged[{}] all_found=true records_found={}/{} resumed_after={resumed:?} audit_verify=ok",
        errors.len(),
        all.figures(),
        all.request_ids.len(),
        all.request_ids.len()
    );
}
