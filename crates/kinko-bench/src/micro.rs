//! `kinko-bench micro`: one whole in-process Encrypt request through Kinko's router (no socket, a
//! real SigV4-signed request, the audit writer on the in-memory sink) and the time of each of
//! its steps (`kinko_server::microbench`: auth, parse, authorize, crypto, audit record, audit
//! hand-off, response, and the rest), so that a regression shows which step grew. One thread;
//! each figure is the best of `--rounds` interleaved rounds. A benchmark, not a test: the
//! `kinko-server` tests run it only as a smoke run.

use anyhow::{Context as _, Result, anyhow};
use clap::Args;

/// `kinko-bench micro` arguments.
#[derive(Debug, Args)]
pub(crate) struct MicroArgs {
    /// Requests per step per round.
    #[arg(long, default_value_t = 20_000)]
    iterations: u32,
    /// Rounds; the best of them is printed.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

/// Runs the micro-bench on a single-threaded runtime and prints its table.
pub(crate) fn run(args: &MicroArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let report = runtime
        .block_on(kinko_server::microbench::encrypt_steps(
            args.iterations,
            args.rounds,
        ))
        .map_err(|e| anyhow!("the micro-bench failed: {e}"))?;
    #[allow(clippy::print_stdout)] // the report is the output
    {
        println!(
            "Encrypt, 64 B plaintext, in process, one thread, {} requests per step, best of {} rounds",
            args.iterations, args.rounds
        );
        print!("{}", report.table());
    }
    Ok(())
}
