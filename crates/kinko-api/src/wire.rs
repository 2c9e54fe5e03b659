//! Request and response shapes of the KMS operations Kinko serves. Requests use `Option` for
//! every member so that a missing required member becomes a `ValidationException` written by
//! the server, not a serde error; `null` reads as absent and unknown members are ignored.
//! Responses leave absent optional members out (never `null`).
//!
//! Requests also serialize, in the same PascalCase, for their audit record: absent members are
//! left out, and members that carry secrets (plaintexts, ciphertexts, messages, signatures, key
//! material, import tokens, grant tokens, recipients) are marked `#[serde(skip_serializing)]`
//! here, next to their declaration, so that no record can hold one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Blob;

/// `{"__type": ..., "message": ...}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error shape name.
    #[serde(rename = "__type")]
    pub kind: &'a str,
    /// Human-readable message; `None` for the errors AWS answers without one
    /// ([`ErrorCode::says_nothing`](crate::ErrorCode::says_nothing)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

/// A `Tag`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagEntry {
    /// Key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_key: Option<String>,
    /// Value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_value: Option<String>,
}

/// `KeyMetadata`.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    pub origin: String,
    pub key_manager: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<String>,
    pub key_spec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<String>>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
}

/// `MultiRegionConfiguration` of a multi-Region key.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: String,
    pub primary_key: MultiRegionKey,
    pub replica_keys: Vec<MultiRegionKey>,
}

/// A `MultiRegionKey`: one region's key of a multi-Region key.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: String,
}

macro_rules! request {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        #[allow(missing_docs)]
        pub struct $name {
            $(#[serde(default, skip_serializing_if = "Option::is_none")] $(#[$fm])* pub $field: Option<$ty>),*
        }
    };
}

/// Serializes epoch seconds as an integer when they are whole, as clients send them (the audit
/// record shows the number the request held).
pub fn seconds<S: serde::Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

