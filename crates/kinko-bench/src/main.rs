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
//! audit writer and once against one started with `--insecure-audit-memory-sink` (the same
//! group-commit writer, hash chain and encoding, with its batches dropped instead of stored), and
//! prints what durability costs (`1 - store/memory` req/s; the budget is 15% at 64
//! connections).
//!
//! `--ops signing` drives Sign with RSA_2048, ECC_NIST_P256, ECC_NIST_EDWARDS25519 and ML_DSA_65
//! keys and GenerateMac with an HMAC_256 key (32-byte RAW messages), and measures beside each what
//! aws-lc-rs itself signs per second on one thread per core while Kinko is idle ([`raw`]); it
//! prints `server/raw` per operation (the target: ECDSA P-256 Sign through the server at
//! least 50% of the raw rate).
//!
//! `--stores sqlite,postgres,postgres-2nodes` compares storage backends instead: Encrypt and
//! CreateKey against one Kinko on SQLite, one on PostgreSQL, and two nodes sharing one PostgreSQL
//! database (the connections dealt out to both), each PostgreSQL run on a database of its own
//! created on the server `--postgres-url` names and dropped afterwards.
//!
//! The client keeps one HTTP/1.1 keep-alive connection per tokio task and sends requests one after
//! another on it, signing every request (the signing key is cached per day, as a real SDK does).
// A client of Kinko, not part of it: it stamps reports and signs requests with the wall clock,
// names databases and seeds from it, and measures aws-lc-rs with aws-lc's own random source.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::print_stdout)] // a CLI that reports results

mod baseline;
mod client;
mod console;
mod memory;
mod micro;
mod pgdb;
mod procs;
mod raw;
mod report;
mod secrets;
mod trail;
mod usage;

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
use crate::raw::{Primitive, RawRate};
use crate::report::{AuditCost, PerRequest, RawComparison, Report, Row};

/// Bytes of the message every Sign and GenerateMac request carries (and the raw loop signs).
const MESSAGE_SIZE: usize = 32;
/// Quiet time before a raw measurement, so that requests still in flight when the previous load
/// phase ended (and their audit records) are finished and Kinko is idle.
const SETTLE: Duration = Duration::from_millis(500);

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
    Run(Box<RunArgs>),
    /// Generate a long audit trail in each store and time LookupEvents over it (see `trail.rs`).
    Trail(Box<trail::TrailArgs>),
    /// Kinko's resident memory with many keys, each used once (see `memory.rs`).
    Memory(Box<memory::MemoryArgs>),
    /// One in-process Encrypt request through Kinko's router, timed step by step (`micro.rs`).
    Micro(micro::MicroArgs),
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
    /// Operations to measure against Kinko, in order; `signing` stands for every Sign and
    /// GenerateMac below, each compared with aws-lc-rs's own rate on this machine.
    #[arg(long, value_delimiter = ',', default_value = "symmetric")]
    ops: Vec<OpArg>,
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
    /// as shipped) and/or `memory` (`--insecure-audit-memory-sink`: the same writer, its batches
    /// dropped). With both, the cost of durability is printed per operation. Only with
    /// --kinko-bin.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "store")]
    audit_sinks: Vec<AuditSink>,
    /// Measure every root and audit sink this many times, the sinks' order reversed every other
    /// round (store, memory, memory, store, ...), so that a machine that speeds up or slows down
    /// during the run does not favour one sink. The audit cost printed is the median round's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Quick check that the bench still works: 2 connections, 1 s per target, no warm-up.
    #[arg(long)]
    smoke: bool,
    /// Do not measure the bare HTTP ceiling (no ratio is printed).
    #[arg(long, conflicts_with = "baseline_only")]
    skip_baseline: bool,
    /// Measure only the bare HTTP ceiling (no Kinko needed).
    #[arg(long)]
    baseline_only: bool,
    /// Compare storage backends instead of `--ops`/`--roots`/`--audit-sinks`: Encrypt and
    /// CreateKey on each of these, one after the other. Only with --kinko-bin.
    #[arg(long, value_enum, value_delimiter = ',', requires = "kinko_bin")]
    stores: Option<Vec<StoreArg>>,
    /// PostgreSQL server for `--stores postgres*` (any database there; the bench creates and
    /// drops one of its own per store).
    #[arg(
        long,
        value_name = "URL",
        env = "KINKO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
}

/// A storage setup the `--stores` comparison runs Kinko on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreArg {
    /// One node, the embedded SQLite file.
    Sqlite,
    /// One node on PostgreSQL.
    Postgres,
    /// Two nodes sharing one PostgreSQL database; the load is split across both.
    #[value(name = "postgres-2nodes")]
    Postgres2Nodes,
}

impl StoreArg {
    fn name(self) -> &'static str {
        match self {
            StoreArg::Sqlite => "sqlite",
            StoreArg::Postgres => "postgres",
            StoreArg::Postgres2Nodes => "postgres x2 nodes",
        }
    }
}

