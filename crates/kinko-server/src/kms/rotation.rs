//! Key rotation: automatic rotation on and off, its status, rotating on demand and listing
//! rotations.

use kinko_api as wire;

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::errors::ApiError;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("EnableKeyRotation", handler!(enable_key_rotation)),
    Descriptor::changes("DisableKeyRotation", handler!(disable_key_rotation)),
    Descriptor::reads("GetKeyRotationStatus", handler!(get_key_rotation_status)),
    Descriptor::changes("RotateKeyOnDemand", handler!(rotate_key_on_demand)),
    Descriptor::reads("ListKeyRotations", handler!(list_key_rotations)),
];

impl KmsRequest for wire::EnableKeyRotationRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            rotation_period_in_days: self.rotation_period_in_days,
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListKeyRotationsRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `EnableKeyRotation`.
pub(super) async fn enable_key_rotation(cx: Call<'_>, r: wire::EnableKeyRotationRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let period = r
        .rotation_period_in_days
        .map(|d| {
            c::int_range(
                d,
                "rotationPeriodInDays",
                i64::from(kinko_core::MIN_ROTATION_PERIOD_DAYS),
                i64::from(kinko_core::MAX_ROTATION_PERIOD_DAYS),
            )
            .map(|()| u32::try_from(d).unwrap_or(kinko_core::DEFAULT_ROTATION_PERIOD_DAYS))
        })
        .transpose()?;
    cx.kms
        .enable_key_rotation(&cx.caller, &key_ref, period, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `DisableKeyRotation`.
pub(super) async fn disable_key_rotation(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    cx.kms
        .disable_key_rotation(&cx.caller, &key_ref, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `GetKeyRotationStatus`.
pub(super) async fn get_key_rotation_status(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let status = cx
        .kms
        .get_key_rotation_status(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(status.key_arn.clone());
    encode(&wire::GetKeyRotationStatusResponse {
        key_rotation_enabled: Some(status.enabled),
        key_id: Some(status.key_arn.to_string()),
        rotation_period_in_days: status.period_days,
        next_rotation_date: status.next_rotation.map(c::timestamp),
        on_demand_rotation_start_date: None,
    })
}

/// `RotateKeyOnDemand`.
pub(super) async fn rotate_key_on_demand(cx: Call<'_>, r: wire::KeyIdRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let arn = cx
        .kms
        .rotate_key_on_demand(&cx.caller, &key_ref, &audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(arn.clone());
    // AWS answers with the key ARN here, not the key id.
    encode(&wire::RotateKeyOnDemandResponse {
        key_id: Some(arn.to_string()),
    })
}

/// `ListKeyRotations`.
pub(super) async fn list_key_rotations(cx: Call<'_>, r: wire::ListKeyRotationsRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let all = match r.include_key_material.as_deref() {
        None | Some("ROTATIONS_ONLY") => false,
        Some("ALL_KEY_MATERIAL") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
            )));
        }
    };
    let limit = c::limit(r.limit, 1000, 100)?;
    let (key, page) = cx
        .kms
        .list_key_rotations(
            &cx.caller,
            &key_ref,
            all,
            limit,
            c::marker(r.marker.as_deref())?,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(key.arn.clone());
    encode(&wire::ListKeyRotationsResponse {
        rotations: Some(
            page.items
                .iter()
                .map(|m| c::rotation_entry(&key, m))
                .collect(),
        ),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}
