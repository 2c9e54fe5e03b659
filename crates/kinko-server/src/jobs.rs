//! Scheduled work: a task that periodically asks the core for due rotations, deletions and
//! expired imported material, and the CloudTrail service events that record them. Also the
//! `insecure_test_clock`: a clock end-to-end tests can move forward, refused outside test mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kinko_core::{
    AuditDraft, Clock, JobReport, Key, Kms, Secret, ServiceEvent, SystemClock, UnixMillis,
};
use serde_json::{Map, Value, json};

use kinko_audit::{EVENT_VERSION, canonical, iso8601};

/// The environment variable that marks a test run; `insecure_test_clock` is refused without it.
pub const TEST_MODE_ENV: &str = "KINKO_INSECURE_TEST_MODE";

/// The CloudTrail record of work Kinko did by itself on `key` (after the change).
pub fn service_event(event: ServiceEvent, key: &Key, time: UnixMillis) -> AuditDraft {
    service_event_for(event, key, time, None)
}

/// [`service_event`] for work a request caused (an AWS managed key made on a service's first
/// use): the record carries a `requestID` of its own.
pub fn service_event_for(
    event: ServiceEvent,
    key: &Key,
    time: UnixMillis,
    request_id: Option<String>,
) -> AuditDraft {
    let event_id = crate::util::new_uuid();
    let account = key.arn.account.as_str();
    let mut record = Map::new();
    record.insert("eventVersion".into(), json!(EVENT_VERSION));
    record.insert(
        "userIdentity".into(),
        json!({ "accountId": account, "invokedBy": "kms.amazonaws.com" }),
    );
    record.insert("eventTime".into(), json!(iso8601(time)));
    record.insert("eventSource".into(), json!("kms.amazonaws.com"));
    record.insert("eventName".into(), json!(event.name()));
    record.insert("awsRegion".into(), json!(key.arn.region.as_str()));
    record.insert("sourceIPAddress".into(), json!("kms.amazonaws.com"));
    record.insert("userAgent".into(), json!("kms.amazonaws.com"));
    record.insert("requestParameters".into(), Value::Null);
    record.insert("responseElements".into(), Value::Null);
    if event == ServiceEvent::RotateKey {
        record.insert(
            "additionalEventData".into(),
            json!({ "keyMaterialId": key.current_material.to_string() }),
        );
    }
    if let Some(id) = &request_id {
        record.insert("requestID".into(), json!(id));
    }
    record.insert("eventID".into(), json!(event_id));
    record.insert("readOnly".into(), json!(false));
    record.insert(
        "resources".into(),
        json!([{ "accountId": account, "type": "AWS::KMS::Key", "ARN": key.arn.to_string() }]),
    );
    record.insert("eventType".into(), json!("AwsServiceEvent"));
    record.insert("managementEvent".into(), json!(true));
    record.insert("recipientAccountId".into(), json!(account));
    record.insert(
        "serviceEventDetails".into(),
        json!({ "keyId": key.id().to_string() }),
    );
    record.insert("eventCategory".into(), json!("Management"));
    AuditDraft {
        event_id,
        request_id,
        time,
        event_source: "kms.amazonaws.com".to_owned(),
        event_name: event.name().to_owned(),
        read_only: false,
        account: Some(key.arn.account.clone()),
        principal_arn: None,
        access_key_id: None,
        key_id: Some(key.id().unscoped_id()),
        source_key_id: None,
        error_code: None,
        record: canonical(&Value::Object(record)),
    }
}

/// The CloudTrail record of a secret Kinko deleted at the end of its recovery window
/// (`EndSecretDeletion`, a Secrets Manager service event).
pub fn secret_deleted(secret: &Secret, time: UnixMillis) -> AuditDraft {
    secret_event(secret, "EndSecretDeletion", time, Value::Null, Value::Null)
}

