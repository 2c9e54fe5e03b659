//! Getting audit records out: `kinko audit query` and `tail` (CloudTrail records, one JSON
//! object per line) and `kinko audit export` (CloudTrail's log-file layout, signed).
//!
//! An export directory looks like CloudTrail's S3 delivery:
//! - `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<chain>-<firstseq>.json.gz`:
//!   gzipped `{"Records":[...]}`, records in chain order, each with an added
//!   `kinkoChain: {chain, seq, prevHash, hash}` so the chain can be re-derived from the files
//!   alone;
//! - `AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<YYYYMMDDTHH00Z>.json.gz`:
//!   one per account, region and hour, listing its log files with their SHA-256, carrying the
//!   chain digests that cover their events, linked to the previous digest file, and signed with
//!   the audit signing key (`digestSignature`: Ed25519 over the canonical JSON of the file
//!   without that member).
//!
//! Records of requests whose caller was never identified go under account `000000000000`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use kinko_core::{AuditDigest, AuditEvent, AuditFilter, KeyId, Store, UnixMillis, hex};
use kinko_crypto::SigningKeyPair;
use serde_json::{Map, Value, json};

use crate::audit::canonical;
use crate::audit_verify::digest_to_json;
use crate::root::RootOptions;
use crate::{Config, DATABASE_FILE, OpenStore, open_store};

/// Path component of log files.
pub(crate) const LOG_DIR: &str = "CloudTrail";
/// Path component of digest files.
pub(crate) const DIGEST_DIR: &str = "CloudTrail-Digest";
/// Account directory of records without a known caller.
const NO_ACCOUNT: &str = "000000000000";
/// Events read per store call.
const PAGE: usize = 1000;
/// Most records in one log file.
const MAX_RECORDS_PER_FILE: usize = 5000;
/// Log files cover five minutes (as CloudTrail delivers them), digest files an hour.
const LOG_FILE_SECONDS: i64 = 300;
const DIGEST_FILE_SECONDS: i64 = 3600;
/// How often `tail --follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);
/// Settings written at first start; without them there is no signing key to export with.
const PUBLIC_KEY_SETTING: &str = "audit.public_key";

/// Which events `query`, `tail` and `export` take, as the operator typed it.
#[derive(Debug, Clone, Default)]
pub struct AuditSelection {
    /// Events at or after this time (RFC 3339, or seconds since the epoch).
    pub from: Option<String>,
    /// Events at or before this time (a whole second is included when no fraction is given).
    pub to: Option<String>,
    /// Events about this key (key id or key ARN).
    pub key: Option<String>,
    /// Events by this principal ARN.
    pub principal: Option<String>,
    /// Events of this operation (`eventName`).
    pub operation: Option<String>,
    /// `Some(true)`: failures only; `Some(false)`: successes only.
    pub failed: Option<bool>,
}

impl AuditSelection {
    /// The store filter, or why an argument is malformed.
    pub fn to_filter(&self) -> anyhow::Result<AuditFilter> {
        let key_id = match &self.key {
            None => None,
            Some(k) => {
                let id = k.rsplit_once(":key/").map_or(k.as_str(), |(_, id)| id);
                Some(KeyId::parse(id).ok_or_else(|| {
                    anyhow!("--key {k:?}: expected a key id or key ARN (aliases are not resolved)")
                })?)
            }
        };
        Ok(AuditFilter {
            from: self
                .from
                .as_deref()
                .map(|t| parse_time(t, false))
                .transpose()
                .context("--from")?,
            to: self
                .to
                .as_deref()
                .map(|t| parse_time(t, true))
                .transpose()
                .context("--to")?,
            key_id,
            principal_arn: self.principal.clone(),
            event_name: self.operation.clone(),
            failed: self.failed,
            ..AuditFilter::default()
        })
    }
}

/// RFC 3339 or epoch seconds; `end` extends a whole-second time to the end of that second.
fn parse_time(text: &str, end: bool) -> anyhow::Result<UnixMillis> {
    let extra = if end { 999 } else { 0 };
    if let Ok(secs) = text.parse::<i64>() {
        return secs
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(extra))
            .map(UnixMillis)
            .ok_or_else(|| anyhow!("{text} is out of range"));
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("{text:?} is neither RFC 3339 (2026-01-31T12:00:00Z) nor epoch seconds")
        })?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| anyhow!("{text} is out of range"))?;
    let whole_second = t.nanosecond() == 0;
    Ok(UnixMillis(if whole_second { ms + extra } else { ms }))
}

