//! `cargo xtask profile OP [--seconds N] [--sink store|memory] [--concurrency N]`: where the
//! release server spends its CPU under one operation's load.
//!
//! It builds the release server and load generator with frame pointers
//! (`RUSTFLAGS=-C force-frame-pointers=yes`, so `perf`'s call graphs are whole without DWARF
//! unwinding), starts `kinko serve` on a fresh data directory, drives it with `kinko-bench run
//! --endpoint … --ops OP`, and records the server with `perf record -g` during the measured
//! seconds (not the warm-up). Under `target/profile/` it writes, for `OP-SINK`:
//! - `OP-SINK.svg`: the flame graph (inferno);
//! - `OP-SINK.folded`: the folded stacks it was drawn from;
//! - `OP-SINK-top.txt`: the functions by self time (samples where the function is the leaf),
//!   with their share of the server's sampled CPU; the first lines are printed too.
//!
//! The build shares `target/release` with `cargo xtask bench`; the two differ only in the frame
//! pointers (about 1% of CPU), and each rebuilds what the other changed.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use inferno::collapse::Collapse;

/// How many functions the printed summary shows (the file has more).
const PRINTED: usize = 15;
/// How many functions the `-top.txt` file lists.
const LISTED: usize = 60;
/// Seconds of load before recording starts.
const WARMUP_SECS: u64 = 2;
/// Sampling frequency (Hz) per CPU.
const FREQUENCY: &str = "999";

/// The parsed arguments.
#[derive(Debug, PartialEq)]
struct Args {
    op: String,
    seconds: u64,
    sink: String,
    concurrency: u32,
}

fn parse_args(args: &[String]) -> anyhow::Result<Args> {
    let mut parsed = Args {
        op: String::new(),
        seconds: 10,
        sink: "store".to_owned(),
        concurrency: 64,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--seconds" => parsed.seconds = value("--seconds")?.parse()?,
            "--sink" => parsed.sink = value("--sink")?,
            "--concurrency" => parsed.concurrency = value("--concurrency")?.parse()?,
            op if !op.starts_with('-') && parsed.op.is_empty() => parsed.op = op.to_owned(),
            other => bail!("unexpected argument {other:?}"),
        }
    }
    if parsed.op.is_empty() {
        bail!(
            "usage: cargo xtask profile OP [--seconds N] [--sink store|memory] [--concurrency N] (OP: a kinko-bench --ops value, e.g. encrypt)"
        );
    }
    if !matches!(parsed.sink.as_str(), "store" | "memory") {
        bail!("--sink is store or memory, not {:?}", parsed.sink);
    }
    if parsed.seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    Ok(parsed)
}

