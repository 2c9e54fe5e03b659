//! Wire ↔ domain conversion. Every limit, enum and pattern of the KMS model is checked here,
//! before the core sees a value; messages follow AWS's "1 validation error detected" form.
//! Blob values (plaintexts, ciphertexts) are never echoed in an error.

use std::collections::BTreeMap;

use kinko_api::{self as wire, Blob, ErrorCode};
use kinko_core::{
    Alias, AliasName, DataKeyPairSpec, EncapsulationAlgorithmSpec, EncryptionAlgorithmSpec,
    EncryptionContext, Key, KeyAgreementAlgorithmSpec, KeyRef, KeySpec, KeyState, MacAlgorithmSpec,
    MessageType, Origin, SigningAlgorithmSpec, Tag, UnixMillis,
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

/// The `CiphertextBlob` of Decrypt and ReEncrypt (1–6144 bytes), or `None` when a `DryRun` with
/// `DryRunModifiers` leaves it unread (`IGNORE_CIPHERTEXT`, the model's one modifier): then it
/// may be absent, and a present one is still checked. Modifiers without a dry run change
/// nothing.
pub fn ciphertext_blob(
    blob: Option<Blob>,
    dry_run: Option<bool>,
    modifiers: Option<&Vec<String>>,
) -> Conv<Option<Blob>> {
    let modifiers = modifiers.map(Vec::as_slice).unwrap_or_default();
    for m in modifiers {
        enum_value(
            m,
            "dryRunModifiers",
            |v| (v == "IGNORE_CIPHERTEXT").then_some(()),
            &["IGNORE_CIPHERTEXT"],
        )?;
    }
    let ignored = dry_run == Some(true) && !modifiers.is_empty();
    let blob = match blob {
        None if ignored => return Ok(None),
        blob => required(blob, "ciphertextBlob")?,
    };
    blob_len(&blob, "ciphertextBlob", 1, 6144)?;
    Ok((!ignored).then_some(blob))
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
            // AWS's form; the tokens themselves (bearer credentials) are not echoed.
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10".to_owned(),
            ));
        }
        for t in tokens {
            string_len(t, "grantTokens", 1, 8192)?;
        }
    }
    Ok(())
}

/// Refuses `Recipient` (Nitro Enclaves attestation), which Kinko does not offer, by name.
pub fn unsupported_recipient(recipient: Option<&serde_json::Value>) -> Conv<()> {
    if recipient.is_some_and(|r| !r.is_null()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            "Recipient (Nitro Enclaves attestation) is not supported by Kinko.",
        ));
    }
    Ok(())
}

/// An optional member of one of the model's enums, with the default for an absent value.
fn opt_enum<T: Copy>(
    value: Option<&str>,
    field: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    parse: fn(&str) -> Option<T>,
) -> Conv<Option<T>> {
    value
        .map(|v| {
            let names: Vec<&str> = all.iter().map(|t| name(*t)).collect();
            enum_value(v, field, parse, &names)
        })
        .transpose()
}

/// An optional member of one of the model's enums.
pub fn opt_enum_value<T: Copy>(
    value: Option<&str>,
    field: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    parse: fn(&str) -> Option<T>,
) -> Conv<Option<T>> {
    opt_enum(value, field, all, name, parse)
}

/// A required member of one of the model's enums.
pub fn required_enum<T: Copy>(
    value: Option<&str>,
    field: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    parse: fn(&str) -> Option<T>,
) -> Conv<T> {
    required(opt_enum(value, field, all, name, parse)?, field)
}

/// `KeyMaterialId`: 64 lowercase hex characters.
pub fn key_material_id(value: &str) -> Conv<kinko_core::MaterialId> {
    kinko_core::MaterialId::parse_hex(value).ok_or_else(|| {
        violation(
            value,
            "keyMaterialId",
            "must satisfy regular expression pattern: ^[a-f0-9]{64}$",
        )
    })
}

/// Epoch seconds (as SDKs send timestamps) to milliseconds.
pub fn from_timestamp(seconds: f64) -> UnixMillis {
    UnixMillis((seconds * 1000.0).round() as i64)
}

/// An optional encryption algorithm (default SYMMETRIC_DEFAULT).
pub fn encryption_algorithm(value: Option<&str>, field: &str) -> Conv<EncryptionAlgorithmSpec> {
    Ok(opt_enum(
        value,
        field,
        EncryptionAlgorithmSpec::ALL,
        EncryptionAlgorithmSpec::as_str,
        EncryptionAlgorithmSpec::parse,
    )?
    .unwrap_or(EncryptionAlgorithmSpec::SymmetricDefault))
}