/// True when `e` matches every field `filter` sets (the store's query semantics, in memory).
pub(crate) fn matches(filter: &AuditFilter, e: &AuditEvent) -> bool {
    let d = &e.draft;
    filter.from.is_none_or(|f| d.time.0 >= f.0)
        && filter.to.is_none_or(|t| d.time.0 <= t.0)
        && filter.key_id.is_none_or(|k| d.key_id == Some(k))
        && filter
            .principal_arn
            .as_ref()
            .is_none_or(|p| d.principal_arn.as_ref() == Some(p))
        && filter
            .access_key_id
            .as_ref()
            .is_none_or(|a| d.access_key_id.as_ref() == Some(a))
        && filter
            .event_name
            .as_ref()
            .is_none_or(|n| d.event_name == *n)
        && filter.event_id.as_ref().is_none_or(|i| d.event_id == *i)
        && filter.failed.is_none_or(|f| d.error_code.is_some() == f)
        && filter.read_only.is_none_or(|r| d.read_only == r)
        && filter
            .account
            .as_ref()
            .is_none_or(|a| d.account.as_ref() == Some(a))
}

/// Opens the store of an existing installation (never creates one).
pub(crate) async fn open_existing(config: &Config) -> anyhow::Result<OpenStore> {
    if config.store.is_none() && !config.data_dir.join(DATABASE_FILE).exists() {
        bail!("{} holds no Kinko database", config.data_dir.display());
    }
    open_store(config).await
}