/// What `--ops` accepts: one operation, or a named group of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OpArg {
    /// Encrypt with a SYMMETRIC_DEFAULT key.
    Encrypt,
    /// Decrypt of one Encrypt result.
    Decrypt,
    /// GenerateDataKey, 32 bytes.
    GenerateDataKey,
    /// encrypt, decrypt, generate-data-key.
    Symmetric,
    /// Sign, RSA_2048 key, RSASSA_PKCS1_V1_5_SHA_256.
    #[value(name = "sign-rsa-2048")]
    SignRsa2048,
    /// Sign, ECC_NIST_P256 key, ECDSA_SHA_256.
    #[value(name = "sign-ecc-nist-p256")]
    SignEccNistP256,
    /// Sign, ECC_NIST_EDWARDS25519 key, ED25519_SHA_512.
    #[value(name = "sign-ed25519")]
    SignEd25519,
    /// Sign, ML_DSA_65 key, ML_DSA_SHAKE_256.
    #[value(name = "sign-ml-dsa-65")]
    SignMlDsa65,
    /// GenerateMac, HMAC_256 key, HMAC_SHA_256.
    #[value(name = "generate-mac-hmac-256")]
    GenerateMacHmac256,
    /// The four Sign operations and generate-mac-hmac-256, each beside aws-lc-rs's raw rate.
    Signing,
    /// Encrypt with an encryption context under the default key policy.
    #[value(name = "encrypt-default-policy")]
    EncryptDefaultPolicy,
    /// The same Encrypt under a 20-statement key policy with conditions
    /// (`restrictive_policy.json`).
    #[value(name = "encrypt-restrictive-policy")]
    EncryptRestrictivePolicy,
    /// encrypt-default-policy and encrypt-restrictive-policy, with the cost of the restrictive
    /// policy printed.
    Authz,
    /// Secrets Manager GetSecretValue of one 32-byte secret under `aws/secretsmanager`
    /// (`secrets.rs`).
    GetSecretValue,
}

impl OpArg {
    /// The operations this argument stands for, in the order they are measured.
    fn ops(self) -> &'static [Op] {
        match self {
            OpArg::Encrypt => &[Op::Encrypt],
            OpArg::Decrypt => &[Op::Decrypt],
            OpArg::GenerateDataKey => &[Op::GenerateDataKey],
            OpArg::Symmetric => &[Op::Encrypt, Op::Decrypt, Op::GenerateDataKey],
            OpArg::SignRsa2048 => &[Op::SignRsa2048],
            OpArg::SignEccNistP256 => &[Op::SignEccNistP256],
            OpArg::SignEd25519 => &[Op::SignEd25519],
            OpArg::SignMlDsa65 => &[Op::SignMlDsa65],
            OpArg::GenerateMacHmac256 => &[Op::GenerateMacHmac256],
            OpArg::Signing => &[
                Op::SignRsa2048,
                Op::SignEccNistP256,
                Op::SignEd25519,
                Op::SignMlDsa65,
                Op::GenerateMacHmac256,
            ],
            OpArg::EncryptDefaultPolicy => &[Op::EncryptDefaultPolicy],
            OpArg::EncryptRestrictivePolicy => &[Op::EncryptRestrictivePolicy],
            OpArg::Authz => &[Op::EncryptDefaultPolicy, Op::EncryptRestrictivePolicy],
            OpArg::GetSecretValue => &[Op::GetSecretValue],
        }
    }
}

/// Every operation the arguments name, each once, in the order given.
fn expand_ops(args: &[OpArg]) -> Vec<Op> {
    let all: Vec<Op> = args.iter().flat_map(|a| a.ops().iter().copied()).collect();
    dedup(&all)
}

/// A KMS operation the bench can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Encrypt,
    Decrypt,
    GenerateDataKey,
    SignRsa2048,
    SignEccNistP256,
    SignEd25519,
    SignMlDsa65,
    GenerateMacHmac256,
    EncryptDefaultPolicy,
    EncryptRestrictivePolicy,
    GetSecretValue,
}

/// The 20-statement key policy of `encrypt-restrictive-policy`, `{account}` to be filled in.
const RESTRICTIVE_POLICY: &str = include_str!("restrictive_policy.json");

/// The encryption context both policy runs send (the restrictive policy requires it).
fn bench_context() -> serde_json::Value {
    serde_json::json!({ "app": "bench", "tenant": "t-7" })
}

