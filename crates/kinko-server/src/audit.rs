//! The audit trail, server side: every request becomes one CloudTrail-shaped record; records of
//! successful changes commit in the change's own transaction (see `kinko_core::Store`), all
//! others go through a group-commit writer, and the response is sent only after the record is
//! durable. A sealer task signs digests of the chain with the audit signing key.
//!
//! Records never contain plaintexts, ciphertexts, messages, key material, data keys, grant tokens
//! or secrets: request parameters are serialized from the typed request, whose secret members
//! are marked to be skipped (`kinko_api`), so a member the model does not know never reaches a
//! record either.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use kinko_api::ErrorCode;
use kinko_core::{AuditDigest, AuditDraft, Caller, ChainPosition, Key, KeyArn, Store, UnixMillis};
use kinko_crypto::{RootKey, SecretBytes, SigningKeyPair};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::errors::ApiError;
pub use crate::util::iso8601;

/// `eventVersion` of the records Kinko writes.
pub const EVENT_VERSION: &str = "1.11";
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
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// `kms.amazonaws.com`, `cloudtrail.amazonaws.com`, `iam.amazonaws.com` or
    /// `sts.amazonaws.com`.
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
}

impl RequestInfo {
    /// Builds the record of this request.
    pub fn draft(&self, outcome: &Recorded<'_>) -> AuditDraft {
        let event_id = crate::util::new_uuid();
        let account = self.caller.as_ref().map(|c| c.account.clone());
        let mut record = Map::new();
        record.insert("eventVersion".into(), json!(EVENT_VERSION));
        record.insert("userIdentity".into(), self.user_identity());
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
        if let Some(e) = outcome.error {
            record.insert("errorCode".into(), json!(e.code.as_str()));
            if !e.message.is_empty() {
                record.insert("errorMessage".into(), json!(e.message));
            }
        }
        AuditDraft {
            event_id,
            request_id: Some(self.request_id.clone()),
            time: self.time,
            event_source: self.event_source.to_owned(),
            event_name: self.operation.clone(),
            read_only: self.read_only,
            account,
            principal_arn: self.caller.as_ref().map(|c| c.principal_arn.clone()),
            access_key_id: self.access_key_id.clone(),
            key_id: outcome.key.map(|k| k.key_id),
            source_key_id: outcome.source_key.map(|k| k.key_id),
            error_code: outcome.error.map(|e| e.code.as_str().to_owned()),
            record: canonical(&Value::Object(record)),
        }
    }

    fn user_identity(&self) -> Value {
        match &self.caller {
            Some(c) => {
                let kind = if c.principal_arn.ends_with(":root") {
                    "Root"
                } else if c.principal_arn.contains(":assumed-role/") {
                    "AssumedRole"
                } else {
                    "IAMUser"
                };
                json!({
                    "type": kind,
                    "principalId": c.account.as_str(),
                    "arn": c.principal_arn,
                    "accountId": c.account.as_str(),
                    "accessKeyId": self.access_key_id,
                })
            }
            None => match &self.access_key_id {
                Some(id) => json!({ "type": "Unknown", "accessKeyId": id }),
                None => json!({ "type": "Unknown" }),
            },
        }
    }
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

/// Canonical JSON: serde_json's map is ordered by key, and compact output is deterministic,
/// so parsing and re-serialising a record gives back the same bytes.
pub fn canonical(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
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
pub struct AuditWriter(mpsc::Sender<JobHandle>);

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
                let result = sink.append(&chain, &drafts, &mut memory_head).await;
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
        AuditWriter(tx)
    }

    /// Appends one record and waits until the sink has it (for the store: until it is durable).
    pub async fn append(&self, draft: AuditDraft) -> Result<(), AuditUnavailable> {
        let (done, wait) = oneshot::channel();
        self.0
            .send(JobHandle(Job { draft, done }))
            .await
            .map_err(|_| AuditUnavailable("the audit writer has stopped".into()))?;
        wait.await
            .map_err(|_| AuditUnavailable("the audit writer has stopped".into()))?
            .map_err(AuditUnavailable)
    }
}

/// Settings that hold the audit signing key.
const SIGNING_KEY_SETTING: &str = "audit.signing_key";
const PUBLIC_KEY_SETTING: &str = "audit.public_key";
/// File the public key is published to, in the data directory.
pub const PUBLIC_KEY_FILE: &str = "audit-public-key.pem";

fn signing_key_aad() -> &'static [u8] {
    b"kinko/audit-signing-key/v1"
}

/// Loads the audit signing key (wrapped under the root key), creating it on first start, and
/// publishes its public key to `<data-dir>/audit-public-key.pem`.
pub async fn load_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    data_dir: &Path,
) -> anyhow::Result<Arc<SigningKeyPair>> {
    let key = match store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .context("reading settings")?
    {
        Some(value) => unwrap_signing_key(root, &value)?,
        None => {
            // Nodes starting at once on one empty database: the first key stored wins (insert-
            // or-ignore, then read back), and every node signs with it.
            let (key, pkcs8) = SigningKeyPair::generate().map_err(|e| anyhow!("{e}"))?;
            let wrapped = root
                .wrap(&pkcs8, signing_key_aad())
                .map_err(|e| anyhow!("{e}"))?;
            let ours = format!("{}:{}", root.id(), kinko_core::hex(&wrapped));
            let stored = store
                .put_setting_if_absent(SIGNING_KEY_SETTING, &ours)
                .await
                .context("recording the audit signing key")?;
            if stored == ours {
                store
                    .put_setting(PUBLIC_KEY_SETTING, &kinko_core::hex(&key.public_key()))
                    .await
                    .context("recording the audit public key")?;
                key
            } else {
                unwrap_signing_key(root, &stored)?
            }
        }
    };
    publish_public_key(&key, data_dir)?;
    Ok(Arc::new(key))
}

