//! The policy condition keys a KMS request carries in its parameters (`kms-reference.md` §7.3):
//! read from the operation's typed request (see [`Parameters`]) into
//! [`kinko_core::RequestFacts`], beside the transport's own (`aws:SourceIp`,
//! `aws:SecureTransport`). Keys that come from the key (`kms:KeySpec`,
//! `aws:ResourceTag/…`) or from the encryption context are the core's to set, since only it
//! knows which key and which context each half of an operation uses.
//!
//! A body that does not parse reaches no policy: the operation refuses it first.

use std::net::IpAddr;

use kinko_api::{GrantConstraints, TagEntry};
use kinko_core::RequestFacts;
use kinko_policy::{ConditionKeys, ContextValue, ContextValues};

/// The request members that feed condition keys, borrowed from an operation's typed request
/// (each operation's handler says which of its members these are; the rest stay `None`).
#[derive(Default)]
pub(crate) struct Parameters<'a> {
    pub key_id: Option<&'a str>,
    pub encryption_algorithm: Option<&'a str>,
    pub signing_algorithm: Option<&'a str>,
    pub mac_algorithm: Option<&'a str>,
    pub message_type: Option<&'a str>,
    pub key_agreement_algorithm: Option<&'a str>,
    pub key_spec: Option<&'a str>,
    pub key_usage: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub key_pair_spec: Option<&'a str>,
    pub rotation_period_in_days: Option<i64>,
    pub pending_window_in_days: Option<i64>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub expiration_model: Option<&'a str>,
    pub wrapping_algorithm: Option<&'a str>,
    pub wrapping_key_spec: Option<&'a str>,
    pub grantee_principal: Option<&'a str>,
    pub retiring_principal: Option<&'a str>,
    pub operations: Option<&'a [String]>,
    pub tags: Option<&'a [TagEntry]>,
    pub tag_keys: Option<&'a [String]>,
    pub source_key_id: Option<&'a str>,
    pub destination_key_id: Option<&'a str>,
    pub constraints: Option<&'a GrantConstraints>,
    pub valid_to: Option<f64>,
    pub multi_region: Option<bool>,
    pub replica_region: Option<&'a str>,
    pub primary_region: Option<&'a str>,
}

fn many<'a>(values: impl IntoIterator<Item = &'a String>) -> ContextValues {
    ContextValues::Many(
        values
            .into_iter()
            .cloned()
            .map(ContextValue::String)
            .collect(),
    )
}

/// The alias a KeyId names (`alias/…` or an alias ARN), for `kms:RequestAlias`.
fn alias_of(key_id: &str) -> Option<&str> {
    if key_id.starts_with("alias/") {
        return Some(key_id);
    }
    let resource = key_id.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    resource.starts_with("alias/").then_some(resource)
}

