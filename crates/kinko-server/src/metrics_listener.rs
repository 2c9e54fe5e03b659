//! `--metrics-listen ADDR`: Prometheus text at `GET /metrics` on a listener of its own (off by
//! default), so that metrics can stay on a private interface while the API is public. No
//! authentication and no per-key data: counts, latencies and gauges only.
//!
//! Gauges are read when Prometheus scrapes: requests in flight, the audit writer's queue, the
//! cache counters, and the keys by state, which come from a pass over the store (paged, by
//! scrape, never by request; scrapes that overlap share one pass).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kinko_core::KeyState;
use tokio::sync::Mutex;

use crate::metrics;
use crate::state::AppState;

/// Keys read per page when counting keys by state.
const PAGE: usize = 1000;

/// Why the metrics listener could not serve.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The Prometheus recorder could not be built.
    #[error("building the Prometheus recorder")]
    Recorder(#[source] metrics_exporter_prometheus::BuildError),
    /// Serving failed.
    #[error("serving metrics")]
    Serve(#[source] std::io::Error),
}

struct Scrape {
    state: Arc<AppState>,
    handle: &'static metrics_exporter_prometheus::PrometheusHandle,
    /// Held while keys are counted.
    counting: Mutex<()>,
}

/// Installs the recorder and serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), MetricsError> {
    let handle = metrics::install().map_err(MetricsError::Recorder)?;
    let scrape = Arc::new(Scrape {
        state,
        handle,
        counting: Mutex::new(()),
    });
    let app = Router::new()
        .route("/metrics", get(render))
        .with_state(scrape);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(MetricsError::Serve)
}

async fn render(State(scrape): State<Arc<Scrape>>) -> Response {
    let state = &scrape.state;
    metrics::set_gauge(metrics::IN_FLIGHT, state.in_flight.current() as f64);
    metrics::set_gauge(metrics::AUDIT_QUEUE, state.audit.queue_depth() as f64);
    let caches = state.kms.cache_stats();
    for (name, c) in [
        ("key", caches.keys),
        ("material", caches.materials),
        ("key_policy", caches.policies),
    ] {
        metrics::set_cache_lookups(name, c.hits, c.misses);
    }
    count_keys(&scrape).await;
    scrape.handle.run_upkeep();
    let mut response = (StatusCode::OK, scrape.handle.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Counts keys by state over the whole store, unless another scrape is counting now (this
/// one then shows the last figures). A failed pass leaves the last figures too.
async fn count_keys(scrape: &Scrape) {
    let Ok(_counting) = scrape.counting.try_lock() else {
        return;
    };
    let store = scrape.state.kms.store();
    let mut counts = vec![0u64; KeyState::ALL.len()];
    let mut after = None;
    loop {
        let page = match store.list_all_keys(after.as_ref(), PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "counting keys by state for the metrics failed");
                return;
            }
        };
        for key in &page {
            if let Some(i) = KeyState::ALL.iter().position(|s| *s == key.state) {
                counts[i] += 1;
            }
        }
        after = match page.last() {
            Some(last) if page.len() == PAGE => Some(last.id()),
            _ => break,
        };
    }
    for (state, count) in KeyState::ALL.iter().zip(counts) {
        metrics::set_keys(state.as_str(), count);
    }
}