/// How a Sign or GenerateMac operation is asked for, and what it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signing {
    /// `KeySpec` and `KeyUsage` of the key CreateKey makes for it.
    key_spec: &'static str,
    key_usage: &'static str,
    /// `x-amz-target`.
    target: &'static str,
    /// The request field naming the algorithm, and the algorithm.
    algorithm_field: &'static str,
    algorithm: &'static str,
    /// The response field that carries the signature or MAC.
    answer_field: &'static str,
    /// The same work done by aws-lc-rs alone.
    primitive: Primitive,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Encrypt => "Encrypt",
            Op::Decrypt => "Decrypt",
            Op::GenerateDataKey => "GenerateDataKey",
            Op::SignRsa2048 => "Sign RSA_2048",
            Op::SignEccNistP256 => "Sign ECC_NIST_P256",
            Op::SignEd25519 => "Sign ECC_NIST_EDWARDS25519",
            Op::SignMlDsa65 => "Sign ML_DSA_65",
            Op::GenerateMacHmac256 => "GenerateMac HMAC_256",
            Op::EncryptDefaultPolicy => "Encrypt (default policy)",
            Op::EncryptRestrictivePolicy => "Encrypt (20-statement policy)",
            Op::GetSecretValue => "GetSecretValue",
        }
    }

    /// For Sign and GenerateMac, how they are asked for; `None` for the symmetric operations.
    fn signing(self) -> Option<Signing> {
        let sign = |key_spec, algorithm, primitive| Signing {
            key_spec,
            key_usage: "SIGN_VERIFY",
            target: "TrentService.Sign",
            algorithm_field: "SigningAlgorithm",
            algorithm,
            answer_field: "Signature",
            primitive,
        };
        match self {
            Op::Encrypt
            | Op::Decrypt
            | Op::GenerateDataKey
            | Op::EncryptDefaultPolicy
            | Op::EncryptRestrictivePolicy
            | Op::GetSecretValue => None,
            Op::SignRsa2048 => Some(sign(
                "RSA_2048",
                "RSASSA_PKCS1_V1_5_SHA_256",
                Primitive::RsaPkcs1Sha256,
            )),
            Op::SignEccNistP256 => Some(sign(
                "ECC_NIST_P256",
                "ECDSA_SHA_256",
                Primitive::EcdsaP256Sha256,
            )),
            Op::SignEd25519 => Some(sign(
                "ECC_NIST_EDWARDS25519",
                "ED25519_SHA_512",
                Primitive::Ed25519,
            )),
            Op::SignMlDsa65 => Some(sign("ML_DSA_65", "ML_DSA_SHAKE_256", Primitive::MlDsa65)),
            Op::GenerateMacHmac256 => Some(Signing {
                key_spec: "HMAC_256",
                key_usage: "GENERATE_VERIFY_MAC",
                target: "TrentService.GenerateMac",
                algorithm_field: "MacAlgorithm",
                algorithm: "HMAC_SHA_256",
                answer_field: "Mac",
                primitive: Primitive::HmacSha256,
            }),
        }
    }

    /// The least `server/raw` the issue asks of this operation, if it sets one.
    fn raw_ratio_target(self) -> Option<f64> {
        (self == Op::SignEccNistP256).then_some(report::SIGN_RAW_RATIO_TARGET)
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
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Trail(args) => runtime.block_on(trail::run(*args)),
        Command::Memory(args) => runtime.block_on(memory::run(*args)),
        Command::Micro(args) => micro::run(&args),
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
    let ops = expand_ops(&args.ops);
    let plaintext = B64.encode(pseudo_random_bytes(args.plaintext_size));
    let message = pseudo_random_bytes(MESSAGE_SIZE);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signs = ops.iter().any(|op| op.signing().is_some());
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
        .flat_map(|(r, s)| ops.iter().map(move |&op| labels.target(op, r, s)))
        .map(|t| t.chars().count())
        .fold(report::MIN_TARGET_WIDTH, usize::max);

    let mut report = Report::new(
        args.concurrency,
        args.duration,
        args.warmup,
        args.plaintext_size,
        cores,
    );
    if signs {
        report.set_message_size(MESSAGE_SIZE);
    }
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
    // sink, or once per store setup.
    if let (Some(stores), Some(bin), false) = (&args.stores, &args.kinko_bin, args.baseline_only) {
        let width = dedup(stores)
            .iter()
            .map(|s| format!("CreateKey [{}]", s.name()).chars().count())
            .fold(width, usize::max);
        for store in dedup(stores) {
            for row in
                measure_store(bin, store, &args, &plan, &plaintext, &message, ceiling).await?
            {
                println!("{}", row.line(width));
                report.push(row);
            }
        }
    } else if !args.baseline_only {
        let mut measured: Vec<Measured> = Vec::new();
        // aws-lc-rs's own rate per primitive, measured once (the first time it is needed).
        let mut raw_rates: Vec<(Primitive, RawRate)> = Vec::new();
        let mut runs = Vec::new();
        for round in 0..args.rounds {
            for &root in &roots {
                let mut order = sinks.clone();
                if round % 2 == 1 {
                    order.reverse();
                }
                runs.extend(order.into_iter().map(|sink| (round, root, sink)));
            }
        }
        for (round, root, sink) in runs {
            let (endpoint, creds, kinko) = if let Some(bin) = &args.kinko_bin {
                let kinko = procs::Kinko::start(bin, root, sink).await?;
                let endpoint = kinko.endpoint().clone();
                let creds = kinko.credentials().clone();
                (endpoint, creds, Some(kinko))
            } else {
                let (Some(url), Some(file)) = (&args.endpoint, &args.credentials) else {
                    bail!("give --kinko-bin, or --endpoint with --credentials");
                };
                let endpoint = Endpoint::parse_url(url).await?;
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read credentials file {}", file.display()))?;
                let creds = procs::parse_credentials(&text)
                    .with_context(|| format!("in credentials file {}", file.display()))?;
                (endpoint, creds, None)
            };
            let endpoint = Arc::new(endpoint);
            let creds = Arc::new(creds);
            let mut keys = Keys::default();
            for &op in &ops {
                let key_id = keys.get(op, &endpoint, &creds, &args.region).await?;
                let call = op_call(
                    op,
                    &endpoint,
                    &creds,
                    &args.region,
                    &key_id,
                    &plaintext,
                    &message,
                )
                .await?;
                if let Some(signing) = op.signing()
                    && !raw_rates.iter().any(|(p, _)| *p == signing.primitive)
                {
                    let rate = measure_raw(signing.primitive, cores, &plan, &message).await?;
                    raw_rates.push((signing.primitive, rate));
                }
                let target = labels.target(op, root, sink);
                eprintln!("kinko-bench: measuring {target} ...");
                let server = kinko.as_ref().map(procs::Kinko::pid);
                let (result, usage) = tokio::join!(
                    client::run_load(
                        Arc::clone(&endpoint),
                        Arc::clone(&creds),
                        &args.region,
                        Arc::new(call),
                        &plan,
                    ),
                    async {
                        match server {
                            Some(pid) => {
                                usage::during_window(pid, plan.warmup, plan.duration).await
                            }
                            None => None,
                        }
                    }
                );
                let row = Row::from_load(&target, result?, plan.duration, ceiling);
                println!("{}", row.line(width));
                let requests = row.req_per_s * plan.duration.as_secs_f64();
                measured.push(Measured {
                    round,
                    op,
                    root,
                    sink,
                    req_per_s: row.req_per_s,
                    p50_ms: row.p50_ms,
                    p99_ms: row.p99_ms,
                    usage: usage.and_then(|u| u.per_request(requests)),
                });
                report.push(row);
            }
            // `kinko` is dropped here: the child is killed and its temporary directory removed.
        }
        let comparisons = raw_comparisons(&measured, &raw_rates, labels);
        if !comparisons.is_empty() {
            println!();
            println!(
                "{}",
                report::raw_heading(args.concurrency, cores, MESSAGE_SIZE)
            );
            for comparison in comparisons {
                println!("{}", comparison.line(width));
                report.push_raw_comparison(comparison);
            }
        }
        for (root, sink) in roots
            .iter()
            .flat_map(|&r| sinks.iter().map(move |&s| (r, s)))
        {
            let rate = |op: Op| {
                measured
                    .iter()
                    .find(|m| m.op == op && m.root == root && m.sink == sink)
                    .map(|m| m.req_per_s)
            };
            if let (Some(default), Some(restrictive)) = (
                rate(Op::EncryptDefaultPolicy),
                rate(Op::EncryptRestrictivePolicy),
            ) && default > 0.0
            {
                println!();
                println!(
                    "authorization [{}]: the 20-statement policy costs {:.1}% of Encrypt throughput ({restrictive:.0} vs {default:.0} req/s)",
                    labels.target(Op::EncryptRestrictivePolicy, root, sink),
                    (1.0 - restrictive / default) * 100.0
                );
            }
        }
        let costs = audit_costs(&measured, labels);
        if !costs.is_empty() {
            println!();
            println!(
                "{}",
                report::audit_cost_heading(args.concurrency, args.rounds)
            );
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
    /// Which of `--rounds` it was measured in.
    round: u32,
    op: Op,
    root: Root,
    sink: AuditSink,
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The server's CPU time per request and the machine's idle share (when the bench started
    /// the server).
    usage: Option<PerRequest>,
}

/// For every Sign and GenerateMac row, the server's rate beside aws-lc-rs's own; in the order the
/// rows were measured.
fn raw_comparisons(
    measured: &[Measured],
    raw_rates: &[(Primitive, RawRate)],
    labels: Labels,
) -> Vec<RawComparison> {
    measured
        .iter()
        .filter_map(|m| {
            let signing = m.op.signing()?;
            let (_, raw) = raw_rates.iter().find(|(p, _)| *p == signing.primitive)?;
            Some(RawComparison {
                target: labels.target(m.op, m.root, m.sink),
                algorithm: signing.algorithm,
                primitive: signing.primitive.name(),
                server_req_per_s: m.req_per_s,
                p50_ms: m.p50_ms,
                p99_ms: m.p99_ms,
                raw_ops_per_s: raw.ops_per_s,
                raw_threads: raw.threads,
                ratio_target: m.op.raw_ratio_target(),
            })
        })
        .collect()
}

/// Waits for Kinko to be idle, then measures aws-lc-rs alone on `threads` threads for the same
/// warm-up and window as a load phase (on a blocking thread, so the runtime stays responsive).
async fn measure_raw(
    primitive: Primitive,
    threads: usize,
    plan: &LoadPlan,
    message: &Bytes,
) -> Result<RawRate> {
    tokio::time::sleep(SETTLE).await;
    eprintln!(
        "kinko-bench: measuring raw aws-lc-rs {} on {threads} threads (Kinko idle) ...",
        primitive.name()
    );
    let (warmup, window, message) = (plan.warmup, plan.duration, message.clone());
    let rate = tokio::task::spawn_blocking(move || {
        raw::measure(primitive, threads, warmup, window, &message)
    })
    .await
    .context("the raw measurement panicked")??;
    eprintln!(
        "kinko-bench: raw aws-lc-rs {}: {:.0} ops/s",
        primitive.name(),
        rate.ops_per_s
    );
    Ok(rate)
}

/// For every (operation, root) measured with both sinks, what the durable audit costs; in the
/// order the operations were measured.
fn audit_costs(measured: &[Measured], labels: Labels) -> Vec<AuditCost> {
    let run = |op: Op, root: Root, sink: AuditSink, round: u32| {
        measured
            .iter()
            .find(|m| m.op == op && m.root == root && m.sink == sink && m.round == round)
    };
    let mut seen: Vec<(Op, Root)> = Vec::new();
    let mut out = Vec::new();
    for m in measured {
        if seen.contains(&(m.op, m.root)) {
            continue;
        }
        seen.push((m.op, m.root));
        let mut rounds: Vec<u32> = measured.iter().map(|m| m.round).collect();
        rounds.sort_unstable();
        rounds.dedup();
        let mut pairs: Vec<AuditCost> = rounds
            .into_iter()
            .filter_map(|round| {
                let store = run(m.op, m.root, AuditSink::Store, round)?;
                let memory = run(m.op, m.root, AuditSink::Memory, round)?;
                Some(AuditCost {
                    target: labels.compared(m.op, m.root),
                    store_req_per_s: store.req_per_s,
                    memory_req_per_s: memory.req_per_s,
                    store_use: store.usage,
                    memory_use: memory.usage,
                })
            })
            .collect();
        // The median round's pair (the lower of the two middle ones for an even count).
        pairs.sort_by(|a, b| a.cost().unwrap_or(0.0).total_cmp(&b.cost().unwrap_or(0.0)));
        if !pairs.is_empty() {
            out.push(pairs.swap_remove((pairs.len() - 1) / 2));
        }
    }
    out
}

/// Starts Kinko on `store` (one or two nodes; a fresh PostgreSQL database for the PostgreSQL
/// setups), measures Encrypt and then CreateKey with the load split across the nodes, and tears
/// everything down.
async fn measure_store(
    bin: &std::path::Path,
    store: StoreArg,
    args: &RunArgs,
    plan: &LoadPlan,
    plaintext: &str,
    message: &[u8],
    ceiling: Option<f64>,
) -> Result<Vec<Row>> {
    let database = match store {
        StoreArg::Sqlite => None,
        StoreArg::Postgres | StoreArg::Postgres2Nodes => {
            Some(pgdb::BenchDatabase::create(&args.postgres_url).await?)
        }
    };
    let measured = async {
        let mut nodes: Vec<procs::Kinko> = Vec::new();
        let store_args = |node: &str| -> Vec<String> {
            let mut out = vec!["--node-id".to_owned(), node.to_owned()];
            if let Some(db) = &database {
                out.extend(["--store".to_owned(), db.url.clone()]);
            }
            out
        };
        let first = procs::Kinko::start_node(
            bin,
            Root::File,
            AuditSink::Store,
            &store_args("node-1"),
            None,
        )
        .await?;
        if store == StoreArg::Postgres2Nodes {
            let second = procs::Kinko::start_node(
                bin,
                Root::File,
                AuditSink::Store,
                &store_args("node-2"),
                Some(&first),
            )
            .await?;
            nodes.push(first);
            nodes.push(second);
        } else {
            nodes.push(first);
        }
        let endpoints: Vec<Arc<Endpoint>> = nodes
            .iter()
            .map(|n| Arc::new(n.endpoint().clone()))
            .collect();
        let creds = Arc::new(nodes.first().context("no node")?.credentials().clone());
        let first_endpoint = endpoints.first().context("no node")?;
        let key_id =
            create_key(first_endpoint, &creds, &args.region, serde_json::json!({})).await?;
        let encrypt = op_call(
            Op::Encrypt,
            first_endpoint,
            &creds,
            &args.region,
            &key_id,
            plaintext,
            message,
        )
        .await?;
        let create = Call::new("TrentService.CreateKey", serde_json::json!({}))?;
        let mut rows = Vec::new();
        for (name, call) in [("Encrypt", encrypt), ("CreateKey", create)] {
            let target = format!("{name} [{}]", store.name());
            eprintln!("kinko-bench: measuring {target} ...");
            let pids: Vec<u32> = nodes.iter().map(procs::Kinko::pid).collect();
            let pg_work = async {
                match &database {
                    Some(db) => db.work_during(plan.warmup, plan.duration).await,
                    None => None,
                }
            };
            let (result, usage, pg_work) = tokio::join!(
                client::run_load_on(
                    &endpoints,
                    Arc::clone(&creds),
                    &args.region,
                    Arc::new(call),
                    plan,
                ),
                usage::during_window_of(&pids, plan.warmup, plan.duration),
                pg_work
            );
            let row = Row::from_load(&target, result?, plan.duration, ceiling);
            if let Some(work) = pg_work {
                let requests = row.req_per_s * plan.duration.as_secs_f64();
                eprintln!(
                    "kinko-bench: {target}: postgres {}",
                    work.describe(requests, plan.duration.as_secs_f64())
                );
            }
            if let Some((usage, postgres_cpu_s)) = usage {
                let requests = row.req_per_s * plan.duration.as_secs_f64();
                if let Some(each) = usage.per_request(requests) {
                    eprintln!(
                        "kinko-bench: {target}: server CPU {:.1} us/request (all nodes), \
                         postgres processes {:.1} us/request, machine idle {:.0}%",
                        each.cpu_us,
                        postgres_cpu_s * 1e6 / requests,
                        usage.machine_idle * 100.0
                    );
                }
            }
            rows.push(row);
        }
        // The nodes stop here, before their database is dropped.
        drop(nodes);
        Ok::<_, anyhow::Error>(rows)
    }
    .await;
    if let Some(db) = database {
        db.drop_now().await?;
    }
    measured
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

/// The keys one Kinko run uses, each created the first time an operation needs it: one
/// SYMMETRIC_DEFAULT key for the symmetric operations, one key per Sign or GenerateMac operation.
#[derive(Debug, Default)]
struct Keys {
    /// (`KeySpec`, key id).
    created: Vec<(&'static str, String)>,
}

impl Keys {
    async fn get(
        &mut self,
        op: Op,
        endpoint: &Endpoint,
        creds: &Credentials,
        region: &str,
    ) -> Result<String> {
        let (spec, body) = match op.signing() {
            None if op == Op::EncryptRestrictivePolicy => {
                let account = caller_account(endpoint, creds, region).await?;
                let policy = RESTRICTIVE_POLICY.replace("{account}", &account);
                (
                    "SYMMETRIC_DEFAULT restrictive",
                    serde_json::json!({ "Policy": policy }),
                )
            }
            // The default key spec, asked for as the existing runs always did: with no fields.
            None => ("SYMMETRIC_DEFAULT", serde_json::json!({})),
            Some(s) => (
                s.key_spec,
                serde_json::json!({ "KeySpec": s.key_spec, "KeyUsage": s.key_usage }),
            ),
        };
        if let Some((_, id)) = self.created.iter().find(|(s, _)| *s == spec) {
            return Ok(id.clone());
        }
        let id = create_key(endpoint, creds, region, body)
            .await
            .with_context(|| format!("cannot create the {spec} key for {}", op.name()))?;
        eprintln!("kinko-bench: created {spec} key {id}");
        self.created.push((spec, id.clone()));
        Ok(id)
    }
}

/// The account the credentials belong to, read from the ARN of a key they create.
async fn caller_account(endpoint: &Endpoint, creds: &Credentials, region: &str) -> Result<String> {
    let call = Call::new("TrentService.CreateKey", serde_json::json!({}))?;
    let v = client::call_ok(endpoint, creds, region, &call)
        .await
        .context("CreateKey failed")?;
    v.pointer("/KeyMetadata/AWSAccountId")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
        .with_context(|| format!("CreateKey response has no KeyMetadata.AWSAccountId: {v}"))
}

/// Creates a key (CreateKey with `body`) and returns its id.
async fn create_key(
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    body: serde_json::Value,
) -> Result<String> {
    let call = Call::new("TrentService.CreateKey", body)?;
    let v = client::call_ok(endpoint, creds, region, &call)
        .await
        .context("CreateKey failed")?;
    v.pointer("/KeyMetadata/KeyId")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
        .with_context(|| format!("CreateKey response has no KeyMetadata.KeyId: {v}"))
}

/// Builds the request one operation sends again and again. A Sign or GenerateMac request is sent
/// once here first, so that a server that does not answer it as AWS does fails the run at once.
async fn op_call(
    op: Op,
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    key_id: &str,
    plaintext: &str,
    message: &[u8],
) -> Result<Call> {
    if let Some(signing) = op.signing() {
        return signing_call(op, signing, endpoint, creds, region, key_id, message).await;
    }
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
        Op::EncryptDefaultPolicy | Op::EncryptRestrictivePolicy => {
            let call = Call::new(
                "TrentService.Encrypt",
                serde_json::json!({
                    "KeyId": key_id,
                    "Plaintext": plaintext,
                    "EncryptionContext": bench_context(),
                }),
            )?;
            // Sent once first: a policy that does not allow the bench fails the run at once.
            client::call_ok(endpoint, creds, region, &call)
                .await
                .with_context(|| format!("{} failed", op.name()))?;
            Ok(call)
        }
        Op::GetSecretValue => secrets::get_secret_value_call(endpoint, creds, region).await,
        Op::SignRsa2048
        | Op::SignEccNistP256
        | Op::SignEd25519
        | Op::SignMlDsa65
        | Op::GenerateMacHmac256 => bail!("{} is a signing operation", op.name()),
    }
}

/// The Sign or GenerateMac request of `op`, checked once: a 200 whose answer field holds base64.
async fn signing_call(
    op: Op,
    signing: Signing,
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    key_id: &str,
    message: &[u8],
) -> Result<Call> {
    let mut body = serde_json::json!({
        "KeyId": key_id,
        "Message": B64.encode(message),
        signing.algorithm_field: signing.algorithm,
    });
    if signing.target == "TrentService.Sign" {
        body["MessageType"] = "RAW".into();
    }
    let call = Call::new(signing.target, body)?;
    let v = client::call_ok(endpoint, creds, region, &call)
        .await
        .with_context(|| format!("the first {} failed", op.name()))?;
    let answer = v.get(signing.answer_field).and_then(|a| a.as_str());
    ensure!(
        answer.is_some_and(|a| B64.decode(a).is_ok_and(|b| !b.is_empty())),
        "{} answered without a base64 {}: {v}",
        op.name(),
        signing.answer_field
    );
    Ok(call)
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
        assert_eq!(
            expand_ops(&args.ops),
            [Op::Encrypt, Op::Decrypt, Op::GenerateDataKey]
        );
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
        assert_eq!(expand_ops(&args.ops), [Op::GenerateDataKey, Op::Encrypt]);
        assert!(Cli::try_parse_from(["kinko-bench", "run"]).is_err());
        assert!(Cli::try_parse_from(["kinko-bench", "run", "--baseline-only"]).is_ok());
        Ok(())
    }

    #[test]
    fn cli_parses_the_signing_scenario() -> Result<()> {
        let ops = |list: &str| -> Result<Vec<Op>> {
            let cli =
                Cli::try_parse_from(["kinko-bench", "run", "--kinko-bin", "k", "--ops", list])?;
            let Command::Run(args) = cli.command else {
                bail!("expected run");
            };
            Ok(expand_ops(&args.ops))
        };
        let signing = [
            Op::SignRsa2048,
            Op::SignEccNistP256,
            Op::SignEd25519,
            Op::SignMlDsa65,
            Op::GenerateMacHmac256,
        ];
        assert_eq!(ops("signing")?, signing);
        assert_eq!(
            ops("sign-ecc-nist-p256,generate-mac-hmac-256,sign-rsa-2048")?,
            [Op::SignEccNistP256, Op::GenerateMacHmac256, Op::SignRsa2048]
        );
        assert_eq!(ops("sign-ed25519,sign-ml-dsa-65")?, signing[2..4]);
        // Groups and single operations mix; each operation is measured once.
        assert_eq!(
            ops("encrypt,signing,symmetric,sign-rsa-2048")?,
            [
                [Op::Encrypt].as_slice(),
                &signing,
                &[Op::Decrypt, Op::GenerateDataKey]
            ]
            .concat()
        );
        assert!(ops("sign").is_err());
        Ok(())
    }

    #[test]
    fn signing_ops_ask_for_what_aws_names() {
        let spec = |op: Op| {
            op.signing()
                .map(|s| (s.key_spec, s.key_usage, s.target, s.algorithm))
        };
        assert_eq!(spec(Op::Encrypt), None);
        assert_eq!(
            spec(Op::SignRsa2048),
            Some((
                "RSA_2048",
                "SIGN_VERIFY",
                "TrentService.Sign",
                "RSASSA_PKCS1_V1_5_SHA_256"
            ))
        );
        assert_eq!(
            spec(Op::SignEccNistP256),
            Some((
                "ECC_NIST_P256",
                "SIGN_VERIFY",
                "TrentService.Sign",
                "ECDSA_SHA_256"
            ))
        );
        assert_eq!(
            spec(Op::SignEd25519),
            Some((
                "ECC_NIST_EDWARDS25519",
                "SIGN_VERIFY",
                "TrentService.Sign",
                "ED25519_SHA_512"
            ))
        );
        assert_eq!(
            spec(Op::SignMlDsa65),
            Some((
                "ML_DSA_65",
                "SIGN_VERIFY",
                "TrentService.Sign",
                "ML_DSA_SHAKE_256"
            ))
        );
        assert_eq!(
            spec(Op::GenerateMacHmac256),
            Some((
                "HMAC_256",
                "GENERATE_VERIFY_MAC",
                "TrentService.GenerateMac",
                "HMAC_SHA_256"
            ))
        );
        let targets: Vec<Op> = OpArg::Signing
            .ops()
            .iter()
            .copied()
            .filter(|op| op.raw_ratio_target().is_some())
            .collect();
        assert_eq!(targets, [Op::SignEccNistP256]);
    }

    #[test]
    fn raw_comparisons_follow_the_signing_rows() {
        let m = |op, sink, req_per_s| Measured {
            round: 0,
            op,
            root: Root::File,
            sink,
            req_per_s,
            p50_ms: 1.0,
            p99_ms: 3.0,
            usage: None,
        };
        let measured = [
            m(Op::Encrypt, AuditSink::Store, 9_000.0),
            m(Op::SignEccNistP256, AuditSink::Store, 20_000.0),
            m(Op::GenerateMacHmac256, AuditSink::Store, 25_000.0),
            m(Op::SignEccNistP256, AuditSink::Memory, 22_000.0),
        ];
        let rate = |ops_per_s| RawRate {
            ops: 1,
            ops_per_s,
            threads: 2,
        };
        let raw = [
            (Primitive::EcdsaP256Sha256, rate(80_000.0)),
            (Primitive::HmacSha256, rate(4_000_000.0)),
        ];
        let labels = Labels {
            show_root: false,
            show_sink: true,
        };
        let got = raw_comparisons(&measured, &raw, labels);
        let summary: Vec<(&str, f64, f64, Option<f64>)> = got
            .iter()
            .map(|c| {
                (
                    c.target.as_str(),
                    c.server_req_per_s,
                    c.raw_ops_per_s,
                    c.ratio_target,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Sign ECC_NIST_P256 [audit: store]",
                    20_000.0,
                    80_000.0,
                    Some(0.5)
                ),
                (
                    "GenerateMac HMAC_256 [audit: store]",
                    25_000.0,
                    4_000_000.0,
                    None
                ),
                (
                    "Sign ECC_NIST_P256 [audit: memory]",
                    22_000.0,
                    80_000.0,
                    Some(0.5)
                ),
            ]
        );
        assert!(got.iter().all(|c| c.raw_threads == 2 && c.p99_ms == 3.0));
        // A row whose raw rate was not measured gets no comparison.
        assert_eq!(raw_comparisons(&measured, &raw[..1], labels).len(), 2);
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
    fn audit_costs_take_the_median_round() {
        let m = |round, sink, req_per_s| Measured {
            round,
            op: Op::Encrypt,
            root: Root::File,
            sink,
            req_per_s,
            p50_ms: 0.0,
            p99_ms: 0.0,
            usage: None,
        };
        let measured = [
            m(0, AuditSink::Store, 900.0),
            m(0, AuditSink::Memory, 1_000.0), // 10%
            m(1, AuditSink::Memory, 1_000.0),
            m(1, AuditSink::Store, 500.0), // 50%
            m(2, AuditSink::Store, 1_600.0),
            m(2, AuditSink::Memory, 2_000.0), // 20%
            m(3, AuditSink::Store, 100.0),    // no memory run in round 3: not a pair
        ];
        let labels = Labels {
            show_root: false,
            show_sink: true,
        };
        assert_eq!(
            audit_costs(&measured, labels),
            [AuditCost {
                target: "Encrypt".to_owned(),
                store_req_per_s: 1_600.0,
                memory_req_per_s: 2_000.0,
                store_use: None,
                memory_use: None,
            }]
        );
    }

    #[test]
    fn audit_costs_pair_store_and_memory_per_operation_and_root() {
        let m = |op, root, sink, req_per_s| Measured {
            round: 0,
            op,
            root,
            sink,
            req_per_s,
            p50_ms: 0.0,
            p99_ms: 0.0,
            usage: None,
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
                    store_use: None,
                    memory_use: None,
                },
                AuditCost {
                    target: "Decrypt [file root]".to_owned(),
                    store_req_per_s: 400.0,
                    memory_req_per_s: 800.0,
                    store_use: None,
                    memory_use: None,
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