/// True when writing failed because the reader went away (`| head`): not an error.
fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// `kinko audit query`: records matching `filter`, newest first, at most `limit`, each passed
/// to `out`. Returns how many.
pub async fn query_installation(
    config: &Config,
    filter: &AuditFilter,
    limit: Option<usize>,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<u64> {
    let store = open_existing(config).await?;
    let result = query(&*store, filter, limit, out).await;
    store.close().await;
    result
}

async fn query(
    store: &dyn Store,
    filter: &AuditFilter,
    limit: Option<usize>,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<u64> {
    let mut remaining = limit.unwrap_or(usize::MAX);
    let mut cursor = None;
    let mut written = 0u64;
    while remaining > 0 {
        let page = store
            .query_audit(filter, cursor.as_ref(), remaining.min(PAGE))
            .await
            .context("querying the audit trail")?;
        let Some(last) = page.last() else { break };
        cursor = Some((last.draft.time.0, last.chain.clone(), last.seq));
        for e in &page {
            match out(&e.draft.record) {
                Ok(()) => written += 1,
                Err(e) if is_broken_pipe(&e) => return Ok(written),
                Err(e) => return Err(anyhow::Error::new(e).context("writing a record")),
            }
        }
        remaining = remaining.saturating_sub(page.len());
    }
    Ok(written)
}

/// `kinko audit tail`: the last `last` records matching `filter`, oldest first; with `follow`,
/// then every new matching record as it is appended, until the process is stopped (or the
/// reader goes away).
pub async fn tail_installation(
    config: &Config,
    filter: &AuditFilter,
    last: usize,
    follow: bool,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let store = open_existing(config).await?;
    let result = tail(&*store, filter, last, follow, out).await;
    store.close().await;
    result
}

async fn tail(
    store: &dyn Store,
    filter: &AuditFilter,
    last: usize,
    follow: bool,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    // Heads first: what the query shows beyond them is left to the follow loop, so nothing is
    // printed twice and nothing is missed.
    let mut seen: BTreeMap<String, i64> = store
        .audit_chains()
        .await
        .context("reading chain heads")?
        .into_iter()
        .map(|h| (h.chain, h.last_seq))
        .collect();
    let mut initial = store
        .query_audit(filter, None, last)
        .await
        .context("querying the audit trail")?;
    initial.retain(|e| seen.get(&e.chain).is_some_and(|s| e.seq <= *s));
    initial.reverse();
    if !emit(&initial, out)? || !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let heads = store.audit_chains().await.context("reading chain heads")?;
        let mut fresh = Vec::new();
        for head in heads {
            let mut after = seen.get(&head.chain).copied().unwrap_or(0);
            while after < head.last_seq {
                let page = store
                    .audit_events(&head.chain, after, PAGE)
                    .await
                    .context("reading new events")?;
                let Some(tail) = page.last() else { break };
                after = tail.seq;
                fresh.extend(page.into_iter().filter(|e| matches(filter, e)));
            }
            seen.insert(head.chain, after);
        }
        fresh.sort_by(|a, b| (a.draft.time, &a.chain, a.seq).cmp(&(b.draft.time, &b.chain, b.seq)));
        if !emit(&fresh, out)? {
            return Ok(());
        }
    }
}

/// Writes records; false when the reader went away.
fn emit(
    events: &[AuditEvent],
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> anyhow::Result<bool> {
    for e in events {
        match out(&e.draft.record) {
            Ok(()) => {}
            Err(err) if is_broken_pipe(&err) => return Ok(false),
            Err(err) => return Err(anyhow::Error::new(err).context("writing a record")),
        }
    }
    Ok(true)
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Records exported.
    pub records: u64,
    /// Log files written.
    pub log_files: u64,
    /// Digest files written.
    pub digest_files: u64,
    /// The export directory.
    pub out_dir: PathBuf,
}

/// A log file being filled.
#[derive(Debug)]
struct Pending {
    account: String,
    region: String,
    bucket: i64,
    chain: String,
    records: Vec<Value>,
    first_seq: i64,
    last_seq: i64,
    oldest: UnixMillis,
    newest: UnixMillis,
}

/// A log file written.
#[derive(Debug, Clone)]
struct Written {
    path: String,
    hash: String,
    account: String,
    region: String,
    bucket: i64,
    chain: String,
    first_seq: i64,
    last_seq: i64,
    records: usize,
    oldest: UnixMillis,
    newest: UnixMillis,
}

/// Exports the events matching `filter` to `out_dir` in CloudTrail's layout, signing the digest
/// files with `signing_key` (the installation's audit signing key).
pub async fn export(
    store: &dyn Store,
    signing_key: &SigningKeyPair,
    out_dir: &Path,
    filter: &AuditFilter,
) -> anyhow::Result<ExportReport> {
    let logs = out_dir.join("AWSLogs");
    if logs.exists() {
        bail!(
            "{} already holds an export; choose a new directory",
            out_dir.display()
        );
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let filtered = filter != &AuditFilter::default();
    let mut written: Vec<Written> = Vec::new();
    let mut digests: BTreeMap<String, Vec<AuditDigest>> = BTreeMap::new();
    let mut report = ExportReport {
        out_dir: out_dir.to_owned(),
        ..ExportReport::default()
    };
    let chains = store.audit_chains().await.context("reading chain heads")?;
    for head in chains {
        let chain = head.chain;
        digests.insert(
            chain.clone(),
            store
                .list_digests(&chain)
                .await
                .context("reading digests")?,
        );
        let mut pending: Option<Pending> = None;
        let mut after = 0;
        loop {
            let page = store
                .audit_events(&chain, after, PAGE)
                .await
                .context("reading events")?;
            let Some(tail) = page.last() else { break };
            after = tail.seq;
            for e in page.iter().filter(|e| matches(filter, e)) {
                let mut record: Map<String, Value> = serde_json::from_slice(&e.draft.record)
                    .with_context(|| format!("the record at {chain} seq {} is not JSON", e.seq))?;
                let account = e
                    .draft
                    .account
                    .as_ref()
                    .map_or(NO_ACCOUNT, |a| a.as_str())
                    .to_owned();
                let region = record
                    .get("awsRegion")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown-region")
                    .to_owned();
                let secs = e.draft.time.as_secs();
                let bucket = secs - secs.rem_euclid(LOG_FILE_SECONDS);
                let fits = pending.as_ref().is_some_and(|p| {
                    p.account == account
                        && p.region == region
                        && p.bucket == bucket
                        && p.records.len() < MAX_RECORDS_PER_FILE
                });
                if !fits && let Some(p) = pending.take() {
                    written.push(write_log_file(out_dir, p)?);
                }
                record.insert(
                    "kinkoChain".into(),
                    json!({
                        "chain": chain,
                        "seq": e.seq,
                        "prevHash": hex(&e.prev_hash),
                        "hash": hex(&e.hash),
                    }),
                );
                let p = pending.get_or_insert_with(|| Pending {
                    account,
                    region,
                    bucket,
                    chain: chain.clone(),
                    records: Vec::new(),
                    first_seq: e.seq,
                    last_seq: e.seq,
                    oldest: e.draft.time,
                    newest: e.draft.time,
                });
                p.records.push(Value::Object(record));
                p.last_seq = e.seq;
                p.oldest = p.oldest.min(e.draft.time);
                p.newest = p.newest.max(e.draft.time);
                report.records += 1;
            }
        }
        if let Some(p) = pending.take() {
            written.push(write_log_file(out_dir, p)?);
        }
    }
    report.log_files = u64::try_from(written.len()).unwrap_or(u64::MAX);

    // One digest file per account, region and hour, each linked to the previous one.
    let mut groups: BTreeMap<(String, String, i64), Vec<&Written>> = BTreeMap::new();
    for w in &written {
        let hour = w.bucket - w.bucket.rem_euclid(DIGEST_FILE_SECONDS);
        groups
            .entry((w.account.clone(), w.region.clone(), hour))
            .or_default()
            .push(w);
    }
    let fingerprint = hex(&kinko_crypto::sha256(&signing_key.public_key()));
    let mut previous: BTreeMap<(String, String), (String, String, String)> = BTreeMap::new();
    for ((account, region, hour), files) in groups {
        let start = utc(hour)?;
        let relative = format!(
            "AWSLogs/{account}/{DIGEST_DIR}/{region}/{:04}/{:02}/{:02}/{account}_{DIGEST_DIR}_{region}_{}.json.gz",
            start.year(),
            u8::from(start.month()),
            start.day(),
            stamp(hour)?
        );
        let log_files: Vec<Value> = files
            .iter()
            .map(|w| {
                json!({
                    "s3Object": w.path,
                    "hashValue": w.hash,
                    "hashAlgorithm": "SHA-256",
                    "oldestEventTime": crate::audit::iso8601(w.oldest),
                    "newestEventTime": crate::audit::iso8601(w.newest),
                    "kinkoChain": w.chain,
                    "kinkoFirstSeq": w.first_seq,
                    "kinkoLastSeq": w.last_seq,
                    "kinkoRecords": w.records,
                })
            })
            .collect();
        let mut covering: Vec<Value> = Vec::new();
        let mut chains_here: Vec<&str> = files.iter().map(|w| w.chain.as_str()).collect();
        chains_here.sort_unstable();
        chains_here.dedup();
        for chain in chains_here {
            let Some(list) = digests.get(chain) else {
                continue;
            };
            let newest_anchor = list
                .iter()
                .filter(|d| d.prune_anchor)
                .max_by_key(|d| d.last_seq);
            for d in list {
                let overlaps = files.iter().any(|w| {
                    w.chain == chain && d.first_seq <= w.last_seq && w.first_seq <= d.last_seq
                });
                let is_newest_anchor = newest_anchor.is_some_and(|a| std::ptr::eq(a, d));
                if (overlaps && !d.prune_anchor) || is_newest_anchor {
                    covering.push(digest_to_json(d));
                }
            }
        }
        let group = (account.clone(), region.clone());
        let prev = previous.get(&group);
        let mut body = json!({
            "awsAccountId": account,
            "awsRegion": region,
            "digestStartTime": crate::audit::iso8601(UnixMillis(hour * 1000)),
            "digestEndTime": crate::audit::iso8601(UnixMillis((hour + DIGEST_FILE_SECONDS) * 1000)),
            "digestS3Object": relative,
            "digestPublicKeyFingerprint": fingerprint,
            "digestSignatureAlgorithm": "Ed25519",
            "previousDigestS3Object": prev.map(|p| p.0.clone()),
            "previousDigestSignature": prev.map(|p| p.1.clone()),
            "previousDigestHashValue": prev.map(|p| p.2.clone()),
            "previousDigestHashAlgorithm": prev.map(|_| "SHA-256"),
            "logFiles": log_files,
            "kinkoDigests": covering,
            "kinkoFiltered": filtered,
        });
        let signature = hex(&signing_key.sign(&canonical(&body)));
        if let Value::Object(m) = &mut body {
            m.insert("digestSignature".into(), json!(signature));
        }
        let bytes = gzip(&canonical(&body)).context("compressing a digest file")?;
        write_file(out_dir, &relative, &bytes)?;
        previous.insert(
            group,
            (relative, signature, hex(&kinko_crypto::sha256(&bytes))),
        );
        report.digest_files += 1;
    }
    Ok(report)
}

fn write_log_file(out_dir: &Path, p: Pending) -> anyhow::Result<Written> {
    let start = utc(p.bucket)?;
    let relative = format!(
        "AWSLogs/{account}/{LOG_DIR}/{region}/{:04}/{:02}/{:02}/{account}_{LOG_DIR}_{region}_{}_{}-{}.json.gz",
        start.year(),
        u8::from(start.month()),
        start.day(),
        stamp(p.bucket)?,
        file_safe(&p.chain),
        p.first_seq,
        account = p.account,
        region = p.region,
    );
    let count = p.records.len();
    let body = canonical(&json!({ "Records": p.records }));
    let bytes = gzip(&body).context("compressing a log file")?;
    write_file(out_dir, &relative, &bytes)?;
    Ok(Written {
        path: relative,
        hash: hex(&kinko_crypto::sha256(&bytes)),
        account: p.account,
        region: p.region,
        bucket: p.bucket,
        chain: p.chain,
        first_seq: p.first_seq,
        last_seq: p.last_seq,
        records: count,
        oldest: p.oldest,
        newest: p.newest,
    })
}

fn write_file(out_dir: &Path, relative: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = out_dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// A chain name as a file-name part: anything but `[A-Za-z0-9._-]` becomes `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn utc(secs: i64) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| anyhow!("time {secs} out of range"))
}

/// `YYYYMMDDTHHmmZ`.
fn stamp(secs: i64) -> anyhow::Result<String> {
    let t = utc(secs)?;
    Ok(format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    ))
}

/// Gzip with a fixed header (no name, mtime 0), so equal input gives equal files.
pub(crate) fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Decompresses a gzip file.
pub(crate) fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// A relative path with `/` separators (as the digest files name their objects).
pub(crate) fn path_text(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// 64 hex digits as 32 bytes.
pub(crate) fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Loads the installation's audit signing key to sign an export: opens the current root of
/// trust (`root`) and unwraps the key. Never creates a key; publishes the public key into
/// `publish_dir` (the export directory), not into the data directory.
pub async fn load_signing_key_for_export(
    store: &dyn Store,
    config: &Config,
    root: &RootOptions,
    publish_dir: &Path,
) -> anyhow::Result<Arc<SigningKeyPair>> {
    let recorded = store
        .get_setting(PUBLIC_KEY_SETTING)
        .await
        .context("reading settings")?
        .ok_or_else(|| {
            anyhow!("this installation has no audit signing key yet: start the server once")
        })?;
    let root = crate::root::open_current(&config.data_dir, store, root).await?;
    std::fs::create_dir_all(publish_dir)
        .with_context(|| format!("creating {}", publish_dir.display()))?;
    let key = crate::audit::load_signing_key(store, root.as_ref(), publish_dir).await?;
    if hex(&key.public_key()) != recorded {
        bail!("the audit signing key does not match the audit public key the store records");
    }
    Ok(key)
}

/// `kinko audit export`: opens the installation, unwraps its audit signing key with `root`, and
/// exports the events matching `filter` to `out_dir` (which gets a copy of the public key).
pub async fn export_installation(
    config: &Config,
    root: &RootOptions,
    out_dir: &Path,
    filter: &AuditFilter,
) -> anyhow::Result<ExportReport> {
    if out_dir.join("AWSLogs").exists() {
        bail!(
            "{} already holds an export; choose a new directory",
            out_dir.display()
        );
    }
    let store = open_existing(config).await?;
    let result = async {
        let key = load_signing_key_for_export(&*store, config, root, out_dir).await?;
        export(&*store, &key, out_dir, filter).await
    }
    .await;
    store.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_epoch_seconds() {
        let parsed = |t: &str, end: bool| parse_time(t, end).map(|m| m.0).ok();
        assert_eq!(parsed("1700000000", false), Some(1_700_000_000_000));
        assert_eq!(parsed("1700000000", true), Some(1_700_000_000_999));
        assert_eq!(
            parsed("2023-11-14T22:13:20Z", false),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parsed("2023-11-14T22:13:20Z", true),
            Some(1_700_000_000_999)
        );
        assert_eq!(
            parsed("2023-11-14T22:13:20.250Z", true),
            Some(1_700_000_000_250)
        );
        assert_eq!(parsed("yesterday", false), None);
    }

    #[test]
    fn selection_accepts_key_ids_and_arns_only() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        for key in [
            id.to_owned(),
            format!("arn:aws:kms:us-east-1:111122223333:key/{id}"),
        ] {
            let filter = AuditSelection {
                key: Some(key),
                ..AuditSelection::default()
            }
            .to_filter()
            .ok()
            .and_then(|f| f.key_id);
            assert_eq!(filter.map(|k| k.to_string()), Some(id.to_owned()));
        }
        let alias = AuditSelection {
            key: Some("alias/x".into()),
            ..AuditSelection::default()
        };
        assert!(alias.to_filter().is_err());
    }

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        let data = b"{\"Records\":[]}".repeat(50);
        let a = gzip(&data).unwrap_or_default();
        let b = gzip(&data).unwrap_or_default();
        assert_eq!(a, b);
        assert_eq!(gunzip(&a).unwrap_or_default(), data);
        assert_eq!(unhex32(&hex(&[7u8; 32])), Some([7u8; 32]));
        assert_eq!(unhex32("zz"), None);
        assert_eq!(file_safe("node/1 a"), "node_1_a");
        assert_eq!(stamp(1_700_000_000).ok().as_deref(), Some("20231114T2213Z"));
    }
}
