//! The canonical record: the byte encoding every audit record is hashed, signed and exported in,
//! and the time format its `eventTime` uses. The writer in `kinko-server` builds records with
//! these; verification re-derives their bytes with the same functions, so the two cannot drift.

use kinko_core::UnixMillis;
use serde_json::Value;

/// `eventVersion` of the records Kinko writes.
pub const EVENT_VERSION: &str = "1.11";

/// Canonical JSON: serde_json's map is ordered by key, and compact output is deterministic,
/// so parsing and re-serialising a record gives back the same bytes.
pub fn canonical(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `2026-11-29T00:00:00Z`.
pub fn iso8601(t: UnixMillis) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(t.as_secs())
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_is_compact() {
        let value: Value =
            serde_json::from_str("{ \"b\": 1, \"a\": [ true, null ] }").unwrap_or(Value::Null);
        assert_eq!(canonical(&value), b"{\"a\":[true,null],\"b\":1}");
        assert_eq!(
            iso8601(UnixMillis(1_700_000_000_999)),
            "2023-11-14T22:13:20Z"
        );
    }
}
