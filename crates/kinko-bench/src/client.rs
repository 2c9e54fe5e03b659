//! The HTTP/1.1 client: signed KMS requests over keep-alive connections, and the load loop.
//!
//! The same code drives the bare baseline and Kinko, so the two numbers differ only by the server.
//! Every request is signed afresh (a new `x-amz-date` each second); only the SigV4 signing key is
//! cached, per day, exactly as a real SDK would. Latency is measured from just before signing to the
//! last byte of the response body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kinko_sigv4::SigningKey;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// SigV4 service name of every KMS request.
const SERVICE: &str = "kms";
/// SigV4 service name of CloudTrail's LookupEvents.
const CLOUDTRAIL: &str = "cloudtrail";

/// Content type of every KMS request and response.
pub(crate) const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// Error samples kept per connection task; the report prints a few of the merged list.
const SAMPLES_PER_TASK: usize = 3;

/// An access key, as read from a shared-credentials file.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Where requests go: the socket address and the `host` header value that is signed.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
}

impl Endpoint {
    pub(crate) fn local(port: u16) -> Endpoint {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Endpoint {
            addr,
            host: addr.to_string(),
        }
    }

    /// Parses `http://host:port[/]`; TLS is not supported (the ceiling is plain HTTP too).
    pub(crate) async fn parse_url(url: &str) -> Result<Endpoint> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("--endpoint must be a plain http:// URL, got {url:?}");
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains('/') {
            bail!("--endpoint must be http://host:port with no path, got {url:?}");
        }
        let lookup = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&lookup)
            .await
            .with_context(|| format!("cannot resolve {lookup}"))?
            .next()
            .with_context(|| format!("{lookup} resolves to no address"))?;
        Ok(Endpoint {
            addr,
            host: authority.to_owned(),
        })
    }
}

/// One KMS request, sent again and again: the `x-amz-target` and the JSON body.
#[derive(Debug)]
pub(crate) struct Call {
    target: &'static str,
    body: Bytes,
    /// The SigV4 service it is signed for.
    service: &'static str,
}

impl Call {
    pub(crate) fn new(target: &'static str, body: serde_json::Value) -> Result<Call> {
        let body = serde_json::to_vec(&body).context("cannot serialise a request body")?;
        Ok(Call {
            target,
            body: body.into(),
            service: SERVICE,
        })
    }

    /// A Secrets Manager request (signed for the `secretsmanager` service).
    pub(crate) fn secretsmanager(target: &'static str, body: serde_json::Value) -> Result<Call> {
        Ok(Call {
            service: "secretsmanager",
            ..Call::new(target, body)?
        })
    }

    /// A CloudTrail request (signed for the `cloudtrail` service).
    pub(crate) fn cloudtrail(target: &'static str, body: serde_json::Value) -> Result<Call> {
        Ok(Call {
            service: CLOUDTRAIL,
            ..Call::new(target, body)?
        })
    }
}

/// Signs requests for one access key and region, caching the signing key and the `x-amz-date`.
struct Signer {
    creds: Arc<Credentials>,
    region: String,
    /// The second the cached `amz_date` was made for.
    second: i64,
    amz_date: String,
    /// Signing key and the `YYYYMMDD` and service it was derived for.
    key: Option<(String, &'static str, SigningKey)>,
}

impl Signer {
    fn new(creds: Arc<Credentials>, region: &str) -> Signer {
        Signer {
            creds,
            region: region.to_owned(),
            second: i64::MIN,
            amz_date: String::new(),
            key: None,
        }
    }

    /// The headers to add to a `POST /` carrying `call` to `host`.
    fn sign(&mut self, host: &str, call: &Call) -> Vec<(String, String)> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if now != self.second {
            self.second = now;
            self.amz_date = kinko_sigv4::format_amz_date(now);
        }
        let date = self.amz_date.get(..8).unwrap_or_default();
        let key = match &mut self.key {
            Some((d, service, key)) if d == date && *service == call.service => key,
            slot => {
                let key = SigningKey::derive(
                    self.creds.secret_access_key.as_bytes(),
                    date,
                    &self.region,
                    call.service,
                );
                &slot.insert((date.to_owned(), call.service, key)).2
            }
        };
        kinko_sigv4::sign_with_key(
            "POST",
            "/",
            "",
            &[
                ("host", host),
                ("content-type", AMZ_JSON),
                ("x-amz-target", call.target),
            ],
            &call.body,
            &self.creds.access_key_id,
            key,
            &self.region,
            call.service,
            &self.amz_date,
            self.creds.session_token.as_deref(),
        )
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake failed")?;
        // The connection driver ends when the server closes or the sender is dropped; a failure
        // surfaces on the next `send_request`, so it needs no handling here.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender })
    }

    /// Signs and sends `call`, returning the status and the whole response body.
    async fn send(
        &mut self,
        endpoint: &Endpoint,
        signer: &mut Signer,
        call: &Call,
    ) -> Result<(StatusCode, Bytes)> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, &endpoint.host)
            .header(CONTENT_TYPE, AMZ_JSON)
            .header("x-amz-target", call.target);
        for (name, value) in signer.sign(&endpoint.host, call) {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(call.body.clone()))
            .context("cannot build the request")?;
        self.sender
            .ready()
            .await
            .context("connection closed before sending")?;
        let response = self
            .sender
            .send_request(request)
            .await
            .context("request failed")?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .context("cannot read the response body")?
            .to_bytes();
        Ok((status, body))
    }
}

