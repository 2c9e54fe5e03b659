//! `kinko-bench`: the load generator that answers "how fast is Kinko on this machine?".
//!
//! `kinko-bench run` first measures a bare HTTP server (this same binary re-executed as
//! `kinko-bench baseline-server`) that does nothing but parse a JSON body and answer 64 bytes, then
//! starts Kinko (or uses a running one) and drives SigV4-signed Encrypt, Decrypt and GenerateDataKey
//! requests at it with exactly the same client code. Each target runs alone on the machine, one after
//! the other, so Kinko's throughput can be printed as a ratio of that ceiling (design.md §8 asks for
//! at least 0.6 on symmetric Encrypt).
//!
//! `--audit-sinks store,memory` runs each operation twice, once against a Kinko with its durable
//! audit writer and once against one started with `--insecure-audit-memory-sink`, and prints what
//! the durable audit costs (`1 - store/memory` req/s; the budget is 15% at 64 connections).
//!
//! The client keeps one HTTP/1.1 keep-alive connection per tokio task and sends requests one after
//! another on it, signing every request (the signing key is cached per day, as a real SDK does).
#![allow(clippy::print_stdout)] // a CLI that reports results

mod baseline;
mod client;
mod procs;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::{Call, Credentials, Endpoint, LoadPlan};
use crate::procs::{AuditSink, Root};
use crate::report::{AuditCost, Report, Row};

/// SigV4 service name of every KMS request.
const SERVICE: &str = "kms";

#[derive(Debug, Parser)]
#[command(
    name = "kinko-bench",
    about = "SigV4-signed KMS load against Kinko, reported as a ratio of a bare HTTP ceiling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure the bare HTTP ceiling, then each KMS operation against Kinko, and print one table.
    Run(RunArgs),
    /// The bare HTTP server the ceiling is measured against (started by `run`; rarely useful by hand).
    BaselineServer {
        /// Address to listen on, e.g. 127.0.0.1:18080.
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The `kinko` binary to start (`PATH serve --data-dir <tempdir> --listen 127.0.0.1:<port>`).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "endpoint",
        required_unless_present_any = ["endpoint", "baseline_only"]
    )]
    kinko_bin: Option<PathBuf>,
    /// Bench an already running Kinko instead, e.g. http://127.0.0.1:4000 (plain HTTP only).
    #[arg(long, value_name = "URL", requires = "credentials")]
    endpoint: Option<String>,
    /// AWS shared-credentials file (`[default]` section) for `--endpoint`.
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    credentials: Option<PathBuf>,
    /// Keep-alive connections, one tokio task each.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Measured seconds per target.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds per target before the measurement starts.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Operations to measure against Kinko, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "encrypt,decrypt,generate-data-key"
    )]
    ops: Vec<Op>,
    /// Plaintext bytes per Encrypt request (1..=4096, as in KMS).
    #[arg(long, default_value_t = 64)]
    plaintext_size: usize,
    /// SigV4 region the requests are signed for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Root-of-trust providers to run Kinko with, one after the other in the same run
    /// (`pkcs11` uses a throwaway SoftHSM2 token; needs the softhsm2 package).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "file")]
    roots: Vec<Root>,
    /// Audit writers to run Kinko with, one after the other in the same run: `store` (durable,
    /// as shipped) and/or `memory` (`--insecure-audit-memory-sink`). With both, the cost of the
    /// durable audit is printed per operation. Only with --kinko-bin.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "store")]
    audit_sinks: Vec<AuditSink>,
    /// Quick check that the bench still works: 2 connections, 1 s per target, no warm-up.
    #[arg(long)]
    smoke: bool,
    /// Do not measure the bare HTTP ceiling (no ratio is printed).
    #[arg(long, conflicts_with = "baseline_only")]
    skip_baseline: bool,
    /// Measure only the bare HTTP ceiling (no Kinko needed).
    #[arg(long)]
    baseline_only: bool,
}

/// A KMS operation the bench can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Op {
    Encrypt,
    Decrypt,
    GenerateDataKey,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Encrypt => "Encrypt",
            Op::Decrypt => "Decrypt",
            Op::GenerateDataKey => "GenerateDataKey",
        }
    }
}

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kinko-bench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    // tokio's default multi-thread runtime (one worker per core), for the server and the client alike.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    match cli.command {
        Command::BaselineServer { listen } => runtime.block_on(baseline::serve(listen)),
        Command::Run(args) => runtime.block_on(run(args)),
    }
}