/// The required `SigningAlgorithm`.
pub fn signing_algorithm(value: Option<&str>) -> Conv<SigningAlgorithmSpec> {
    required_enum(
        value,
        "signingAlgorithm",
        SigningAlgorithmSpec::ALL,
        SigningAlgorithmSpec::as_str,
        SigningAlgorithmSpec::parse,
    )
}

/// The optional `MessageType` (default RAW).
pub fn message_type(value: Option<&str>) -> Conv<MessageType> {
    Ok(opt_enum(
        value,
        "messageType",
        MessageType::ALL,
        MessageType::as_str,
        MessageType::parse,
    )?
    .unwrap_or(MessageType::Raw))
}

/// The required `MacAlgorithm`.
pub fn mac_algorithm(value: Option<&str>) -> Conv<MacAlgorithmSpec> {
    required_enum(
        value,
        "macAlgorithm",
        MacAlgorithmSpec::ALL,
        MacAlgorithmSpec::as_str,
        MacAlgorithmSpec::parse,
    )
}

/// The required `KeyAgreementAlgorithm`.
pub fn key_agreement_algorithm(value: Option<&str>) -> Conv<KeyAgreementAlgorithmSpec> {
    required_enum(
        value,
        "keyAgreementAlgorithm",
        KeyAgreementAlgorithmSpec::ALL,
        KeyAgreementAlgorithmSpec::as_str,
        KeyAgreementAlgorithmSpec::parse,
    )
}

/// The required `EncapsulationAlgorithm`.
pub fn encapsulation_algorithm(value: Option<&str>) -> Conv<EncapsulationAlgorithmSpec> {
    required_enum(
        value,
        "encapsulationAlgorithm",
        EncapsulationAlgorithmSpec::ALL,
        EncapsulationAlgorithmSpec::as_str,
        EncapsulationAlgorithmSpec::parse,
    )
}

/// The required `KeyPairSpec`.
pub fn key_pair_spec(value: Option<&str>) -> Conv<DataKeyPairSpec> {
    required_enum(
        value,
        "keyPairSpec",
        DataKeyPairSpec::ALL,
        DataKeyPairSpec::as_str,
        DataKeyPairSpec::parse,
    )
}

/// Names of enum values, for lists in responses (`None` when empty, so the member is left out).
pub fn names<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.iter().map(|v| name(*v).to_owned()).collect())
}

/// The deprecated `CustomerMasterKeySpec`: the same value as `KeySpec`, left out for the specs
/// that enum never got.
pub fn customer_master_key_spec(spec: KeySpec) -> Option<String> {
    let legacy = !matches!(
        spec,
        KeySpec::EccNistEdwards25519
            | KeySpec::MlDsa44
            | KeySpec::MlDsa65
            | KeySpec::MlDsa87
            | KeySpec::MlKem512
            | KeySpec::MlKem768
            | KeySpec::MlKem1024
    );
    legacy.then(|| spec.as_str().to_owned())
}

/// Most bytes an encryption context may hold: its keys and values together, in UTF-8. AWS
/// documents no number; this is the size of the AAD that AWS's external key store API passes on
/// (8 KiB), so that a context Kinko accepts is one AWS could carry.
pub const MAX_ENCRYPTION_CONTEXT_BYTES: usize = 8192;

/// An encryption context (member `field`), at most [`MAX_ENCRYPTION_CONTEXT_BYTES`].
pub fn context(value: Option<BTreeMap<String, String>>, field: &str) -> Conv<EncryptionContext> {
    let pairs = value.unwrap_or_default();
    context_size(&pairs, field)?;
    Ok(EncryptionContext(pairs))
}