/// What a KMS request tells policy conditions, from its body and where it came from.
pub(crate) fn kms_request(p: &Parameters<'_>, source_ip: Option<IpAddr>) -> RequestFacts {
    let mut keys = ConditionKeys::new();
    let mut text = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            keys.insert(name, ContextValue::String(v.to_owned()));
        }
    };
    text("kms:EncryptionAlgorithm", p.encryption_algorithm);
    text("kms:SigningAlgorithm", p.signing_algorithm);
    text("kms:MacAlgorithm", p.mac_algorithm);
    text("kms:MessageType", p.message_type);
    text("kms:KeyAgreementAlgorithm", p.key_agreement_algorithm);
    text("kms:KeySpec", p.key_spec);
    text("kms:KeyUsage", p.key_usage);
    text("kms:KeyOrigin", p.origin);
    text("kms:DataKeyPairSpec", p.key_pair_spec);
    text("kms:ExpirationModel", p.expiration_model);
    text("kms:WrappingAlgorithm", p.wrapping_algorithm);
    text("kms:WrappingKeySpec", p.wrapping_key_spec);
    text("kms:GranteePrincipal", p.grantee_principal);
    text("kms:RetiringPrincipal", p.retiring_principal);
    text("kms:ReplicaRegion", p.replica_region);
    text("kms:PrimaryRegion", p.primary_region);
    if let Some(multi_region) = p.multi_region {
        keys.insert("kms:MultiRegion", multi_region);
    }
    if let Some(alias) = p.key_id.and_then(alias_of) {
        keys.insert("kms:RequestAlias", alias);
    }
    if let Some(days) = p.rotation_period_in_days {
        keys.insert("kms:RotationPeriodInDays", days);
    }
    if let Some(days) = p.pending_window_in_days {
        keys.insert("kms:ScheduleKeyDeletionPendingWindowInDays", days);
    }
    if let Some(bypass) = p.bypass_policy_lockout_safety_check {
        keys.insert("kms:BypassPolicyLockoutSafetyCheck", bypass);
    }
    if let Some(operations) = p.operations {
        keys.insert("kms:GrantOperations", many(operations));
        keys.insert("kms:GrantIsForAWSResource", false);
    }
    if let (Some(source), Some(destination)) = (p.source_key_id, p.destination_key_id) {
        keys.insert("kms:ReEncryptOnSameKey", source == destination);
    }
    if let Some(constraints) = p.constraints {
        let mut kinds = Vec::new();
        if constraints.encryption_context_equals.is_some() {
            kinds.push(ContextValue::String("EncryptionContextEquals".to_owned()));
        }
        if constraints.encryption_context_subset.is_some() {
            kinds.push(ContextValue::String("EncryptionContextSubset".to_owned()));
        }
        keys.insert("kms:GrantConstraintType", ContextValues::Many(kinds));
    }
    if let Some(valid_to) = p.valid_to.filter(|t| t.is_finite() && *t >= 0.0) {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(valid_to.min(1e12));
        keys.insert("kms:ValidTo", ContextValue::Time(at));
    }
    // Kinko has no AWS services calling on a principal's behalf.
    keys.insert("aws:ViaAWSService", false);
    // A tag without a key or a value is refused by the operation before any policy is read.
    if let Some(tags) = p.tags.filter(|t| {
        t.iter()
            .all(|t| t.tag_key.is_some() && t.tag_value.is_some())
    }) {
        let mut names = Vec::with_capacity(tags.len());
        for tag in tags {
            if let (Some(key), Some(value)) = (&tag.tag_key, &tag.tag_value) {
                keys.insert(&format!("aws:RequestTag/{key}"), value.clone());
                names.push(key);
            }
        }
        keys.insert("aws:TagKeys", many(names));
    } else if let Some(tag_keys) = p.tag_keys {
        keys.insert("aws:TagKeys", many(tag_keys));
    }
    RequestFacts {
        source_ip,
        secure_transport: false,
        keys,
        dry_run: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(facts: &RequestFacts, key: &str) -> Option<String> {
        match facts.keys.get(key)? {
            ContextValues::One(ContextValue::String(s)) => Some(s.clone()),
            other => Some(format!("{other:?}")),
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn request_parameters_become_condition_keys() {
        let p = Parameters {
            key_id: Some("alias/app"),
            encryption_algorithm: Some("SYMMETRIC_DEFAULT"),
            ..Parameters::default()
        };
        let facts = kms_request(&p, Some("10.0.0.7".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert_eq!(
            text(&facts, "kms:EncryptionAlgorithm").as_deref(),
            Some("SYMMETRIC_DEFAULT")
        );
        assert_eq!(
            text(&facts, "kms:RequestAlias").as_deref(),
            Some("alias/app")
        );
        assert_eq!(facts.source_ip, "10.0.0.7".parse().ok());
        // The encryption context is the core's to set.
        assert!(facts.keys.get("kms:EncryptionContext:a").is_none());
    }

    #[test]
    fn tags_grant_operations_and_alias_arns() {
        let tags = [TagEntry {
            tag_key: Some("Env".to_owned()),
            tag_value: Some("prod".to_owned()),
        }];
        let operations = strings(&["Decrypt", "Encrypt"]);
        let p = Parameters {
            key_id: Some("arn:aws:kms:us-east-1:111122223333:alias/x"),
            tags: Some(&tags),
            operations: Some(&operations),
            pending_window_in_days: Some(7),
            ..Parameters::default()
        };
        let facts = kms_request(&p, None);
        assert_eq!(text(&facts, "aws:RequestTag/Env").as_deref(), Some("prod"));
        assert_eq!(text(&facts, "kms:RequestAlias").as_deref(), Some("alias/x"));
        assert_eq!(
            facts.keys.get("kms:GrantOperations"),
            Some(&many(&operations))
        );
        assert_eq!(
            facts.keys.get("kms:ScheduleKeyDeletionPendingWindowInDays"),
            Some(&ContextValues::One(ContextValue::Integer(7)))
        );
        assert_eq!(
            facts.keys.get("aws:TagKeys"),
            Some(&many(&strings(&["Env"])))
        );
    }

    #[test]
    fn no_parameters_give_only_the_transport_keys() {
        let facts = kms_request(&Parameters::default(), None);
        let keys: Vec<_> = facts.keys.iter().map(|(k, _)| k.to_owned()).collect();
        assert_eq!(keys, ["aws:viaawsservice"]);
    }
}
