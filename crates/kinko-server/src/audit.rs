//! The audit trail, server side: every request becomes one CloudTrail-shaped record; records of
//! successful changes commit in the change's own transaction (see `kinko_core::Store`), all
//! others go through a group-commit writer, and the response is sent only after the record is
//! durable. The sealer task (`lib.rs`) signs digests of the chain with `kinko_audit::seal`; the
//! canonical record encoding is `kinko_audit`'s too.
//!
//! Records never contain plaintexts, ciphertexts, messages, key material, data keys, grant tokens
//! or secrets: request parameters are serialized from the typed request, whose secret members
//! are marked to be skipped (`kinko_api`), so a member the model does not know never reaches a
//! record either.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use kinko_api::ErrorCode;
use kinko_audit::{EVENT_VERSION, canonical, iso8601};
use kinko_core::{AuditDraft, Caller, ChainPosition, Key, KeyArn, Principal, Store, UnixMillis};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::errors::ApiError;

/// Largest batch one group commit writes.
const MAX_BATCH: usize = 512;
/// How many times the writer lets the runtime run other ready tasks before it takes a batch.
const GATHER_ROUNDS: usize = 1;
/// What is known about a request before and while it is served.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// `x-amzn-RequestId`.
    pub request_id: String,
    /// When it arrived.
    pub time: UnixMillis,
    /// The peer's IP address.
    pub source_ip: String,
    /// Whether it came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// CloudTrail's `tlsDetails` of a request that came over TLS.
    pub tls_details: Option<TlsDetails>,
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// `kms.amazonaws.com`, `cloudtrail.amazonaws.com`, `iam.amazonaws.com`,
    /// `sts.amazonaws.com` or `secretsmanager.amazonaws.com`.
    pub event_source: &'static str,
    /// The operation name (`eventName`), empty when unknown.
    pub operation: String,
    /// `readOnly`: false for an operation whose descriptor says it changes state.
    pub read_only: bool,
    /// The region of the credential scope, or the server's default.
    pub region: String,
    /// The access key id the request claims, if it was signed.
    pub access_key_id: Option<String>,
    /// The authenticated caller.
    pub caller: Option<Caller>,
    /// The request parameters as recorded (redacted, lowerCamelCase), if the body parsed.
    pub request_parameters: Option<Value>,
    /// The AWS service that made this call for the caller (`userIdentity.invokedBy`), for the
    /// KMS calls Secrets Manager makes on a caller's behalf.
    pub invoked_by: Option<&'static str>,
}

/// CloudTrail's `tlsDetails`: what the request's TLS connection negotiated, and the `Host`
/// header the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsDetails {
    /// `TLSv1.2` or `TLSv1.3`.
    pub tls_version: &'static str,
    /// The cipher suite, as CloudTrail spells it.
    pub cipher_suite: &'static str,
    /// The `Host` header, if sent.
    pub client_provided_host_header: Option<String>,
}