/// The CloudTrail record of work Secrets Manager did by itself on `secret` (a Secrets Manager
/// service event named `name`).
pub fn secret_event(
    secret: &Secret,
    name: &str,
    time: UnixMillis,
    request_parameters: Value,
    response_elements: Value,
) -> AuditDraft {
    let event_id = crate::util::new_uuid();
    let account = secret.account.as_str();
    let record = json!({
        "eventVersion": EVENT_VERSION,
        "userIdentity": { "accountId": account, "invokedBy": "secretsmanager.amazonaws.com" },
        "eventTime": iso8601(time),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": name,
        "awsRegion": secret.region.as_str(),
        "sourceIPAddress": "secretsmanager.amazonaws.com",
        "userAgent": "secretsmanager.amazonaws.com",
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "requestID": crate::util::new_uuid(),
        "eventID": event_id,
        "readOnly": false,
        "resources": [{ "accountId": account, "type": "AWS::SecretsManager::Secret", "ARN": secret.arn }],
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    AuditDraft {
        event_id,
        request_id: None,
        time,
        event_source: "secretsmanager.amazonaws.com".to_owned(),
        event_name: name.to_owned(),
        read_only: false,
        account: Some(secret.account.clone()),
        principal_arn: None,
        access_key_id: None,
        key_id: None,
        source_key_id: None,
        error_code: None,
        record: canonical(&record),
    }
}

/// More work for each scheduler pass, given by the server (the due secret rotations, which
/// call rotation functions over HTTP).
pub type ExtraPass =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// One scheduler pass: [`run_once`], then `extra`.
pub async fn run_pass(kms: &Kms, extra: &ExtraPass) -> Result<JobReport, kinko_core::Error> {
    let report = run_once(kms).await;
    extra().await;
    report
}

/// One pass of the core's jobs, with service events stamped by the service's clock.
pub async fn run_once(kms: &Kms) -> Result<JobReport, kinko_core::Error> {
    let clock = kms.clock().clone();
    let events = move |event: ServiceEvent, key: &Key| service_event(event, key, clock.now());
    let report = kms.run_scheduled_jobs(&events).await?;
    for arn in &report.rotated {
        tracing::info!(key = %arn, "rotated key material (automatic rotation)");
    }
    for arn in &report.deleted {
        tracing::info!(key = %arn, "deleted key at the end of its waiting period");
    }
    for arn in &report.expired {
        tracing::info!(key = %arn, "deleted expired imported key material");
    }
    let clock = kms.clock().clone();
    let record = move |secret: &Secret| secret_deleted(secret, clock.now());
    for arn in kms.delete_due_secrets(&record).await? {
        tracing::info!(secret = %arn, "deleted secret at the end of its recovery window");
    }
    Ok(report)
}

/// Runs [`run_once`] every `every` until aborted.
pub fn spawn(kms: Arc<Kms>, every: Duration, extra: ExtraPass) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_pass(&kms, &extra).await {
                tracing::error!(error = %e, "scheduled key jobs failed; retrying at the next tick");
            }
        }
    })
}

/// The system clock plus an offset that only moves forward: `insecure_test_clock`.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    /// Moves time forward by `ms` milliseconds.
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(SystemClock.now().0 + self.offset_ms.load(Ordering::SeqCst))
    }
}

/// `POST /insecure/clock` `{"AdvanceSeconds": n}`: moves the test clock forward, runs one
/// scheduler pass and answers what it did. Loopback callers only.
pub fn insecure_clock_routes(kms: Arc<Kms>, clock: Arc<TestClock>, extra: ExtraPass) -> Router {
    Router::new()
        .route("/insecure/clock", post(advance))
        .with_state((kms, clock, extra))
}

async fn advance(
    State((kms, clock, extra)): State<(Arc<Kms>, Arc<TestClock>, ExtraPass)>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    if !peer.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "loopback only").into_response();
    }
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("AdvanceSeconds").and_then(Value::as_i64))
        .unwrap_or(0);
    clock.advance(seconds.saturating_mul(1000));
    match run_pass(&kms, &extra).await {
        Ok(report) => {
            let arns = |v: &[kinko_core::KeyArn]| -> Vec<String> {
                v.iter().map(ToString::to_string).collect()
            };
            let body = json!({
                "Now": clock.now().0 as f64 / 1000.0,
                "Rotated": arns(&report.rotated),
                "Deleted": arns(&report.deleted),
                "Expired": arns(&report.expired),
            });
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "scheduled key jobs failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "scheduled jobs failed").into_response()
        }
    }
}
