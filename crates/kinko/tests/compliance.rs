//! `kinko report compliance` through the real binary: a server run with the AWS SDK creates a
//! key without rotation, one with rotation, one whose policy allows `*` without a condition and
//! one disabled and then called, all as the default file root; the report (JSON and HTML) read
//! from the stopped server's data directory must name each key with the right check, status and
//! requirement, report the file root of trust and an intact, sealed audit trail, and hold no
//! secret access key.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use std::path::{Path, PathBuf};

use common::{Server, create_key, kinko};
use serde_json::Value;

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compliance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

struct Keys {
    no_rotation: String,
    rotating: String,
    open_policy: String,
    disabled: String,
}

async fn drive(server: &Server) -> Keys {
    let kms = server.client();
    let no_rotation = create_key(&kms, "no rotation").await;
    let rotating = create_key(&kms, "rotating").await;
    kms.enable_key_rotation()
        .key_id(&rotating)
        .send()
        .await
        .expect("EnableKeyRotation");
    let open_policy = create_key(&kms, "open policy").await;
    let arn = kms
        .describe_key()
        .key_id(&open_policy)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("an ARN");
    let account = arn.split(':').nth(4).expect("an account").to_owned();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Anyone may decrypt", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
        ]
    });
    kms.put_key_policy()
        .key_id(&open_policy)
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    let disabled = create_key(&kms, "disabled").await;
    kms.disable_key()
        .key_id(&disabled)
        .send()
        .await
        .expect("DisableKey");
    let refused = kms
        .encrypt()
        .key_id(&disabled)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await;
    assert!(refused.is_err(), "Encrypt under a disabled key succeeded");
    Keys {
        no_rotation,
        rotating,
        open_policy,
        disabled,
    }
}

fn report(data: &Path, format: &str) -> String {
    let out = kinko(
        &[
            "report",
            "compliance",
            "--data-dir",
            data.to_str().expect("a UTF-8 path"),
            "--format",
            format,
        ],
        &[],
    )
    .output()
    .expect("run kinko report compliance");
    assert!(
        out.status.success(),
        "kinko report compliance failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The findings of `check` about the key `id`.
fn about<'a>(findings: &'a [Value], check: &str, id: &str) -> Vec<&'a Value> {
    findings
        .iter()
        .filter(|f| f["id"] == check && f["subject"].as_str().is_some_and(|s| s.ends_with(id)))
        .collect()
}

fn requirements(f: &Value) -> Vec<&str> {
    f["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn the_report_names_keys_without_rotation_open_policies_and_called_disabled_keys() {
    let dir = scratch("report");
    let data = dir.join("data");
    let server = Server::start(&data, &[], &[], &dir);
    let keys = block_on(drive(&server));
    server.stop();

    let json: Value = serde_json::from_str(&report(&data, "json")).expect("JSON");
    let findings = json["findings"].as_array().expect("findings");

    let r = about(findings, "rotation", &keys.no_rotation);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["status"], "finding");
    assert!(requirements(r[0]).contains(&"PCI DSS 3.7.4"));
    assert!(requirements(r[0]).contains(&"ISO 27001 A.8.24"));
    let r = about(findings, "rotation", &keys.rotating);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["status"], "pass", "{r:?}");

    let p = about(findings, "policy", &keys.open_policy);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["status"], "finding");
    assert_eq!(p[0]["severity"], "high");
    assert!(requirements(p[0]).contains(&"PCI DSS 7.2.2"));
    assert!(
        p[0]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("Anyone may decrypt")),
        "{p:?}"
    );
    // The default policy (kms:* to the account's root) is not a finding.
    let p = about(findings, "policy", &keys.no_rotation);
    assert_eq!(p[0]["status"], "pass", "{p:?}");

    let d = about(findings, "disabled-called", &keys.disabled);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["status"], "finding", "{d:?}");
    assert!(requirements(d[0]).contains(&"PCI DSS 10.2.1"));
    // A disabled key is not checked for rotation.
    assert!(about(findings, "rotation", &keys.disabled).is_empty());

    let root: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "root-of-trust")
        .collect();
    assert_eq!(root.len(), 1);
    assert_eq!(
        root[0]["status"], "finding",
        "a file root is development only"
    );
    assert!(requirements(root[0]).contains(&"PCI DSS 3.6.1.2"));

    let audit: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "audit-integrity")
        .collect();
    assert_eq!(audit[0]["status"], "pass", "{audit:?}");
    let sealed: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "audit-sealed")
        .collect();
    assert!(
        !sealed.is_empty() && sealed.iter().all(|f| f["status"] == "pass"),
        "{sealed:?}"
    );

    // The summary counts the findings per requirement.
    let s = json["summary"]
        .as_array()
        .expect("summary")
        .iter()
        .find(|s| s["requirement"] == "PCI DSS 7.2.2")
        .expect("a 7.2.2 line");
    assert!(s["findings"].as_u64() >= Some(1), "{s:?}");

    let html = report(&data, "html");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(&keys.no_rotation) && html.contains("PCI DSS 3.7.4"));

    let (_, secret) = common::read_credentials(&data.join("credentials"));
    assert!(!html.contains(&secret) && !json.to_string().contains(&secret));
}

#[test]
fn a_missing_installation_is_refused() {
    let dir = scratch("missing");
    let out = kinko(
        &[
            "report",
            "compliance",
            "--data-dir",
            dir.join("nothing").to_str().expect("a UTF-8 path"),
        ],
        &[],
    )
    .output()
    .expect("run kinko");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing"));
}