impl TlsDetails {
    /// The TLS details of `request`, if it came over TLS.
    pub(crate) fn of(request: &axum::extract::Request) -> Option<TlsDetails> {
        let secure = request
            .extensions()
            .get::<crate::listener::SecureTransport>()?;
        Some(TlsDetails {
            tls_version: secure.tls_version,
            cipher_suite: secure.cipher_suite,
            client_provided_host_header: request
                .headers()
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }

    /// The `Value` form (the tests' reference record).
    #[cfg(test)]
    fn to_json(&self) -> Value {
        let mut details = Map::new();
        details.insert("tlsVersion".into(), json!(self.tls_version));
        details.insert("cipherSuite".into(), json!(self.cipher_suite));
        if let Some(host) = &self.client_provided_host_header {
            details.insert("clientProvidedHostHeader".into(), json!(host));
        }
        Value::Object(details)
    }
}

impl RequestInfo {
    /// Builds the record of this request: CloudTrail's record, serialized straight from borrowed
    /// fields into its canonical JSON (keys in byte order, compact; the same bytes
    /// `kinko_audit::canonical` gives for the record as a `Value`, which the tests check),
    /// without building a `serde_json::Value` first.
    pub fn draft(&self, outcome: &Recorded<'_>) -> AuditDraft {
        let event_id = new_event_id(self.time);
        let account = self.caller.as_ref().map(|c| c.account.clone());
        let resources: Vec<ResourceOut> = [outcome.key, outcome.source_key]
            .into_iter()
            .flatten()
            .map(|arn| ResourceOut {
                ARN: arn.to_string(),
                accountId: arn.account.as_str(),
                r#type: "AWS::KMS::Key",
            })
            .collect();
        let principal_arn = self.caller.as_ref().map(|c| c.principal.arn());
        let record = RecordOut {
            awsRegion: &self.region,
            errorCode: outcome.error.map(|e| e.code.as_str()),
            errorMessage: outcome
                .error
                .map(|e| e.message.as_str())
                .filter(|m| !m.is_empty()),
            eventCategory: "Management",
            eventID: &event_id,
            eventName: &self.operation,
            eventSource: self.event_source,
            eventTime: iso8601(self.time),
            eventType: "AwsApiCall",
            eventVersion: EVENT_VERSION,
            managementEvent: true,
            readOnly: self.read_only,
            recipientAccountId: account.as_ref().map(|a| a.as_str()),
            requestID: &self.request_id,
            requestParameters: self.request_parameters.as_ref(),
            resources: (!resources.is_empty()).then_some(resources),
            responseElements: outcome.response_elements.as_ref(),
            sourceIPAddress: &self.source_ip,
            tlsDetails: self.tls_details.as_ref().map(|t| TlsOut {
                cipherSuite: t.cipher_suite,
                clientProvidedHostHeader: t.client_provided_host_header.as_deref(),
                tlsVersion: t.tls_version,
            }),
            userAgent: self.user_agent.as_deref(),
            userIdentity: self.identity_out(principal_arn.as_deref()),
        };
        let record = serde_json::to_vec(&record).unwrap_or_default();
        AuditDraft {
            event_id,
            request_id: Some(self.request_id.clone()),
            time: self.time,
            event_source: self.event_source.to_owned(),
            event_name: self.operation.clone(),
            read_only: self.read_only,
            account,
            principal_arn,
            access_key_id: self.access_key_id.clone(),
            key_id: outcome.key.map(|k| k.key_id.unscoped_id()),
            source_key_id: outcome.source_key.map(|k| k.key_id.unscoped_id()),
            error_code: outcome.error.map(|e| e.code.as_str().to_owned()),
            record,
        }
    }

    fn identity_out<'a>(&'a self, arn: Option<&'a str>) -> IdentityOut<'a> {
        match (&self.caller, arn) {
            (Some(c), Some(arn)) => IdentityOut::Caller {
                accessKeyId: self.access_key_id.as_deref(),
                accountId: c.account.as_str(),
                arn,
                invokedBy: self.invoked_by,
                principalId: c.account.as_str(),
                r#type: match c.principal {
                    Principal::Root { .. } => "Root",
                    Principal::AssumedRole { .. } => "AssumedRole",
                    Principal::User { .. } | Principal::Role { .. } => "IAMUser",
                },
            },
            _ => IdentityOut::Unknown {
                accessKeyId: self.access_key_id.as_deref(),
                r#type: "Unknown",
            },
        }
    }
}

// The record as it is serialized: each struct's fields in the byte order of their JSON names,
// which is the order `serde_json`'s sorted map (and so `kinko_audit::canonical`) writes them.
#[allow(non_snake_case)]
#[derive(serde::Serialize)]
struct RecordOut<'a> {
    awsRegion: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errorCode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errorMessage: Option<&'a str>,
    eventCategory: &'static str,
    eventID: &'a str,
    eventName: &'a str,
    eventSource: &'a str,
    eventTime: String,
    eventType: &'static str,
    eventVersion: &'static str,
    managementEvent: bool,
    readOnly: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipientAccountId: Option<&'a str>,
    requestID: &'a str,
    requestParameters: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Vec<ResourceOut<'a>>>,
    responseElements: Option<&'a Value>,
    sourceIPAddress: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tlsDetails: Option<TlsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    userAgent: Option<&'a str>,
    userIdentity: IdentityOut<'a>,
}

#[allow(non_snake_case)]
#[derive(serde::Serialize)]
struct ResourceOut<'a> {
    ARN: String,
    accountId: &'a str,
    r#type: &'static str,
}

#[allow(non_snake_case)]
#[derive(serde::Serialize)]
struct TlsOut<'a> {
    cipherSuite: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    clientProvidedHostHeader: Option<&'a str>,
    tlsVersion: &'static str,
}

