//! The one door every protocol test goes through: a real [`Server`] on a temporary data
//! directory with a clock the test controls, driven in-process through `router(state).oneshot`
//! (no socket), with requests signed by `kinko_sigv4::sign` the way the SDKs sign them.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use kinko_core::{Clock, UnixMillis};
use kinko_server::{Config, Server};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z, where every test's clock starts.
pub const T0_MILLIS: i64 = 1_767_225_600_000;
/// The region requests are signed for unless a test says otherwise.
pub const REGION: &str = "us-east-1";
/// The `Host` header every request sends (and signs), port included as SDKs send it.
pub const HOST: &str = "kinko.test:7700";
/// The JSON 1.1 content type of every request and response.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// A clock that only moves when the test moves it.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// Seconds since the epoch, as a signer uses them.
    pub fn now_secs(&self) -> i64 {
        self.now().as_secs()
    }

    /// Moves the clock by `millis` (either way).
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }
}

/// How to sign one request.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// Access key id in the credential scope.
    pub access_key_id: &'a str,
    /// Secret access key.
    pub secret: &'a str,
    /// Region in the credential scope.
    pub region: &'a str,
    /// Service in the credential scope.
    pub service: &'a str,
    /// Signing time, epoch seconds.
    pub now_secs: i64,
}

/// A status, the parsed JSON body and the headers of one response.
pub type Reply = (StatusCode, Value, HeaderMap);

/// A running (in-process) Kinko and the credentials its first start wrote.
#[derive(Debug)]
pub struct Kinko {
    /// Owns the temporary directory; `data_dir` is inside it.
    pub dir: TempDir,
    /// The server's data directory (created by the server itself).
    pub data_dir: PathBuf,
    /// The server's clock.
    pub clock: Arc<TestClock>,
    /// The default account's access key id.
    pub access_key_id: String,
    /// Its secret access key.
    pub secret: String,
    /// The default account.
    pub account: String,
    router: Router,
    server: Server,
}

impl Kinko {
    /// Opens a fresh server: new data directory, new root key, new account and access key.
    pub async fn start() -> Kinko {
        Kinko::start_with(|_| {}).await
    }

    /// [`Kinko::start`] with the config changed by `configure` (every quota is off unless it
    /// turns them on).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Kinko {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let data_dir = dir.path().join("data");
        let mut config = Config::resolve(
            kinko_server::FileConfig::default(),
            Some(data_dir.clone()),
            Some("127.0.0.1:0".into()),
            Some(REGION.into()),
            None,
        )
        .expect("a config");
        // Tests create keys faster than AWS's quotas allow; `quotas.rs` starts its own server.
        config.quotas = kinko_server::quota::QuotaSettings::off();
        configure(&mut config);
        let clock = Arc::new(TestClock(AtomicI64::new(T0_MILLIS)));
        let server = Server::open_with_clock(
            &config,
            &kinko_server::RootOptions::default(),
            clock.clone(),
        )
        .await
        .expect("open the server");
        let new_key = server
            .new_access_key
            .as_ref()
            .expect("the first start creates an access key");
        let access_key_id = new_key.id.to_string();
        let secret =
            String::from_utf8(new_key.secret.expose().to_vec()).expect("the secret is text");
        let account = new_key.account.to_string();
        let router = kinko_server::router(server.state.clone());
        Kinko {
            dir,
            data_dir,
            clock,
            access_key_id,
            secret,
            account,
            router,
            server,
        }
    }

    /// Runs one pass of the key scheduler (due rotations, deletions, expiry) now.
    pub async fn run_jobs(&self) -> kinko_core::JobReport {
        kinko_server::run_scheduled_jobs(&self.server.state.kms)
            .await
            .expect("the scheduler pass")
    }

    /// Signs as the default account, in [`REGION`], for `kms`, now.
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            access_key_id: &self.access_key_id,
            secret: &self.secret,
            region: REGION,
            service: "kms",
            now_secs: self.clock.now_secs(),
        }
    }

    /// `POST /` with the headers boto3 sends (`Host`, `Content-Type`, `X-Amz-Target` when given),
    /// signed by `signer` when given. The caller adds the body (and any other header).
    pub fn request(
        &self,
        target: Option<&str>,
        body: &[u8],
        signer: Option<Signer<'_>>,
    ) -> http::request::Builder {
        let mut headers: Vec<(&str, &str)> = vec![("host", HOST), ("content-type", JSON_1_1)];
        if let Some(t) = target {
            headers.push(("x-amz-target", t));
        }
        let mut builder = Request::builder().method("POST").uri("/");
        for (name, value) in &headers {
            builder = builder.header(*name, *value);
        }
        if let Some(s) = signer {
            let params = kinko_sigv4::SignParams {
                access_key_id: s.access_key_id,
                secret_access_key: s.secret,
                session_token: None,
                region: s.region,
                service: s.service,
                now_epoch_secs: s.now_secs,
            };
            for (name, value) in kinko_sigv4::sign("POST", "/", "", &headers, body, &params) {
                builder = builder.header(name, value);
            }
        }
        builder
    }

    /// The service behind the router (to change what another node would change).
    pub fn kms(&self) -> &kinko_core::Kms {
        &self.server.state.kms
    }

    /// Sends one request through the router; the status, raw body and headers (XML protocols).
    pub async fn send_raw(&self, request: Request<Body>) -> (StatusCode, String, HeaderMap) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("read the response body");
        (
            status,
            String::from_utf8_lossy(&bytes).into_owned(),
            headers,
        )
    }

    /// Sends one request through the router and reads the whole response.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("read the response body");
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "the {status} response body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, json, headers)
    }

    /// Sends raw `body` bytes to operation `op`, signed by `signer`.
    pub async fn check_bytes_as(&self, op: &str, body: &[u8], signer: Signer<'_>) -> Reply {
        let target = format!("TrentService.{op}");
        let request = self
            .request(Some(&target), body, Some(signer))
            .header("content-length", body.len())
            .body(Body::from(body.to_vec()))
            .expect("a request");
        self.send(request).await
    }

    /// The `check` helper: operation `op` with JSON `body`, signed as the default account.
    pub async fn check(&self, op: &str, body: Value) -> Reply {
        self.check_as(op, body, self.signer()).await
    }

    /// [`Kinko::check`] with another signer (region, credentials, time, service).
    pub async fn check_as(&self, op: &str, body: Value, signer: Signer<'_>) -> Reply {
        let bytes = serde_json::to_vec(&body).expect("serialize the request");
        self.check_bytes_as(op, &bytes, signer).await
    }

    /// [`Kinko::check`] that must succeed; returns the body.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, json, headers) = self.check(op, body).await;
        assert_eq!(status, StatusCode::OK, "{op} failed: {json}");
        assert_protocol_headers(&headers);
        json
    }

    /// [`Kinko::check`] that must fail with `code` and status 400; returns the message.
    pub async fn fails(&self, op: &str, body: Value, code: &str) -> String {
        expect_error(&self.check(op, body).await, 400, code)
    }

    /// The CloudTrail records of every event named `event_name` so far, newest first.
    pub async fn audit_records(&self, event_name: &str) -> Vec<Value> {
        let filter = kinko_core::AuditFilter {
            event_name: Some(event_name.to_owned()),
            ..Default::default()
        };
        self.server
            .state
            .kms
            .store()
            .query_audit(&filter, None, 1000)
            .await
            .expect("query the audit trail")
            .into_iter()
            .map(|e| serde_json::from_slice(&e.draft.record).expect("a JSON record"))
            .collect()
    }

    /// A new access key of the default account for `principal_arn`: (access key id, secret).
    pub async fn access_key_for(&self, principal_arn: &str) -> (String, String) {
        let account = kinko_core::AccountId::parse(&self.account).expect("the account id");
        let key = self
            .server
            .state
            .kms
            .create_access_key(&account, principal_arn)
            .await
            .expect("create an access key");
        let secret = String::from_utf8(key.secret.expose().to_vec()).expect("the secret is text");
        (key.id.to_string(), secret)
    }

    /// CreateKey with no parameters; returns the key id.
    pub async fn create_key(&self) -> String {
        let reply = self.ok("CreateKey", serde_json::json!({})).await;
        str_at(&reply, "/KeyMetadata/KeyId").to_owned()
    }

    /// Shuts the server down the way `kinko serve` does on a signal (drain, drop unwrapped
    /// material, close the store) and returns the temporary directory for inspection.
    /// `Server::serve` is the only public way to close the store; it is given a listener on an
    /// ephemeral port and a shutdown signal that has already fired, so nothing is served.
    pub async fn close(self) -> TempDir {
        let Kinko {
            dir,
            router,
            server,
            ..
        } = self;
        drop(router);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        server
            .serve(listener, std::future::ready(()))
            .await
            .expect("shut down cleanly");
        dir
    }
}

