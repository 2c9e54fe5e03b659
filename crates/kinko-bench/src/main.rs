//! `kinko-bench`: the load generator that answers "how fast is Kinko on this machine?".
//!
//! `kinko-bench run` first measures a bare HTTP server (this same binary re-executed as
//! `kinko-bench baseline-server`) that does nothing but parse a JSON body and answer 64 bytes, then
//! starts Kinko (or uses a running one) and drives SigV4-signed Encrypt, Decrypt and GenerateDataKey
//! requests at it with exactly the same client code. Each target runs alone on the machine, one after
//! the other, so Kinko's throughput can be printed as a ratio of that ceiling (design.md §8 asks for
//! at least 0.6 on symmetric Encrypt).
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
use crate::report::{Report, Row};

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
    roots: Vec<procs::Root>,
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
    let plaintext = B64.encode(pseudo_random_bytes(args.plaintext_size));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut report = Report::new(
        args.concurrency,
        args.duration,
        args.warmup,
        args.plaintext_size,
        cores,
    );
    println!("{}", report.banner());
    println!("{}", report::table_header());

    // 1. The ceiling, alone on the machine.
    let mut ceiling = None;
    if !args.skip_baseline {
        let row = measure_baseline(&args, &plan, &plaintext).await?;
        println!("{}", row.line());
        ceiling = Some(row.req_per_s).filter(|r| *r > 0.0);
        report.push(row);
    }

    // 2. Kinko, started only after the baseline server is gone; once per root of trust.
    if !args.baseline_only {
        let roots = if args.kinko_bin.is_some() {
            args.roots.clone()
        } else {
            vec![procs::Root::File]
        };
        for root in roots {
            let (endpoint, creds, _kinko) = if let Some(bin) = &args.kinko_bin {
                let kinko = procs::Kinko::start(bin, root).await?;
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
            let key_id = create_key(&endpoint, &creds, &args.region).await?;
            eprintln!("kinko-bench: created key {key_id}");
            for &op in &args.ops {
                let call =
                    op_call(op, &endpoint, &creds, &args.region, &key_id, &plaintext).await?;
                let target = if args.roots.len() > 1 {
                    format!("{} [{}]", op.name(), root.name())
                } else {
                    op.name().to_owned()
                };
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
                println!("{}", row.line());
                report.push(row);
            }
            // `_kinko` is dropped here: the child is killed and its temporary directory removed.
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
}
