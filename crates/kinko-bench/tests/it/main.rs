//! Smoke tests: the real `kinko-bench` binary, run in `--smoke` mode (2 connections, 1 s), still
//! measures the bare HTTP ceiling and Kinko itself, and the signing scenario still compares each
//! Sign and GenerateMac with aws-lc-rs's raw rate.
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
    let kinko = kinko_bin();
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

#[test]
fn smoke_signing_against_kinko() -> std::io::Result<()> {
    let kinko = kinko_bin();
    let json = std::env::temp_dir().join(format!("kinko-bench-sign-{}.json", std::process::id()));
    let json_arg = json.to_string_lossy().into_owned();
    let out = bench(&[
        "run",
        "--smoke",
        "--skip-baseline",
        "--kinko-bin",
        &kinko,
        "--ops",
        "signing",
        "--json",
        &json_arg,
    ])?;
    let text = describe(&out);
    let report = std::fs::read_to_string(&json);
    let _ = std::fs::remove_file(&json);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let targets = [
        "Sign RSA_2048 ",
        "Sign ECC_NIST_P256 ",
        "Sign ECC_NIST_EDWARDS25519 ",
        "Sign ML_DSA_65 ",
        "GenerateMac HMAC_256 ",
    ];
    for target in targets {
        let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with(target)).collect();
        // One table row, one server/raw line.
        assert_eq!(rows.len(), 2, "{target:?}\n{text}");
        assert!(
            rows.get(1).is_some_and(|l| l.contains(" server/raw ")),
            "{target:?}\n{text}"
        );
    }
    assert!(
        stdout.contains("target: ECDSA P-256 Sign through the server >= 50% of the raw rate"),
        "{text}"
    );
    let ecdsa = stdout
        .lines()
        .find(|l| l.starts_with("Sign ECC_NIST_P256 ") && l.contains(" server/raw "));
    assert!(
        ecdsa.is_some_and(|l| l.contains(" target (>= 0.50)")),
        "{text}"
    );
    let report = report?;
    let v: serde_json::Value = serde_json::from_str(&report).map_err(std::io::Error::other)?;
    let entries = v
        .get("server_vs_raw")
        .and_then(|e| e.as_array())
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), targets.len(), "{report}");
    for entry in &entries {
        for field in [
            "server_req_per_s",
            "raw_ops_per_s",
            "ratio",
            "p50_ms",
            "p99_ms",
        ] {
            assert!(
                entry
                    .get(field)
                    .and_then(serde_json::Value::as_f64)
                    .is_some_and(|x| x > 0.0),
                "{field} in {entry}"
            );
        }
    }
    assert_eq!(
        v.pointer("/server_vs_raw/1/algorithm")
            .and_then(|a| a.as_str()),
        Some("ECDSA_SHA_256"),
        "{report}"
    );
    assert!(
        v.pointer("/server_vs_raw/1/meets_target")
            .is_some_and(serde_json::Value::is_boolean),
        "{report}"
    );
    Ok(())
}

#[test]
fn smoke_get_secret_value_beside_encrypt() -> std::io::Result<()> {
    let kinko = kinko_bin();
    let out = bench(&[
        "run",
        "--smoke",
        "--skip-baseline",
        "--kinko-bin",
        &kinko,
        "--ops",
        "encrypt,get-secret-value",
    ])?;
    let text = describe(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("kinko-bench: created secret arn:aws:secretsmanager:"),
        "{text}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for target in ["Encrypt ", "GetSecretValue "] {
        let row = stdout.lines().find(|l| l.starts_with(target));
        // A row with a positive rate: its second column.
        let rate = row
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|r| r.replace(',', "").parse::<f64>().ok());
        assert!(rate.is_some_and(|r| r > 0.0), "{target:?}\n{text}");
    }
    Ok(())
}