/// Refuses an encryption context larger than [`MAX_ENCRYPTION_CONTEXT_BYTES`] (its content is
/// not echoed: it may be large).
pub fn context_size(pairs: &BTreeMap<String, String>, field: &str) -> Conv<()> {
    let size = pairs.iter().fold(0usize, |n, (k, v)| {
        n.saturating_add(k.len()).saturating_add(v.len())
    });
    if size > MAX_ENCRYPTION_CONTEXT_BYTES {
        return Err(blob_violation(
            field,
            &format!(
                "must have a total size (keys and values, UTF-8) less than or equal to {MAX_ENCRYPTION_CONTEXT_BYTES} bytes; it has {size}"
            ),
        ));
    }
    Ok(())
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

/// Epoch seconds with milliseconds, the JSON number every SDK accepts.
pub fn timestamp(t: UnixMillis) -> f64 {
    t.0 as f64 / 1000.0
}

/// KeyMetadata of a key.
pub fn key_metadata(key: &Key) -> wire::KeyMetadata {
    let symmetric = key.spec == KeySpec::SymmetricDefault;
    let (spec, usage) = (key.spec, key.usage);
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
        pending_deletion_window_in_days: (key.state == KeyState::PendingReplicaDeletion)
            .then_some(key.pending_window_days)
            .flatten(),
        origin: key.origin.as_str().to_owned(),
        key_manager: key.manager.as_str().to_owned(),
        customer_master_key_spec: customer_master_key_spec(spec),
        key_spec: spec.as_str().to_owned(),
        encryption_algorithms: names(
            spec.encryption_algorithms(usage),
            EncryptionAlgorithmSpec::as_str,
        ),
        signing_algorithms: names(spec.signing_algorithms(usage), SigningAlgorithmSpec::as_str),
        mac_algorithms: names(spec.mac_algorithms(usage), MacAlgorithmSpec::as_str),
        key_agreement_algorithms: names(
            spec.key_agreement_algorithms(usage),
            KeyAgreementAlgorithmSpec::as_str,
        ),
        encapsulation_algorithms: names(
            spec.encapsulation_algorithms(usage),
            EncapsulationAlgorithmSpec::as_str,
        ),
        multi_region: key.primary_region.is_some(),
        multi_region_configuration: multi_region_configuration(key, &[]),
        current_key_material_id: symmetric.then(|| key.current_material.to_string()),
        valid_to: key.valid_to.map(timestamp),
        expiration_model: (key.origin == Origin::External)
            .then(|| key.expiration_model.map(|e| e.as_str().to_owned()))
            .flatten(),
    }
}

/// KeyMetadata of a key with its `MultiRegionConfiguration` listing `regions`, every region's
/// key of the multi-Region key (DescribeKey, ReplicateKey).
pub fn key_metadata_in_regions(key: &Key, regions: &[Key]) -> wire::KeyMetadata {
    wire::KeyMetadata {
        multi_region_configuration: multi_region_configuration(key, regions),
        ..key_metadata(key)
    }
}

