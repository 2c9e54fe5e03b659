//! Smoke tests: the real `kinko-bench` binary, run in `--smoke` mode (2 connections, 1 s), still
//! measures the bare HTTP ceiling and Kinko itself.
//!
//! The Kinko half needs the server binary, which lives in another package: it is taken from
//! `KINKO_BIN`, or else from beside this test's `kinko-bench` (`target/<profile>/kinko`, which
//! `cargo xtask test` builds before running the tests). Without either, the test fails.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bench(args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_kinko-bench"))
        .args(args)
        .output()
}

fn describe(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn smoke_baseline_only() -> std::io::Result<()> {
    let out = bench(&["run", "--smoke", "--baseline-only"])?;
    let text = describe(&out);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout.lines().find(|l| l.starts_with("bare-http"));
    assert!(row.is_some_and(|r| r.ends_with("1.00")), "{text}");
    Ok(())
}

#[test]
fn smoke_against_kinko() -> std::io::Result<()> {
    let beside = PathBuf::from(env!("CARGO_BIN_EXE_kinko-bench")).with_file_name("kinko");
    let kinko = std::env::var_os("KINKO_BIN").map_or(beside, PathBuf::from);
    assert!(
        kinko.is_file(),
        "no kinko binary at {} (`cargo xtask test` builds it first; or set KINKO_BIN)",
        kinko.display()
    );
    let kinko = kinko.to_string_lossy().into_owned();
    let json = std::env::temp_dir().join(format!("kinko-bench-smoke-{}.json", std::process::id()));
    let json_arg = json.to_string_lossy().into_owned();
    let out = bench(&["run", "--smoke", "--kinko-bin", &kinko, "--json", &json_arg])?;
    let text = describe(&out);
    let report = std::fs::read_to_string(&json);
    let _ = std::fs::remove_file(&json);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for target in ["bare-http", "Encrypt", "Decrypt", "GenerateDataKey"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(target)),
            "no {target} row\n{text}"
        );
    }
    let report = report?;
    assert!(report.contains("\"GenerateDataKey\""), "{report}");
    Ok(())
}
