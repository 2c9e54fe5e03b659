//! Multi-Region keys: ReplicateKey and UpdatePrimaryRegion (DescribeKey's
//! `MultiRegionConfiguration` is built in `convert`).

use kinko_api as wire;
use kinko_core::{Region, ReplicateKeyRequest};

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::errors::ApiError;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("ReplicateKey", handler!(replicate_key)),
    Descriptor::changes("UpdatePrimaryRegion", handler!(update_primary_region)),
];

impl KmsRequest for wire::ReplicateKeyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            bypass_policy_lockout_safety_check: self.bypass_policy_lockout_safety_check,
            tags: self.tags.as_deref(),
            replica_region: self.replica_region.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::UpdatePrimaryRegionRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            primary_region: self.primary_region.as_deref(),
            ..Parameters::default()
        }
    }
}

/// A `RegionType` member: 1–32 characters matching `^([a-z]+-){2,3}\d+$`, as the model has it.
fn region(value: &str, field: &str) -> Result<Region, ApiError> {
    c::string_len(value, field, 1, 32)?;
    let parts: Vec<&str> = value.split('-').collect();
    let ok = (3..=4).contains(&parts.len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match Region::parse(value) {
        Some(r) if ok => Ok(r),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){{2,3}}\\d+$"
        ))),
    }
}

/// `ReplicateKey`.
pub(super) async fn replicate_key(cx: Call<'_>, r: wire::ReplicateKeyRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let replica_region = region(
        &c::required(r.replica_region, "replicaRegion")?,
        "replicaRegion",
    )?;
    let description = r.description.unwrap_or_default();
    c::string_len(&description, "description", 0, 8192)?;
    let policy = r.policy.as_deref().map(c::policy).transpose()?;
    let tags = c::tags(r.tags.unwrap_or_default())?;
    let req = ReplicateKeyRequest {
        replica_region,
        policy,
        bypass_policy_lockout_safety_check: r.bypass_policy_lockout_safety_check.unwrap_or(false),
        description,
        tags,
    };
    let out = cx
        .kms
        .replicate_key(&cx.caller, &key_ref, req, &audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.replica.arn.clone());
    let regions = cx
        .kms
        .multi_region_keys(&out.replica)
        .await
        .map_err(cx.core())?;
    encode(&wire::ReplicateKeyResponse {
        replica_key_metadata: c::key_metadata_in_regions(&out.replica, &regions),
        replica_policy: out.replica.policy.to_string(),
        replica_tags: out
            .tags
            .into_iter()
            .map(|t| wire::TagEntry {
                tag_key: Some(t.key),
                tag_value: Some(t.value),
            })
            .collect(),
    })
}

/// `UpdatePrimaryRegion`.
pub(super) async fn update_primary_region(
    cx: Call<'_>,
    r: wire::UpdatePrimaryRegionRequest,
) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let primary_region = region(
        &c::required(r.primary_region, "primaryRegion")?,
        "primaryRegion",
    )?;
    cx.kms
        .update_primary_region(&cx.caller, &key_ref, &primary_region, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}
