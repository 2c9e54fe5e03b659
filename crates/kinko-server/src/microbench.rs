//! The Encrypt micro-bench: one whole in-process Encrypt request through the router (no socket,
//! a real SigV4-signed request, the audit writer on the in-memory sink), beside the time of
//! each step of it, run on its own with the same inputs by the same code the request path uses:
//!
//! | step | what runs |
//! |---|---|
//! | `auth` | [`crate::auth::Authenticator::authenticate`]: SigV4 parse, cached signing key, canonical request, HMAC |
//! | `parse` | the body into the typed request, its recorded parameters and condition keys (`kms::op::serve`) |
//! | `authorize` | key lookup in the cache and policy evaluation (`Kms::check_access`) |
//! | `crypto` | AES-256-GCM under the key's current material (`Kms::encrypt_with`) |
//! | `audit record` | the CloudTrail-shaped record and its canonical encoding (`RequestInfo::draft`) |
//! | `audit hand-off` | the record to the group-commit writer and back (`AuditWriter::append`) |
//! | `response` | the response body and the HTTP response (`app::respond`) |
//!
//! The whole request less the sum of the steps is `rest` (hyper/axum types, routing, the
//! request id, metrics). `kinko-bench micro` prints the table (release build); the `it`
//! tests run it for a few iterations (a smoke run: every step is reported, nothing is
//! timed against a limit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::StatusCode;
use kinko_core::{Action, EncryptionAlgorithmSpec, KeyRef, SystemClock};
use tower::ServiceExt;

use crate::audit::{Recorded, RequestInfo};
use crate::kms::KmsRequest;
use crate::{Config, RootOptions, Server};

const HOST: &str = "kinko.bench:7700";
const JSON: &str = "application/x-amz-json-1.1";
const PLAINTEXT_B64: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

/// One step's time.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step (see the module documentation).
    pub name: &'static str,
    /// Nanoseconds per request.
    pub ns: f64,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The steps, in request order.
    pub steps: Vec<Step>,
    /// A whole request through the router, nanoseconds.
    pub whole_ns: f64,
}

impl Report {
    /// The whole request less the steps measured on their own.
    pub fn rest_ns(&self) -> f64 {
        self.whole_ns - self.steps.iter().map(|s| s.ns).sum::<f64>()
    }

    /// The table `kinko-bench micro` prints.
    pub fn table(&self) -> String {
        let mut out = format!("{:<16} {:>10} {:>7}\n", "step", "ns/req", "share");
        let pct = |ns: f64| 100.0 * ns / self.whole_ns.max(1.0);
        for s in &self.steps {
            out.push_str(&format!(
                "{:<16} {:>10.0} {:>6.1}%\n",
                s.name,
                s.ns,
                pct(s.ns)
            ));
        }
        let rest = self.rest_ns();
        out.push_str(&format!(
            "{:<16} {:>10.0} {:>6.1}%\n",
            "rest",
            rest,
            pct(rest)
        ));
        out.push_str(&format!(
            "{:<16} {:>10.0} {:>6.1}%\n",
            "whole request", self.whole_ns, 100.0
        ));
        out
    }
}

fn epoch_secs() -> i64 {
    #[allow(clippy::disallowed_methods)] // SigV4 signs with the wall clock
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or_default())
        .unwrap_or_default()
}

/// A signed request's parts: its headers (lower-case names, as `http` gives them) and body.
struct Signed {
    headers: Vec<(String, String)>,
    body: String,
}

fn sign(access_key_id: &str, secret: &str, target: &str, body: String) -> Signed {
    let base = [
        ("host", HOST),
        ("content-type", JSON),
        ("x-amz-target", target),
    ];
    let params = kinko_sigv4::SignParams {
        access_key_id,
        secret_access_key: secret,
        session_token: None,
        region: "us-east-1",
        service: "kms",
        now_epoch_secs: epoch_secs(),
    };
    let mut headers: Vec<(String, String)> = base
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    for (name, value) in kinko_sigv4::sign("POST", "/", "", &base, body.as_bytes(), &params) {
        headers.push((name.to_ascii_lowercase(), value));
    }
    Signed { headers, body }
}

fn request(signed: &Signed) -> Result<http::Request<Body>, String> {
    let mut builder = http::Request::builder().method("POST").uri("/");
    for (name, value) in &signed.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::from(signed.body.clone()))
        .map_err(|e| e.to_string())
}

