//! `cargo bench -p kinko-server --bench authz`: what authorization costs per request, beside a
//! whole Encrypt request measured in the same run.
//!
//! - the authorization step of an Encrypt (`Kms::check_access`: key lookup in the cache,
//!   request context, key policy evaluation, identity and grant lookups) under the default key
//!   policy and under a 20-statement policy with conditions (`kinko-bench`'s
//!   `restrictive_policy.json`);
//! - a whole Encrypt request (SigV4 verification, JSON, key policy, AES-GCM, audit record)
//!   through the in-process router, with the audit writer on the in-memory sink so that the
//!   figure is CPU time, not an fsync wait.
//!
//! The ratio printed is authorization time / Encrypt request time, single-threaded; each figure
//! is the best of three interleaved rounds.
#![allow(clippy::print_stdout, clippy::expect_used, clippy::unwrap_used)] // a benchmark that reports its results

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::Request;
use kinko_core::{Caller, EncryptionContext, KeyRef, Region, SystemClock};
use kinko_server::{Config, Server};
use tower::ServiceExt;

const RESTRICTIVE_POLICY: &str = include_str!("../../kinko-bench/src/restrictive_policy.json");
const HOST: &str = "kinko.bench:7700";
const BUDGET: Duration = Duration::from_millis(1000);

/// Nanoseconds per call of `f`, after a warm-up.
async fn ns_per_call<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        assert!(f().await, "the benchmarked call failed");
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < BUDGET {
        for _ in 0..64 {
            assert!(black_box(f().await), "the benchmarked call failed");
        }
        n += 64;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

fn epoch_secs() -> i64 {
    #[allow(clippy::disallowed_methods)] // SigV4 signs with the wall clock
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or_default())
        .unwrap_or_default()
}

async fn run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config::resolve(
        kinko_server::FileConfig::default(),
        Some(dir.path().join("data")),
        Some("127.0.0.1:0".into()),
        Some("us-east-1".into()),
        None,
    )
    .expect("a config");
    config.insecure_audit_memory_sink = true;
    let server = Server::open_with_clock(
        &config,
        &kinko_server::RootOptions::default(),
        Arc::new(SystemClock),
    )
    .await
    .expect("open the server");
    let new_key = server.new_access_key.as_ref().expect("a first access key");
    let access_key_id = new_key.id.to_string();
    let secret = String::from_utf8(new_key.secret.expose().to_vec()).expect("text");
    let account = new_key.account.clone();
    let region = Region::parse("us-east-1").expect("a region");
    let root = kinko_core::Principal::Root {
        account: account.clone(),
    };
    let caller = Caller::new(account.clone(), region, root);
    let kms = server.state.kms.clone();
    let router = kinko_server::router(server.state.clone());

    let send = |target: &'static str, body: String| {
        let router = router.clone();
        let access_key_id = access_key_id.clone();
        let secret = secret.clone();
        async move {
            let headers = [
                ("host", HOST),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", target),
            ];
            let params = kinko_sigv4::SignParams {
                access_key_id: &access_key_id,
                secret_access_key: &secret,
                session_token: None,
                region: "us-east-1",
                service: "kms",
                now_epoch_secs: epoch_secs(),
            };
            let mut builder = Request::builder().method("POST").uri("/");
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            for (name, value) in
                kinko_sigv4::sign("POST", "/", "", &headers, body.as_bytes(), &params)
            {
                builder = builder.header(name, value);
            }
            let request = builder.body(Body::from(body)).expect("a request");
            let response = router.oneshot(request).await.expect("a response");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            (status, bytes)
        }
    };
    let create = |body: serde_json::Value| {
        let send = &send;
        async move {
            let (status, bytes) = send("TrentService.CreateKey", body.to_string()).await;
            assert!(status.is_success(), "{}", String::from_utf8_lossy(&bytes));
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            v.pointer("/KeyMetadata/KeyId")
                .and_then(|k| k.as_str())
                .expect("a key id")
                .to_owned()
        }
    };
    let default_key = create(serde_json::json!({})).await;
    let restrictive_key = create(serde_json::json!({
        "Policy": RESTRICTIVE_POLICY.replace("{account}", &account.to_string())
    }))
    .await;
    let context = EncryptionContext(
        [("app", "bench"), ("tenant", "t-7")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    let keys = [
        ("default policy", &default_key),
        ("20-statement policy", &restrictive_key),
    ];

    // Three rounds, the measurements interleaved, the best of each kept: one slow stretch of the
    // machine then shows in no single figure.
    let mut rows: Vec<(&str, f64, f64)> =
        keys.iter().map(|(n, _)| (*n, f64::MAX, f64::MAX)).collect();
    for _round in 0..3 {
        for ((_, key), row) in keys.iter().zip(rows.iter_mut()) {
            let key_ref = KeyRef::parse(key).expect("a key id");
            let authz = ns_per_call(|| {
                let (kms, caller, key_ref, context) = (&kms, &caller, &key_ref, &context);
                async move {
                    kms.check_access(
                        caller,
                        kinko_core::Action::KmsEncrypt,
                        key_ref,
                        Some(context),
                    )
                    .await
                    .is_ok()
                }
            })
            .await;
            let body = serde_json::json!({
                "KeyId": key,
                "Plaintext": "AAECAwQFBgcICQoLDA0ODw==",
                "EncryptionContext": {"app": "bench", "tenant": "t-7"},
            })
            .to_string();
            let request = ns_per_call(|| {
                let (send, body) = (&send, body.clone());
                async move { send("TrentService.Encrypt", body).await.0.is_success() }
            })
            .await;
            row.1 = row.1.min(authz);
            row.2 = row.2.min(request);
        }
    }

    println!("authorization per request, one thread, beside a whole in-process Encrypt request");
    println!(
        "{:<22} {:>14} {:>18} {:>10}",
        "key policy", "authz ns/op", "Encrypt ns/req", "authz/req"
    );
    for (name, authz, request) in &rows {
        println!(
            "{name:<22} {authz:>14.0} {request:>18.0} {:>9.1}%",
            authz / request * 100.0
        );
    }
    if let [(_, _, default), (_, _, restrictive)] = rows.as_slice() {
        println!(
            "the 20-statement policy makes an Encrypt request {:+.1}% slower than the default policy",
            (restrictive / default - 1.0) * 100.0
        );
    }
}
