//! `GET /readyz`: ready means the store answers, the root of trust wraps and unwraps, and the
//! audit writer is running with no recent failed or stuck write. The answer names which check
//! failed and nothing else (no addresses, no errors' text).

use std::time::Duration;

use axum::http::StatusCode;

use crate::state::AppState;

/// How long the store may take to answer the probe.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// The setting the probe reads (it need not exist).
const PROBE_SETTING: &str = "kinko.readiness-probe";

/// The readiness answer: 200 `ready`, or 503 with the failed check's name.
pub async fn check(state: &AppState) -> (StatusCode, &'static str) {
    let store =
        tokio::time::timeout(STORE_TIMEOUT, state.kms.store().get_setting(PROBE_SETTING)).await;
    if !matches!(store, Ok(Ok(_))) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: store");
    }
    // A PKCS#11 token answers on its own time: off the async workers.
    let kms = state.kms.clone();
    let root = tokio::task::spawn_blocking(move || kms.root_of_trust_works()).await;
    if !matches!(root, Ok(true)) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: root of trust");
    }
    if let Err(trouble) = state.audit.health() {
        tracing::warn!(%trouble, "not ready");
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: audit writer");
    }
    (StatusCode::OK, "ready")
}
