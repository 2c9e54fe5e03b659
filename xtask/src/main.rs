//! Project automation, in Rust so that it runs wherever cargo does.
//!
//! `cargo xtask test` installs what the tests need (a Python virtual environment with pinned
//! boto3, AWS CLI v1 and aws-encryption-sdk) and runs every suite: the Rust workspace tests
//! (unit, in-process protocol, storage contract, SigV4 vectors, the Rust SDK end-to-end test),
//! the Python end-to-end suites (among them the JavaScript SDK's, for which it runs `npm ci` in
//! `tests/js` when `node_modules` is missing or the lockfile changed since) against the real binary (once with the root key in a file, once
//! inside SoftHSM2, which it installs from Debian's packages when missing); the load generator's smoke test runs
//! among the workspace tests against the binary built first. The storage contract suite runs on
//! PostgreSQL too, at `KINKO_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]); when that
//! server is unreachable it runs on SQLite alone (or fails, when `CI` is set), and `xtask` says so
//! at the end. The fuzz smoke run is among the workspace tests: the committed corpus of every
//! fuzz target replayed through its entry point (`kinko-server/tests/it/fuzz_corpus.rs`).
//!
//! `cargo xtask fuzz [SECONDS] [TARGET...]` runs the coverage-guided fuzzers themselves
//! (cargo-fuzz and libFuzzer on the stable toolchain; it installs cargo-fuzz when missing), each
//! target for SECONDS (default 60) over its corpus, and fails on the first crash.
//!
//! `cargo xtask faults [ROUNDS]` runs the fault campaign's long version
//! (`crates/kinko/tests/faults/`, `docs/faults.md`): ROUNDS kill -9s (default 50) per store,
//! SQLite and PostgreSQL, besides the full-disk, unwritable-audit and database-restart cases,
//! and prints their figures (the `faults:` lines).
//!
//! `cargo xtask profile OP` records the release server under OP's load with `perf` and writes a
//! flame graph and the functions by self time under `target/profile/` (`profile.rs`).

mod profile;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("test") => test(&root),
        Some("bench") => bench(&root, &args[1..]),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("faults") => faults(&root, &args[1..]),
        Some("profile") => profile::profile(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test | cargo xtask bench [kinko-bench run flags] | cargo xtask fuzz [SECONDS] [TARGET...] | cargo xtask faults [ROUNDS] | cargo xtask profile OP [--seconds N] [--sink store|memory]"
            );
            bail!("unknown or missing command")
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Creates `.venv` and installs `tests/e2e/requirements.txt` when it changed since the last
/// install (the copy kept in `.venv` says what was installed).
fn python_env(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(".venv");
    let python = venv.join("bin").join("python");
    let requirements = root.join("tests/e2e/requirements.txt");
    let installed = venv.join("kinko-requirements.txt");
    let wanted =
        std::fs::read_to_string(&requirements).context("reading tests/e2e/requirements.txt")?;
    if python.exists()
        && std::fs::read_to_string(&installed).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(python);
    }
    let system_python = if Command::new("python3").arg("--version").output().is_ok() {
        "python3"
    } else {
        "python"
    };
    run(Command::new(system_python).args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))?;
    std::fs::write(&installed, wanted).context("recording installed requirements")?;
    Ok(python)
}

/// Runs `npm ci` in `tests/js` (the AWS SDK for JavaScript v3, from the npm registry at the
/// versions `package-lock.json` pins) when `node_modules` is missing or the lockfile changed since
/// the last install (a copy kept in `node_modules` says what was installed).
fn node_env(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("tests/js");
    let lockfile = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("reading tests/js/package-lock.json")?;
    let installed = dir.join("node_modules").join(".kinko-package-lock.json");
    if std::fs::read_to_string(&installed).ok().as_deref() == Some(lockfile.as_str()) {
        return Ok(());
    }
    run(Command::new("npm").current_dir(&dir).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
    ]))?;
    std::fs::write(&installed, lockfile).context("recording the installed npm lockfile")?;
    Ok(())
}

/// SoftHSM2 (Debian package `softhsm2`) backs the PKCS#11 root-of-trust tests.
fn softhsm() -> anyhow::Result<()> {
    if Path::new(SOFTHSM_MODULE).is_file()
        && Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok()
    {
        return Ok(());
    }
    eprintln!("xtask: installing softhsm2 (Debian package) for the PKCS#11 tests");
    apt_install("softhsm2")?;
    if !Path::new(SOFTHSM_MODULE).is_file() {
        bail!("softhsm2 is installed but {SOFTHSM_MODULE} is missing");
    }
    Ok(())
}

