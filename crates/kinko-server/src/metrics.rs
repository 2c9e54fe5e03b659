//! What Kinko counts for Prometheus, and the recorder that keeps it. Everything is recorded
//! through the `metrics` facade: until [`install`] runs (only with `--metrics-listen`), every
//! recording is a no-op. Labels are bounded sets (services, operation names, error codes,
//! quota names, key states): never a key id, an account or a principal.
//!
//! A leaf: it imports no other module of the server, so every module may record.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests by service, operation and result (`ok` or the error code).
pub const REQUESTS: &str = "kinko_requests_total";
/// Request latency, seconds, by service and operation.
pub const REQUEST_SECONDS: &str = "kinko_request_duration_seconds";
/// Requests refused by a quota, by quota name.
pub const QUOTA_REFUSALS: &str = "kinko_quota_refusals_total";
/// Requests refused because too many were in progress.
pub const IN_FLIGHT_REFUSALS: &str = "kinko_in_flight_refusals_total";
/// Requests in progress.
pub const IN_FLIGHT: &str = "kinko_requests_in_flight";
/// Records waiting for the audit writer.
pub const AUDIT_QUEUE: &str = "kinko_audit_queue_depth";
/// Time one group commit of the audit writer took, seconds.
pub const AUDIT_FLUSH_SECONDS: &str = "kinko_audit_flush_duration_seconds";
/// Records per group commit.
pub const AUDIT_BATCH: &str = "kinko_audit_batch_records";
/// Cache lookups by cache (`key`, `material`, `key_policy`) and result (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "kinko_cache_lookups_total";
/// Keys by key state, counted over the whole store now and then.
pub const KEYS: &str = "kinko_keys";
/// TLS handshakes completed.
pub const TLS_HANDSHAKES: &str = "kinko_tls_handshakes_total";

/// Latency buckets, seconds: 100 µs to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Batch-size buckets.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle).
pub fn install() -> Result<&'static PrometheusHandle, BuildError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(AUDIT_FLUSH_SECONDS.into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(AUDIT_BATCH.into()), BATCH_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Another recorder already installed (a test's, say) keeps recording; this handle then
    // renders nothing new, which the scrape shows plainly.
    let _ = metrics::set_global_recorder(recorder);
    Ok(HANDLE.get_or_init(|| handle))
}

/// One request served.
pub fn request(service: &'static str, operation: &'static str, result: &'static str, seconds: f64) {
    counter!(REQUESTS, "service" => service, "operation" => operation, "result" => result)
        .increment(1);
    histogram!(REQUEST_SECONDS, "service" => service, "operation" => operation).record(seconds);
}

/// One request refused by quota `name`.
pub fn quota_refused(name: &'static str) {
    counter!(QUOTA_REFUSALS, "quota" => name).increment(1);
}

/// One request refused because the in-flight limit was reached.
pub fn in_flight_refused() {
    counter!(IN_FLIGHT_REFUSALS).increment(1);
}

/// One group commit of the audit writer: how long it took and how many records it held.
pub fn audit_flush(seconds: f64, records: usize) {
    histogram!(AUDIT_FLUSH_SECONDS).record(seconds);
    histogram!(AUDIT_BATCH).record(records as f64);
}

/// One TLS handshake completed (the TLS listener calls this).
pub fn record_tls_handshake() {
    counter!(TLS_HANDSHAKES).increment(1);
}

/// Sets a gauge read at scrape time.
pub fn set_gauge(name: &'static str, value: f64) {
    gauge!(name).set(value);
}

/// Sets the number of keys in `state`.
pub fn set_keys(state: &'static str, count: u64) {
    gauge!(KEYS, "state" => state).set(count as f64);
}

/// Sets a cache's lookup counters to their totals since start.
pub fn set_cache_lookups(cache: &'static str, hits: u64, misses: u64) {
    counter!(CACHE_LOOKUPS, "cache" => cache, "result" => "hit").absolute(hits);
    counter!(CACHE_LOOKUPS, "cache" => cache, "result" => "miss").absolute(misses);
}

/// Most distinct IAM and STS action names [`action_label`] hands out.
const MAX_ACTION_LABELS: usize = 200;

/// A label for an IAM or STS action named by the request: the name itself while fewer than
/// [`MAX_ACTION_LABELS`] distinct names were seen (each is kept for the life of the process),
/// then `other`. Names that are not 1 to 64 ASCII letters are `other` at once.
pub fn action_label(action: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    if action.is_empty() || action.len() > 64 || !action.bytes().all(|b| b.is_ascii_alphabetic()) {
        return "other";
    }
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return "other";
    };
    if let Some(known) = seen.get(action) {
        return known;
    }
    if seen.len() >= MAX_ACTION_LABELS {
        return "other";
    }
    let leaked: &'static str = Box::leak(action.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_labels_are_names_or_other() {
        assert_eq!(action_label("ListUsers"), "ListUsers");
        assert_eq!(action_label("ListUsers"), "ListUsers");
        assert_eq!(action_label("List Users"), "other");
        assert_eq!(action_label(&"A".repeat(65)), "other");
        assert_eq!(action_label(""), "other");
    }
}
