//! One client connection: the TLS handshake (bounded by the header timeout), HTTP/1.1 through
//! hyper, the body read under its own deadline, the idle timer, and the graceful close a
//! shutdown asks for. Every request reaches the router with the peer's address
//! ([`axum::extract::ConnectInfo`]) and, when it came over TLS, [`SecureTransport`].

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tower::ServiceExt;

use super::limits::Limits;
use super::tls::TlsServer;

/// Marks a request that arrived over TLS (`aws:SecureTransport`), with what its connection
/// negotiated (the audit record's `tlsDetails`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureTransport {
    /// `TLSv1.2` or `TLSv1.3`, as CloudTrail writes it.
    pub tls_version: &'static str,
    /// The cipher suite, in CloudTrail's spelling (OpenSSL's names for TLS 1.2, IANA's for 1.3).
    pub cipher_suite: &'static str,
}

impl SecureTransport {
    /// What `connection` negotiated.
    fn of(connection: &rustls::ServerConnection) -> SecureTransport {
        use rustls::{CipherSuite, ProtocolVersion};
        let tls_version = match connection.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let cipher_suite = match connection.negotiated_cipher_suite().map(|s| s.suite()) {
            Some(CipherSuite::TLS13_AES_128_GCM_SHA256) => "TLS_AES_128_GCM_SHA256",
            Some(CipherSuite::TLS13_AES_256_GCM_SHA384) => "TLS_AES_256_GCM_SHA384",
            Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256) => "TLS_CHACHA20_POLY1305_SHA256",
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) => {
                "ECDHE-RSA-AES128-GCM-SHA256"
            }
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) => {
                "ECDHE-RSA-AES256-GCM-SHA384"
            }
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) => {
                "ECDHE-RSA-CHACHA20-POLY1305"
            }
            Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) => {
                "ECDHE-ECDSA-AES128-GCM-SHA256"
            }
            Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) => {
                "ECDHE-ECDSA-AES256-GCM-SHA384"
            }
            Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256) => {
                "ECDHE-ECDSA-CHACHA20-POLY1305"
            }
            _ => "unknown",
        };
        SecureTransport {
            tls_version,
            cipher_suite,
        }
    }
}

/// What every connection shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub app: Router,
    pub http: http1::Builder,
    pub tls: Option<TlsServer>,
    pub limits: Limits,
    pub max_body_bytes: usize,
    /// Turns true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Serves one accepted connection until it ends, idles out, or a shutdown has drained it. The
/// permit is the connection's place under the connection limit, given back when this returns.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let stream = Tracked {
        inner: stream,
        activity: activity.clone(),
    };
    match &shared.tls {
        None => drive(stream, peer, None, &shared, activity).await,
        Some(tls) => {
            let handshake = tls.acceptor().accept(stream);
            match tokio::time::timeout(shared.limits.header_timeout, handshake).await {
                Ok(Ok(stream)) => {
                    crate::metrics::record_tls_handshake();
                    let secure = SecureTransport::of(stream.get_ref().1);
                    drive(stream, peer, Some(secure), &shared, activity).await
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn drive<I>(
    io: I,
    peer: SocketAddr,
    secure: Option<SecureTransport>,
    shared: &Shared,
    activity: Arc<Activity>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = Handler {
        app: shared.app.clone(),
        peer,
        secure,
        activity: activity.clone(),
        body_timeout: shared.limits.body_timeout,
        max_body_bytes: shared.max_body_bytes,
    };
    let conn = shared.http.serve_connection(TokioIo::new(io), handler);
    tokio::pin!(conn);
    let mut shutdown = shared.shutdown.clone();
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !draining => {
                // Finish the request in flight, answer it with `Connection: close`, take no more.
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = idle(&activity, shared.limits.idle_timeout) => {
                tracing::debug!(%peer, "closing an idle connection");
                return;
            }
        }
    }
}

/// Resolves once the connection has had no request in flight and moved no byte for `limit`.
async fn idle(activity: &Activity, limit: Duration) {
    loop {
        let quiet = activity.quiet_for();
        let busy = activity.in_flight.load(Ordering::Acquire) > 0;
        if !busy && quiet >= limit {
            return;
        }
        let wait = if busy { limit } else { limit - quiet };
        tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
    }
}

/// When the connection last moved a byte, and how many requests it has in flight.
#[derive(Debug)]
struct Activity {
    started: tokio::time::Instant,
    /// Milliseconds after `started` of the last byte read or written.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: tokio::time::Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_ms.store(self.elapsed_ms(), Ordering::Release);
    }

    fn quiet_for(&self) -> Duration {
        let last = self.last_ms.load(Ordering::Acquire);
        Duration::from_millis(self.elapsed_ms().saturating_sub(last))
    }
}

/// Counts a request in flight for as long as it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

/// The TCP stream, noting every byte that moves.
#[derive(Debug)]
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Hands each request to the router once its body is in.
#[derive(Debug, Clone)]
struct Handler {
    app: Router,
    peer: SocketAddr,
    secure: Option<SecureTransport>,
    activity: Arc<Activity>,
    body_timeout: Duration,
    max_body_bytes: usize,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move { Ok(handler.handle(request).await) })
    }
}

impl Handler {
    async fn handle(self, request: Request<Incoming>) -> Response {
        let _busy = Busy::new(&self.activity);
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        if let Some(secure) = self.secure {
            parts.extensions.insert(secure);
        }
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = if declared.is_some_and(|n| n > self.max_body_bytes as u64) {
            // The router refuses it from the header, without reading it.
            Body::empty()
        } else {
            let read = Limited::new(body, self.max_body_bytes).collect();
            match tokio::time::timeout(self.body_timeout, read).await {
                Ok(Ok(collected)) => Body::from(collected.to_bytes()),
                // Too long, or cut off: the router's read of it fails the same way (413).
                Ok(Err(_)) => Body::new(Unreadable),
                Err(_) => return body_timeout(self.body_timeout),
            }
        };
        let request = Request::from_parts(parts, body);
        match self.app.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A body whose first read fails: what the router sees of a body that was too long or broken.
#[derive(Debug)]
struct Unreadable;

/// The error [`Unreadable`] reports.
#[derive(Debug, thiserror::Error)]
#[error("the request body could not be read")]
struct BodyUnreadable;

impl http_body::Body for Unreadable {
    type Data = Bytes;
    type Error = BodyUnreadable;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BodyUnreadable>>> {
        Poll::Ready(Some(Err(BodyUnreadable)))
    }
}

/// `408 RequestTimeoutException` (which SDKs retry), and the connection closes: the body was
/// not all sent within the body timeout.
fn body_timeout(limit: Duration) -> Response {
    let message = format!(
        "The request body was not received within {} seconds.",
        limit.as_secs()
    );
    let body = serde_json::to_vec(&kinko_api::ErrorBody {
        kind: "RequestTimeoutException",
        message: Some(&message),
    })
    .unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static("RequestTimeoutException"),
    );
    if let Ok(id) = HeaderValue::from_str(&crate::util::new_uuid()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