fn unwrap_signing_key(root: &dyn RootKey, value: &str) -> anyhow::Result<SigningKeyPair> {
    let (_root_id, wrapped) = value
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("malformed audit signing key setting"))?;
    let wrapped = unhex(wrapped)?;
    let pkcs8 = root
        .unwrap(&wrapped, signing_key_aad())
        .map_err(|_| anyhow!("the audit signing key does not unwrap under this root of trust"))?;
    SigningKeyPair::from_pkcs8(&pkcs8).map_err(|e| anyhow!("audit signing key: {e}"))
}

async fn store_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    pkcs8: &SecretBytes,
) -> anyhow::Result<()> {
    let wrapped = root
        .wrap(pkcs8, signing_key_aad())
        .map_err(|e| anyhow!("{e}"))?;
    store
        .put_setting(
            SIGNING_KEY_SETTING,
            &format!("{}:{}", root.id(), kinko_core::hex(&wrapped)),
        )
        .await
        .context("recording the audit signing key")
}

/// Rewraps the audit signing key from `from` to `to` (root migration).
pub async fn rewrap_signing_key(
    store: &dyn Store,
    from: &dyn RootKey,
    to: &dyn RootKey,
) -> anyhow::Result<()> {
    let Some(value) = store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .context("reading settings")?
    else {
        return Ok(());
    };
    let (root_id, wrapped) = value
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("malformed audit signing key setting"))?;
    if root_id == to.id() {
        return Ok(());
    }
    let pkcs8 = from
        .unwrap(&unhex(wrapped)?, signing_key_aad())
        .map_err(|_| anyhow!("the audit signing key does not unwrap under the current root"))?;
    store_signing_key(store, to, &pkcs8).await
}

fn publish_public_key(key: &SigningKeyPair, data_dir: &Path) -> anyhow::Result<()> {
    use base64::Engine;
    let spki = key.public_key_spki().map_err(|e| anyhow!("{e}"))?;
    let body = base64::engine::general_purpose::STANDARD.encode(spki);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    std::fs::write(data_dir.join(PUBLIC_KEY_FILE), pem).context("publishing the audit public key")
}

fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(anyhow!("odd-length hex"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("bad hex"))
        })
        .collect()
}

/// Seals the chain: signs a digest of everything appended since the last digest.
pub async fn seal(
    store: &dyn Store,
    key: &SigningKeyPair,
    chain: &str,
    now: UnixMillis,
) -> anyhow::Result<Option<AuditDigest>> {
    let head = store
        .audit_chains()
        .await
        .context("reading chain heads")?
        .into_iter()
        .find(|h| h.chain == chain);
    let Some(head) = head else { return Ok(None) };
    let digests = store.list_digests(chain).await.context("reading digests")?;
    let last = digests.last();
    let sealed_to = last.map_or(0, |d| d.last_seq);
    if head.last_seq <= sealed_to {
        return Ok(None);
    }
    let mut digest = AuditDigest {
        chain: chain.to_owned(),
        first_seq: sealed_to + 1,
        last_seq: head.last_seq,
        last_hash: head.last_hash,
        time: now,
        prev_signature: last.map(|d| d.signature.clone()).unwrap_or_default(),
        prune_anchor: false,
        signature: Vec::new(),
    };
    digest.signature = key.sign(&digest.message());
    store
        .put_digest(&digest)
        .await
        .context("storing the digest")?;
    Ok(Some(digest))
}

/// Deletes events older than `retention`, first sealing the chain so that a signed anchor marks
/// where it now starts.
pub async fn prune(
    store: &dyn Store,
    key: &SigningKeyPair,
    chain: &str,
    now: UnixMillis,
    retention: Duration,
) -> anyhow::Result<u64> {
    let cutoff = now.0 - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    seal(store, key, chain, now).await?;
    let digests = store.list_digests(chain).await.context("reading digests")?;
    let start = digests
        .iter()
        .filter(|d| d.prune_anchor)
        .map(|d| d.last_seq)
        .max()
        .unwrap_or(0);
    // The newest event older than the cutoff.
    let mut last_old = None;
    let mut after = start;
    loop {
        let events = store
            .audit_events(chain, after, 1000)
            .await
            .context("reading events")?;
        let Some(tail) = events.last() else { break };
        after = tail.seq;
        let mut stop = false;
        for e in &events {
            if e.draft.time.0 < cutoff {
                last_old = Some((e.seq, e.hash));
            } else {
                stop = true;
                break;
            }
        }
        if stop {
            break;
        }
    }
    let Some((last_seq, last_hash)) = last_old else {
        return Ok(0);
    };
    let mut anchor = AuditDigest {
        chain: chain.to_owned(),
        first_seq: start + 1,
        last_seq,
        last_hash,
        time: now,
        prev_signature: digests
            .last()
            .map(|d| d.signature.clone())
            .unwrap_or_default(),
        prune_anchor: true,
        signature: Vec::new(),
    };
    anchor.signature = key.sign(&anchor.message());
    store.prune_audit(&anchor).await.context("pruning")
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