/// A child process killed (by its own handle) and reaped on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cargo xtask profile`.
pub(crate) fn profile(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let args = parse_args(args)?;
    crate::run(
        crate::cargo()
            .current_dir(root)
            .env("RUSTFLAGS", "-C force-frame-pointers=yes")
            .args([
                "build",
                "--release",
                "--package",
                "kinko",
                "--package",
                "kinko-bench",
            ]),
    )?;
    let out_dir = root.join("target/profile");
    let work = out_dir.join(format!("run-{}", std::process::id()));
    let data_dir = work.join("data");
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {data_dir:?}"))?;
    let result = record(root, &args, &out_dir, &work, &data_dir);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn record(
    root: &Path,
    args: &Args,
    out_dir: &Path,
    work: &Path,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = std::fs::File::create(work.join("kinko.log"))?;
    let mut serve = Command::new(root.join("target/release/kinko"));
    serve
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--quota", "all=off"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if args.sink == "memory" {
        serve.arg("--insecure-audit-memory-sink");
    }
    let server = Guard(serve.spawn().context("starting kinko serve")?);
    wait_healthy(port, &data_dir.join("credentials"))?;

    let mut bench = Command::new(root.join("target/release/kinko-bench"));
    bench
        .arg("run")
        .args(["--endpoint", &format!("http://127.0.0.1:{port}")])
        .arg("--credentials")
        .arg(data_dir.join("credentials"))
        .args(["--ops", &args.op, "--skip-baseline"])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--warmup", &WARMUP_SECS.to_string()])
        .args(["--duration", &args.seconds.to_string()]);
    eprintln!("xtask: running {bench:?}");
    let mut bench = Guard(bench.spawn().context("starting kinko-bench")?);
    // The bench creates its keys, then warms up: record from a little after the warm-up began
    // to a little before the measurement ends.
    std::thread::sleep(Duration::from_millis(WARMUP_SECS * 1000 + 500));
    let name = format!("{}-{}", args.op, args.sink);
    let perf_data = work.join("perf.data");
    let recorded = args.seconds.saturating_sub(1).max(1);
    crate::run(
        Command::new("perf")
            .args(["record", "-g", "-F", FREQUENCY, "-p"])
            .arg(server.0.id().to_string())
            .arg("-o")
            .arg(&perf_data)
            .args(["--", "sleep", &recorded.to_string()])
            .stdout(Stdio::null()),
    )
    .context("perf record (is `perf` installed and kernel.perf_event_paranoid ≤ 2?)")?;
    let status = bench.0.wait()?;
    if !status.success() {
        bail!("kinko-bench failed with {status}");
    }
    drop(server);

    let script = Command::new("perf")
        .args(["script", "-i"])
        .arg(&perf_data)
        .stderr(Stdio::null())
        .output()
        .context("perf script")?;
    if !script.status.success() {
        bail!("perf script failed with {}", script.status);
    }
    let mut folded = Vec::new();
    inferno::collapse::perf::Folder::default()
        .collapse(&script.stdout[..], &mut folded)
        .context("folding the perf stacks")?;
    let folded = String::from_utf8_lossy(&folded).into_owned();
    std::fs::write(out_dir.join(format!("{name}.folded")), &folded)?;

    let svg_path = out_dir.join(format!("{name}.svg"));
    let mut options = inferno::flamegraph::Options::default();
    options.title = format!("kinko serve under {} ({} audit sink)", args.op, args.sink);
    let svg = std::fs::File::create(&svg_path)?;
    inferno::flamegraph::from_lines(&mut options, folded.lines(), std::io::BufWriter::new(svg))
        .context("drawing the flame graph")?;

    // Folded counts are perf's sample periods: nanoseconds of CPU for the cpu-clock event.
    let top = self_time(&folded);
    let total: u64 = top.iter().map(|(_, n)| n).sum();
    let mut text = format!(
        "# {name}: functions by self time; {:.1} ms of kinko serve's CPU sampled over {recorded} s at {FREQUENCY} Hz\n",
        total as f64 / 1e6
    );
    for (function, weight) in top.iter().take(LISTED) {
        let share = 100.0 * *weight as f64 / total.max(1) as f64;
        let ms = *weight as f64 / 1e6;
        text.push_str(&format!("{share:6.2}% {ms:9.1} ms {function}\n"));
    }
    let top_path = out_dir.join(format!("{name}-top.txt"));
    std::fs::write(&top_path, &text)?;
    let mut err = std::io::stderr().lock();
    for line in text.lines().take(PRINTED + 1) {
        writeln!(err, "{line}")?;
    }
    writeln!(
        err,
        "xtask: wrote {} and {}",
        svg_path.display(),
        top_path.display()
    )?;
    Ok(())
}

/// Waits until `GET /healthz` answers 200 and the first-start credentials file is written.
fn wait_healthy(port: u16, credentials: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if healthz(port) && credentials.exists() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("kinko did not become healthy on 127.0.0.1:{port} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn healthz(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

/// Sample weight per function where it is the innermost frame (its self time), most first; ties
/// by name. `folded` is inferno's folded format: `frame;frame;…;leaf COUNT` per line.
fn self_time(folded: &str) -> Vec<(String, u64)> {
    let mut by_function: HashMap<&str, u64> = HashMap::new();
    for line in folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        let leaf = stack.rsplit(';').next().unwrap_or(stack);
        *by_function.entry(leaf).or_default() += count;
    }
    let mut top: Vec<(String, u64)> = by_function
        .into_iter()
        .map(|(f, n)| (f.to_owned(), n))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_time_counts_leaves_only() {
        let folded = "kinko;main;malloc 5\nkinko;main;encrypt;malloc 3\nkinko;main;encrypt 4\nbad line\nkinko;x notanumber\n";
        assert_eq!(
            self_time(folded),
            vec![("malloc".to_owned(), 8), ("encrypt".to_owned(), 4)]
        );
    }

    #[test]
    fn args_need_an_op_and_take_options() -> anyhow::Result<()> {
        assert!(parse_args(&[]).is_err());
        let strings = |s: &[&str]| s.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            parse_args(&strings(&["encrypt", "--seconds", "5", "--sink", "memory"]))?,
            Args {
                op: "encrypt".to_owned(),
                seconds: 5,
                sink: "memory".to_owned(),
                concurrency: 64,
            }
        );
        assert!(parse_args(&strings(&["encrypt", "--sink", "disk"])).is_err());
        assert!(parse_args(&strings(&["encrypt", "--seconds"])).is_err());
        Ok(())
    }
}