#[allow(non_snake_case)]
#[derive(serde::Serialize)]
#[serde(untagged)]
enum IdentityOut<'a> {
    Caller {
        /// `null` when the request named none (kept, as CloudTrail shows it).
        accessKeyId: Option<&'a str>,
        accountId: &'a str,
        arn: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        invokedBy: Option<&'static str>,
        principalId: &'a str,
        r#type: &'static str,
    },
    Unknown {
        #[serde(skip_serializing_if = "Option::is_none")]
        accessKeyId: Option<&'a str>,
        r#type: &'static str,
    },
}

/// A new event id: a UUID of version 7, whose first 48 bits are the event's time, so that the
/// stores' event-id indexes grow at their end (one B-tree page per batch) instead of taking
/// random inserts all over a large index.
fn new_event_id(time: UnixMillis) -> String {
    let random = kinko_crypto::random_array::<10>().unwrap_or_default();
    let millis = u64::try_from(time.0).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// The keys a request touched, as the protocol layer learns them.
#[derive(Debug, Default)]
pub struct Touched {
    /// The key (ReEncrypt: the destination).
    pub key: Option<KeyArn>,
    /// ReEncrypt's source key.
    pub source_key: Option<KeyArn>,
}

/// The outcome of a request as the record shows it.
#[derive(Debug, Default)]
pub struct Recorded<'a> {
    /// The key the request concerned.
    pub key: Option<&'a KeyArn>,
    /// A second key it concerned (ReEncrypt's source key).
    pub source_key: Option<&'a KeyArn>,
    /// `responseElements`.
    pub response_elements: Option<Value>,
    /// The error, for failures.
    pub error: Option<&'a ApiError>,
}

/// The request parameters as recorded, from the typed request: its members (secret ones are
/// never serialized), names in lowerCamelCase (nested structures too, but never the keys of an
/// encryption context), and the `defaults` the operation records for members left out.
pub fn request_parameters(
    request: &impl serde::Serialize,
    defaults: &[(&str, &str)],
) -> Option<Value> {
    let Ok(Value::Object(members)) = serde_json::to_value(request) else {
        return None;
    };
    let mut out = Map::new();
    for (name, value) in members {
        let value = if name.ends_with("EncryptionContext") {
            value
        } else {
            camel_nested(value)
        };
        out.insert(lower_camel(&name), value);
    }
    for (name, value) in defaults {
        if !out.contains_key(*name) {
            out.insert((*name).to_owned(), json!(value));
        }
    }
    Some(Value::Object(out))
}

fn camel_nested(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (lower_camel(&k), camel_nested(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_nested).collect()),
        other => other,
    }
}

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// CreateKey's `responseElements`: the new key's metadata.
pub fn response_elements_create_key(key: &Key) -> Option<Value> {
    let metadata = serde_json::to_value(crate::convert::key_metadata(key)).ok()?;
    Some(json!({ "keyMetadata": camel_nested(metadata) }))
}

/// ScheduleKeyDeletion's `responseElements`.
pub fn response_elements_schedule_key_deletion(key: &Key) -> Option<Value> {
    Some(json!({
        "keyId": key.arn.to_string(),
        "keyState": key.state.as_str(),
        "deletionDate": key.deletion_date.map(iso8601),
        "pendingWindowInDays": key.pending_window_days,
    }))
}

/// CancelKeyDeletion's `responseElements`.
pub fn response_elements_cancel_key_deletion(key: &Key) -> Option<Value> {
    Some(json!({ "keyId": key.arn.to_string() }))
}

/// Why an audit record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the audit record could not be written: {0}")]
pub struct AuditUnavailable(pub String);

impl From<AuditUnavailable> for ApiError {
    fn from(e: AuditUnavailable) -> ApiError {
        tracing::error!(error = %e, "audit write failed; the request fails");
        ApiError::new(
            ErrorCode::KMSInternalException,
            "An internal error occurred; retry the request.",
        )
    }
}

struct Job {
    draft: AuditDraft,
    done: oneshot::Sender<Result<(), String>>,
}

/// Where the group-commit writer puts its batches.
#[derive(Debug)]
pub enum AuditSink {
    /// The store: durable.
    Store(Arc<dyn Store>),
    /// Memory: the writer chains and encodes each batch exactly as for the store, then drops it.
    /// Not durable; for benchmarks only (`--insecure-audit-memory-sink`), where it isolates what
    /// durability costs.
    InsecureMemory,
}