macro_rules! response {
    ($(#[$m:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Serialize)]
        #[serde(rename_all = "PascalCase")]
        #[allow(missing_docs)]
        pub struct $name { $(#[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>),* }
    };
}

/// String→string map (encryption contexts).
pub type Context = BTreeMap<String, String>;

request!(/** CreateKey input. */ CreateKeyRequest {
    policy: String, description: String, key_usage: String, customer_master_key_spec: String,
    key_spec: String, origin: String, custom_key_store_id: String,
    bypass_policy_lockout_safety_check: bool, tags: Vec<TagEntry>, multi_region: bool, xks_key_id: String,
});
/// CreateKey / DescribeKey output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadataResponse {
    /// Metadata.
    pub key_metadata: KeyMetadata,
}
request!(/** ReplicateKey input. */ ReplicateKeyRequest {
    key_id: String, replica_region: String, policy: String, bypass_policy_lockout_safety_check: bool,
    description: String, tags: Vec<TagEntry>,
});
/// ReplicateKey output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ReplicateKeyResponse {
    pub replica_key_metadata: KeyMetadata,
    pub replica_policy: String,
    pub replica_tags: Vec<TagEntry>,
}
request!(/** UpdatePrimaryRegion input. */ UpdatePrimaryRegionRequest { key_id: String, primary_region: String });
request!(/** DescribeKey input. */ DescribeKeyRequest { key_id: String, #[serde(skip_serializing)] grant_tokens: Vec<String> });
request!(/** Input of operations that take only a KeyId. */ KeyIdRequest { key_id: String });
request!(/** ListKeys input. `ResourceOwners` (a newer filter) is read only for its type: Kinko
lists the caller's own keys. */ ListKeysRequest { limit: i64, marker: String, resource_owners: Vec<String> });
/// A `KeyListEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}
response!(/** ListKeys output. */ ListKeysResponse { keys: Vec<KeyListEntry>, next_marker: String, truncated: bool });
request!(/** UpdateKeyDescription input. */ UpdateKeyDescriptionRequest { key_id: String, description: String });
request!(/** ScheduleKeyDeletion input. */ ScheduleKeyDeletionRequest { key_id: String, pending_window_in_days: i64 });
response!(/** ScheduleKeyDeletion output. */ ScheduleKeyDeletionResponse {
    key_id: String, deletion_date: f64, key_state: String, pending_window_in_days: u32,
});
response!(/** CancelKeyDeletion output. */ CancelKeyDeletionResponse { key_id: String });

request!(/** Encrypt input. */ EncryptRequest {
    key_id: String, #[serde(skip_serializing)] plaintext: Blob, encryption_context: Context, #[serde(skip_serializing)] grant_tokens: Vec<String>,
    encryption_algorithm: String, dry_run: bool,
});
response!(/** Encrypt output. */ EncryptResponse { ciphertext_blob: Blob, key_id: String, encryption_algorithm: String });
request!(/** Decrypt input. */ DecryptRequest {
    #[serde(skip_serializing)] ciphertext_blob: Blob, encryption_context: Context, #[serde(skip_serializing)] grant_tokens: Vec<String>, key_id: String,
    encryption_algorithm: String, #[serde(skip_serializing)] recipient: serde_json::Value, dry_run: bool,
    dry_run_modifiers: Vec<String>,
});
response!(/** Decrypt output. */ DecryptResponse {
    key_id: String, plaintext: Blob, encryption_algorithm: String, key_material_id: String,
});
request!(/** ReEncrypt input. */ ReEncryptRequest {
    #[serde(skip_serializing)] ciphertext_blob: Blob, source_encryption_context: Context, source_key_id: String,
    destination_key_id: String, destination_encryption_context: Context,
    source_encryption_algorithm: String, destination_encryption_algorithm: String,
    #[serde(skip_serializing)] grant_tokens: Vec<String>, dry_run: bool, dry_run_modifiers: Vec<String>,
});
response!(/** ReEncrypt output. */ ReEncryptResponse {
    ciphertext_blob: Blob, source_key_id: String, key_id: String,
    source_encryption_algorithm: String, destination_encryption_algorithm: String,
    source_key_material_id: String, destination_key_material_id: String,
});
request!(/** GenerateDataKey(WithoutPlaintext) input. */ GenerateDataKeyRequest {
    key_id: String, encryption_context: Context, number_of_bytes: i64, key_spec: String,
    #[serde(skip_serializing)] grant_tokens: Vec<String>, #[serde(skip_serializing)] recipient: serde_json::Value, dry_run: bool,
});
response!(/** GenerateDataKey(WithoutPlaintext) output. */ GenerateDataKeyResponse {
    ciphertext_blob: Blob, plaintext: Blob, key_id: String, key_material_id: String,
});
request!(/** GenerateRandom input. */ GenerateRandomRequest {
    number_of_bytes: i64, custom_key_store_id: String, #[serde(skip_serializing)] recipient: serde_json::Value,
});
response!(/** GenerateRandom output. */ GenerateRandomResponse { plaintext: Blob });

request!(/** EnableKeyRotation input. */ EnableKeyRotationRequest { key_id: String, rotation_period_in_days: i64 });
response!(/** GetKeyRotationStatus output. */ GetKeyRotationStatusResponse {
    key_rotation_enabled: bool, key_id: String, rotation_period_in_days: u32,
    next_rotation_date: f64, on_demand_rotation_start_date: f64,
});
response!(/** RotateKeyOnDemand output. */ RotateKeyOnDemandResponse { key_id: String });
request!(/** ListKeyRotations input. */ ListKeyRotationsRequest {
    key_id: String, include_key_material: String, limit: i64, marker: String,
});
response!(/** A `RotationsListEntry`. */ RotationsListEntry {
    key_id: String, key_material_id: String, key_material_description: String,
    import_state: String, key_material_state: String, expiration_model: String, valid_to: f64,
    rotation_date: f64, rotation_type: String,
});
response!(/** ListKeyRotations output. */ ListKeyRotationsResponse {
    rotations: Vec<RotationsListEntry>, next_marker: String, truncated: bool,
});

request!(/** GetParametersForImport input. */ GetParametersForImportRequest {
    key_id: String, wrapping_algorithm: String, wrapping_key_spec: String,
});
response!(/** GetParametersForImport output. */ GetParametersForImportResponse {
    key_id: String, import_token: Blob, public_key: Blob, parameters_valid_to: f64,
});
request!(/** ImportKeyMaterial input. */ ImportKeyMaterialRequest {
    key_id: String, #[serde(skip_serializing)] import_token: Blob, #[serde(skip_serializing)] encrypted_key_material: Blob, #[serde(serialize_with = "seconds")] valid_to: f64,
    expiration_model: String, import_type: String, key_material_description: String,
    key_material_id: String,
});
response!(/** ImportKeyMaterial / DeleteImportedKeyMaterial output. */ KeyMaterialResponse {
    key_id: String, key_material_id: String,
});
request!(/** DeleteImportedKeyMaterial input. */ DeleteImportedKeyMaterialRequest {
    key_id: String, key_material_id: String,
});

request!(/** GetPublicKey input. */ GetPublicKeyRequest { key_id: String, #[serde(skip_serializing)] grant_tokens: Vec<String> });
response!(/** GetPublicKey output. */ GetPublicKeyResponse {
    key_id: String, public_key: Blob, customer_master_key_spec: String, key_spec: String,
    key_usage: String, encryption_algorithms: Vec<String>, signing_algorithms: Vec<String>,
    key_agreement_algorithms: Vec<String>, encapsulation_algorithms: Vec<String>,
});
request!(/** Sign / Verify input. */ SignRequest {
    key_id: String, #[serde(skip_serializing)] message: Blob, message_type: String, #[serde(skip_serializing)] signature: Blob,
    signing_algorithm: String, #[serde(skip_serializing)] grant_tokens: Vec<String>, dry_run: bool,
});
response!(/** Sign output. */ SignResponse { key_id: String, signature: Blob, signing_algorithm: String });
response!(/** Verify output. */ VerifyResponse { key_id: String, signature_valid: bool, signing_algorithm: String });
request!(/** GenerateMac / VerifyMac input. */ MacRequest {
    #[serde(skip_serializing)] message: Blob, key_id: String, mac_algorithm: String, #[serde(skip_serializing)] mac: Blob, #[serde(skip_serializing)] grant_tokens: Vec<String>,
    dry_run: bool,
});
response!(/** GenerateMac output. */ GenerateMacResponse { mac: Blob, mac_algorithm: String, key_id: String });
response!(/** VerifyMac output. */ VerifyMacResponse { key_id: String, mac_valid: bool, mac_algorithm: String });
request!(/** GenerateDataKeyPair(WithoutPlaintext) input. */ GenerateDataKeyPairRequest {
    encryption_context: Context, key_id: String, key_pair_spec: String, #[serde(skip_serializing)] grant_tokens: Vec<String>,
    #[serde(skip_serializing)] recipient: serde_json::Value, dry_run: bool,
});
response!(/** GenerateDataKeyPair(WithoutPlaintext) output. */ GenerateDataKeyPairResponse {
    private_key_ciphertext_blob: Blob, private_key_plaintext: Blob, public_key: Blob, key_id: String,
    key_pair_spec: String, key_material_id: String,
});
request!(/** DeriveSharedSecret input. */ DeriveSharedSecretRequest {
    key_id: String, key_agreement_algorithm: String, #[serde(skip_serializing)] public_key: Blob, #[serde(skip_serializing)] grant_tokens: Vec<String>,
    dry_run: bool, #[serde(skip_serializing)] recipient: serde_json::Value,
});
response!(/** DeriveSharedSecret output. */ DeriveSharedSecretResponse {
    key_id: String, shared_secret: Blob, key_agreement_algorithm: String, key_origin: String,
});
request!(/** Encapsulate / Decapsulate input. */ EncapsulateRequest {
    key_id: String, encapsulation_algorithm: String, #[serde(skip_serializing)] shared_secret_ciphertext_blob: Blob,
    #[serde(skip_serializing)] grant_tokens: Vec<String>, dry_run: bool,
});
response!(/** Encapsulate / Decapsulate output. */ EncapsulateResponse {
    key_id: String, shared_secret: Blob, shared_secret_ciphertext_blob: Blob,
    encapsulation_algorithm: String,
});

request!(/** CreateAlias / UpdateAlias input. */ AliasRequest { alias_name: String, target_key_id: String });
request!(/** DeleteAlias input. */ DeleteAliasRequest { alias_name: String });
request!(/** ListAliases input. */ ListAliasesRequest { key_id: String, limit: i64, marker: String });
/// An `AliasListEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    pub creation_date: f64,
    pub last_updated_date: f64,
}
response!(/** ListAliases output. */ ListAliasesResponse { aliases: Vec<AliasListEntry>, next_marker: String, truncated: bool });

request!(/** TagResource input. */ TagResourceRequest { key_id: String, tags: Vec<TagEntry> });
request!(/** UntagResource input. */ UntagResourceRequest { key_id: String, tag_keys: Vec<String> });
request!(/** ListResourceTags input. */ ListResourceTagsRequest { key_id: String, limit: i64, marker: String });
response!(/** ListResourceTags output. */ ListResourceTagsResponse { tags: Vec<TagEntry>, next_marker: String, truncated: bool });

request!(/** GetKeyPolicy input. */ GetKeyPolicyRequest { key_id: String, policy_name: String });
response!(/** GetKeyPolicy output. */ GetKeyPolicyResponse { policy: String, policy_name: String });
request!(/** PutKeyPolicy input. */ PutKeyPolicyRequest {
    key_id: String, policy_name: String, policy: String, bypass_policy_lockout_safety_check: bool,
});
request!(/** ListKeyPolicies input. */ ListKeyPoliciesRequest { key_id: String, limit: i64, marker: String });
response!(/** ListKeyPolicies output. */ ListKeyPoliciesResponse { policy_names: Vec<String>, next_marker: String, truncated: bool });

/// `GrantConstraints`: in CreateGrant requests and ListGrants entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GrantConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<Context>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<Context>,
    /// Only with a grantee service principal, which Kinko does not offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}
request!(/** CreateGrant input. */ CreateGrantRequest {
    key_id: String, grantee_principal: String, grantee_service_principal: String,
    retiring_principal: String, retiring_service_principal: String, operations: Vec<String>,
    constraints: GrantConstraints, #[serde(skip_serializing)] grant_tokens: Vec<String>, name: String, dry_run: bool,
});
response!(/** CreateGrant output. */ CreateGrantResponse { grant_token: String, grant_id: String });
request!(/** ListGrants input. */ ListGrantsRequest {
    limit: i64, marker: String, key_id: String, grant_id: String, grantee_principal: String,
    grantee_service_principal: String,
});
request!(/** ListRetirableGrants input. */ ListRetirableGrantsRequest {
    limit: i64, marker: String, retiring_principal: String, retiring_service_principal: String,
});
/// A `GrantListEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GrantListEntry {
    pub key_id: String,
    pub grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub creation_date: f64,
    pub grantee_principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
}
response!(/** ListGrants and ListRetirableGrants output. */ ListGrantsResponse { grants: Vec<GrantListEntry>, next_marker: String, truncated: bool });
request!(/** RetireGrant input. */ RetireGrantRequest { #[serde(skip_serializing)] grant_token: String, key_id: String, grant_id: String, dry_run: bool });
request!(/** RevokeGrant input. */ RevokeGrantRequest { key_id: String, grant_id: String, dry_run: bool });

/// An empty output, serialized as `{}`.
#[derive(Debug, Serialize, Default)]
pub struct Empty {}

/// `KeyLastUsageData`: every member absent (`{}`) when the key has not been used.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyLastUsageData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_trail_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_request_id: Option<String>,
}
response!(/** GetKeyLastUsage output. */ GetKeyLastUsageResponse {
    key_id: String, key_last_usage: KeyLastUsageData, tracking_start_date: f64, key_creation_date: f64,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_serialize_without_secret_or_absent_members() {
        let request: EncryptRequest = serde_json::from_str(
            r#"{"KeyId":"k","Plaintext":"aGk=","GrantTokens":["t"],"plaintext":"aGk=","DryRun":null}"#,
        )
        .unwrap_or_default();
        let json = serde_json::to_string(&request).unwrap_or_default();
        assert_eq!(json, r#"{"KeyId":"k"}"#);
    }

    #[test]
    fn whole_seconds_serialize_as_integers() {
        let whole: ImportKeyMaterialRequest =
            serde_json::from_str(r#"{"ValidTo":1800000000}"#).unwrap_or_default();
        let part: ImportKeyMaterialRequest =
            serde_json::from_str(r#"{"ValidTo":1800000000.5}"#).unwrap_or_default();
        assert_eq!(
            serde_json::to_string(&whole).unwrap_or_default(),
            r#"{"ValidTo":1800000000}"#
        );
        assert_eq!(
            serde_json::to_string(&part).unwrap_or_default(),
            r#"{"ValidTo":1800000000.5}"#
        );
    }
}
