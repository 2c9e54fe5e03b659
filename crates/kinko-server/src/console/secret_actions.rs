//! What a secret's page does, each one Secrets Manager call as the signed-in principal (with the
//! session's CSRF token): GetSecretValue (the "Retrieve" buttons: its answer is the page itself,
//! never a redirect, so the value is in no URL, cookie or flash), PutSecretValue, UpdateSecret
//! (description, and the KMS key when one is given: every labelled version is sealed again under
//! it), RotateSecret (with a configured function; or at once with the kept
//! configuration), CancelRotateSecret, TagResource, UntagResource, PutResourcePolicy,
//! DeleteResourcePolicy, DeleteSecret (recovery window 7–30 days) and RestoreSecret.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use kinko_crypto::SecretBytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::call::{self, Refusal};
use super::ctx::{Console, Ctx, after_change, change_ctx};
use super::secret_detail::{Shown, render};
use super::secrets::{secret_link, sm};
use crate::query::Params;

/// The Secrets Manager operation and body a change stands for, or why the form is wrong.
fn operation(op: &str, id: &str, form: &Params) -> Result<(&'static str, Value), String> {
    let field = |name: &str| form.get(name).unwrap_or("").trim().to_owned();
    Ok(match op {
        "put-value" => (
            "PutSecretValue",
            json!({ "SecretId": id, "SecretString": form.get("value").unwrap_or("") }),
        ),
        "update" => {
            let mut body = json!({ "SecretId": id, "Description": field("description") });
            let key = field("kms_key");
            if !key.is_empty() {
                body["KmsKeyId"] = json!(key);
            }
            ("UpdateSecret", body)
        }
        "rotate" => {
            let days: u32 = field("days").parse().map_err(|_| {
                "The rotation interval must be a number of days (1–1000).".to_owned()
            })?;
            (
                "RotateSecret",
                json!({
                    "SecretId": id,
                    "RotationLambdaARN": field("lambda"),
                    "RotationRules": { "AutomaticallyAfterDays": days },
                    "RotateImmediately": true,
                }),
            )
        }
        "rotate-now" => ("RotateSecret", json!({ "SecretId": id })),
        "cancel-rotation" => ("CancelRotateSecret", json!({ "SecretId": id })),
        "tag" => (
            "TagResource",
            json!({ "SecretId": id, "Tags": [{ "Key": field("tag_key"), "Value": field("tag_value") }] }),
        ),
        "untag" => (
            "UntagResource",
            json!({ "SecretId": id, "TagKeys": [field("tag_key")] }),
        ),
        "put-policy" => {
            let policy = form.get("policy").unwrap_or("");
            if let Err(e) = serde_json::from_str::<Value>(policy) {
                return Err(format!("The policy is not valid JSON: {e}."));
            }
            (
                "PutResourcePolicy",
                json!({ "SecretId": id, "ResourcePolicy": policy }),
            )
        }
        "delete-policy" => ("DeleteResourcePolicy", json!({ "SecretId": id })),
        "delete" => {
            let days: u32 = field("days")
                .parse()
                .map_err(|_| "The recovery window must be a number of days (7–30).".to_owned())?;
            (
                "DeleteSecret",
                json!({ "SecretId": id, "RecoveryWindowInDays": days }),
            )
        }
        "restore" => ("RestoreSecret", json!({ "SecretId": id })),
        _ => return Err("Unknown action.".to_owned()),
    })
}

/// GetSecretValue's answer, read straight into a [`SecretBytes`].
#[derive(Deserialize)]
struct Got {
    #[serde(rename = "VersionId", default)]
    version_id: String,
    #[serde(rename = "VersionStages", default)]
    stages: Vec<String>,
    #[serde(rename = "SecretString")]
    string: Option<String>,
    #[serde(rename = "SecretBinary")]
    binary: Option<String>,
}

/// GetSecretValue as the session's principal: AWSCURRENT, or `version_id`.
async fn reveal(c: &Console, ctx: &Ctx, id: &str, version_id: &str) -> Result<Shown, Refusal> {
    let mut req = json!({ "SecretId": id });
    if !version_id.is_empty() {
        req["VersionId"] = json!(version_id);
    }
    let raw =
        call::secretsmanager_raw(&c.app, &ctx.session, &ctx.conn, "GetSecretValue", &req).await?;
    let got: Got = serde_json::from_slice(raw.expose()).map_err(|_| Refusal {
        code: "InternalServiceError".to_owned(),
        message: String::new(),
    })?;
    let binary = got.string.is_none();
    let value = got.string.or(got.binary).unwrap_or_default();
    Ok(Shown {
        version_id: got.version_id,
        stages: got.stages,
        value: SecretBytes::new(value.into_bytes()),
        binary,
    })
}

/// `POST /console/secrets/view`.
pub(crate) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (ctx, form) = match change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let id = form.get("id").unwrap_or("").to_owned();
    let op = form.get("op").unwrap_or("");
    if matches!(op, "reveal" | "reveal-version") {
        let version = if op == "reveal-version" {
            form.get("version_id").unwrap_or("")
        } else {
            ""
        };
        let shown = reveal(&c, &ctx, &id, version).await;
        return render(&c, &ctx, &id, Some(shown)).await;
    }
    let back = secret_link(&id);
    let (name, body) = match operation(op, &id, &form) {
        Ok(x) => x,
        Err(why) => return after_change(&c, &ctx, false, why, &back),
    };
    match sm(&c, &ctx, name, body).await {
        Ok(_) => after_change(&c, &ctx, true, format!("{name} succeeded."), &back),
        Err(e) => after_change(&c, &ctx, false, format!("{name} was refused. {e}"), &back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_the_calls_they_stand_for() {
        let form = Params::parse(b"days=7&value=s3cret&policy=%7B%7D&lambda=arn").expect("form");
        let (name, body) = operation("delete", "s", &form).expect("valid");
        assert_eq!(name, "DeleteSecret");
        assert_eq!(body["RecoveryWindowInDays"], 7);
        let (name, body) = operation("put-value", "s", &form).expect("valid");
        assert_eq!(
            (name, body["SecretString"].as_str()),
            ("PutSecretValue", Some("s3cret"))
        );
        let (name, body) = operation("rotate", "s", &form).expect("valid");
        assert_eq!(name, "RotateSecret");
        assert_eq!(body["RotationRules"]["AutomaticallyAfterDays"], 7);
        assert_eq!(
            operation("restore", "s", &form).expect("valid").0,
            "RestoreSecret"
        );
        let update = Params::parse(b"description=d&kms_key=").expect("form");
        let (_, body) = operation("update", "s", &update).expect("valid");
        assert!(
            body.get("KmsKeyId").is_none(),
            "an empty key field keeps the key"
        );
        let update = Params::parse(b"description=d&kms_key=alias%2Fk").expect("form");
        let (_, body) = operation("update", "s", &update).expect("valid");
        assert_eq!(body["KmsKeyId"], "alias/k");
        let bad = Params::parse(b"policy=%7Bnope&days=x").expect("form");
        assert!(operation("put-policy", "s", &bad).is_err_and(|e| e.contains("not valid JSON")));
        assert!(operation("delete", "s", &bad).is_err());
        assert!(operation("drop-table", "s", &bad).is_err());
    }
}
