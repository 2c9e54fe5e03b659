//! Secrets Manager's JSON 1.1 wire shapes (`X-Amz-Target: secretsmanager.<Operation>`), named
//! and cased as botocore's `secretsmanager` model names them. Members that carry a secret value
//! (`SecretString`, `SecretBinary`, a generated password) are never serialized into an audit
//! record: requests mark them `skip_serializing`, and responses are never recorded.

use serde::{Deserialize, Serialize};

use crate::Blob;

macro_rules! sm_request {
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

macro_rules! sm_response {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Serialize)]
        #[serde(rename_all = "PascalCase")]
        #[allow(missing_docs)]
        pub struct $name { $($(#[$fm])* #[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>),* }
    };
}

/// A secret's `Tag`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SmTag {
    /// Key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A ListSecrets / BatchGetSecretValue `Filter`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SmFilter {
    /// Key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

sm_request!(/** CreateSecret input. */ CreateSecretRequest {
    name: String, client_request_token: String, description: String, kms_key_id: String,
    #[serde(skip_serializing)] secret_binary: Blob, #[serde(skip_serializing)] secret_string: String,
    tags: Vec<SmTag>, add_replica_regions: serde_json::Value, force_overwrite_replica_secret: bool,
});
sm_response!(/** CreateSecret, PutSecretValue, UpdateSecret output. */ SecretWriteResponse {
    #[serde(rename = "ARN")] arn: String, name: String, version_id: String,
    version_stages: Vec<String>,
});
sm_request!(/** GetSecretValue input. */ GetSecretValueRequest {
    secret_id: String, version_id: String, version_stage: String,
});
sm_response!(/** GetSecretValue output. */ GetSecretValueResponse {
    #[serde(rename = "ARN")] arn: String, name: String, version_id: String,
    secret_binary: Blob, secret_string: String, version_stages: Vec<String>, created_date: f64,
});
sm_request!(/** BatchGetSecretValue input. */ BatchGetSecretValueRequest {
    secret_id_list: Vec<String>, filters: Vec<SmFilter>, max_results: i64, next_token: String,
});
/// An `APIErrorType` of BatchGetSecretValue.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct SmApiError {
    pub secret_id: String,
    pub error_code: String,
    pub message: String,
}
sm_response!(/** BatchGetSecretValue output. */ BatchGetSecretValueResponse {
    secret_values: Vec<GetSecretValueResponse>, next_token: String, errors: Vec<SmApiError>,
});
sm_request!(/** PutSecretValue input. */ PutSecretValueRequest {
    secret_id: String, client_request_token: String,
    #[serde(skip_serializing)] secret_binary: Blob, #[serde(skip_serializing)] secret_string: String,
    version_stages: Vec<String>, rotation_token: String,
});
sm_request!(/** UpdateSecret input. */ UpdateSecretRequest {
    secret_id: String, client_request_token: String, description: String, kms_key_id: String,
    #[serde(skip_serializing)] secret_binary: Blob, #[serde(skip_serializing)] secret_string: String,
});
sm_request!(/** DescribeSecret, RestoreSecret and the like: a SecretId. */ SecretIdRequest {
    secret_id: String,
});
sm_response!(/** DescribeSecret output (and ListSecrets' `SecretListEntry`). */ DescribeSecretResponse {
    #[serde(rename = "ARN")] arn: String, name: String, description: String, kms_key_id: String,
    rotation_enabled: bool, #[serde(rename = "RotationLambdaARN")] rotation_lambda_arn: String,
    rotation_rules: RotationRules, last_rotated_date: f64, next_rotation_date: f64,
    last_changed_date: f64, deleted_date: f64, tags: Vec<SmTag>,
    version_ids_to_stages: std::collections::BTreeMap<String, Vec<String>>,
    secret_versions_to_stages: std::collections::BTreeMap<String, Vec<String>>,
    created_date: f64, primary_region: String,
});
sm_request!(/** ListSecrets input. */ ListSecretsRequest {
    include_planned_deletion: bool, max_results: i64, next_token: String, filters: Vec<SmFilter>,
    sort_order: String, sort_by: String,
});
sm_response!(/** ListSecrets output. */ ListSecretsResponse {
    secret_list: Vec<DescribeSecretResponse>, next_token: String,
});
sm_request!(/** ListSecretVersionIds input. */ ListSecretVersionIdsRequest {
    secret_id: String, max_results: i64, next_token: String, include_deprecated: bool,
});
/// A `SecretVersionsListEntry`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct SecretVersionsListEntry {
    pub version_id: String,
    pub version_stages: Vec<String>,
    pub created_date: f64,
    pub kms_key_ids: Vec<String>,
}
sm_response!(/** ListSecretVersionIds output. */ ListSecretVersionIdsResponse {
    versions: Vec<SecretVersionsListEntry>, next_token: String,
    #[serde(rename = "ARN")] arn: String, name: String,
});
sm_request!(/** UpdateSecretVersionStage input. */ UpdateSecretVersionStageRequest {
    secret_id: String, version_stage: String, remove_from_version_id: String,
    move_to_version_id: String,
});
sm_request!(/** DeleteSecret input. */ DeleteSecretRequest {
    secret_id: String, recovery_window_in_days: i64, force_delete_without_recovery: bool,
});
sm_response!(/** ARN and name, with a deletion date for DeleteSecret. */ SecretArnResponse {
    #[serde(rename = "ARN")] arn: String, name: String, deletion_date: f64,
});
sm_request!(/** TagResource input. */ TagResourceRequest { secret_id: String, tags: Vec<SmTag> });
sm_request!(/** UntagResource input. */ UntagResourceRequest { secret_id: String, tag_keys: Vec<String> });
sm_request!(/** GetRandomPassword input. */ GetRandomPasswordRequest {
    password_length: i64, exclude_characters: String, exclude_numbers: bool,
    exclude_punctuation: bool, exclude_uppercase: bool, exclude_lowercase: bool,
    include_space: bool, require_each_included_type: bool,
});
sm_response!(/** GetRandomPassword output. */ GetRandomPasswordResponse { random_password: String });
sm_request!(/** PutResourcePolicy input. */ PutResourcePolicyRequest {
    secret_id: String, resource_policy: String, block_public_policy: bool,
});
sm_response!(/** GetResourcePolicy output. */ GetResourcePolicyResponse {
    #[serde(rename = "ARN")] arn: String, name: String, resource_policy: String,
});
sm_request!(/** ValidateResourcePolicy input. */ ValidateResourcePolicyRequest {
    secret_id: String, resource_policy: String,
});
/// A `ValidationErrorsEntry` of ValidateResourcePolicy.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ValidationErrorsEntry {
    pub check_name: String,
    pub error_message: String,
}
sm_response!(/** ValidateResourcePolicy output. */ ValidateResourcePolicyResponse {
    policy_validation_passed: bool, validation_errors: Vec<ValidationErrorsEntry>,
});

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
/// RotationRules.
pub struct RotationRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}
sm_request!(/** RotateSecret input. */ RotateSecretRequest {
    secret_id: String, client_request_token: String,
    #[serde(rename = "RotationLambdaARN")] rotation_lambda_arn: String,
    rotation_rules: RotationRules, rotate_immediately: bool,
});