async fn run(mut args: RunArgs) -> Result<()> {
    if args.smoke {
        args.concurrency = 2;
        args.duration = 1;
        args.warmup = 0;
    }
    ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    ensure!(args.duration >= 1, "--duration must be at least 1 second");
    ensure!(
        (1..=4096).contains(&args.plaintext_size),
        "--plaintext-size must be between 1 and 4096 bytes"
    );
    let plan = LoadPlan {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    ensure!(
        args.kinko_bin.is_some() || args.audit_sinks == [AuditSink::Store],
        "--audit-sinks other than `store` needs --kinko-bin (the bench must start Kinko itself)"
    );
    let plaintext = B64.encode(pseudo_random_bytes(args.plaintext_size));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // What Kinko runs with: every root and audit sink asked for, each once, in the order given.
    let roots = if args.kinko_bin.is_some() {
        dedup(&args.roots)
    } else {
        vec![Root::File]
    };
    let sinks = dedup(&args.audit_sinks);
    let labels = Labels {
        show_root: roots.len() > 1,
        show_sink: sinks.len() > 1,
    };
    let width = roots
        .iter()
        .flat_map(|&r| sinks.iter().map(move |&s| (r, s)))
        .flat_map(|(r, s)| args.ops.iter().map(move |&op| labels.target(op, r, s)))
        .map(|t| t.chars().count())
        .fold(report::MIN_TARGET_WIDTH, usize::max);

    let mut report = Report::new(
        args.concurrency,
        args.duration,
        args.warmup,
        args.plaintext_size,
        cores,
    );
    println!("{}", report.banner());
    println!("{}", report::table_header(width));

    // 1. The ceiling, alone on the machine.
    let mut ceiling = None;
    if !args.skip_baseline {
        let row = measure_baseline(&args, &plan, &plaintext).await?;
        println!("{}", row.line(width));
        ceiling = Some(row.req_per_s).filter(|r| *r > 0.0);
        report.push(row);
    }

    // 2. Kinko, started only after the baseline server is gone; once per root of trust and audit
    // sink.
    if !args.baseline_only {
        let mut measured: Vec<Measured> = Vec::new();
        for &root in &roots {
            for &sink in &sinks {
                let (endpoint, creds, _kinko) = if let Some(bin) = &args.kinko_bin {
                    let kinko = procs::Kinko::start(bin, root, sink).await?;
                    let endpoint = kinko.endpoint().clone();
                    let creds = kinko.credentials().clone();
                    (endpoint, creds, Some(kinko))
                } else {
                    let (Some(url), Some(file)) = (&args.endpoint, &args.credentials) else {
                        bail!("give --kinko-bin, or --endpoint with --credentials");
                    };
                    let endpoint = Endpoint::parse_url(url).await?;
                    let text = std::fs::read_to_string(file).with_context(|| {
                        format!("cannot read credentials file {}", file.display())
                    })?;
                    let creds = procs::parse_credentials(&text)
                        .with_context(|| format!("in credentials file {}", file.display()))?;
                    (endpoint, creds, None)
                };
                let endpoint = Arc::new(endpoint);
                let creds = Arc::new(creds);
                let key_id = create_key(&endpoint, &creds, &args.region).await?;
                eprintln!("kinko-bench: created key {key_id}");
                for &op in &args.ops {
                    let call =
                        op_call(op, &endpoint, &creds, &args.region, &key_id, &plaintext).await?;
                    let target = labels.target(op, root, sink);
                    eprintln!("kinko-bench: measuring {target} ...");
                    let result = client::run_load(
                        Arc::clone(&endpoint),
                        Arc::clone(&creds),
                        &args.region,
                        Arc::new(call),
                        &plan,
                    )
                    .await?;
                    let row = Row::from_load(&target, result, plan.duration, ceiling);
                    println!("{}", row.line(width));
                    measured.push(Measured {
                        op,
                        root,
                        sink,
                        req_per_s: row.req_per_s,
                    });
                    report.push(row);
                }
                // `_kinko` is dropped here: the child is killed and its temporary directory removed.
            }
        }
        let costs = audit_costs(&measured, labels);
        if !costs.is_empty() {
            println!();
            println!("{}", report::audit_cost_heading(args.concurrency));
            for cost in costs {
                println!("{}", cost.line(width));
                report.push_audit_cost(cost);
            }
        }
    }

    report.print_error_samples();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json())
            .context("cannot serialise the JSON report")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    report.check()
}

/// `items` without repeats, in the order given.
fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for &item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// How rows are named: the operation, then the root and the audit sink when a run measures more
/// than one of them, e.g. `Encrypt [audit: memory]`.
#[derive(Debug, Clone, Copy)]
struct Labels {
    show_root: bool,
    show_sink: bool,
}