/// The `kinko` binary the tests start: `KINKO_BIN`, or the one beside `kinko-bench`.
fn kinko_bin() -> String {
    let beside = PathBuf::from(env!("CARGO_BIN_EXE_kinko-bench")).with_file_name("kinko");
    let kinko = std::env::var_os("KINKO_BIN").map_or(beside, PathBuf::from);
    assert!(
        kinko.is_file(),
        "no kinko binary at {} (`cargo xtask test` builds it first; or set KINKO_BIN)",
        kinko.display()
    );
    kinko.to_string_lossy().into_owned()
}

#[test]
fn smoke_audit_sinks_store_and_memory() -> std::io::Result<()> {
    let kinko = kinko_bin();
    let json = std::env::temp_dir().join(format!("kinko-bench-sinks-{}.json", std::process::id()));
    let json_arg = json.to_string_lossy().into_owned();
    let out = bench(&[
        "run",
        "--smoke",
        "--skip-baseline",
        "--kinko-bin",
        &kinko,
        "--ops",
        "encrypt",
        "--audit-sinks",
        "store,memory",
        "--json",
        &json_arg,
    ])?;
    let text = describe(&out);
    let report = std::fs::read_to_string(&json);
    let _ = std::fs::remove_file(&json);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for target in ["Encrypt [audit: store] ", "Encrypt [audit: memory] "] {
        assert!(
            stdout.lines().any(|l| l.starts_with(target)),
            "no {target:?} row\n{text}"
        );
    }
    assert!(
        stdout.contains("durable audit cost = 1 - store/memory"),
        "no audit cost summary\n{text}"
    );
    let cost_line = stdout
        .lines()
        .find(|l| l.starts_with("Encrypt ") && l.contains(" cost "));
    assert!(
        cost_line.is_some_and(|l| l.contains('%')),
        "no Encrypt cost line\n{text}"
    );
    // One Kinko per sink; only the memory one got the insecure flag.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let starts: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("kinko-bench: starting "))
        .collect();
    assert_eq!(starts.len(), 2, "{text}");
    assert!(
        starts.first().is_some_and(
            |l| l.contains("audit: store") && !l.contains("--insecure-audit-memory-sink")
        ),
        "{text}"
    );
    assert!(
        starts.get(1).is_some_and(
            |l| l.contains("audit: memory") && l.ends_with(" --insecure-audit-memory-sink")
        ),
        "{text}"
    );
    let report = report?;
    let v: serde_json::Value = serde_json::from_str(&report).map_err(std::io::Error::other)?;
    assert_eq!(
        v.pointer("/audit_cost/0/target").and_then(|t| t.as_str()),
        Some("Encrypt"),
        "{report}"
    );
    assert!(
        v.pointer("/audit_cost/0/cost")
            .is_some_and(serde_json::Value::is_f64),
        "{report}"
    );
    // The bench started both servers, so it read their CPU time over the window.
    for sink in ["store", "memory"] {
        let cpu = v
            .pointer(&format!("/audit_cost/0/{sink}_server_cpu_us_per_request"))
            .and_then(serde_json::Value::as_f64);
        assert!(cpu.is_some_and(|us| us > 0.0), "{sink}: {report}");
        let idle = v
            .pointer(&format!("/audit_cost/0/{sink}_machine_idle"))
            .and_then(serde_json::Value::as_f64);
        assert!(
            idle.is_some_and(|i| (0.0..=1.0).contains(&i)),
            "{sink}: {report}"
        );
    }
    assert!(
        stdout.contains("server CPU per request: store "),
        "no CPU line\n{text}"
    );
    Ok(())
}

#[test]
fn audit_sinks_other_than_store_need_kinko_bin() -> std::io::Result<()> {
    let out = bench(&[
        "run",
        "--smoke",
        "--endpoint",
        "http://127.0.0.1:1",
        "--credentials",
        "/nonexistent",
        "--audit-sinks",
        "memory",
    ])?;
    let text = describe(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--audit-sinks"),
        "{text}"
    );
    Ok(())
}
