//! Verifying an exported directory (`kinko audit export --out DIR`) with the audit public key:
//! digest-file signatures and their chain of previous-digest links, log-file hashes, record
//! hashes and chain links, and the chain digests the digest files carry. The layout itself is
//! `crate::layout`, shared with the exporter.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use kinko_core::{AuditDigest, chain_hash, hex};
use kinko_crypto::verify_ed25519;
use serde_json::Value;

use super::report::{
    BreakKind, ChainReport, Verdict, VerifyBreak, VerifyError, VerifyReport, brk, digest_name,
};
use crate::layout::{DIGEST_DIR, LOG_DIR, digest_from_json, gunzip, path_text};
use crate::record::canonical;
use crate::signing::read_pem_file;
use kinko_crypto::hex::{decode as unhex, decode_array as unhex32};

/// A record of an exported log file, as far as the chain is concerned.
#[derive(Debug, Clone)]
struct ExportedRecord {
    seq: i64,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    event_id: Option<String>,
    file: String,
}

/// A log file as a digest file lists it.
#[derive(Debug, Clone)]
struct Listed {
    path: String,
    hash: String,
    chain: String,
    first_seq: i64,
    digest_file: String,
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> VerifyError {
    move |source| VerifyError::Io { what, source }
}

/// Every regular file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(io_err(format!("listing {}", d.display())))?;
        for entry in entries {
            let path = entry
                .map_err(io_err(format!("listing {}", d.display())))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A break about a whole file (chain and seq from what the digest file says it holds).
fn file_break(listed: &Listed, kind: BreakKind, detail: String) -> VerifyBreak {
    brk(&listed.chain, listed.first_seq, None, kind, detail)
}

/// Verifies an exported directory (`kinko audit export --out DIR`) with the audit public key:
/// digest-file signatures and links, log-file hashes, record hashes and chain links, and the
/// chain digests the digest files carry.
pub fn verify_export(dir: &Path, public_key: &[u8]) -> Result<VerifyReport, VerifyError> {
    let root = dir.join("AWSLogs");
    if !root.is_dir() {
        return Err(VerifyError::NotExport(dir.to_owned()));
    }
    let files = files_under(&root)?;
    let relative = |p: &Path| -> String {
        p.strip_prefix(dir)
            .map(path_text)
            .unwrap_or_else(|_| path_text(p))
    };
    let is_digest = |p: &Path| p.components().any(|c| c.as_os_str() == DIGEST_DIR);
    let is_log = |p: &Path| p.components().any(|c| c.as_os_str() == LOG_DIR);

    // Digest files: signatures, self-names, and their chain of previous-digest links.
    struct DigestFile {
        path: String,
        bytes_hash: String,
        body: serde_json::Map<String, Value>,
        signature: String,
        group: (String, String),
        start: String,
    }
    let mut digest_files = Vec::new();
    let mut chain_digests: BTreeMap<(String, i64, bool), AuditDigest> = BTreeMap::new();
    let mut listed: BTreeMap<String, Listed> = BTreeMap::new();
    let mut files_checked = 0u64;
    for path in files.iter().filter(|p| is_digest(p)) {
        let name = relative(path);
        let bytes = std::fs::read(path).map_err(io_err(format!("reading {name}")))?;
        files_checked += 1;
        let here = brk("-", 0, None, BreakKind::Modified, "");
        let bad = |kind: BreakKind, detail: String| VerifyBreak {
            kind,
            detail,
            ..here.clone()
        };
        let json = gunzip(&bytes)
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok());
        let Some(Value::Object(mut body)) = json else {
            return Err(bad(
                BreakKind::Modified,
                format!("digest file {name} is not gzipped JSON"),
            )
            .into());
        };
        let signature = body
            .remove("digestSignature")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let message = canonical(&Value::Object(body.clone()));
        let sig_ok = unhex(&signature)
            .map(|s| verify_ed25519(public_key, &message, &s))
            .unwrap_or(false);
        if !sig_ok {
            return Err(bad(
                BreakKind::BadSignature,
                format!("digest file {name} is not signed by the audit public key"),
            )
            .into());
        }
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
        if field("digestS3Object") != name {
            return Err(bad(
                BreakKind::Modified,
                format!(
                    "digest file {name} says it is {}: it was moved or renamed",
                    field("digestS3Object")
                ),
            )
            .into());
        }
        for entry in body
            .get("logFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let get = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default();
            let item = Listed {
                path: get("s3Object").to_owned(),
                hash: get("hashValue").to_owned(),
                chain: get("kinkoChain").to_owned(),
                first_seq: entry
                    .get("kinkoFirstSeq")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                digest_file: name.clone(),
            };
            listed.insert(item.path.clone(), item);
        }
        for d in body
            .get("kinkoDigests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let digest = digest_from_json(d).ok_or_else(|| {
                bad(
                    BreakKind::Modified,
                    format!("digest file {name} holds a malformed chain digest"),
                )
            })?;
            if !verify_ed25519(public_key, &digest.message(), &digest.signature) {
                return Err(brk(
                    &digest.chain,
                    digest.last_seq,
                    None,
                    BreakKind::BadSignature,
                    format!(
                        "{} (in {name}) does not verify under the audit public key",
                        digest_name(&digest)
                    ),
                )
                .into());
            }
            chain_digests.insert(
                (digest.chain.clone(), digest.last_seq, digest.prune_anchor),
                digest,
            );
        }
        digest_files.push(DigestFile {
            path: name,
            bytes_hash: hex(&kinko_crypto::sha256(&bytes)),
            group: (
                field("awsAccountId").to_owned(),
                field("awsRegion").to_owned(),
            ),
            start: field("digestStartTime").to_owned(),
            signature,
            body,
        });
    }
    if digest_files.is_empty() {
        return Err(VerifyError::Broken(brk(
            "-",
            0,
            None,
            BreakKind::Deleted,
            format!("{} holds no digest files", dir.display()),
        )));
    }
    // Each digest file names the one before it (per account and region).
    digest_files.sort_by(|a, b| (&a.group, &a.start).cmp(&(&b.group, &b.start)));
    let mut previous: Option<&DigestFile> = None;
    for f in &digest_files {
        let prev_name = f.body.get("previousDigestS3Object").and_then(Value::as_str);
        let same_group = previous.filter(|p| p.group == f.group);
        let ok = match (same_group, prev_name) {
            (None, None) => true,
            (Some(p), Some(name)) => {
                name == p.path
                    && f.body
                        .get("previousDigestSignature")
                        .and_then(Value::as_str)
                        == Some(p.signature.as_str())
                    && f.body
                        .get("previousDigestHashValue")
                        .and_then(Value::as_str)
                        == Some(p.bytes_hash.as_str())
            }
            _ => false,
        };
        if !ok {
            let missing = prev_name.is_some_and(|n| !digest_files.iter().any(|d| d.path == n));
            let (kind, detail) = if missing {
                (
                    BreakKind::Deleted,
                    format!(
                        "digest file {} links to {}, which is missing",
                        f.path,
                        prev_name.unwrap_or_default()
                    ),
                )
            } else if prev_name.is_none() {
                (
                    BreakKind::Inserted,
                    format!("digest file {} links to no previous digest file", f.path),
                )
            } else {
                (
                    BreakKind::Modified,
                    format!(
                        "digest file {} does not link to the digest file before it",
                        f.path
                    ),
                )
            };
            return Err(brk("-", 0, None, kind, detail).into());
        }
        previous = Some(f);
    }
    let filtered = digest_files
        .iter()
        .any(|f| f.body.get("kinkoFiltered").and_then(Value::as_bool) != Some(false));

    // Log files: every one listed, present, with the listed hash; then their records.
    for path in files.iter().filter(|p| is_log(p) && !is_digest(p)) {
        let name = relative(path);
        if !listed.contains_key(&name) {
            return Err(brk(
                "-",
                0,
                None,
                BreakKind::Inserted,
                format!("log file {name} is not listed in any digest file"),
            )
            .into());
        }
    }
    let mut records: BTreeMap<String, Vec<ExportedRecord>> = BTreeMap::new();
    for item in listed.values() {
        let path = dir.join(&item.path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(file_break(
                    item,
                    BreakKind::Deleted,
                    format!(
                        "log file {} (listed in {}) is missing",
                        item.path, item.digest_file
                    ),
                )
                .into());
            }
            Err(e) => return Err(io_err(format!("reading {}", item.path))(e)),
        };
        files_checked += 1;
        if hex(&kinko_crypto::sha256(&bytes)) != item.hash {
            return Err(file_break(
                item,
                BreakKind::Modified,
                format!(
                    "log file {} does not match the hash that digest file {} records",
                    item.path, item.digest_file
                ),
            )
            .into());
        }
        let parsed = gunzip(&bytes)
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok());
        let Some(list) = parsed
            .as_ref()
            .and_then(|v| v.get("Records"))
            .and_then(Value::as_array)
        else {
            return Err(file_break(
                item,
                BreakKind::Modified,
                format!("log file {} holds no Records", item.path),
            )
            .into());
        };
        for r in list {
            let (chain, record) = exported_record(r, &item.path)
                .map_err(|detail| file_break(item, BreakKind::Modified, detail))?;
            records.entry(chain).or_default().push(record);
        }
    }

    // Records, per chain: hashes were checked when parsed; now order, links and digests.
    let mut report = VerifyReport {
        chains: Vec::new(),
        files_checked,
    };
    for (chain, mut list) in records {
        list.sort_by_key(|r| r.seq);
        let digests: Vec<&AuditDigest> = chain_digests
            .values()
            .filter(|d| d.chain == chain)
            .collect();
        let anchor = digests
            .iter()
            .filter(|d| d.prune_anchor)
            .max_by_key(|d| d.last_seq);
        let by_seq: HashMap<i64, &ExportedRecord> = list.iter().map(|r| (r.seq, r)).collect();
        for pair in list.windows(2) {
            let [a, b] = pair else { continue };
            if a.seq == b.seq {
                return Err(brk(
                    &chain,
                    b.seq,
                    b.event_id.as_deref(),
                    BreakKind::Inserted,
                    format!("seq {} appears twice ({} and {})", b.seq, a.file, b.file),
                )
                .into());
            }
            if b.seq == a.seq + 1 && b.prev_hash != a.hash {
                let later = list.iter().find(|x| x.hash == b.prev_hash);
                let (kind, detail) = match later {
                    Some(t) if t.seq > b.seq => (
                        BreakKind::Reordered,
                        format!("seq {} links to seq {}, which comes after it", b.seq, t.seq),
                    ),
                    _ => (
                        BreakKind::Modified,
                        format!("seq {} does not link to seq {}", b.seq, a.seq),
                    ),
                };
                return Err(brk(&chain, b.seq, b.event_id.as_deref(), kind, detail).into());
            }
            if b.seq > a.seq + 1 && !filtered {
                return Err(brk(
                    &chain,
                    a.seq + 1,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "seqs {}..{} are missing from the export",
                        a.seq + 1,
                        b.seq - 1
                    ),
                )
                .into());
            }
        }
        if !filtered && let Some(first) = list.first() {
            let (start, start_hash) = anchor.map_or((0, [0u8; 32]), |a| (a.last_seq, a.last_hash));
            if first.seq != start + 1 || first.prev_hash != start_hash {
                return Err(brk(
                    &chain,
                    start + 1,
                    None,
                    BreakKind::Deleted,
                    format!(
                        "the export of chain {chain} starts at seq {}, not at seq {}",
                        first.seq,
                        start + 1
                    ),
                )
                .into());
            }
        }
        let mut sealed_to = 0;
        for d in digests.iter().filter(|d| !d.prune_anchor) {
            sealed_to = sealed_to.max(d.last_seq);
            if let Some(r) = by_seq.get(&d.last_seq)
                && r.hash != d.last_hash
            {
                return Err(brk(
                    &chain,
                    r.seq,
                    r.event_id.as_deref(),
                    BreakKind::Modified,
                    format!(
                        "events up to seq {} were rewritten after they were sealed ({})",
                        r.seq,
                        digest_name(d)
                    ),
                )
                .into());
            }
        }
        let last_seq = list.last().map(|r| r.seq);
        report.chains.push(ChainReport {
            chain: chain.clone(),
            events_checked: u64::try_from(list.len()).unwrap_or(u64::MAX),
            first_seq: list.first().map(|r| r.seq),
            last_seq,
            digests_checked: u64::try_from(digests.len()).unwrap_or(u64::MAX),
            pruned_through: anchor.map_or(0, |a| a.last_seq),
            unsealed_events: u64::try_from(list.iter().filter(|r| r.seq > sealed_to).count())
                .unwrap_or(u64::MAX),
        });
    }
    Ok(report)
}