impl Labels {
    fn target(self, op: Op, root: Root, sink: AuditSink) -> String {
        let mut target = op.name().to_owned();
        if self.show_root {
            target.push_str(&format!(" [{}]", root.name()));
        }
        if self.show_sink {
            target.push_str(&format!(" [audit: {}]", sink.name()));
        }
        target
    }

    /// The name of what an audit cost compares: the operation (and root), without the sink.
    fn compared(self, op: Op, root: Root) -> String {
        Labels {
            show_sink: false,
            ..self
        }
        .target(op, root, AuditSink::Store)
    }
}

/// One measured (operation, root, sink).
#[derive(Debug, Clone, Copy)]
struct Measured {
    op: Op,
    root: Root,
    sink: AuditSink,
    req_per_s: f64,
}

/// For every (operation, root) measured with both sinks, what the durable audit costs; in the
/// order the operations were measured.
fn audit_costs(measured: &[Measured], labels: Labels) -> Vec<AuditCost> {
    let rate = |op: Op, root: Root, sink: AuditSink| {
        measured
            .iter()
            .find(|m| m.op == op && m.root == root && m.sink == sink)
            .map(|m| m.req_per_s)
    };
    let mut seen: Vec<(Op, Root)> = Vec::new();
    let mut out = Vec::new();
    for m in measured {
        if seen.contains(&(m.op, m.root)) {
            continue;
        }
        seen.push((m.op, m.root));
        if let (Some(store), Some(memory)) = (
            rate(m.op, m.root, AuditSink::Store),
            rate(m.op, m.root, AuditSink::Memory),
        ) {
            out.push(AuditCost {
                target: labels.compared(m.op, m.root),
                store_req_per_s: store,
                memory_req_per_s: memory,
            });
        }
    }
    out
}

/// Runs the bare HTTP server as a separate process, drives it with the same signed Encrypt request
/// the Kinko run uses (fake key id and credentials of the same lengths), then stops it.
async fn measure_baseline(args: &RunArgs, plan: &LoadPlan, plaintext: &str) -> Result<Row> {
    let server = procs::Baseline::start().await?;
    let endpoint = Arc::new(server.endpoint().clone());
    let creds = Arc::new(Credentials {
        access_key_id: "AKIAKINKOBENCHBASE00".to_owned(),
        secret_access_key: "kinko/bench/baseline/not/a/real/secret/00".to_owned(),
        session_token: None,
    });
    let key_id = "00000000-0000-4000-8000-000000000000";
    let call = Arc::new(Call::new(
        "TrentService.Encrypt",
        serde_json::json!({ "KeyId": key_id, "Plaintext": plaintext }),
    )?);
    eprintln!("kinko-bench: measuring the bare HTTP ceiling ...");
    let result = client::run_load(endpoint, creds, &args.region, call, plan).await?;
    drop(server);
    Ok(Row::from_load("bare-http", result, plan.duration, None))
}

/// Creates the symmetric key every operation uses and returns its id.
async fn create_key(endpoint: &Endpoint, creds: &Credentials, region: &str) -> Result<String> {
    let call = Call::new("TrentService.CreateKey", serde_json::json!({}))?;
    let v = client::call_ok(endpoint, creds, region, &call)
        .await
        .context("CreateKey failed")?;
    v.pointer("/KeyMetadata/KeyId")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
        .with_context(|| format!("CreateKey response has no KeyMetadata.KeyId: {v}"))
}

/// Builds the request one operation sends again and again.
async fn op_call(
    op: Op,
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    key_id: &str,
    plaintext: &str,
) -> Result<Call> {
    let encrypt = || {
        Call::new(
            "TrentService.Encrypt",
            serde_json::json!({ "KeyId": key_id, "Plaintext": plaintext }),
        )
    };
    match op {
        Op::Encrypt => encrypt(),
        Op::Decrypt => {
            // One ciphertext, decrypted over and over; symmetric ciphertexts name their key, so no KeyId.
            let v = client::call_ok(endpoint, creds, region, &encrypt()?)
                .await
                .context("Encrypt (to make the Decrypt input) failed")?;
            let blob = v
                .get("CiphertextBlob")
                .and_then(|b| b.as_str())
                .with_context(|| format!("Encrypt response has no CiphertextBlob: {v}"))?;
            Call::new(
                "TrentService.Decrypt",
                serde_json::json!({ "CiphertextBlob": blob }),
            )
        }
        Op::GenerateDataKey => Call::new(
            "TrentService.GenerateDataKey",
            serde_json::json!({ "KeyId": key_id, "NumberOfBytes": 32 }),
        ),
    }
}

