//! Key lifecycle and metadata: creating, describing, listing, enabling and disabling keys, their
//! description, scheduled deletion and last use.

use kinko_api as wire;
use kinko_core::CreateKeyRequest;

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("CreateKey", handler!(create_key))
        .responding(crate::audit::response_elements_create_key),
    Descriptor::reads("DescribeKey", handler!(describe_key)),
    Descriptor::reads("ListKeys", handler!(list_keys)),
    Descriptor::changes("EnableKey", handler!(enable_key)),
    Descriptor::changes("DisableKey", handler!(disable_key)),
    Descriptor::changes("UpdateKeyDescription", handler!(update_key_description)),
    Descriptor::changes("ScheduleKeyDeletion", handler!(schedule_key_deletion))
        .responding(crate::audit::response_elements_schedule_key_deletion),
    Descriptor::changes("CancelKeyDeletion", handler!(cancel_key_deletion))
        .responding(crate::audit::response_elements_cancel_key_deletion),
    Descriptor::reads("GetKeyLastUsage", handler!(get_key_last_usage)),
];

impl KmsRequest for wire::CreateKeyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_spec: self.key_spec.as_deref(),
            key_usage: self.key_usage.as_deref(),
            origin: self.origin.as_deref(),
            bypass_policy_lockout_safety_check: self.bypass_policy_lockout_safety_check,
            tags: self.tags.as_deref(),
            multi_region: self.multi_region,
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::DescribeKeyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListKeysRequest {}

impl KmsRequest for wire::KeyIdRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::UpdateKeyDescriptionRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ScheduleKeyDeletionRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            pending_window_in_days: self.pending_window_in_days,
            ..Parameters::default()
        }
    }
}

/// `CreateKey`.
pub(super) async fn create_key(cx: Call<'_>, r: wire::CreateKeyRequest) -> Reply {
    let audit = cx.audit();
    let (spec, usage, origin) = crate::key_kind::create_key_kind(&r)?;
    let description = r.description.unwrap_or_default();
    c::string_len(&description, "description", 0, 8192)?;
    let policy = r.policy.as_deref().map(c::policy).transpose()?;
    let tags = c::tags(r.tags.unwrap_or_default())?;
    let req = CreateKeyRequest {
        description,
        spec,
        usage,
        origin,
        policy,
        tags,
        multi_region: r.multi_region.unwrap_or(false),
        custom_key_store: r.custom_key_store_id.is_some() || r.xks_key_id.is_some(),
        bypass_policy_lockout_safety_check: r.bypass_policy_lockout_safety_check.unwrap_or(false),
    };
    let key = cx
        .kms
        .create_key(&cx.caller, req, &audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(key.arn.clone());
    encode(&wire::KeyMetadataResponse {
        key_metadata: c::key_metadata(&key),
    })
}

/// `DescribeKey`.
pub(super) async fn describe_key(cx: Call<'_>, r: wire::DescribeKeyRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let key = cx
        .kms
        .describe_key(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(key.arn.clone());
    let regions = cx.kms.multi_region_keys(&key).await.map_err(cx.core())?;
    encode(&wire::KeyMetadataResponse {
        key_metadata: c::key_metadata_in_regions(&key, &regions),
    })
}

/// `ListKeys`.
pub(super) async fn list_keys(cx: Call<'_>, r: wire::ListKeysRequest) -> Reply {
    let limit = c::limit(r.limit, 1000, 100)?;
    let page = cx
        .kms
        .list_keys(&cx.caller, limit, c::marker(r.marker.as_deref())?)
        .await
        .map_err(cx.core())?;
    encode(&wire::ListKeysResponse {
        keys: Some(
            page.items
                .iter()
                .map(|k| wire::KeyListEntry {
                    key_id: k.id().to_string(),
                    key_arn: k.arn.to_string(),
                })
                .collect(),
        ),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}

/// `EnableKey` and `DisableKey`, which differ only in `op`.
async fn enable_key_or_disable_key(cx: Call<'_>, r: wire::KeyIdRequest, op: &str) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    if op == "EnableKey" {
        cx.kms
            .enable_key(&cx.caller, &key_ref, &audit)
            .await
            .map_err(cx.core())?;
    } else {
        cx.kms
            .disable_key(&cx.caller, &key_ref, &audit)
            .await
            .map_err(cx.core())?;
    }
    encode(&wire::Empty {})
}

/// `EnableKey`.
pub(super) async fn enable_key(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    enable_key_or_disable_key(cx, r, "EnableKey").await
}

/// `DisableKey`.
pub(super) async fn disable_key(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    enable_key_or_disable_key(cx, r, "DisableKey").await
}

/// `UpdateKeyDescription`.
pub(super) async fn update_key_description(
    cx: Call<'_>,
    r: wire::UpdateKeyDescriptionRequest,
) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let description = c::required(r.description, "description")?;
    c::string_len(&description, "description", 0, 8192)?;
    cx.kms
        .update_key_description(&cx.caller, &key_ref, description, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `ScheduleKeyDeletion`.
pub(super) async fn schedule_key_deletion(
    cx: Call<'_>,
    r: wire::ScheduleKeyDeletionRequest,
) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let window = r.pending_window_in_days.unwrap_or(30);
    c::int_range(window, "pendingWindowInDays", 7, 30)?;
    let out = cx
        .kms
        .schedule_key_deletion(
            &cx.caller,
            &key_ref,
            u32::try_from(window).unwrap_or(30),
            &audit,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    encode(&wire::ScheduleKeyDeletionResponse {
        key_id: Some(out.key_arn.to_string()),
        deletion_date: out.deletion_date.map(c::timestamp),
        key_state: Some(out.state.as_str().to_owned()),
        pending_window_in_days: Some(out.pending_window_days),
    })
}

/// `CancelKeyDeletion`.
pub(super) async fn cancel_key_deletion(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let arn = cx
        .kms
        .cancel_key_deletion(&cx.caller, &key_ref, &audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(arn.clone());
    encode(&wire::CancelKeyDeletionResponse {
        key_id: Some(arn.to_string()),
    })
}

/// `GetKeyLastUsage`.
pub(super) async fn get_key_last_usage(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let (key, usage) = cx
        .kms
        .get_key_last_usage(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(key.arn.clone());
    let last = usage
        .map(|u| wire::KeyLastUsageData {
            operation: Some(u.operation),
            timestamp: Some(c::timestamp(u.time)),
            cloud_trail_event_id: Some(u.event_id),
            kms_request_id: u.request_id,
        })
        .unwrap_or_default();
    // Kinko records every use from the key's creation on.
    encode(&wire::GetKeyLastUsageResponse {
        key_id: Some(key.arn.to_string()),
        key_last_usage: Some(last),
        tracking_start_date: Some(c::timestamp(key.created_at)),
        key_creation_date: Some(c::timestamp(key.created_at)),
    })
}