/// One exported record: strips `kinkoChain`, re-derives the canonical bytes and checks the hash.
fn exported_record(r: &Value, file: &str) -> Result<(String, ExportedRecord), String> {
    let mut record = r
        .as_object()
        .cloned()
        .ok_or_else(|| format!("log file {file} holds a record that is not an object"))?;
    let link = record
        .remove("kinkoChain")
        .ok_or_else(|| format!("log file {file} holds a record without kinkoChain"))?;
    let chain = link
        .get("chain")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("log file {file}: kinkoChain without chain"))?
        .to_owned();
    let seq = link
        .get("seq")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("log file {file}: kinkoChain without seq"))?;
    let hash32 = |k: &str| {
        link.get(k)
            .and_then(Value::as_str)
            .and_then(unhex32)
            .ok_or_else(|| format!("log file {file}: kinkoChain without {k}"))
    };
    let prev_hash = hash32("prevHash")?;
    let hash = hash32("hash")?;
    let event_id = record
        .get("eventID")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bytes = canonical(&Value::Object(record));
    if chain_hash(&prev_hash, &chain, seq, &bytes) != hash {
        return Err(format!(
            "record seq {seq} of chain {chain} in {file} does not match its hash"
        ));
    }
    Ok((
        chain,
        ExportedRecord {
            seq,
            prev_hash,
            hash,
            event_id,
            file: file.to_owned(),
        },
    ))
}

/// `kinko audit verify --export DIR --public-key FILE`.
pub fn verify_export_dir(dir: &Path, public_key_file: &Path) -> Result<Verdict, VerifyError> {
    let key = read_pem_file(public_key_file)?;
    match verify_export(dir, &key) {
        Ok(report) => Ok(Verdict::Intact(report)),
        Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b)),
        Err(e) => Err(e),
    }
}
