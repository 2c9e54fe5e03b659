//! Key policies: reading, replacing and listing them.

use kinko_api::{self as wire, ErrorCode};

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::errors::ApiError;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("GetKeyPolicy", handler!(get_key_policy)),
    Descriptor::changes("PutKeyPolicy", handler!(put_key_policy)),
    Descriptor::reads("ListKeyPolicies", handler!(list_key_policies)),
];

impl KmsRequest for wire::GetKeyPolicyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::PutKeyPolicyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            bypass_policy_lockout_safety_check: self.bypass_policy_lockout_safety_check,
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListKeyPoliciesRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `GetKeyPolicy`.
pub(super) async fn get_key_policy(cx: Call<'_>, r: wire::GetKeyPolicyRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let name = policy_name(r.policy_name)?;
    let policy = cx
        .kms
        .get_key_policy(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    if name != kinko_core::DEFAULT_POLICY_NAME {
        return Err(ApiError::new(
            ErrorCode::NotFoundException,
            format!("No such policy exists: {name}"),
        ));
    }
    encode(&wire::GetKeyPolicyResponse {
        policy: Some(policy),
        policy_name: Some(name),
    })
}

/// `PutKeyPolicy`.
pub(super) async fn put_key_policy(cx: Call<'_>, r: wire::PutKeyPolicyRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let name = policy_name(r.policy_name)?;
    let policy = c::policy(&c::required(r.policy, "policy")?)?;
    if name != kinko_core::DEFAULT_POLICY_NAME {
        return Err(ApiError::validation(format!(
            "PolicyName {name} cannot be set: the only key policy you can put is named default."
        )));
    }
    let bypass = r.bypass_policy_lockout_safety_check.unwrap_or(false);
    cx.kms
        .put_key_policy(&cx.caller, &key_ref, policy, bypass, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `ListKeyPolicies`.
pub(super) async fn list_key_policies(cx: Call<'_>, r: wire::ListKeyPoliciesRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    c::limit(r.limit, 1000, 100)?;
    if let Some(m) = c::marker(r.marker.as_deref())? {
        return Err(ApiError::new(
            ErrorCode::InvalidMarkerException,
            format!("Invalid marker: {m}"),
        ));
    }
    let names = cx
        .kms
        .list_key_policies(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    encode(&wire::ListKeyPoliciesResponse {
        policy_names: Some(names),
        next_marker: None,
        truncated: Some(false),
    })
}

/// The policy name a request gives (`default` when none), validated.
fn policy_name(value: Option<String>) -> Result<String, ApiError> {
    let name = value.unwrap_or_else(|| kinko_core::DEFAULT_POLICY_NAME.to_owned());
    c::string_len(&name, "policyName", 1, 128)?;
    if !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+"
        )));
    }
    Ok(name)
}
