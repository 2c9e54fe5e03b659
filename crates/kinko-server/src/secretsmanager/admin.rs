//! The operations on a secret's metadata and lifecycle: DescribeSecret, ListSecrets,
//! ListSecretVersionIds, UpdateSecretVersionStage, DeleteSecret, RestoreSecret, TagResource,
//! UntagResource and GetRandomPassword.

use std::collections::BTreeMap;

use kinko_api::secrets::{
    DeleteSecretRequest, DescribeSecretResponse, GetRandomPasswordRequest,
    GetRandomPasswordResponse, ListSecretVersionIdsRequest, ListSecretVersionIdsResponse,
    ListSecretsRequest, ListSecretsResponse, RotationRules, SecretArnResponse, SecretIdRequest,
    SecretVersionsListEntry, SmTag, TagResourceRequest, UntagResourceRequest,
    UpdateSecretVersionStageRequest,
};
use kinko_core::{PasswordRules, Secret, SecretVersion};
use kinko_crypto::SecretBytes;
use kinko_policy::ConditionKeys;

use super::convert::{filters, tag_facts, tags};
use super::op::{
    Call, Descriptor, Reply, SmRequest, body, handler, invalid, required, secrets_audit, text,
};
use crate::convert::timestamp;
use crate::errors::ApiError;

pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("DescribeSecret", handler!(describe_secret)),
    Descriptor::reads("ListSecrets", handler!(list_secrets)),
    Descriptor::reads("ListSecretVersionIds", handler!(list_secret_version_ids)),
    Descriptor::reads("GetRandomPassword", handler!(get_random_password)),
    Descriptor::changes(
        "UpdateSecretVersionStage",
        handler!(update_secret_version_stage),
    ),
    Descriptor::changes("DeleteSecret", handler!(delete_secret)),
    Descriptor::changes("RestoreSecret", handler!(restore_secret)),
    Descriptor::changes("TagResource", handler!(tag_resource)),
    Descriptor::changes("UntagResource", handler!(untag_resource)),
];

fn max_results(n: Option<i64>) -> Result<usize, ApiError> {
    match n {
        None => Ok(100),
        Some(n @ 1..=100) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(_) => Err(invalid("MaxResults must be between 1 and 100.")),
    }
}

/// DescribeSecret's shape (and ListSecrets' entries).
fn described(secret: Secret, versions: &[SecretVersion]) -> DescribeSecretResponse {
    let stages: BTreeMap<String, Vec<String>> = versions
        .iter()
        .filter(|v| !v.stages.is_empty())
        .map(|v| (v.version_id.clone(), v.stages.clone()))
        .collect();
    DescribeSecretResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        description: (!secret.description.is_empty()).then_some(secret.description),
        kms_key_id: secret.kms_key_id,
        rotation_enabled: secret.rotation.as_ref().map(|r| r.enabled),
        rotation_lambda_arn: secret.rotation.as_ref().map(|r| r.lambda_arn.clone()),
        rotation_rules: secret.rotation.as_ref().map(|r| RotationRules {
            automatically_after_days: r.after_days,
            duration: r.duration.clone(),
            schedule_expression: r.schedule.clone(),
        }),
        last_rotated_date: secret
            .rotation
            .as_ref()
            .and_then(|r| r.last_rotated)
            .map(timestamp),
        next_rotation_date: secret
            .rotation
            .as_ref()
            .filter(|r| r.enabled)
            .and_then(|r| r.next_rotation)
            .map(timestamp),
        last_changed_date: Some(timestamp(secret.last_changed_at)),
        deleted_date: secret.deletion_date.map(timestamp),
        tags: (!secret.tags.is_empty()).then(|| {
            secret
                .tags
                .into_iter()
                .map(|t| SmTag {
                    key: Some(t.key),
                    value: Some(t.value),
                })
                .collect()
        }),
        version_ids_to_stages: Some(stages),
        secret_versions_to_stages: None,
        created_date: Some(timestamp(secret.created_at)),
        primary_region: None,
    }
}

impl SmRequest for SecretIdRequest {}

async fn describe_secret(cx: Call<'_>, r: SecretIdRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let (secret, versions) = cx
        .kms
        .describe_secret(&cx.caller, &id)
        .await
        .map_err(cx.core())?;
    body(&described(secret, &versions))
}

impl SmRequest for ListSecretsRequest {}