impl AuditSink {
    async fn append(
        &self,
        chain: &str,
        drafts: &[AuditDraft],
        memory_head: &mut ChainPosition,
    ) -> Result<(), String> {
        match self {
            AuditSink::Store(store) => store
                .append_audit(chain, drafts)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            AuditSink::InsecureMemory => {
                let (events, head) = kinko_core::chain_events(chain, *memory_head, drafts);
                *memory_head = head;
                std::hint::black_box(kinko_store::audit_codec::encode(&events));
                Ok(())
            }
        }
    }
}

/// Sends records to the group-commit writer.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<JobHandle>,
    health: Arc<WriterHealth>,
}

/// A group commit taking longer than this makes the writer unhealthy (not ready).
const STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// What the writer task reports of itself, for readiness.
#[derive(Debug, Default)]
struct WriterHealth {
    /// When the last group commit failed (as `busy_since`), or 0 when it succeeded.
    failed_at: std::sync::atomic::AtomicU64,
    /// When the group commit under way began (milliseconds after `epoch`), or 0 when idle.
    busy_since: std::sync::atomic::AtomicU64,
    epoch: std::sync::OnceLock<std::time::Instant>,
}

impl WriterHealth {
    fn now_ms(&self) -> u64 {
        let epoch = self.epoch.get_or_init(std::time::Instant::now);
        // +1: 0 means idle.
        epoch.elapsed().as_millis() as u64 + 1
    }
}

/// Why the audit writer is not healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriterTrouble {
    /// Its task ended.
    #[error("the audit writer has stopped")]
    Stopped,
    /// Its last group commit failed, less than 10 s ago.
    #[error("the audit writer's last write failed")]
    Failing,
    /// A group commit has been under way for longer than [`STUCK_AFTER`].
    #[error("the audit writer has been writing one batch for more than 10 s")]
    Stuck,
}

/// Opaque job handle (keeps `Job` private).
pub struct JobHandle(Job);

impl std::fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobHandle")
    }
}

