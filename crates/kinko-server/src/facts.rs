//! The policy condition keys a KMS request carries in its parameters (`kms-reference.md` §7.3):
//! read once from the JSON body into [`kinko_core::RequestFacts`], beside the transport's own
//! (`aws:SourceIp`, `aws:SecureTransport`). Keys that come from the key (`kms:KeySpec`,
//! `aws:ResourceTag/…`) or from the encryption context are the core's to set, since only it
//! knows which key and which context each half of an operation uses.
//!
//! A body that does not parse gives no keys: the operation itself then refuses it.

use std::net::IpAddr;

use kinko_core::RequestFacts;
use kinko_policy::{ConditionKeys, ContextValue, ContextValues};
use serde::Deserialize;

/// The request parameters that feed condition keys; everything else is skipped unread.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Parameters {
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    signing_algorithm: Option<String>,
    mac_algorithm: Option<String>,
    message_type: Option<String>,
    key_agreement_algorithm: Option<String>,
    key_spec: Option<String>,
    key_usage: Option<String>,
    origin: Option<String>,
    key_pair_spec: Option<String>,
    rotation_period_in_days: Option<i64>,
    pending_window_in_days: Option<i64>,
    bypass_policy_lockout_safety_check: Option<bool>,
    expiration_model: Option<String>,
    wrapping_algorithm: Option<String>,
    wrapping_key_spec: Option<String>,
    grantee_principal: Option<String>,
    retiring_principal: Option<String>,
    operations: Option<Vec<String>>,
    tags: Option<Vec<TagParameter>>,
    tag_keys: Option<Vec<String>>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    constraints: Option<ConstraintParameters>,
    valid_to: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConstraintParameters {
    encryption_context_subset: Option<serde::de::IgnoredAny>,
    encryption_context_equals: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagParameter {
    tag_key: String,
    tag_value: String,
}

fn many(values: impl IntoIterator<Item = String>) -> ContextValues {
    ContextValues::Many(values.into_iter().map(ContextValue::String).collect())
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
pub(crate) fn kms_request(body: &[u8], source_ip: Option<IpAddr>) -> RequestFacts {
    let p: Parameters = serde_json::from_slice(body).unwrap_or_default();
    let mut keys = ConditionKeys::new();
    let mut text = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            keys.insert(name, ContextValue::String(v));
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
    if let Some(alias) = p.key_id.as_deref().and_then(alias_of) {
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
    if let (Some(source), Some(destination)) = (&p.source_key_id, &p.destination_key_id) {
        keys.insert("kms:ReEncryptOnSameKey", source == destination);
    }
    if let Some(constraints) = p.constraints {
        let mut kinds = Vec::new();
        if constraints.encryption_context_equals.is_some() {
            kinds.push("EncryptionContextEquals".to_owned());
        }
        if constraints.encryption_context_subset.is_some() {
            kinds.push("EncryptionContextSubset".to_owned());
        }
        keys.insert("kms:GrantConstraintType", many(kinds));
    }
    if let Some(valid_to) = p.valid_to.filter(|t| t.is_finite() && *t >= 0.0) {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(valid_to.min(1e12));
        keys.insert("kms:ValidTo", ContextValue::Time(at));
    }
    // Kinko has no AWS services calling on a principal's behalf.
    keys.insert("aws:ViaAWSService", false);
    if let Some(tags) = p.tags {
        let mut names = Vec::with_capacity(tags.len());
        for tag in tags {
            keys.insert(&format!("aws:RequestTag/{}", tag.tag_key), tag.tag_value);
            names.push(tag.tag_key);
        }
        keys.insert("aws:TagKeys", many(names));
    } else if let Some(tag_keys) = p.tag_keys {
        keys.insert("aws:TagKeys", many(tag_keys));
    }
    RequestFacts {
        source_ip,
        secure_transport: false,
        keys,
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

    #[test]
    fn request_parameters_become_condition_keys() {
        let body = br#"{"KeyId":"alias/app","Plaintext":"AAAA","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","EncryptionContext":{"a":"b"}}"#;
        let facts = kms_request(
            body,
            Some("10.0.0.7".parse().unwrap_or(IpAddr::from([0; 4]))),
        );
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
        let body = br#"{"KeyId":"arn:aws:kms:us-east-1:111122223333:alias/x","Tags":[{"TagKey":"Env","TagValue":"prod"}],"Operations":["Decrypt","Encrypt"],"PendingWindowInDays":7}"#;
        let facts = kms_request(body, None);
        assert_eq!(text(&facts, "aws:RequestTag/Env").as_deref(), Some("prod"));
        assert_eq!(text(&facts, "kms:RequestAlias").as_deref(), Some("alias/x"));
        assert_eq!(
            facts.keys.get("kms:GrantOperations"),
            Some(&many(["Decrypt".to_owned(), "Encrypt".to_owned()]))
        );
        assert_eq!(
            facts.keys.get("kms:ScheduleKeyDeletionPendingWindowInDays"),
            Some(&ContextValues::One(ContextValue::Integer(7)))
        );
        assert_eq!(
            facts.keys.get("aws:TagKeys"),
            Some(&many(["Env".to_owned()]))
        );
    }

    #[test]
    fn a_body_that_does_not_parse_gives_no_keys() {
        for body in [&b"{not json"[..], br#"{"Tags":"oops"}"#] {
            let facts = kms_request(body, None);
            let keys: Vec<_> = facts.keys.iter().map(|(k, _)| k.to_owned()).collect();
            assert_eq!(keys, ["aws:viaawsservice"]);
        }
    }
}