/// Sends one signed request on a fresh connection and returns the JSON of a 200 response.
pub(crate) async fn call_ok(
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
    call: &Call,
) -> Result<serde_json::Value> {
    let mut conn = Conn::connect(endpoint.addr).await?;
    let mut signer = Signer::new(Arc::new(creds.clone()), region);
    let (status, body) = conn.send(endpoint, &mut signer, call).await?;
    if status != StatusCode::OK {
        bail!("{} answered {status}: {}", call.target, snippet(&body));
    }
    serde_json::from_slice(&body).with_context(|| {
        format!(
            "{} answered 200 with a body that is not JSON: {}",
            call.target,
            snippet(&body)
        )
    })
}

/// One keep-alive connection and its signer, for a client that sends different requests in
/// turn (`kinko-bench memory`).
pub(crate) struct Session {
    conn: Conn,
    signer: Signer,
    endpoint: Endpoint,
}

impl Session {
    pub(crate) async fn open(
        endpoint: &Endpoint,
        creds: Arc<Credentials>,
        region: &str,
    ) -> Result<Session> {
        Ok(Session {
            conn: Conn::connect(endpoint.addr).await?,
            signer: Signer::new(creds, region),
            endpoint: endpoint.clone(),
        })
    }

    /// Sends `call` and returns the JSON of a 200 response.
    pub(crate) async fn call_ok(&mut self, call: &Call) -> Result<serde_json::Value> {
        let (status, body) = self
            .conn
            .send(&self.endpoint, &mut self.signer, call)
            .await?;
        if status != StatusCode::OK {
            bail!("{} answered {status}: {}", call.target, snippet(&body));
        }
        serde_json::from_slice(&body).context("a 200 answer that is not JSON")
    }
}

/// `GET path` on a fresh connection; the status, or an error if nothing answered.
pub(crate) async fn get_status(endpoint: &Endpoint, path: &str) -> Result<StatusCode> {
    let stream = TcpStream::connect(endpoint.addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(HOST, &endpoint.host)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    Ok(status)
}

/// How hard and how long to push one target.
#[derive(Debug, Clone)]
pub(crate) struct LoadPlan {
    pub(crate) concurrency: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

/// What the measured window of one target produced.
#[derive(Debug, Default)]
pub(crate) struct LoadResult {
    /// Latency of every successful (200) request, in microseconds, unsorted.
    pub(crate) latencies_us: Vec<u32>,
    /// Non-200 answers and transport failures.
    pub(crate) errors: u64,
    /// The first few failures, as text.
    pub(crate) error_samples: Vec<String>,
}

/// Opens `plan.concurrency` connections, then has each send `call` back to back through the warm-up
/// and the measured window. Only requests that start and finish inside the window are counted.
pub(crate) async fn run_load(
    endpoint: Arc<Endpoint>,
    creds: Arc<Credentials>,
    region: &str,
    call: Arc<Call>,
    plan: &LoadPlan,
) -> Result<LoadResult> {
    run_load_on(&[endpoint], creds, region, call, plan).await
}

/// [`run_load`] against several servers (nodes sharing one store): the connections are dealt
/// out to them in turn.
pub(crate) async fn run_load_on(
    endpoints: &[Arc<Endpoint>],
    creds: Arc<Credentials>,
    region: &str,
    call: Arc<Call>,
    plan: &LoadPlan,
) -> Result<LoadResult> {
    anyhow::ensure!(!endpoints.is_empty(), "no server to load");
    let mut conns = Vec::with_capacity(plan.concurrency);
    for endpoint in endpoints.iter().cycle().take(plan.concurrency) {
        conns.push((Conn::connect(endpoint.addr).await?, Arc::clone(endpoint)));
    }
    let measure_from = Instant::now() + plan.warmup;
    let until = measure_from + plan.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (conn, endpoint) in conns {
        let call = Arc::clone(&call);
        let signer = Signer::new(Arc::clone(&creds), region);
        tasks.spawn(worker(conn, endpoint, signer, call, measure_from, until));
    }
    let mut total = LoadResult::default();
    while let Some(done) = tasks.join_next().await {
        let part = done.context("a load task panicked")?;
        total.latencies_us.extend(part.latencies_us);
        total.errors += part.errors;
        total.error_samples.extend(part.error_samples);
    }
    Ok(total)
}

async fn worker(
    mut conn: Conn,
    endpoint: Arc<Endpoint>,
    mut signer: Signer,
    call: Arc<Call>,
    measure_from: Instant,
    until: Instant,
) -> LoadResult {
    let mut out = LoadResult::default();
    loop {
        let start = Instant::now();
        if start >= until {
            break;
        }
        // A request still in flight when the window closes is abandoned and not counted.
        let Ok(result) =
            tokio::time::timeout_at(until, conn.send(&endpoint, &mut signer, &call)).await
        else {
            break;
        };
        let counted = start >= measure_from;
        match result {
            Ok((StatusCode::OK, _)) => {
                if counted {
                    let us = start.elapsed().as_micros();
                    out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Ok((status, body)) => {
                fail(&mut out, counted, format!("{status}: {}", snippet(&body)));
            }
            Err(e) => {
                fail(&mut out, counted, format!("{e:#}"));
                match Conn::connect(endpoint.addr).await {
                    Ok(fresh) => conn = fresh,
                    Err(e) => {
                        fail(&mut out, false, format!("giving up this connection: {e:#}"));
                        break;
                    }
                }
            }
        }
    }
    out
}

/// Counts a failure (if it happened inside the window) and keeps its text if few are kept so far.
fn fail(out: &mut LoadResult, counted: bool, what: String) {
    if counted {
        out.errors += 1;
    }
    if out.error_samples.len() < SAMPLES_PER_TASK {
        out.error_samples.push(what);
    }
}

/// The first 200 bytes of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = body.get(..200).unwrap_or(body);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if body.len() > cut.len() {
        text.push_str("...");
    }
    text
}
