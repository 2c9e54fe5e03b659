//! Small helpers every part of the server uses (request and event ids, CloudTrail timestamps).
//! A leaf: it imports nothing from the rest of the crate, so anything may import it.

use kinko_core::UnixMillis;

/// A fresh UUID (request ids, event ids), from Kinko's one source of randomness.
pub(crate) fn new_uuid() -> String {
    let bytes = kinko_crypto::random_array::<16>().unwrap_or_default();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
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