async fn send(router: &axum::Router, signed: &Signed) -> Result<Vec<u8>, String> {
    let response = router
        .clone()
        .oneshot(request(signed)?)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    if status != StatusCode::OK {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
    }
    Ok(bytes.to_vec())
}

/// Times `iterations` runs of `f` (after a tenth as many unmeasured), nanoseconds per run.
async fn per_call<F, Fut>(iterations: u32, mut f: F) -> Result<f64, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for _ in 0..iterations / 10 + 1 {
        f().await?;
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f().await?;
    }
    Ok(elapsed_ns(started.elapsed(), iterations))
}

fn elapsed_ns(elapsed: Duration, iterations: u32) -> f64 {
    elapsed.as_nanos() as f64 / f64::from(iterations.max(1))
}

/// Opens a server on a temporary data directory (audit on the in-memory sink), creates a key and
/// measures an Encrypt of 64 bytes with a two-pair encryption context, `iterations` times per
/// step. Each figure is the best of `rounds` interleaved rounds.
pub async fn encrypt_steps(iterations: u32, rounds: u32) -> Result<Report, String> {
    let dir = std::env::temp_dir().join(format!(
        "kinko-microbench-{}-{}",
        std::process::id(),
        epoch_secs()
    ));
    let result = run(&dir, iterations, rounds.max(1)).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(dir: &std::path::Path, iterations: u32, rounds: u32) -> Result<Report, String> {
    let mut config = Config::resolve(
        crate::FileConfig::default(),
        Some(dir.join("data")),
        Some("127.0.0.1:0".into()),
        Some("us-east-1".into()),
        None,
    )
    .map_err(|e| e.to_string())?;
    config.insecure_audit_memory_sink = true;
    config.quotas = crate::quota::QuotaSettings::off();
    let server = Server::open_with_clock(&config, &RootOptions::default(), Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())?;
    let new_key = server
        .new_access_key
        .as_ref()
        .ok_or("the first start made no access key")?;
    let access_key_id = new_key.id.to_string();
    let secret = String::from_utf8(new_key.secret.expose().to_vec()).map_err(|e| e.to_string())?;
    let state = server.state.clone();
    let router = crate::router(state.clone());

    let created = send(
        &router,
        &sign(
            &access_key_id,
            &secret,
            "TrentService.CreateKey",
            "{}".into(),
        ),
    )
    .await?;
    let created: serde_json::Value = serde_json::from_slice(&created).map_err(|e| e.to_string())?;
    let key_id = created
        .pointer("/KeyMetadata/KeyId")
        .and_then(|v| v.as_str())
        .ok_or("CreateKey returned no key id")?
        .to_owned();
    let body = serde_json::json!({
        "KeyId": key_id,
        "Plaintext": PLAINTEXT_B64,
        "EncryptionContext": {"app": "bench", "tenant": "t-7"},
    })
    .to_string();
    let signed = sign(&access_key_id, &secret, "TrentService.Encrypt", body);
    let body = signed.body.as_bytes();
    let header_pairs: Vec<(&str, &[u8])> = signed
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let sig_request = kinko_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &header_pairs,
        body,
    };
    let now = epoch_secs();
    let source_ip = "127.0.0.1";

    // The inputs each step gets, made once by the same code.
    let (caller, _) = state
        .auth
        .authenticate(&state.kms, &sig_request, "kms", now)
        .await
        .map_err(|(e, _)| e.message)?;
    let typed: kinko_api::EncryptRequest = crate::json::decode(body).map_err(|e| e.message)?;
    let facts = crate::facts::kms_request(&typed.facts(), source_ip.parse().ok());
    let caller = caller.with_facts(facts);
    let key_ref = KeyRef::parse(&key_id).map_err(|e| e.to_string())?;
    let context = kinko_core::EncryptionContext(
        typed
            .encryption_context
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    );
    let key = state
        .kms
        .check_access(&caller, Action::KmsEncrypt, &key_ref, Some(&context))
        .await
        .map_err(|e| e.to_string())?;
    let plaintext = typed.plaintext.clone().ok_or("no plaintext")?;
    let info = RequestInfo {
        request_id: crate::util::new_uuid(),
        time: state.kms.clock().now(),
        source_ip: source_ip.to_owned(),
        secure_transport: false,
        tls_details: None,
        user_agent: None,
        event_source: "kms.amazonaws.com",
        operation: "Encrypt".to_owned(),
        read_only: true,
        region: "us-east-1".to_owned(),
        access_key_id: Some(access_key_id.clone()),
        caller: Some(caller.clone()),
        request_parameters: crate::audit::request_parameters(&typed, crate::kms::SYMMETRIC_DEFAULT),
        invoked_by: None,
    };
    let recorded = Recorded {
        key: Some(&key.arn),
        ..Recorded::default()
    };
    let (_, ciphertext) = state
        .kms
        .encrypt_with(
            &key,
            EncryptionAlgorithmSpec::SymmetricDefault,
            &context,
            &plaintext.0,
        )
        .await
        .map_err(|e| e.to_string())?;

    let names = [
        "auth",
        "parse",
        "authorize",
        "crypto",
        "audit record",
        "audit hand-off",
        "response",
    ];
    let mut best = [f64::MAX; 7];
    let mut whole = f64::MAX;
    for _ in 0..rounds {
        let mut t = [0f64; 7];
        t[0] = per_call(iterations, || async {
            state
                .auth
                .authenticate(&state.kms, &sig_request, "kms", now)
                .await
                .map(drop)
                .map_err(|(e, _)| e.message)
        })
        .await?;
        t[1] = per_call(iterations, || async {
            let typed: kinko_api::EncryptRequest =
                crate::json::decode(body).map_err(|e| e.message)?;
            let recorded = crate::audit::request_parameters(&typed, crate::kms::SYMMETRIC_DEFAULT);
            let facts = crate::facts::kms_request(&typed.facts(), source_ip.parse().ok());
            std::hint::black_box((recorded, facts, typed));
            Ok(())
        })
        .await?;
        t[2] = per_call(iterations, || async {
            state
                .kms
                .check_access(&caller, Action::KmsEncrypt, &key_ref, Some(&context))
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await?;
        t[3] = per_call(iterations, || async {
            state
                .kms
                .encrypt_with(
                    &key,
                    EncryptionAlgorithmSpec::SymmetricDefault,
                    &context,
                    &plaintext.0,
                )
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await?;
        t[4] = per_call(iterations, || async {
            std::hint::black_box(info.draft(&recorded));
            Ok(())
        })
        .await?;
        // The hand-off alone: the records are made before the clock starts.
        let mut drafts: Vec<_> = (0..iterations).map(|_| info.draft(&recorded)).collect();
        state
            .audit
            .append(info.draft(&recorded))
            .await
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        for draft in drafts.drain(..) {
            state.audit.append(draft).await.map_err(|e| e.to_string())?;
        }
        t[5] = elapsed_ns(started.elapsed(), iterations);
        t[6] = per_call(iterations, || async {
            let body = crate::json::encode(&kinko_api::EncryptResponse {
                ciphertext_blob: Some(kinko_api::Blob(ciphertext.clone())),
                key_id: Some(key.arn.to_string()),
                encryption_algorithm: Some("SYMMETRIC_DEFAULT".to_owned()),
            })
            .map_err(|e| e.message)?;
            std::hint::black_box(crate::app::respond(
                StatusCode::OK,
                body,
                &info.request_id,
                None,
            ));
            Ok(())
        })
        .await?;
        // Whole requests: the client's work (building the request) is outside the clock.
        let requests = (0..iterations)
            .map(|_| request(&signed))
            .collect::<Result<Vec<_>, _>>()?;
        send(&router, &signed).await?;
        let started = Instant::now();
        for r in requests {
            let response = router.clone().oneshot(r).await.map_err(|e| e.to_string())?;
            if response.status() != StatusCode::OK {
                return Err(format!("Encrypt answered {}", response.status()));
            }
            axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .map_err(|e| e.to_string())?;
        }
        let w = elapsed_ns(started.elapsed(), iterations);
        for (b, v) in best.iter_mut().zip(t) {
            *b = b.min(v);
        }
        whole = whole.min(w);
    }
    Ok(Report {
        steps: names
            .iter()
            .zip(best)
            .map(|(name, ns)| Step { name, ns })
            .collect(),
        whole_ns: whole,
    })
}