/// Every response of the JSON protocol carries a request id and the JSON 1.1 content type.
pub fn assert_protocol_headers(headers: &HeaderMap) {
    let request_id = headers
        .get("x-amzn-requestid")
        .map(|v| v.to_str().expect("ASCII request id"));
    assert!(
        request_id.is_some_and(|id| !id.is_empty()),
        "no x-amzn-RequestId in {headers:?}"
    );
    assert_eq!(
        headers
            .get("content-type")
            .map(|v| v.to_str().expect("ASCII content type")),
        Some(JSON_1_1),
        "content type of {headers:?}"
    );
}

/// Asserts that `reply` is the error `code` with `status`: protocol headers, and a body that is
/// exactly `{"__type": code, "message": <string>}`, or `{"__type": code}` alone for the errors
/// AWS answers without a message. Returns the message (empty when there is none).
pub fn expect_error(reply: &Reply, status: u16, code: &str) -> String {
    let (actual_status, json, headers) = reply;
    assert_eq!(
        json.get("__type").and_then(Value::as_str),
        Some(code),
        "expected {code}, got {actual_status} {json}"
    );
    assert_eq!(actual_status.as_u16(), status, "status of {code}: {json}");
    assert_protocol_headers(headers);
    let object = json.as_object().expect("an error body is a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if WITHOUT_MESSAGE.contains(&code) {
        assert_eq!(keys, ["__type"], "error body members: {json}");
    } else {
        assert_eq!(keys, ["__type", "message"], "error body members: {json}");
    }
    if let Some(echo) = headers.get("x-amzn-errortype") {
        assert_eq!(
            echo.to_str().ok(),
            Some(code),
            "X-Amzn-ErrorType must agree with __type"
        );
    }
    match json.get("message") {
        None => String::new(),
        Some(m) => m.as_str().expect("message is a string").to_owned(),
    }
}

/// The errors AWS answers with no `message` member: they deliberately say nothing.
const WITHOUT_MESSAGE: [&str; 3] = [
    "InvalidCiphertextException",
    "KMSInvalidSignatureException",
    "KMSInvalidMacException",
];

/// The string at JSON pointer `pointer`.
pub fn str_at<'a>(json: &'a Value, pointer: &str) -> &'a str {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {json}"))
}

/// Standard padded base64, as blobs travel.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a blob member strictly: standard alphabet, canonical `=` padding.
pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?} is not padded base64: {e}"))
}
