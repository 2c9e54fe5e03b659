//! `kinko audit export`: an installation's audit records in CloudTrail's log-file layout, signed.
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
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kinko_core::{AuditDigest, AuditFilter, BoxError, Store, UnixMillis, hex};
use kinko_crypto::{RootKey, SigningKeyPair};
use serde_json::{Map, Value, json};

use crate::layout::{DIGEST_DIR, LOG_DIR, digest_to_json, gzip};
use crate::record::{canonical, iso8601};
use crate::select::matches;
use crate::signing::{SigningKeyError, load_signing_key_for_export};
use crate::trail_error::TrailError;

/// Account directory of records without a known caller.
const NO_ACCOUNT: &str = "000000000000";
/// Events read per store call.
const PAGE: usize = 1000;
/// Most records in one log file.
const MAX_RECORDS_PER_FILE: usize = 5000;
/// Log files cover five minutes (as CloudTrail delivers them), digest files an hour.
const LOG_FILE_SECONDS: i64 = 300;
const DIGEST_FILE_SECONDS: i64 = 3600;

/// Why an export stopped. Whatever it wrote stays in the (new) export directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The directory holds an export already.
    #[error("{} already holds an export; choose a new directory", .0.display())]
    Exists(PathBuf),
    /// Reading the store failed.
    #[error(transparent)]
    Trail(#[from] TrailError),
    /// The audit signing key (or the root of trust that unwraps it) could not be loaded.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// A stored record is not JSON.
    #[error("the record at {chain} seq {seq} is not JSON")]
    NotJson {
        /// The chain.
        chain: String,
        /// The record's sequence number.
        seq: i64,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A file or directory could not be compressed, created or written.
    #[error("{what} {}", path.display())]
    Io {
        /// The step: `creating`, `writing`, `compressing`.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// An event time beyond what a calendar date holds.
    #[error("time {0} out of range")]
    TimeOutOfRange(i64),
}

impl ExportError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExportError {
        let path = path.to_owned();
        move |source| ExportError::Io { what, path, source }
    }
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
) -> Result<ExportReport, ExportError> {
    ensure_new_export_dir(out_dir)?;
    std::fs::create_dir_all(out_dir).map_err(ExportError::io("creating", out_dir))?;
    let filtered = filter != &AuditFilter::default();
    let mut written: Vec<Written> = Vec::new();
    let mut digests: BTreeMap<String, Vec<AuditDigest>> = BTreeMap::new();
    let mut report = ExportReport {
        out_dir: out_dir.to_owned(),
        ..ExportReport::default()
    };
    let chains = store
        .audit_chains()
        .await
        .map_err(TrailError::store("reading chain heads"))?;
    for head in chains {
        let chain = head.chain;
        digests.insert(
            chain.clone(),
            store
                .list_digests(&chain)
                .await
                .map_err(TrailError::store("reading digests"))?,
        );
        let mut pending: Option<Pending> = None;
        let mut after = 0;
        loop {
            let page = store
                .audit_events(&chain, after, PAGE)
                .await
                .map_err(TrailError::store("reading events"))?;
            let Some(tail) = page.last() else { break };
            after = tail.seq;
            for e in page.iter().filter(|e| matches(filter, e)) {
                let mut record: Map<String, Value> = serde_json::from_slice(&e.draft.record)
                    .map_err(|source| ExportError::NotJson {
                        chain: chain.clone(),
                        seq: e.seq,
                        source,
                    })?;
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
                    "oldestEventTime": iso8601(w.oldest),
                    "newestEventTime": iso8601(w.newest),
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
            "digestStartTime": iso8601(UnixMillis(hour * 1000)),
            "digestEndTime": iso8601(UnixMillis((hour + DIGEST_FILE_SECONDS) * 1000)),
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
        let bytes = gzip(&canonical(&body))
            .map_err(ExportError::io("compressing", &out_dir.join(&relative)))?;
        write_file(out_dir, &relative, &bytes)?;
        previous.insert(
            group,
            (relative, signature, hex(&kinko_crypto::sha256(&bytes))),
        );
        report.digest_files += 1;
    }
    Ok(report)
}

fn write_log_file(out_dir: &Path, p: Pending) -> Result<Written, ExportError> {
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
    let bytes = gzip(&body).map_err(ExportError::io("compressing", &out_dir.join(&relative)))?;
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

fn write_file(out_dir: &Path, relative: &str, bytes: &[u8]) -> Result<(), ExportError> {
    let path = out_dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(ExportError::io("creating", parent))?;
    }
    std::fs::write(&path, bytes).map_err(ExportError::io("writing", &path))
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

fn utc(secs: i64) -> Result<time::OffsetDateTime, ExportError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| ExportError::TimeOutOfRange(secs))
}

/// `YYYYMMDDTHHmmZ`.
fn stamp(secs: i64) -> Result<String, ExportError> {
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

/// Refuses a directory that already holds an export (checked before anything is opened, and
/// again by [`export`]).
pub fn ensure_new_export_dir(out_dir: &Path) -> Result<(), ExportError> {
    if out_dir.join("AWSLogs").exists() {
        return Err(ExportError::Exists(out_dir.to_owned()));
    }
    Ok(())
}

/// `kinko audit export` on an installation's store: unwraps its audit signing key with the root
/// of trust `open_root` yields (awaited only once the store is known to hold a signing key) and
/// exports the events matching `filter` to `out_dir` (which gets a copy of the public key).
pub async fn export_installation<E: Into<BoxError>>(
    store: &dyn Store,
    open_root: impl Future<Output = Result<Arc<dyn RootKey>, E>>,
    out_dir: &Path,
    filter: &AuditFilter,
) -> Result<ExportReport, ExportError> {
    ensure_new_export_dir(out_dir)?;
    let key = load_signing_key_for_export(store, open_root, out_dir).await?;
    export(store, &key, out_dir, filter).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::gunzip;

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        let data = b"{\"Records\":[]}".repeat(50);
        let a = gzip(&data).unwrap_or_default();
        let b = gzip(&data).unwrap_or_default();
        assert_eq!(a, b);
        assert_eq!(gunzip(&a).unwrap_or_default(), data);
        assert_eq!(file_safe("node/1 a"), "node_1_a");
        assert_eq!(stamp(1_700_000_000).ok().as_deref(), Some("20231114T2213Z"));
    }
}