/// Plaintext filler: varied bytes so nothing downstream could special-case zeros. Not secret.
fn pseudo_random_bytes(n: usize) -> Bytes {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_parses_ops_and_defaults() -> Result<()> {
        let cli = Cli::try_parse_from(["kinko-bench", "run", "--kinko-bin", "/x/kinko"])?;
        let Command::Run(args) = cli.command else {
            bail!("expected run");
        };
        assert_eq!(args.ops, [Op::Encrypt, Op::Decrypt, Op::GenerateDataKey]);
        assert_eq!((args.concurrency, args.duration, args.warmup), (64, 10, 2));
        let cli = Cli::try_parse_from([
            "kinko-bench",
            "run",
            "--endpoint",
            "http://127.0.0.1:1",
            "--credentials",
            "c",
            "--ops",
            "generate-data-key,encrypt",
        ])?;
        let Command::Run(args) = cli.command else {
            bail!("expected run");
        };
        assert_eq!(args.ops, [Op::GenerateDataKey, Op::Encrypt]);
        assert!(Cli::try_parse_from(["kinko-bench", "run"]).is_err());
        assert!(Cli::try_parse_from(["kinko-bench", "run", "--baseline-only"]).is_ok());
        Ok(())
    }

    #[test]
    fn cli_parses_audit_sinks() -> Result<()> {
        let cli = Cli::try_parse_from(["kinko-bench", "run", "--kinko-bin", "/x/kinko"])?;
        let Command::Run(args) = cli.command else {
            bail!("expected run");
        };
        assert_eq!(args.audit_sinks, [AuditSink::Store], "durable by default");
        let cli = Cli::try_parse_from([
            "kinko-bench",
            "run",
            "--kinko-bin",
            "/x/kinko",
            "--audit-sinks",
            "store,memory",
        ])?;
        let Command::Run(args) = cli.command else {
            bail!("expected run");
        };
        assert_eq!(args.audit_sinks, [AuditSink::Store, AuditSink::Memory]);
        assert!(
            Cli::try_parse_from([
                "kinko-bench",
                "run",
                "--kinko-bin",
                "/x/kinko",
                "--audit-sinks",
                "disk",
            ])
            .is_err()
        );
        Ok(())
    }

    #[test]
    fn labels_name_root_and_sink_only_when_several_are_measured() {
        let plain = Labels {
            show_root: false,
            show_sink: false,
        };
        assert_eq!(
            plain.target(Op::Encrypt, Root::File, AuditSink::Memory),
            "Encrypt"
        );
        let sinks = Labels {
            show_root: false,
            show_sink: true,
        };
        assert_eq!(
            sinks.target(Op::Encrypt, Root::File, AuditSink::Store),
            "Encrypt [audit: store]"
        );
        assert_eq!(
            sinks.target(Op::Decrypt, Root::File, AuditSink::Memory),
            "Decrypt [audit: memory]"
        );
        let both = Labels {
            show_root: true,
            show_sink: true,
        };
        assert_eq!(
            both.target(Op::GenerateDataKey, Root::Pkcs11, AuditSink::Memory),
            "GenerateDataKey [pkcs11 root] [audit: memory]"
        );
        assert_eq!(
            both.compared(Op::Encrypt, Root::File),
            "Encrypt [file root]"
        );
        assert_eq!(
            dedup(&[AuditSink::Memory, AuditSink::Store, AuditSink::Memory]),
            [AuditSink::Memory, AuditSink::Store]
        );
    }

    #[test]
    fn audit_costs_pair_store_and_memory_per_operation_and_root() {
        let m = |op, root, sink, req_per_s| Measured {
            op,
            root,
            sink,
            req_per_s,
        };
        let measured = [
            m(Op::Encrypt, Root::File, AuditSink::Store, 900.0),
            m(Op::Decrypt, Root::File, AuditSink::Store, 400.0),
            m(Op::Encrypt, Root::Pkcs11, AuditSink::Store, 100.0),
            m(Op::Encrypt, Root::File, AuditSink::Memory, 1_000.0),
            m(Op::Decrypt, Root::File, AuditSink::Memory, 800.0),
        ];
        let labels = Labels {
            show_root: true,
            show_sink: true,
        };
        let costs = audit_costs(&measured, labels);
        assert_eq!(
            costs,
            [
                AuditCost {
                    target: "Encrypt [file root]".to_owned(),
                    store_req_per_s: 900.0,
                    memory_req_per_s: 1_000.0,
                },
                AuditCost {
                    target: "Decrypt [file root]".to_owned(),
                    store_req_per_s: 400.0,
                    memory_req_per_s: 800.0,
                },
            ],
            "pkcs11 had no memory run, so no cost"
        );
        assert!(
            costs
                .first()
                .and_then(AuditCost::cost)
                .is_some_and(|c| (c - 0.1).abs() < 1e-9)
        );
        assert_eq!(audit_costs(&measured[..3], labels), []);
    }
}