async fn list_secrets(cx: Call<'_>, r: ListSecretsRequest) -> Reply {
    let descending = match r.sort_order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(invalid("SortOrder must be asc or desc.")),
    };
    let filters = filters(r.filters)?;
    let page = cx
        .kms
        .list_secrets(
            &cx.caller,
            &filters,
            r.include_planned_deletion.unwrap_or(false),
            descending,
            max_results(r.max_results)?,
            r.next_token.as_deref(),
        )
        .await
        .map_err(cx.core())?;
    body(&ListSecretsResponse {
        secret_list: Some(
            page.items
                .into_iter()
                .map(|(s, v)| {
                    let mut d = described(s, &v);
                    d.secret_versions_to_stages = d.version_ids_to_stages.take();
                    d
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

impl SmRequest for ListSecretVersionIdsRequest {}

async fn list_secret_version_ids(cx: Call<'_>, r: ListSecretVersionIdsRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let (secret, page) = cx
        .kms
        .list_secret_version_ids(
            &cx.caller,
            &id,
            r.include_deprecated.unwrap_or(false),
            max_results(r.max_results)?,
            r.next_token.as_deref(),
        )
        .await
        .map_err(cx.core())?;
    body(&ListSecretVersionIdsResponse {
        versions: Some(
            page.items
                .into_iter()
                .map(|v| SecretVersionsListEntry {
                    version_id: v.version_id,
                    version_stages: v.stages,
                    created_date: timestamp(v.created_at),
                    kms_key_ids: vec![v.key_arn],
                })
                .collect(),
        ),
        next_token: page.next_token,
        arn: Some(secret.arn),
        name: Some(secret.name),
    })
}

impl SmRequest for UpdateSecretVersionStageRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        text(
            keys,
            "secretsmanager:VersionStage",
            self.version_stage.as_ref(),
        );
    }
}

async fn update_secret_version_stage(cx: Call<'_>, r: UpdateSecretVersionStageRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let stage = required(r.version_stage, "VersionStage")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .update_secret_version_stage(
            &cx.caller,
            &id,
            &stage,
            r.remove_from_version_id.as_deref(),
            r.move_to_version_id.as_deref(),
            &audit,
        )
        .await
        .map_err(cx.core())?;
    body(&SecretArnResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        deletion_date: None,
    })
}

impl SmRequest for DeleteSecretRequest {}

async fn delete_secret(cx: Call<'_>, r: DeleteSecretRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .delete_secret(
            &cx.caller,
            &id,
            r.recovery_window_in_days,
            r.force_delete_without_recovery.unwrap_or(false),
            &audit,
        )
        .await
        .map_err(cx.core())?;
    body(&SecretArnResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        deletion_date: secret.deletion_date.map(timestamp),
    })
}

async fn restore_secret(cx: Call<'_>, r: SecretIdRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .restore_secret(&cx.caller, &id, &audit)
        .await
        .map_err(cx.core())?;
    body(&SecretArnResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        deletion_date: None,
    })
}

impl SmRequest for TagResourceRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        tag_facts(keys, self.tags.as_ref());
    }
}

async fn tag_resource(cx: Call<'_>, r: TagResourceRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let tags = tags(Some(required(r.tags, "Tags")?))?;
    let audit = secrets_audit!(cx);
    cx.kms
        .tag_secret(&cx.caller, &id, tags, Vec::new(), &audit)
        .await
        .map_err(cx.core())?;
    Ok(b"{}".to_vec())
}

impl SmRequest for UntagResourceRequest {}

async fn untag_resource(cx: Call<'_>, r: UntagResourceRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let keys = required(r.tag_keys, "TagKeys")?;
    if keys.is_empty() {
        return Err(invalid("TagKeys must name at least one tag key."));
    }
    let audit = secrets_audit!(cx);
    cx.kms
        .tag_secret(&cx.caller, &id, Vec::new(), keys, &audit)
        .await
        .map_err(cx.core())?;
    Ok(b"{}".to_vec())
}

impl SmRequest for GetRandomPasswordRequest {}

async fn get_random_password(cx: Call<'_>, r: GetRandomPasswordRequest) -> Reply {
    let defaults = PasswordRules::default();
    let rules = PasswordRules {
        length: match r.password_length {
            None => defaults.length,
            Some(n @ 1..=4096) => usize::try_from(n).unwrap_or(defaults.length),
            Some(_) => return Err(invalid("PasswordLength must be between 1 and 4096.")),
        },
        exclude: r.exclude_characters.unwrap_or_default(),
        exclude_numbers: r.exclude_numbers.unwrap_or(false),
        exclude_punctuation: r.exclude_punctuation.unwrap_or(false),
        exclude_uppercase: r.exclude_uppercase.unwrap_or(false),
        exclude_lowercase: r.exclude_lowercase.unwrap_or(false),
        include_space: r.include_space.unwrap_or(false),
        require_each_type: r.require_each_included_type.unwrap_or(true),
    };
    let password = cx
        .kms
        .get_random_password(&cx.caller, &rules)
        .await
        .map_err(cx.core())?;
    let mut response = GetRandomPasswordResponse {
        random_password: Some(String::from_utf8_lossy(password.expose()).into_owned()),
    };
    let out = body(&response);
    if let Some(p) = response.random_password.take() {
        drop(SecretBytes::new(p.into_bytes()));
    }
    out
}
