//! The rules every KMS operation family shares, as pure functions: what a key's state allows
//! (`kms-reference.md` §4), whether its usage fits the operation, per-key limits, tag rules,
//! and paging markers. Operations import this module; it imports no operation.

use std::collections::BTreeMap;

use crate::actions::Action;
use crate::{Caller, EncryptionAlgorithmSpec, Error, Key, KeyRef, KeyState, KeyUsage, Region, Tag};

/// Most aliases one key may have.
pub(crate) const MAX_ALIASES_PER_KEY: usize = 50;
/// Most tags one key may have.
pub(crate) const MAX_TAGS_PER_KEY: usize = 50;

/// AWS's answer (a TagException) when a key would have more than [`MAX_TAGS_PER_KEY`] tags.
pub(crate) const TOO_MANY_TAGS: &str = "Too many tags";

/// What an operation needs of the key's state.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Cryptographic use: Enabled only.
    Crypto,
    /// Changes that PendingDeletion forbids (aliases, tags, description).
    NotPendingDeletion,
    /// Enable/Disable: not PendingDeletion, not PendingImport.
    EnableDisable,
    /// Anything goes (describe, list, policies).
    Any,
}

/// Whether the key's state allows what the operation needs.
pub(crate) fn check_state(key: &Key, need: Need) -> Result<(), Error> {
    let arn = &key.arn;
    match (need, key.state) {
        (Need::Any, _) => Ok(()),
        (Need::Crypto, KeyState::Enabled | KeyState::Updating) => Ok(()),
        (Need::Crypto, KeyState::Disabled) => Err(Error::Disabled(format!("{arn} is disabled."))),
        (_, KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => {
            Err(Error::InvalidState(format!("{arn} is pending deletion.")))
        }
        (Need::NotPendingDeletion, _) => Ok(()),
        (Need::Crypto | Need::EnableDisable, KeyState::PendingImport) => {
            Err(Error::InvalidState(format!("{arn} is pending import.")))
        }
        (Need::Crypto, KeyState::Unavailable) => {
            Err(Error::InvalidState(format!("{arn} is unavailable.")))
        }
        (Need::Crypto | Need::EnableDisable, KeyState::Creating) => {
            Err(Error::InvalidState(format!("{arn} is creating.")))
        }
        (Need::EnableDisable, KeyState::Updating) => {
            Err(Error::InvalidState(format!("{arn} is updating.")))
        }
        (Need::EnableDisable, KeyState::Enabled | KeyState::Disabled | KeyState::Unavailable) => {
            Ok(())
        }
    }
}

/// The key must be an encryption key whose spec offers `algorithm`, for `action`.
pub(crate) fn check_encrypt_usage(
    key: &Key,
    algorithm: EncryptionAlgorithmSpec,
    action: Action,
) -> Result<(), Error> {
    check_usage(key, KeyUsage::EncryptDecrypt, action)?;
    if !key
        .spec
        .encryption_algorithms(key.usage)
        .contains(&algorithm)
    {
        return Err(incompatible_algorithm(algorithm.as_str(), key));
    }
    Ok(())
}

/// The key's usage must be `usage` for `action`; AWS's message names the operation.
pub(crate) fn check_usage(key: &Key, usage: KeyUsage, action: Action) -> Result<(), Error> {
    if key.usage != usage {
        return Err(Error::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for {}.",
            key.arn,
            key.usage,
            action.operation()
        )));
    }
    Ok(())
}

/// Decrypt (or ReEncrypt's source) naming a key that cannot decrypt: AWS answers
/// IncorrectKeyException, as for a key that did not make the ciphertext.
pub(crate) fn incorrect_key() -> Error {
    Error::IncorrectKey(
        "The key ID in the request does not identify a CMK that can perform this operation.".into(),
    )
}

/// `InvalidKeyUsageException` for an algorithm the key's spec does not offer.
pub(crate) fn incompatible_algorithm(algorithm: &str, key: &Key) -> Error {
    Error::InvalidKeyUsage(format!(
        "Algorithm {algorithm} is incompatible with key spec {}.",
        key.spec
    ))
}

/// Ends a dry run once its request has been validated and authorized, before it changes
/// anything.
pub(crate) fn stop_if_dry_run(caller: &Caller) -> Result<(), Error> {
    if caller.facts.dry_run {
        return Err(Error::DryRun);
    }
    Ok(())
}

/// Operations that take a key id or key ARN only: an alias is not a key they can find.
pub(crate) fn refuse_alias(key: &KeyRef) -> Result<(), Error> {
    if key.is_alias() {
        return Err(Error::NotFound(format!("Invalid keyId '{key}'")));
    }
    Ok(())
}

/// Tags must not use the reserved `aws:` prefix.
pub(crate) fn validate_tags(tags: &[Tag]) -> Result<(), Error> {
    for t in tags {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::Tag(format!(
                "Tag keys beginning with aws: are reserved: {}",
                t.key
            )));
        }
    }
    Ok(())
}

/// Later tags with the same key overwrite earlier ones.
pub(crate) fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    let map: BTreeMap<String, String> = tags.into_iter().map(|t| (t.key, t.value)).collect();
    map.into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

/// Trims `items` (fetched with `limit + 1`) to `limit` and returns the marker of the next page.
pub(crate) fn page_marker<T>(
    items: &mut Vec<T>,
    limit: usize,
    sort_key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|last| encode_marker(&sort_key(last)))
}

/// Markers are the hex of the last item's sort key: opaque to clients, and within the
/// `[\u0020-\u00FF]` marker alphabet whatever the key holds.
pub(crate) fn encode_marker(sort_key: &str) -> String {
    kinko_crypto::hex::encode(sort_key.as_bytes())
}

/// The sort key a marker of [`encode_marker`] holds; `None` if it is not such a marker.
pub(crate) fn decode_marker(marker: &str) -> Option<String> {
    if marker.is_empty() {
        return None;
    }
    String::from_utf8(kinko_crypto::hex::decode(marker)?).ok()
}

/// UnsupportedOperationException for an operation a replica key refuses.
pub(crate) fn refuse_replica(key: &Key, what: &str) -> Result<(), Error> {
    if key.is_replica() {
        return Err(Error::UnsupportedOperation(format!(
            "{} is a multi-Region replica key: {what} is managed on its primary key in {}.",
            key.arn,
            key.primary_region.as_ref().map_or("", Region::as_str)
        )));
    }
    Ok(())
}
