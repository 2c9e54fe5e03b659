//! A secret's resource-based policy: PutResourcePolicy, GetResourcePolicy,
//! DeleteResourcePolicy and ValidateResourcePolicy.

use kinko_api::secrets::{
    GetResourcePolicyResponse, PutResourcePolicyRequest, SecretArnResponse, SecretIdRequest,
    ValidateResourcePolicyRequest, ValidateResourcePolicyResponse, ValidationErrorsEntry,
};

use super::op::{Call, Descriptor, Reply, SmRequest, body, handler, required, secrets_audit};

pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("PutResourcePolicy", handler!(put_resource_policy)),
    Descriptor::reads("GetResourcePolicy", handler!(get_resource_policy)),
    Descriptor::changes("DeleteResourcePolicy", handler!(delete_resource_policy)),
    Descriptor::reads("ValidateResourcePolicy", handler!(validate_resource_policy)),
];

impl SmRequest for PutResourcePolicyRequest {}

async fn put_resource_policy(cx: Call<'_>, r: PutResourcePolicyRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let policy = required(r.resource_policy, "ResourcePolicy")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .put_secret_resource_policy(
            &cx.caller,
            &id,
            &policy,
            r.block_public_policy.unwrap_or(false),
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

async fn get_resource_policy(cx: Call<'_>, r: SecretIdRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let secret = cx
        .kms
        .get_secret_resource_policy(&cx.caller, &id)
        .await
        .map_err(cx.core())?;
    body(&GetResourcePolicyResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        resource_policy: secret.resource_policy,
    })
}

async fn delete_resource_policy(cx: Call<'_>, r: SecretIdRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .delete_secret_resource_policy(&cx.caller, &id, &audit)
        .await
        .map_err(cx.core())?;
    body(&SecretArnResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        deletion_date: None,
    })
}

impl SmRequest for ValidateResourcePolicyRequest {}

async fn validate_resource_policy(cx: Call<'_>, r: ValidateResourcePolicyRequest) -> Reply {
    let policy = required(r.resource_policy, "ResourcePolicy")?;
    let check = cx
        .kms
        .validate_secret_resource_policy(&cx.caller, r.secret_id.as_deref(), &policy)
        .await
        .map_err(cx.core())?;
    body(&ValidateResourcePolicyResponse {
        policy_validation_passed: Some(check.errors.is_empty()),
        validation_errors: Some(
            check
                .errors
                .into_iter()
                .map(|(check_name, error_message)| ValidationErrorsEntry {
                    check_name,
                    error_message,
                })
                .collect(),
        ),
    })
}