const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Debian's chromium, which the console's browser tests drive through Playwright (never a
/// browser download).
fn chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).is_file() {
        return Ok(());
    }
    eprintln!("xtask: installing chromium (Debian package) for the console's browser tests");
    apt_install("chromium")?;
    if !Path::new(CHROMIUM).is_file() {
        bail!("chromium is installed but {CHROMIUM} is missing");
    }
    Ok(())
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs a Debian package, refreshing the package lists once if the first try fails.
fn apt_install(package: &str) -> anyhow::Result<()> {
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    if !install().is_ok_and(|s| s.success()) {
        run(Command::new("apt-get").args(["update", "-q"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", package])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(())
}

/// Where the storage contract suite finds PostgreSQL unless `KINKO_TEST_POSTGRES_URL` says.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL for the contract suite, and why it cannot be reached, if it cannot.
fn postgres_for_tests() -> (String, Option<String>) {
    let url = std::env::var("KINKO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let unreachable = tcp_address(&url).and_then(|address| refused(&address));
    (url, unreachable)
}

/// Why nothing accepts TCP connections at `address` within 2 s, or `None` if something does.
fn refused(address: &str) -> Option<String> {
    let addrs = match std::net::ToSocketAddrs::to_socket_addrs(address) {
        Ok(addrs) => addrs,
        Err(e) => return Some(format!("{address}: {e}")),
    };
    let mut why = format!("{address}: no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
            Ok(_) => return None,
            Err(e) => why = format!("{addr}: {e}"),
        }
    }
    Some(why)
}

/// `host:port` of a `postgres://` URL (port 5432 when absent); `None` for a Unix socket, which
/// the suite itself checks.
fn tcp_address(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return None;
    }
    let has_port = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].contains(':'),
        None => host_port.contains(':'),
    };
    Some(if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    })
}

fn test(root: &Path) -> anyhow::Result<()> {
    let (postgres_url, postgres_unreachable) = postgres_for_tests();
    let postgres_warning = postgres_unreachable.map(|why| {
        format!(
            "PostgreSQL at {postgres_url} unreachable ({why}): the PostgreSQL contract suite did NOT run"
        )
    });
    if let Some(warning) = &postgres_warning {
        eprintln!("xtask: WARNING: {warning}");
    }
    softhsm()?;
    chromium()?;
    let python = python_env(root)?;
    node_env(root)?;
    run(cargo().current_dir(root).args([
        "build",
        "--package",
        "kinko",
        "--package",
        "kinko-bench",
    ]))?;
    run(cargo()
        .current_dir(root)
        .env("KINKO_TEST_POSTGRES_URL", &postgres_url)
        .args(["test", "--workspace"]))?;
    let kinko = root.join("target/debug/kinko");
    // The whole end-to-end suite runs twice: root key in a file, then inside SoftHSM2.
    for root_of_trust in ["file", "pkcs11"] {
        eprintln!("xtask: end-to-end suite with the `{root_of_trust}` root of trust");
        run(Command::new(&python)
            .current_dir(root)
            .env("KINKO_BIN", &kinko)
            .env("KINKO_TEST_ROOT", root_of_trust)
            .args(["-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider"]))?;
    }
    eprintln!("xtask: every suite passed");
    if let Some(warning) = &postgres_warning {
        eprintln!("xtask: WARNING: {warning}");
    }
    Ok(())
}

fn bench(root: &Path, args: &[String]) -> anyhow::Result<()> {
    run(cargo().current_dir(root).args([
        "build",
        "--release",
        "--package",
        "kinko",
        "--package",
        "kinko-bench",
    ]))?;
    let mut cmd = Command::new(root.join("target/release/kinko-bench"));
    cmd.current_dir(root)
        .arg("run")
        .arg("--kinko-bin")
        .arg(root.join("target/release/kinko"))
        .args(args);
    run(&mut cmd)
}

/// Kills per store in the fault campaign's long run when no count is given.
const FAULT_ROUNDS: u32 = 50;

