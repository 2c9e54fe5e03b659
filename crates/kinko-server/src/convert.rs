//! Wire ↔ domain conversion. Every limit, enum and pattern of the KMS model is checked here,
//! before the core sees a value; messages follow AWS's "1 validation error detected" form.
//! Blob values (plaintexts, ciphertexts) are never echoed in an error.

use std::collections::BTreeMap;

use kinko_api::{self as wire, Blob, ErrorCode};
use kinko_core::{
    Alias, AliasName, EncryptionContext, Key, KeyRef, KeySpec, KeyState, KeyUsage, Origin, Tag,
    UnixMillis,
};

use crate::errors::ApiError;

/// Result of a conversion.
pub type Conv<T> = Result<T, ApiError>;

fn violation(value: &str, field: &str, constraint: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member {constraint}"
    ))
}

fn blob_violation(field: &str, constraint: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member {constraint}"
    ))
}

/// A required member.
pub fn required<T>(value: Option<T>, field: &str) -> Conv<T> {
    value.ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// A string member with a length range (in characters, as the model counts).
pub fn string_len(value: &str, field: &str, min: usize, max: usize) -> Conv<()> {
    let n = value.chars().count();
    if n < min {
        return Err(violation(
            value,
            field,
            &format!("must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        let shown: String = value.chars().take(64).collect();
        return Err(violation(
            &shown,
            field,
            &format!("must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A blob member with a length range.
pub fn blob_len(value: &Blob, field: &str, min: usize, max: usize) -> Conv<()> {
    if value.0.len() < min {
        return Err(blob_violation(
            field,
            &format!("must have length greater than or equal to {min}"),
        ));
    }
    if value.0.len() > max {
        return Err(blob_violation(
            field,
            &format!("must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// An integer member with a range.
pub fn int_range(value: i64, field: &str, min: i64, max: i64) -> Conv<()> {
    if value < min {
        return Err(violation(
            &value.to_string(),
            field,
            &format!("must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(violation(
            &value.to_string(),
            field,
            &format!("must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// An enum member.
pub fn enum_value<T: Copy>(
    value: &str,
    field: &str,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Conv<T> {
    parse(value).ok_or_else(|| {
        violation(
            value,
            field,
            &format!("must satisfy enum value set: [{}]", all.join(", ")),
        )
    })
}

/// A KeyId member: 1–2048 chars, then one of the four identifier forms.
pub fn key_ref(value: &str, field: &str) -> Conv<KeyRef> {
    string_len(value, field, 1, 2048)?;
    KeyRef::parse(value).map_err(|e| crate::errors::from_core(e, ""))
}

/// An optional KeyId member.
pub fn opt_key_ref(value: Option<&str>, field: &str) -> Conv<Option<KeyRef>> {
    value.map(|v| key_ref(v, field)).transpose()
}

/// An alias name member.
pub fn alias_name(value: &str) -> Conv<AliasName> {
    AliasName::parse(value).map_err(|e| crate::errors::from_core(e, ""))
}

/// `Limit` with the operation's range and default.
pub fn limit(value: Option<i64>, max: i64, default: usize) -> Conv<usize> {
    match value {
        None => Ok(default),
        Some(v) => {
            int_range(v, "limit", 1, max)?;
            Ok(usize::try_from(v).unwrap_or(default))
        }
    }
}

/// `Marker`: 1–1024 chars of `[\u0020-\u00FF]`.
pub fn marker(value: Option<&str>) -> Conv<Option<&str>> {
    if let Some(m) = value {
        string_len(m, "marker", 1, 1024)?;
        if !m.chars().all(|c| ('\u{20}'..='\u{ff}').contains(&c)) {
            return Err(violation(
                m,
                "marker",
                "must satisfy regular expression pattern: [\\u0020-\\u00FF]*",
            ));
        }
    }
    Ok(value)
}

/// `GrantTokens`: 0–10 tokens of 1–8192 chars. Accepted and not yet used (grants come with
/// authorization).
pub fn grant_tokens(value: Option<&Vec<String>>) -> Conv<()> {
    if let Some(tokens) = value {
        if tokens.len() > 10 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10 (got {})",
                tokens.len()
            )));
        }
        for t in tokens {
            string_len(t, "grantTokens", 1, 8192)?;
        }
    }
    Ok(())
}

/// Refuses features Kinko does not offer yet, by name.
pub fn unsupported_flags(dry_run: Option<bool>, recipient: Option<&serde_json::Value>) -> Conv<()> {
    if dry_run == Some(true) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            "DryRun is not supported by Kinko yet.",
        ));
    }
    if recipient.is_some_and(|r| !r.is_null()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            "Recipient (Nitro Enclaves attestation) is not supported by Kinko.",
        ));
    }
    Ok(())
}

/// `EncryptionAlgorithm` values of the model.
pub const ENCRYPTION_ALGORITHMS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "SM2PKE",
];

/// An optional encryption algorithm (default SYMMETRIC_DEFAULT).
pub fn encryption_algorithm<'a>(value: Option<&'a str>, field: &str) -> Conv<&'a str> {
    match value {
        None => Ok("SYMMETRIC_DEFAULT"),
        Some(v) if ENCRYPTION_ALGORITHMS.contains(&v) => Ok(v),
        Some(v) => Err(violation(
            v,
            field,
            &format!(
                "must satisfy enum value set: [{}]",
                ENCRYPTION_ALGORITHMS.join(", ")
            ),
        )),
    }
}

/// An encryption context.
pub fn context(value: Option<BTreeMap<String, String>>) -> EncryptionContext {
    EncryptionContext(value.unwrap_or_default())
}

/// Tags of CreateKey / TagResource.
pub fn tags(value: Vec<wire::TagEntry>) -> Conv<Vec<Tag>> {
    let mut seen = std::collections::BTreeSet::new();
    value
        .into_iter()
        .map(|t| {
            let key = required(t.tag_key, "tags.member.tagKey")?;
            let value = required(t.tag_value, "tags.member.tagValue")?;
            string_len(&key, "tags.member.tagKey", 1, 128)?;
            string_len(&value, "tags.member.tagValue", 0, 256)?;
            if !seen.insert(key.clone()) {
                return Err(ApiError::new(
                    ErrorCode::TagException,
                    format!("Duplicate tag key: {key}"),
                ));
            }
            Ok(Tag { key, value })
        })
        .collect()
}

/// A key policy document: model limits, the 32 KB quota, and the policy language (grammar,
/// principals in every statement, condition operators) as `kinko-policy` parses it. Evaluation
/// comes with the authorization work.
pub fn policy(value: &str) -> Conv<String> {
    string_len(value, "policy", 1, 131_072)?;
    if !value
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
    {
        return Err(violation(
            "(policy document)",
            "policy",
            "must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ));
    }
    match kinko_policy::Policy::parse(value, kinko_policy::PolicyKind::Key) {
        Ok(_) => Ok(value.to_owned()),
        Err(kinko_policy::PolicyError::TooLarge { size, limit }) => Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!("The key policy is {size} bytes; the quota is {limit} bytes."),
        )),
        Err(e) => Err(ApiError::new(
            ErrorCode::MalformedPolicyDocumentException,
            e.to_string(),
        )),
    }
}

/// The spec/usage/origin part of CreateKey.
pub fn create_key_kind(req: &wire::CreateKeyRequest) -> Conv<(KeySpec, KeyUsage, Origin)> {
    let spec_names: Vec<&str> = KeySpec::ALL.iter().map(|s| s.as_str()).collect();
    let spec = req
        .key_spec
        .as_deref()
        .map(|s| enum_value(s, "keySpec", KeySpec::parse, &spec_names))
        .transpose()?;
    let legacy = req
        .customer_master_key_spec
        .as_deref()
        .map(|s| enum_value(s, "customerMasterKeySpec", KeySpec::parse, &spec_names))
        .transpose()?;
    let spec = match (spec, legacy) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec with different values; use KeySpec only.",
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => KeySpec::SymmetricDefault,
    };
    let usage_names: Vec<&str> = KeyUsage::ALL.iter().map(|u| u.as_str()).collect();
    let usage = req
        .key_usage
        .as_deref()
        .map(|u| enum_value(u, "keyUsage", KeyUsage::parse, &usage_names))
        .transpose()?;
    let usage = match (spec, usage) {
        (KeySpec::SymmetricDefault, None | Some(KeyUsage::EncryptDecrypt)) => {
            KeyUsage::EncryptDecrypt
        }
        (KeySpec::SymmetricDefault, Some(u)) => {
            return Err(ApiError::validation(format!(
                "KeyUsage {u} is not compatible with KeySpec SYMMETRIC_DEFAULT: symmetric keys are ENCRYPT_DECRYPT."
            )));
        }
        (_, Some(u)) => u,
        (s, None) => {
            return Err(ApiError::validation(format!(
                "KeyUsage is required for KeySpec {s}."
            )));
        }
    };
    let origin_names: Vec<&str> = Origin::ALL.iter().map(|o| o.as_str()).collect();
    let origin = req
        .origin
        .as_deref()
        .map(|o| enum_value(o, "origin", Origin::parse, &origin_names))
        .transpose()?
        .unwrap_or(Origin::AwsKms);
    Ok((spec, usage, origin))
}

/// Epoch seconds with milliseconds, the JSON number every SDK accepts.
pub fn timestamp(t: UnixMillis) -> f64 {
    t.0 as f64 / 1000.0
}

/// KeyMetadata of a key.
pub fn key_metadata(key: &Key) -> wire::KeyMetadata {
    let legacy_spec = !matches!(
        key.spec,
        KeySpec::EccNistEdwards25519
            | KeySpec::MlDsa44
            | KeySpec::MlDsa65
            | KeySpec::MlDsa87
            | KeySpec::MlKem512
            | KeySpec::MlKem768
            | KeySpec::MlKem1024
    );
    let symmetric = key.spec == KeySpec::SymmetricDefault;
    wire::KeyMetadata {
        aws_account_id: key.arn.account.to_string(),
        key_id: key.id().to_string(),
        arn: key.arn.to_string(),
        creation_date: timestamp(key.created_at),
        enabled: key.state == KeyState::Enabled,
        description: key.description.clone(),
        key_usage: key.usage.as_str().to_owned(),
        key_state: key.state.as_str().to_owned(),
        deletion_date: (key.state == KeyState::PendingDeletion)
            .then(|| key.deletion_date.map(timestamp))
            .flatten(),
        pending_deletion_window_in_days: None,
        origin: key.origin.as_str().to_owned(),
        key_manager: kinko_core::KeyManager::Customer.as_str().to_owned(),
        customer_master_key_spec: legacy_spec.then(|| key.spec.as_str().to_owned()),
        key_spec: key.spec.as_str().to_owned(),
        encryption_algorithms: (key.usage == KeyUsage::EncryptDecrypt && symmetric)
            .then(|| vec!["SYMMETRIC_DEFAULT".to_owned()]),
        signing_algorithms: None,
        mac_algorithms: None,
        key_agreement_algorithms: None,
        multi_region: false,
        current_key_material_id: symmetric.then(|| key.current_material.to_string()),
    }
}

/// An AliasListEntry.
pub fn alias_entry(alias: &Alias) -> wire::AliasListEntry {
    wire::AliasListEntry {
        alias_name: alias.name.to_string(),
        alias_arn: alias.name.arn(&alias.region, &alias.account),
        target_key_id: alias.target.to_string(),
        creation_date: timestamp(alias.created_at),
        last_updated_date: timestamp(alias.updated_at),
    }
}