impl AuditWriter {
    /// Starts the group-commit writer for `chain`.
    ///
    /// A batch is everything queued when the previous one is durable, plus what requests add
    /// while the runtime runs the other tasks that are ready ([`GATHER_ROUNDS`] yield): requests
    /// already being served join this batch instead of waiting for the next one. Under load
    /// this makes batches larger and commits fewer (measured: +7% Encrypt req/s at 64
    /// connections, two rounds no better than one); an idle server commits a lone record at once
    /// (a yield with nothing else ready returns immediately).
    pub fn spawn(sink: AuditSink, chain: String) -> AuditWriter {
        let (tx, mut rx) = mpsc::channel::<JobHandle>(4096);
        let health = Arc::new(WriterHealth::default());
        let reports = health.clone();
        tokio::spawn(async move {
            let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            let mut memory_head: ChainPosition = (0, [0; 32]);
            while let Some(JobHandle(first)) = rx.recv().await {
                batch.push(first);
                for round in 0..=GATHER_ROUNDS {
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(JobHandle(job)) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    if round == GATHER_ROUNDS || batch.len() == MAX_BATCH {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                let (drafts, waiters): (Vec<AuditDraft>, Vec<_>) =
                    batch.drain(..).map(|j| (j.draft, j.done)).unzip();
                let started = std::time::Instant::now();
                reports
                    .busy_since
                    .store(reports.now_ms(), Ordering::Relaxed);
                let result = sink.append(&chain, &drafts, &mut memory_head).await;
                reports.busy_since.store(0, Ordering::Relaxed);
                let failed_at = if result.is_err() { reports.now_ms() } else { 0 };
                reports.failed_at.store(failed_at, Ordering::Relaxed);
                crate::metrics::audit_flush(started.elapsed().as_secs_f64(), drafts.len());
                tracing::trace!(
                    events = drafts.len(),
                    micros = started.elapsed().as_micros() as u64,
                    "audit group commit"
                );
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
        });
        AuditWriter { jobs: tx, health }
    }

    /// Records waiting for the writer.
    pub fn queue_depth(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Whether the writer is running, its last write succeeded and no write is stuck.
    pub fn health(&self) -> Result<(), WriterTrouble> {
        if self.jobs.is_closed() {
            return Err(WriterTrouble::Stopped);
        }
        let now = self.health.now_ms();
        let window = STUCK_AFTER.as_millis() as u64;
        // A failure counts while it is recent: with no traffic, nothing would ever clear it
        // (the readiness check tests the store itself as well).
        let failed_at = self.health.failed_at.load(Ordering::Relaxed);
        if failed_at != 0 && now.saturating_sub(failed_at) <= window {
            return Err(WriterTrouble::Failing);
        }
        let since = self.health.busy_since.load(Ordering::Relaxed);
        if since != 0 && now.saturating_sub(since) > window {
            return Err(WriterTrouble::Stuck);
        }
        Ok(())
    }

    /// Appends one record and waits until the sink has it (for the store: until it is durable).
    pub async fn append(&self, draft: AuditDraft) -> Result<(), AuditUnavailable> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(JobHandle(Job { draft, done }))
            .await
            .map_err(|_| AuditUnavailable("the audit writer has stopped".into()))?;
        wait.await
            .map_err(|_| AuditUnavailable("the audit writer has stopped".into()))?
            .map_err(AuditUnavailable)
    }
}

/// The record of a CreateGrant: the request's record with `responseElements: {grantId}`, as
/// CloudTrail shows it (the token is not recorded).
pub fn with_grant_id(mut draft: AuditDraft, grant_id: &str) -> AuditDraft {
    if let Ok(Value::Object(mut record)) = serde_json::from_slice::<Value>(&draft.record) {
        record.insert("responseElements".into(), json!({ "grantId": grant_id }));
        draft.record = canonical(&Value::Object(record));
    }
    draft
}

#[cfg(test)]
mod tests {
    use super::*;
    use kinko_core::{AccountId, Region};

    impl RequestInfo {
        /// The record as the server built it before: a `Value`, then `canonical`.
        fn draft_as_value(&self, outcome: &Recorded<'_>, event_id: &str) -> Vec<u8> {
            let account = self.caller.as_ref().map(|c| c.account.clone());
            let mut record = Map::new();
            record.insert("eventVersion".into(), json!(EVENT_VERSION));
            record.insert("userIdentity".into(), self.user_identity_value());
            record.insert("eventTime".into(), json!(iso8601(self.time)));
            record.insert("eventSource".into(), json!(self.event_source));
            record.insert("eventName".into(), json!(self.operation));
            record.insert("awsRegion".into(), json!(self.region));
            record.insert("sourceIPAddress".into(), json!(self.source_ip));
            if let Some(ua) = &self.user_agent {
                record.insert("userAgent".into(), json!(ua));
            }
            record.insert(
                "requestParameters".into(),
                self.request_parameters.clone().unwrap_or(Value::Null),
            );
            record.insert(
                "responseElements".into(),
                outcome.response_elements.clone().unwrap_or(Value::Null),
            );
            record.insert("requestID".into(), json!(self.request_id));
            record.insert("eventID".into(), json!(event_id));
            record.insert("readOnly".into(), json!(self.read_only));
            let resources: Vec<Value> = [outcome.key, outcome.source_key]
                .into_iter()
                .flatten()
                .map(|arn| json!({ "accountId": arn.account.as_str(), "type": "AWS::KMS::Key", "ARN": arn.to_string() }))
                .collect();
            if !resources.is_empty() {
                record.insert("resources".into(), Value::Array(resources));
            }

            record.insert("eventType".into(), json!("AwsApiCall"));
            record.insert("managementEvent".into(), json!(true));
            record.insert("eventCategory".into(), json!("Management"));
            if let Some(a) = &account {
                record.insert("recipientAccountId".into(), json!(a.as_str()));
            }
            if let Some(tls) = &self.tls_details {
                record.insert("tlsDetails".into(), tls.to_json());
            }
            if let Some(e) = outcome.error {
                record.insert("errorCode".into(), json!(e.code.as_str()));
                if !e.message.is_empty() {
                    record.insert("errorMessage".into(), json!(e.message));
                }
            }
            canonical(&Value::Object(record))
        }

        fn user_identity_value(&self) -> Value {
            match &self.caller {
                Some(c) => {
                    let kind = match c.principal {
                        Principal::Root { .. } => "Root",
                        Principal::AssumedRole { .. } => "AssumedRole",
                        Principal::User { .. } | Principal::Role { .. } => "IAMUser",
                    };
                    let mut identity = json!({
                        "type": kind,
                        "principalId": c.account.as_str(),
                        "arn": c.principal.arn(),
                        "accountId": c.account.as_str(),
                        "accessKeyId": self.access_key_id,
                    });
                    if let (Some(by), Value::Object(map)) = (self.invoked_by, &mut identity) {
                        map.insert("invokedBy".into(), json!(by));
                    }
                    identity
                }
                None => match &self.access_key_id {
                    Some(id) => json!({ "type": "Unknown", "accessKeyId": id }),
                    None => json!({ "type": "Unknown" }),
                },
            }
        }
    }

    fn arn(account: &AccountId, id: &str) -> KeyArn {
        KeyArn {
            region: Region::parse("us-east-1").unwrap_or_else(|| panic!("a region")),
            account: account.clone(),
            key_id: kinko_core::KeyId::parse(id).unwrap_or_else(|| panic!("a key id")),
        }
    }

    /// The record serialized from borrowed fields is byte for byte the canonical JSON of the
    /// record built as a `Value`, for every shape a record takes.
    #[test]
    fn the_record_is_the_canonical_json_of_the_value() {
        let account = AccountId::parse("111122223333").unwrap_or_else(|| panic!("an account"));
        let region = Region::parse("us-east-1").unwrap_or_else(|| panic!("a region"));
        let root = Principal::Root {
            account: account.clone(),
        };
        let key = arn(&account, "1234abcd-12ab-34cd-56ef-1234567890ab");
        let source = arn(&account, "1234abcd-12ab-34cd-56ef-1234567890ac");
        let base = RequestInfo {
            request_id: "rid-1".into(),
            time: UnixMillis(1_767_225_600_123),
            source_ip: "10.0.0.7".into(),
            secure_transport: false,
            tls_details: None,
            user_agent: None,
            event_source: "kms.amazonaws.com",
            operation: "Encrypt".into(),
            read_only: true,
            region: "us-east-1".into(),
            access_key_id: None,
            caller: None,
            request_parameters: None,
            invoked_by: None,
        };
        let with_caller = RequestInfo {
            access_key_id: Some("AKIAEXAMPLE".into()),
            caller: Some(Caller::new(account.clone(), region, root)),
            user_agent: Some("boto3/1.0 \"quoted\" \u{7f} é".into()),
            request_parameters: Some(
                json!({"keyId": "alias/x", "encryptionContext": {"b": "1", "A": "2"}}),
            ),
            tls_details: Some(TlsDetails {
                tls_version: "TLSv1.3",
                cipher_suite: "TLS_AES_128_GCM_SHA256",
                client_provided_host_header: Some("kms.local:443".into()),
            }),
            invoked_by: Some("secretsmanager.amazonaws.com"),
            ..base.clone()
        };
        let error = ApiError::new(ErrorCode::NotFoundException, "Key 'x' does not exist");
        let silent = ApiError::new(ErrorCode::AccessDeniedException, "");
        let unknown_key = RequestInfo {
            access_key_id: Some("AKIAUNKNOWN".into()),
            tls_details: Some(TlsDetails {
                tls_version: "TLSv1.2",
                cipher_suite: "ECDHE-RSA-AES128-GCM-SHA256",
                client_provided_host_header: None,
            }),
            ..base.clone()
        };
        let caller_no_key = RequestInfo {
            access_key_id: None,
            invoked_by: None,
            ..with_caller.clone()
        };
        let infos = [&base, &with_caller, &unknown_key, &caller_no_key];
        let elements = json!({"keyId": "k", "nested": {"z": 1, "a": [true, null]}});
        let outcomes = [
            Recorded::default(),
            Recorded {
                key: Some(&key),
                ..Recorded::default()
            },
            Recorded {
                key: Some(&key),
                source_key: Some(&source),
                response_elements: Some(elements),
                error: None,
            },
            Recorded {
                error: Some(&error),
                ..Recorded::default()
            },
            Recorded {
                key: Some(&key),
                error: Some(&silent),
                ..Recorded::default()
            },
        ];
        for info in infos {
            for outcome in &outcomes {
                let draft = info.draft(outcome);
                let expected = info.draft_as_value(outcome, &draft.event_id);
                assert_eq!(
                    String::from_utf8_lossy(&draft.record),
                    String::from_utf8_lossy(&expected)
                );
            }
        }
    }
}
