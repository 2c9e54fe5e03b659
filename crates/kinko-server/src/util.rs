//! Small helpers every part of the server uses (request and event ids; CloudTrail timestamps are `kinko_audit::iso8601`).
//! A leaf: it imports nothing from the rest of the crate, so anything may import it.

/// A fresh UUID (request ids, event ids), from Kinko's one source of randomness.
pub(crate) fn new_uuid() -> String {
    let bytes = kinko_crypto::random_array::<16>().unwrap_or_default();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}
