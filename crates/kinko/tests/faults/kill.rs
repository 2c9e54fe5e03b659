//! kill -9 at random points under mixed load (CreateKey, Encrypt, EnableKeyRotation,
//! CreateGrant, IAM CreateUser), on SQLite and on PostgreSQL: after every restart each
//! acknowledged write is there and each acknowledged ciphertext decrypts; at the end every
//! acknowledged request has its audit record (`kinko audit query`) and
//! `kinko audit verify` passes over the whole trail.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::operation::RequestId;

use crate::common::{Server, run};
use crate::load::{Ledger, Rng, Target, check, recorded_request_ids, worker};
use crate::{pg, rounds};

/// Workers sending requests at once.
const WORKERS: u64 = 4;
/// How long the first acknowledged write of a round may take.
const FIRST_WRITE_WITHIN: Duration = Duration::from_secs(30);
/// Short run: kills per store.
const SHORT_ROUNDS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_on_sqlite_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    campaign("sqlite", &data, &[], dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_on_postgres_loses_no_acknowledged_write() {
    let Some(server) = pg::server_url("kill_9_under_load_on_postgres") else {
        return;
    };
    let db = pg::PgDatabase::create(&server).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    campaign("postgres", &data, &["--store", &db.url], dir.path()).await;
}

/// Whether a worker's last error is what a killed server causes (a refused or cut connection),
/// rather than an answer: an SDK service error, or an IAM error status.
fn is_kill_symptom(e: &str) -> bool {
    !e.contains("ServiceError")
        && !e.contains(": HTTP 4")
        && !e.contains(": HTTP 5")
        && !e.contains("no key")
}

async fn campaign(store: &str, data: &Path, extra: &[&str], logs: &Path) {
    let rounds = rounds(SHORT_ROUNDS);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut checked = Ledger::default();
    let mut account = String::new();
    let mut recoveries = Vec::new();
    let mut rng = Rng::new(0x5eed ^ rounds as u64);
    let started = Instant::now();
    for round in 0..=rounds {
        let t = Instant::now();
        let server = tokio::task::block_in_place(|| Server::start(data, extra, &[], logs));
        if round > 0 {
            recoveries.push(t.elapsed());
        }
        let mut target = Target::new(server.addr, data, &account);
        if round == 0 {
            let out = target
                .kms
                .create_key()
                .send()
                .await
                .expect("the first CreateKey");
            let request_id = out.request_id().map(str::to_owned);
            let made = out.key_metadata.expect("KeyMetadata");
            account = made.aws_account_id.unwrap_or_default();
            target = Target::new(server.addr, data, &account);
            let mut l = ledger.lock().expect("the ledger");
            l.keys.push(made.key_id);
            l.request_ids.extend(request_id);
        }
        // Everything acknowledged before the last kill is still there.
        let snapshot = ledger.lock().expect("the ledger").clone();
        let missing = check(&target, &snapshot.since(&checked)).await;
        assert!(
            missing.is_empty(),
            "{store}, after kill {round}: acknowledged but lost:\n{}",
            missing.join("\n")
        );
        checked = snapshot;
        if round == rounds {
            // The whole ledger once more, then a clean stop and the trail's verification.
            let missing = check(&target, &checked).await;
            assert!(missing.is_empty(), "{store}: lost:\n{}", missing.join("\n"));
            tokio::task::block_in_place(|| server.stop());
            break;
        }
        let before = ledger.lock().expect("the ledger").total();
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let tag = format!("{store}-r{round}-w{w}");
                let seed = rng.below(u64::MAX);
                tokio::spawn(worker(target.clone(), ledger.clone(), Rng::new(seed), tag))
            })
            .collect();
        // Kill at a random point once the load is flowing: after the first acknowledged write
        // of this round, 0-1.2 s later.
        let waited = Instant::now();
        while ledger.lock().expect("the ledger").total() == before {
            assert!(
                waited.elapsed() < FIRST_WRITE_WITHIN && workers.iter().all(|w| !w.is_finished()),
                "{store}, round {round}: no write acknowledged within {FIRST_WRITE_WITHIN:?}:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(1200))).await;
        // SIGKILL: dropping a running Server kills it with no warning.
        tokio::task::block_in_place(|| drop(server));
        let mut stopped_by = Vec::new();
        for w in workers {
            stopped_by.push(w.await.expect("a worker"));
        }
        // Every worker stopped because the server went away, not on an answer it got.
        let answered: Vec<_> = stopped_by.iter().filter(|e| !is_kill_symptom(e)).collect();
        assert!(
            answered.is_empty(),
            "{store}, round {round}: workers stopped by an answer, not the kill: {answered:#?}"
        );
    }
    let mut verify_args = vec![
        "audit",
        "verify",
        "--data-dir",
        data.to_str().expect("UTF-8"),
    ];
    verify_args.extend_from_slice(extra);
    let verified = run(&verify_args, &[], logs);
    verified.assert_success("kinko audit verify after the kills");
    let total = ledger.lock().expect("the ledger").clone();
    // Every acknowledged request has its record: it was durable before the answer.
    let recorded = recorded_request_ids(data, extra);
    let unrecorded: Vec<_> = total
        .request_ids
        .iter()
        .filter(|id| !recorded.contains(id.as_str()))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "{store}: {} of {} acknowledged requests have no audit record: {unrecorded:?}",
        unrecorded.len(),
        total.request_ids.len()
    );
    assert_eq!(
        total.request_ids.len(),
        total.total(),
        "a success without a request id"
    );
    let worst = recoveries.iter().max().copied().unwrap_or_default();
    let mean =
        recoveries.iter().sum::<Duration>() / u32::try_from(recoveries.len().max(1)).unwrap_or(1);
    eprintln!(
        "faults: kill-9 store={store} kills={rounds} acknowledged[{}] all_found=true records_found={}/{} restart_to_ready mean={mean:?} max={worst:?} audit_verify=ok elapsed={:?}",
        total.figures(),
        total.request_ids.len(),
        total.request_ids.len(),
        started.elapsed()
    );
}
