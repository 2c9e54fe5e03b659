//! The changes a key's page makes, each one KMS call as the signed-in principal (with the
//! session's CSRF token): EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion,
//! PutKeyPolicy (JSON checked first; the server's own lockout check applies), CreateAlias,
//! DeleteAlias, TagResource, UntagResource, RevokeGrant, EnableKeyRotation, DisableKeyRotation
//! and RotateKeyOnDemand. The outcome, or AWS's refusal, shows on the key's page.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::call;
use super::ctx::{Console, after_change, change_ctx};
use super::html::url;

/// The KMS operation and body a change stands for, or why the form is wrong.
fn operation(
    op: &str,
    key: &str,
    form: &crate::query::Params,
) -> Result<(&'static str, Value), String> {
    let field = |name: &str| form.get(name).unwrap_or("").trim().to_owned();
    Ok(match op {
        "enable" => ("EnableKey", json!({ "KeyId": key })),
        "disable" => ("DisableKey", json!({ "KeyId": key })),
        "schedule-deletion" => {
            let days: u32 = field("days")
                .parse()
                .map_err(|_| "The waiting period must be a number of days (7–30).".to_owned())?;
            (
                "ScheduleKeyDeletion",
                json!({ "KeyId": key, "PendingWindowInDays": days }),
            )
        }
        "cancel-deletion" => ("CancelKeyDeletion", json!({ "KeyId": key })),
        "put-policy" => {
            let policy = form.get("policy").unwrap_or("");
            if let Err(e) = serde_json::from_str::<Value>(policy) {
                return Err(format!("The policy is not valid JSON: {e}."));
            }
            (
                "PutKeyPolicy",
                json!({ "KeyId": key, "PolicyName": "default", "Policy": policy }),
            )
        }
        "create-alias" => (
            "CreateAlias",
            json!({ "AliasName": field("alias"), "TargetKeyId": key }),
        ),
        "delete-alias" => ("DeleteAlias", json!({ "AliasName": field("alias") })),
        "tag" => (
            "TagResource",
            json!({ "KeyId": key, "Tags": [{ "TagKey": field("tag_key"), "TagValue": field("tag_value") }] }),
        ),
        "untag" => (
            "UntagResource",
            json!({ "KeyId": key, "TagKeys": [field("tag_key")] }),
        ),
        "revoke-grant" => (
            "RevokeGrant",
            json!({ "KeyId": key, "GrantId": field("grant_id") }),
        ),
        "enable-rotation" => {
            let days: u32 = field("period").parse().map_err(|_| {
                "The rotation period must be a number of days (90–2560).".to_owned()
            })?;
            (
                "EnableKeyRotation",
                json!({ "KeyId": key, "RotationPeriodInDays": days }),
            )
        }
        "disable-rotation" => ("DisableKeyRotation", json!({ "KeyId": key })),
        "rotate-now" => ("RotateKeyOnDemand", json!({ "KeyId": key })),
        _ => return Err("Unknown action.".to_owned()),
    })
}

/// `POST /console/keys/{id}`.
pub(crate) async fn submit(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let (ctx, form) = match change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let back = format!("/console/keys/{}", url(&id));
    let op = form.get("op").unwrap_or("");
    let (name, body) = match operation(op, &id, &form) {
        Ok(x) => x,
        Err(why) => return after_change(&c, &ctx, false, why, &back),
    };
    match call::kms(&c.app, &ctx.session, &ctx.conn, name, body).await {
        Ok(_) => after_change(&c, &ctx, true, format!("{name} succeeded."), &back),
        Err(e) => after_change(&c, &ctx, false, format!("{name} was refused. {e}"), &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_the_calls_they_stand_for() {
        let form = crate::query::Params::parse(b"days=7&policy=%7B%7D").expect("form");
        let (name, body) = operation("schedule-deletion", "k", &form).expect("valid");
        assert_eq!(name, "ScheduleKeyDeletion");
        assert_eq!(body["PendingWindowInDays"], 7);
        assert_eq!(
            operation("put-policy", "k", &form).expect("valid").0,
            "PutKeyPolicy"
        );
        let bad = crate::query::Params::parse(b"policy=%7Bnope&days=x").expect("form");
        assert!(operation("put-policy", "k", &bad).is_err_and(|e| e.contains("not valid JSON")));
        assert!(operation("schedule-deletion", "k", &bad).is_err());
        assert!(operation("drop-table", "k", &bad).is_err());
    }
}