/// The fault campaign's long run: the `faults` test binary with `KINKO_FAULT_ROUNDS`, one test
/// at a time, its figures on stderr.
fn faults(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let rounds = match args.first() {
        Some(n) => n
            .parse::<u32>()
            .with_context(|| format!("ROUNDS must be a number, not {n:?}"))?,
        None => FAULT_ROUNDS,
    };
    let postgres_url = std::env::var("KINKO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    run(cargo()
        .current_dir(root)
        .args(["build", "--package", "kinko"]))?;
    run(cargo()
        .current_dir(root)
        .env("KINKO_FAULT_ROUNDS", rounds.to_string())
        .env("KINKO_TEST_POSTGRES_URL", &postgres_url)
        .args([
            "test",
            "--package",
            "kinko",
            "--test",
            "faults",
            "--",
            "--nocapture",
            "--test-threads=1",
        ]))
}

/// The cargo-fuzz release the fuzz workspace is built with.
const CARGO_FUZZ: &str = "cargo-fuzz@0.13.2";

/// Runs every fuzz target (or the ones named) for `seconds` each, after installing cargo-fuzz
/// when it is missing. libFuzzer needs nightly-only compiler flags; the stable toolchain accepts
/// them under `RUSTC_BOOTSTRAP=1`, which is set for these commands only.
fn fuzz(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (seconds, targets) = match args.first().map(|a| a.parse::<u64>()) {
        Some(Ok(n)) => (n, &args[1..]),
        _ => (60, args),
    };
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run(cargo().args(["install", CARGO_FUZZ, "--locked"]))?;
    }
    let dir = root.join("fuzz");
    let targets: Vec<String> = if targets.is_empty() {
        let out = cargo()
            .current_dir(&dir)
            .args(["fuzz", "list"])
            .output()
            .context("cargo fuzz list")?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    } else {
        targets.to_vec()
    };
    for target in &targets {
        // New inputs go to a scratch directory; the committed corpus is only read (it changes
        // by `cargo fuzz cmin`, on purpose).
        let scratch = dir.join("target").join("scratch-corpus").join(target);
        std::fs::create_dir_all(&scratch).context("creating the scratch corpus")?;
        run(cargo()
            .current_dir(&dir)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "--sanitizer", "none", "--debug-assertions"])
            .arg(target)
            .arg(&scratch)
            .arg(dir.join("corpus").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-max_len=65536")
            .arg("-rss_limit_mb=2048")
            .arg("-timeout=10"))?;
    }
    eprintln!(
        "xtask: {} fuzz targets ran {seconds} s each without a crash",
        targets.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tcp_address;

    /// `tests/js/package.json` pins the AWS SDK for JavaScript to one exact version, and the
    /// lockfile `npm ci` installs from records that version.
    #[test]
    fn the_javascript_sdk_is_pinned_and_locked() {
        let dir = super::project_root().join("tests/js");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
        let manifest = read("package.json");
        let lock = read("package-lock.json");
        let needle = "\"@aws-sdk/client-kms\": \"";
        let at = manifest
            .find(needle)
            .expect("package.json names @aws-sdk/client-kms")
            + needle.len();
        let version = &manifest[at..at + manifest[at..].find('"').expect("closing quote")];
        assert!(
            !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "@aws-sdk/client-kms is not pinned to an exact version: {version:?}"
        );
        let entry = lock
            .find("\"node_modules/@aws-sdk/client-kms\": {")
            .expect("the lockfile has @aws-sdk/client-kms");
        let field = "\"version\": \"";
        let rest = &lock[entry..];
        let at = rest.find(field).expect("its version") + field.len();
        let locked = &rest[at..at + rest[at..].find('"').expect("closing quote")];
        assert_eq!(
            locked, version,
            "package-lock.json locks another @aws-sdk/client-kms: run npm install in tests/js"
        );
    }

    #[test]
    fn tcp_address_of_postgres_urls() {
        assert_eq!(
            tcp_address("postgres://postgres@127.0.0.1:5432/test").as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            tcp_address("postgresql://u:p@db.example/kinko?sslmode=require").as_deref(),
            Some("db.example:5432")
        );
        assert_eq!(
            tcp_address("postgres://[::1]:6543/x").as_deref(),
            Some("[::1]:6543")
        );
        assert_eq!(
            tcp_address("postgres://[::1]/x").as_deref(),
            Some("[::1]:5432")
        );
        assert_eq!(tcp_address("postgres:///test?host=/run/postgresql"), None);
    }
}
