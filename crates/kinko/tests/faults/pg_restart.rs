//! PostgreSQL stopped and started under load: a server of the test's own, made with Debian's
//! `initdb` and driven with `pg_ctl` (as the `postgres` user when the test runs as root, since
//! `initdb` refuses root). Each round stops it (alternately `-m fast`, a clean shutdown, and
//! `-m immediate`, a crash) for a while under mixed load, then starts it. While it is away,
//! requests fail with server errors, never a client error or a hang; afterwards every
//! acknowledged write is there, service resumes without restarting Kinko, and the trail
//! verifies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::common::{Server, free_loopback_addr, run};
use crate::load::{Ledger, Rng, Target, check, is_server_error, steady_worker};
use crate::rounds;

/// Short run: restarts of PostgreSQL.
const SHORT_ROUNDS: usize = 2;
/// How long Kinko may take to serve a CreateKey once PostgreSQL is back.
const RESUME_WITHIN: Duration = Duration::from_secs(60);

/// Debian's PostgreSQL server programs, if installed: the directory holding `initdb`.
fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A PostgreSQL cluster of the test's own.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn init(bin: PathBuf, base: &Path) -> Cluster {
        let dir = base.join("pgdata");
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        if is_root() {
            // The postgres user must reach and own the cluster's directory.
            let status = Command::new("chmod")
                .args(["755"])
                .arg(base)
                .status()
                .expect("chmod");
            assert!(status.success());
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let cluster = Cluster {
            bin,
            port: free_loopback_addr().port(),
            dir,
        };
        let out = cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&cluster.dir)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("server.log"))
            .args(["-w", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self, mode: &str) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", mode, "-w", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_under_load_loses_nothing() {
    let Some(bin) = pg_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no /usr/lib/postgresql/*/bin/initdb: CI is set, so this test must run"
        );
        eprintln!(
            "no PostgreSQL server programs: postgres_stopped_and_started_under_load did NOT run"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cluster = Cluster::init(bin, dir.path());
    cluster.start();
    let mut admin = PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect");
    sqlx::raw_sql("CREATE DATABASE kinko")
        .execute(&mut admin)
        .await
        .expect("create database");
    let _ = admin.close().await;
    let url = cluster.url("kinko");
    let data = dir.path().join("data");
    let extra = ["--store", url.as_str()];
    let server = tokio::task::block_in_place(|| Server::start(&data, &extra, &[], dir.path()));
    let target = Target::new(server.addr, &data, "");
    let first = target
        .kms
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("metadata");
    let target = Target::new(
        server.addr,
        &data,
        &first.aws_account_id.unwrap_or_default(),
    );
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    ledger.lock().expect("the ledger").keys.push(first.key_id);

    let rounds = rounds(SHORT_ROUNDS);
    let mut rng = Rng::new(0xdb ^ rounds as u64);
    let mut recoveries = Vec::new();
    let (mut succeeded, mut failed) = (0u64, 0usize);
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let tag = format!("pg-r{round}-w{w}");
                let seed = rng.below(u64::MAX);
                tokio::spawn(steady_worker(
                    target.clone(),
                    ledger.clone(),
                    Rng::new(seed),
                    tag,
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300 + rng.below(700))).await;
        let mode = if round % 2 == 0 { "fast" } else { "immediate" };
        tokio::task::block_in_place(|| cluster.stop(mode));
        tokio::time::sleep(Duration::from_millis(500 + rng.below(1500))).await;
        tokio::task::block_in_place(|| cluster.start());
        let back = Instant::now();
        let recovered = loop {
            if target.kms.create_key().send().await.is_ok_and(|out| {
                let id = out.key_metadata.map(|m| m.key_id).unwrap_or_default();
                ledger.lock().expect("the ledger").keys.push(id);
                true
            }) {
                break back.elapsed();
            }
            assert!(
                back.elapsed() < RESUME_WITHIN,
                "no CreateKey within {RESUME_WITHIN:?} of PostgreSQL's restart:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        recoveries.push(recovered);
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Release);
        for w in workers {
            let (ok, errors) = w.await.expect("a worker");
            succeeded += ok;
            failed += errors.len();
            let wrong: Vec<_> = errors.iter().filter(|e| !is_server_error(e)).collect();
            assert!(
                wrong.is_empty(),
                "round {round} ({mode}): errors that are not server errors: {wrong:#?}"
            );
        }
    }
    let all = ledger.lock().expect("the ledger").clone();
    let missing = check(&target, &all).await;
    assert!(
        missing.is_empty(),
        "acknowledged, then lost across PostgreSQL restarts:\n{}",
        missing.join("\n")
    );
    tokio::task::block_in_place(|| server.stop());
    run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data.to_str().expect("UTF-8"),
            "--store",
            &url,
        ],
        &[],
        dir.path(),
    )
    .assert_success("kinko audit verify after PostgreSQL's restarts");
    let worst = recoveries.iter().max().copied().unwrap_or_default();
    eprintln!(
        "faults: postgres-restart restarts={rounds} requests_ok={succeeded} requests_failed_5xx={failed} acknowledged[{}] all_found=true resume_after_start max={worst:?} audit_verify=ok",
        all.figures()
    );
}