/// `MultiRegionConfiguration` of a multi-Region key, from its regions' keys (`key` itself is
/// included whether or not `regions` lists it).
fn multi_region_configuration(
    key: &Key,
    regions: &[Key],
) -> Option<wire::MultiRegionConfiguration> {
    let primary_region = key.primary_region.as_ref()?;
    let entry = |region: &kinko_core::Region| wire::MultiRegionKey {
        arn: kinko_core::KeyArn {
            region: region.clone(),
            account: key.arn.account.clone(),
            key_id: key.id(),
        }
        .to_string(),
        region: region.to_string(),
    };
    let mut replicas: Vec<&kinko_core::Region> = regions
        .iter()
        .map(|k| &k.arn.region)
        .chain(std::iter::once(&key.arn.region))
        .filter(|r| *r != primary_region)
        .collect();
    replicas.sort();
    replicas.dedup();
    Some(wire::MultiRegionConfiguration {
        multi_region_key_type: if key.is_replica() {
            "REPLICA"
        } else {
            "PRIMARY"
        }
        .to_owned(),
        primary_key: entry(primary_region),
        replica_keys: replicas.into_iter().map(entry).collect(),
    })
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

/// A `RotationsListEntry` for one material version of `key`.
pub fn rotation_entry(key: &Key, material: &kinko_core::Material) -> wire::RotationsListEntry {
    let external = key.origin == Origin::External;
    let state = if material.id == key.current_material {
        "CURRENT"
    } else if material.pending_rotation {
        "PENDING_ROTATION"
    } else {
        "NON_CURRENT"
    };
    wire::RotationsListEntry {
        key_id: Some(key.arn.to_string()),
        key_material_id: Some(material.id.to_string()),
        key_material_description: (external && !material.description.is_empty())
            .then(|| material.description.clone()),
        import_state: external.then(|| {
            if material.is_imported() {
                "IMPORTED".to_owned()
            } else {
                "PENDING_IMPORT".to_owned()
            }
        }),
        key_material_state: Some(state.to_owned()),
        expiration_model: material.expiration_model.map(|e| e.as_str().to_owned()),
        valid_to: material.valid_to.map(timestamp),
        rotation_date: material
            .rotation_type
            .is_some()
            .then(|| timestamp(material.created_at)),
        rotation_type: material.rotation_type.map(|r| r.as_str().to_owned()),
    }
}

/// A `GrantListEntry`.
pub fn grant_entry(grant: &kinko_core::Grant) -> wire::GrantListEntry {
    wire::GrantListEntry {
        key_id: grant.key_arn.to_string(),
        grant_id: grant.grant_id.clone(),
        name: grant.name.clone(),
        creation_date: timestamp(grant.created_at),
        grantee_principal: grant.grantee.aws().map(str::to_owned),
        retiring_principal: grant
            .retiring
            .as_ref()
            .and_then(|p| p.aws())
            .map(str::to_owned),
        grantee_service_principal: grant.grantee.service().map(str::to_owned),
        retiring_service_principal: grant
            .retiring
            .as_ref()
            .and_then(|p| p.service())
            .map(str::to_owned),
        issuing_account: grant.issuing_account.clone(),
        operations: grant
            .operations
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect(),
        constraints: grant.constraints.as_ref().map(|c| wire::GrantConstraints {
            encryption_context_subset: c.encryption_context_subset.clone(),
            encryption_context_equals: c.encryption_context_equals.clone(),
            source_arn: c.source_arn.clone(),
        }),
    }
}

/// `Operations` of CreateGrant: a list of `GrantOperation` names.
pub fn grant_operations(values: Vec<String>) -> Conv<Vec<kinko_core::GrantOperation>> {
    use kinko_core::GrantOperation;
    let names: Vec<&str> = GrantOperation::ALL.iter().map(|o| o.as_str()).collect();
    values
        .iter()
        .map(|v| {
            GrantOperation::parse(v).ok_or_else(|| {
                violation(
                    v,
                    "operations",
                    &format!("must satisfy enum value set: [{}]", names.join(", ")),
                )
            })
        })
        .collect()
}

/// `Constraints` of CreateGrant (the core checks `SourceArn`'s form).
pub fn grant_constraints(
    value: Option<wire::GrantConstraints>,
) -> Conv<Option<kinko_core::GrantConstraints>> {
    let Some(c) = value else {
        return Ok(None);
    };
    for (pairs, field) in [
        (
            &c.encryption_context_equals,
            "constraints.encryptionContextEquals",
        ),
        (
            &c.encryption_context_subset,
            "constraints.encryptionContextSubset",
        ),
    ] {
        if let Some(pairs) = pairs {
            context_size(pairs, field)?;
        }
    }
    Ok(Some(kinko_core::GrantConstraints {
        encryption_context_equals: c.encryption_context_equals,
        encryption_context_subset: c.encryption_context_subset,
        source_arn: c.source_arn,
    }))
}

/// A grant's grantee or retiring principal from its pair of members (`GranteePrincipal` /
/// `GranteeServicePrincipal`, ...): at most one of the two, as the model says; `None` if
/// neither (the caller decides whether one is required).
pub fn grant_principal(
    aws: Option<String>,
    service: Option<String>,
    members: (&str, &str),
) -> Conv<Option<kinko_core::GrantPrincipal>> {
    use kinko_core::GrantPrincipal;
    match (aws, service) {
        (Some(_), Some(_)) => Err(ApiError::validation(format!(
            "You can specify either {} or {}, but not both.",
            members.0, members.1
        ))),
        (Some(arn), None) => Ok(Some(GrantPrincipal::Aws(arn))),
        (None, Some(name)) => Ok(Some(GrantPrincipal::Service(name))),
        (None, None) => Ok(None),
    }
}

/// A `GrantId` member: 1–128 characters (the model), then the grant id form.
pub fn grant_id(value: &str) -> Conv<String> {
    string_len(value, "grantId", 1, 128)?;
    kinko_core::check_grant_id(value).map_err(|e| crate::errors::from_core(e, ""))?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encryption_context_is_at_most_8192_bytes() {
        let pairs = |n: usize| {
            let mut m = BTreeMap::new();
            m.insert("k".to_owned(), "v".repeat(n - 1));
            m
        };
        assert!(
            context(
                Some(pairs(MAX_ENCRYPTION_CONTEXT_BYTES)),
                "encryptionContext"
            )
            .is_ok()
        );
        let refused = context(
            Some(pairs(MAX_ENCRYPTION_CONTEXT_BYTES + 1)),
            "encryptionContext",
        )
        .err();
        assert_eq!(
            refused.as_ref().map(|e| e.code),
            Some(ErrorCode::ValidationException)
        );
        // The context itself is not echoed.
        assert!(refused.is_some_and(|e| !e.message.contains("vvvv")));
        let constraints = wire::GrantConstraints {
            encryption_context_subset: Some(pairs(MAX_ENCRYPTION_CONTEXT_BYTES + 1)),
            ..wire::GrantConstraints::default()
        };
        assert!(grant_constraints(Some(constraints)).is_err());
    }
}
