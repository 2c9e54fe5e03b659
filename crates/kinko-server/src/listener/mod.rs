//! The listener: an accept loop over hyper's HTTP/1.1 connection builder, so that no client can
//! exhaust the server. It bounds how many connections are open ([`Limits::max_connections`]:
//! past it a new connection is accepted and closed at once, and the ones already open keep being
//! served), how long a request's head and body may take to arrive, and how long a connection may
//! sit silent. HTTPS when [`ListenerSettings::tls`] names a certificate (reloaded on SIGHUP).
//! On shutdown it stops accepting, lets requests in flight finish (bounded by
//! [`Limits::shutdown_timeout`]) and closes what is left.
//!
//! hyper answers what it cannot parse itself, with an empty body and `Connection: close`: a
//! request head over [`limits::MAX_HEAD_BYTES`] gets `431`, a malformed request line or header
//! (a NUL byte in a header value, say) `400`. Everything that parses reaches the router, which
//! answers in AWS's shapes.

mod connection;
pub mod limits;
pub mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use connection::SecureTransport;
pub use limits::Limits;
pub use tls::{TlsError, TlsFiles, TlsServer};

/// How the listener serves: its limits, and TLS when configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerSettings {
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// Connection count and timeouts.
    pub limits: Limits,
}

/// The listener's keys in a TOML config file (and the flags that override them).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerFileConfig {
    /// `tls_cert = "/etc/kinko/server.pem"`.
    pub tls_cert: Option<PathBuf>,
    /// `tls_key = "/etc/kinko/server-key.pem"`.
    pub tls_key: Option<PathBuf>,
    /// `max_connections = 10000`.
    pub max_connections: Option<usize>,
    /// `header_timeout_seconds = 20`.
    pub header_timeout_seconds: Option<u64>,
    /// `body_timeout_seconds = 30`.
    pub body_timeout_seconds: Option<u64>,
    /// `idle_timeout_seconds = 15`.
    pub idle_timeout_seconds: Option<u64>,
    /// `shutdown_timeout_seconds = 20`.
    pub shutdown_timeout_seconds: Option<u64>,
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// The certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Only one of the certificate and the key was given.
    #[error(
        "TLS needs both a certificate (--tls-cert) and a key (--tls-key); only the {0} was given"
    )]
    HalfTls(&'static str),
    /// The SIGHUP handler could not be installed.
    #[error("installing the SIGHUP handler that reloads the TLS certificate")]
    Signal(#[source] std::io::Error),
}

impl ListenerSettings {
    /// `overrides` (flags, environment) over `file` over the defaults. Zero timeouts are raised
    /// to one second and a zero connection limit to one.
    pub fn merge(
        file: &ListenerFileConfig,
        overrides: &ListenerFileConfig,
    ) -> Result<ListenerSettings, ListenerError> {
        let cert = overrides.tls_cert.clone().or_else(|| file.tls_cert.clone());
        let key = overrides.tls_key.clone().or_else(|| file.tls_key.clone());
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(ListenerError::HalfTls("certificate")),
            (None, Some(_)) => return Err(ListenerError::HalfTls("key")),
        };
        let defaults = Limits::default();
        let seconds = |o: Option<u64>, f: Option<u64>, default: Duration| {
            o.or(f).map_or(default, |s| Duration::from_secs(s.max(1)))
        };
        Ok(ListenerSettings {
            tls,
            limits: Limits {
                max_connections: overrides
                    .max_connections
                    .or(file.max_connections)
                    .map_or(defaults.max_connections, |n| n.max(1)),
                header_timeout: seconds(
                    overrides.header_timeout_seconds,
                    file.header_timeout_seconds,
                    defaults.header_timeout,
                ),
                body_timeout: seconds(
                    overrides.body_timeout_seconds,
                    file.body_timeout_seconds,
                    defaults.body_timeout,
                ),
                idle_timeout: seconds(
                    overrides.idle_timeout_seconds,
                    file.idle_timeout_seconds,
                    defaults.idle_timeout,
                ),
                shutdown_timeout: seconds(
                    overrides.shutdown_timeout_seconds,
                    file.shutdown_timeout_seconds,
                    defaults.shutdown_timeout,
                ),
            },
        })
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains. Request bodies are read
/// here, up to `max_body_bytes`, before the router sees them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ListenerSettings,
    max_body_bytes: usize,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ListenerError> {
    let limits = settings.limits;
    let tls = settings.tls.as_ref().map(TlsServer::load).transpose()?;
    let reloader = match &tls {
        Some(tls) => Some(reload_on_sighup(tls.clone())?),
        None => None,
    };
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits::MAX_HEAD_BYTES)
        .max_header_size(limits::MAX_HEAD_BYTES)
        .keep_alive(true);
    let (stop, stopped) = watch::channel(false);
    let shared = Arc::new(connection::Shared {
        app,
        http,
        tls,
        limits,
        max_body_bytes,
        shutdown: stopped,
    });
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut refused: u64 = 0;
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors (or another transient failure): pause rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // Over the limit: closed at once, so it holds no descriptor; the open ones go on.
            drop(stream);
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused_so_far = refused,
                    "connection limit reached: closing new connections until some end"
                );
            }
            continue;
        };
        connections.spawn(connection::serve(stream, peer, shared.clone(), permit));
    }
    drop(listener);
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    let _ = stop.send(true);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            still_open = connections.len(),
            seconds = limits.shutdown_timeout.as_secs(),
            "requests still in flight after the shutdown timeout: closing their connections"
        );
        connections.shutdown().await;
    } else if open > 0 {
        tracing::info!(connections = open, "in-flight requests drained");
    }
    Ok(())
}

/// Reloads the certificate and key on every SIGHUP; a failed reload keeps the old pair.
fn reload_on_sighup(tls: TlsServer) -> Result<tokio::task::JoinHandle<()>, ListenerError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup()).map_err(ListenerError::Signal)?;
        Ok(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match tls.reload() {
                    Ok(()) => tracing::info!(
                        cert = %tls.files().cert.display(),
                        "SIGHUP: TLS certificate reloaded; new connections get it"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        cause = %std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default(),
                        "SIGHUP: reloading the TLS certificate failed; still serving the previous one"
                    ),
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(tokio::spawn(async move {
            let _ = tls;
        }))
    }
}
