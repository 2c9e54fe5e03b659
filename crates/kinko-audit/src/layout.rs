//! The export layout, shared by the exporter (`export`) and the export verifier
//! (`verify::export`) so that neither imports the other: directory names, the gzip framing of
//! every file, relative path text, and how a chain digest is written into a digest file.

use std::io::{Read, Write};
use std::path::{Component, Path};

use kinko_core::{AuditDigest, UnixMillis, hex};
use serde_json::Value;

use kinko_crypto::hex::{decode as unhex, decode_array as unhex32};

/// Path component of log files.
pub(crate) const LOG_DIR: &str = "CloudTrail";
/// Path component of digest files.
pub(crate) const DIGEST_DIR: &str = "CloudTrail-Digest";

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

/// A chain digest as an export carries it.
pub(crate) fn digest_to_json(d: &AuditDigest) -> Value {
    serde_json::json!({
        "chain": d.chain,
        "firstSeq": d.first_seq,
        "lastSeq": d.last_seq,
        "lastHash": hex(&d.last_hash),
        "time": d.time.0,
        "prevSignature": hex(&d.prev_signature),
        "pruneAnchor": d.prune_anchor,
        "signature": hex(&d.signature),
    })
}

/// A chain digest read back from a digest file; `None` when a member is missing or malformed.
pub(crate) fn digest_from_json(v: &Value) -> Option<AuditDigest> {
    Some(AuditDigest {
        chain: v.get("chain")?.as_str()?.to_owned(),
        first_seq: v.get("firstSeq")?.as_i64()?,
        last_seq: v.get("lastSeq")?.as_i64()?,
        last_hash: unhex32(v.get("lastHash")?.as_str()?)?,
        time: UnixMillis(v.get("time")?.as_i64()?),
        prev_signature: unhex(v.get("prevSignature")?.as_str()?)?,
        prune_anchor: v.get("pruneAnchor")?.as_bool()?,
        signature: unhex(v.get("signature")?.as_str()?)?,
    })
}
