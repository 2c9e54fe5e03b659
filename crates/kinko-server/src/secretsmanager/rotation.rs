//! RotateSecret and CancelRotateSecret. RotateSecret stores the rotation (function, schedule,
//! RotationEnabled) and, unless RotateImmediately is false, runs the function at once with a
//! new ClientRequestToken (the AWSPENDING version's id) and records how it went on the secret
//! (LastRotatedDate, or the failure, with AWSPENDING left in place) and in the audit trail
//! (`RotationSucceeded` / `RotationFailed`).

use std::collections::BTreeMap;

use kinko_api::secrets::{
    RotateSecretRequest, SecretArnResponse, SecretIdRequest, SecretWriteResponse,
};
use kinko_core::{AuditDraft, Kms, RotationRequest};
use serde_json::json;

use super::op::{
    Call, Descriptor, Reply, SmRequest, body, handler, invalid, required, secrets_audit,
};
use crate::audit::{Recorded, RequestInfo};

pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("RotateSecret", handler!(rotate_secret)),
    Descriptor::changes("CancelRotateSecret", handler!(cancel_rotate_secret)),
];

impl SmRequest for RotateSecretRequest {}

async fn rotate_secret(cx: Call<'_>, r: RotateSecretRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let token = match r.client_request_token {
        Some(t) if (32..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()) => {
            Some(t)
        }
        Some(_) => return Err(invalid("ClientRequestToken must be 32-64 characters.")),
        None => None,
    };
    let rules = r.rotation_rules.unwrap_or_default();
    let req = RotationRequest {
        lambda_arn: r.rotation_lambda_arn,
        after_days: rules.automatically_after_days,
        schedule: rules.schedule_expression,
        duration: rules.duration,
    };
    let functions = cx.rotation_functions;
    let known = |arn: &str| functions.contains_key(arn);
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .configure_secret_rotation(&cx.caller, &id, req, &known, &audit)
        .await
        .map_err(cx.core())?;
    if !r.rotate_immediately.unwrap_or(true) {
        return body(&SecretArnResponse {
            arn: Some(secret.arn),
            name: Some(secret.name),
            deletion_date: None,
        });
    }
    let token = match token {
        Some(t) => t,
        None => token_for(cx.kms, &secret.arn).await,
    };
    rotate_now(cx.kms, functions, Some(cx.info()), &secret.arn, &token).await;
    body(&SecretWriteResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        version_id: Some(token),
        version_stages: None,
    })
}

/// The token of a new rotation of `arn`: the AWSPENDING version's id when a rotation stopped
/// part way (that rotation is reattempted, as AWS does), else a new UUID.
async fn token_for(kms: &Kms, arn: &str) -> String {
    let pending = kms
        .store()
        .secret_versions(arn)
        .await
        .ok()
        .and_then(|versions| {
            versions
                .into_iter()
                .find(|v| v.has(kinko_core::AWSPENDING) && !v.has(kinko_core::AWSCURRENT))
                .map(|v| v.version_id)
        });
    pending.unwrap_or_else(crate::util::new_uuid)
}

/// Runs the rotation function of `arn` with `token` and records the outcome. A failure is not
/// the caller's error: like AWS, RotateSecret answers and the secret shows what went wrong.
pub(crate) async fn rotate_now(
    kms: &Kms,
    functions: &BTreeMap<String, String>,
    info: Option<&RequestInfo>,
    arn: &str,
    token: &str,
) {
    let secret = match kms.store().get_secret(arn).await {
        Ok(Some(s)) => s,
        _ => return,
    };
    let Some(rotation) = secret.rotation.clone().filter(|r| r.enabled) else {
        return;
    };
    let outcome = match functions.get(&rotation.lambda_arn) {
        Some(url) => super::rotation_client::run_steps(url, arn, token).await,
        None => Err(format!(
            "The rotation function {} is not configured.",
            rotation.lambda_arn
        )),
    };
    let failure = outcome.err();
    match &failure {
        None => tracing::info!(secret = %arn, version_id = %token, "secret rotated"),
        Some(why) => {
            tracing::warn!(secret = %arn, version_id = %token, reason = %why, "secret rotation failed")
        }
    }
    let draft = match info {
        Some(info) => outcome_record(info, arn, token, failure.as_deref()),
        None => crate::jobs::secret_event(
            &secret,
            if failure.is_none() {
                "RotationSucceeded"
            } else {
                "RotationFailed"
            },
            kms.clock().now(),
            json!({ "secretId": arn, "clientRequestToken": token }),
            outcome_elements(arn, token, failure.as_deref()),
        ),
    };
    if let Err(e) = kms
        .record_secret_rotation(arn, token, failure, &draft)
        .await
    {
        tracing::error!(secret = %arn, error = %e, "recording a rotation's outcome failed");
    }
}

/// The audit record of a rotation's outcome (`RotationSucceeded` or `RotationFailed`).
fn outcome_record(info: &RequestInfo, arn: &str, token: &str, failure: Option<&str>) -> AuditDraft {
    let mut info = info.clone();
    info.operation = if failure.is_none() {
        "RotationSucceeded"
    } else {
        "RotationFailed"
    }
    .to_owned();
    info.read_only = false;
    info.request_parameters = Some(json!({ "secretId": arn, "clientRequestToken": token }));
    info.draft(&Recorded {
        key: None,
        source_key: None,
        response_elements: Some(outcome_elements(arn, token, failure)),
        error: None,
    })
}

fn outcome_elements(arn: &str, token: &str, failure: Option<&str>) -> serde_json::Value {
    match failure {
        None => json!({ "ARN": arn, "versionId": token }),
        Some(why) => json!({ "ARN": arn, "versionId": token, "failure": why }),
    }
}

/// The scheduler's part: starts each due rotation (NextRotationDate passed) with a new token,
/// one node at a time under the store's job lock.
pub(crate) async fn rotate_due(kms: &Kms, functions: &BTreeMap<String, String>) {
    let rotate = |secret: kinko_core::Secret| async move {
        let token = token_for(kms, &secret.arn).await;
        tracing::info!(secret = %secret.arn, version_id = %token, "starting a scheduled secret rotation");
        rotate_now(kms, functions, None, &secret.arn, &token).await;
    };
    if let Err(e) = kms.rotate_due_secrets(rotate).await {
        tracing::error!(error = %e, "scheduled secret rotations failed; retrying at the next tick");
    }
}

async fn cancel_rotate_secret(cx: Call<'_>, r: SecretIdRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let audit = secrets_audit!(cx);
    let secret = cx
        .kms
        .cancel_secret_rotation(&cx.caller, &id, &audit)
        .await
        .map_err(cx.core())?;
    body(&SecretArnResponse {
        arn: Some(secret.arn),
        name: Some(secret.name),
        deletion_date: None,
    })
}
