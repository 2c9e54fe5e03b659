//! `kinko-bench memory`: Kinko's resident memory with many keys, each used once (issue #20: at
//! most 150 MB with 100,000 keys). Starts Kinko on SQLite (durable audit), creates `--keys`
//! symmetric keys from `--concurrency` keep-alive connections, encrypts once under each right
//! after creating it, and prints the server's resident set (`VmRSS`) and its peak (`VmHWM`)
//! from `/proc` at the start, every 10,000 keys, and at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{Value, json};

use crate::client::{Call, Session};
use crate::procs::{AuditSink, Kinko, Root};

#[derive(Debug, Args)]
pub(crate) struct MemoryArgs {
    /// The `kinko` binary to start.
    #[arg(long, value_name = "PATH")]
    kinko_bin: PathBuf,
    /// Keys to create (each used by one Encrypt).
    #[arg(long, default_value_t = 100_000)]
    keys: usize,
    /// Keep-alive connections creating keys at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// SigV4 region the requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
}

/// (resident, peak resident) of `pid` in MB.
fn resident_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |field: &str| -> Option<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    };
    Some((kb("VmRSS:")? / 1024.0, kb("VmHWM:")? / 1024.0))
}

fn report(pid: u32, keys: usize, started: Instant) {
    if let Some((rss, peak)) = resident_mb(pid) {
        println!(
            "memory: {keys:>7} keys, each used once: resident {rss:.1} MB (peak {peak:.1} MB), \
             {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
}

pub(crate) async fn run(args: MemoryArgs) -> Result<()> {
    let kinko = Kinko::start(&args.kinko_bin, Root::File, AuditSink::Store).await?;
    let pid = kinko.pid();
    let creds = Arc::new(kinko.credentials().clone());
    let started = Instant::now();
    report(pid, 0, started);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let mut session = Session::open(kinko.endpoint(), Arc::clone(&creds), &args.region).await?;
        let (next, done, total) = (Arc::clone(&next), Arc::clone(&done), args.keys);
        tasks.spawn(async move {
            let create = Call::new("TrentService.CreateKey", json!({}))?;
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let created = session.call_ok(&create).await?;
                let key = created
                    .pointer("/KeyMetadata/KeyId")
                    .and_then(Value::as_str)
                    .context("CreateKey answered no KeyId")?;
                let encrypt = Call::new(
                    "TrentService.Encrypt",
                    json!({ "KeyId": key, "Plaintext": "a2lua28tYmVuY2g=" }),
                )?;
                session.call_ok(&encrypt).await?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 10_000 == 0 {
                    report(pid, n, started);
                }
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.context("a key-creating task panicked")??;
    }
    // Idle a moment: the audit writer's last batches and the allocator settle.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    report(pid, done.load(Ordering::Relaxed), started);
    drop(kinko);
    Ok(())
}
