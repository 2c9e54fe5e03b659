//! Access keys of IAM users (or, without `UserName`, of the caller itself): CreateAccessKey,
//! ListAccessKeys, UpdateAccessKey, DeleteAccessKey. A key made inactive or deleted is dropped
//! from this node's signing-key cache at once.

use kinko_api::ErrorCode;
use kinko_core::{AccessKey, Action, Error};

use crate::errors::ApiError;
use crate::query::op::{Call, Descriptor, Reply, handler, member};
use crate::query::xml::{Xml, date};

/// The family's actions.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes(
        "CreateAccessKey",
        Action::IamCreateAccessKey,
        handler!(create_access_key),
    ),
    Descriptor::reads(
        "ListAccessKeys",
        Some(Action::IamListAccessKeys),
        handler!(list_access_keys),
    ),
    Descriptor::changes(
        "UpdateAccessKey",
        Action::IamUpdateAccessKey,
        handler!(update_access_key),
    ),
    Descriptor::changes(
        "DeleteAccessKey",
        Action::IamDeleteAccessKey,
        handler!(delete_access_key),
    ),
];

fn key_metadata_xml(x: &mut Xml, k: &AccessKey, user_name: &str) {
    if !user_name.is_empty() {
        x.text("UserName", user_name);
    }
    x.text("AccessKeyId", k.id.as_str())
        .text("Status", if k.active { "Active" } else { "Inactive" })
        .text("CreateDate", &date(k.created_at));
}

/// The user name an access key's principal ARN belongs to (empty for root).
fn user_name_of(principal_arn: &str) -> &str {
    if principal_arn.ends_with(":root") {
        return "";
    }
    principal_arn.rsplit('/').next().unwrap_or_default()
}

async fn create_access_key(cx: Call<'_>) -> Reply {
    let core = cx.core();
    let (record, new) = cx
        .state
        .kms
        .create_user_access_key(cx.caller, cx.params.get("UserName"), &cx.draft())
        .await
        .map_err(&core)?;
    // Borrowed from the zeroizing buffer: the response body is the one copy.
    let secret = std::str::from_utf8(new.secret.expose())
        .map_err(|_| core(Error::Internal("secret access key is not UTF-8".into())))?;
    let mut x = Xml::new();
    x.element("AccessKey", |k| {
        k.text("UserName", user_name_of(&record.principal_arn))
            .text("AccessKeyId", record.id.as_str())
            .text("Status", "Active")
            .text("SecretAccessKey", secret)
            .text("CreateDate", &date(record.created_at));
    });
    Ok(Some(x))
}

async fn list_access_keys(cx: Call<'_>) -> Reply {
    let keys = cx
        .state
        .kms
        .list_user_access_keys(cx.caller, cx.params.get("UserName"))
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.element("AccessKeyMetadata", |list| {
        for k in &keys {
            list.element("member", |m| {
                key_metadata_xml(m, k, user_name_of(&k.principal_arn));
            });
        }
    });
    x.text("IsTruncated", "false");
    Ok(Some(x))
}

/// `Status`: `Active` or `Inactive`.
fn status(cx: &Call<'_>) -> Result<bool, ApiError> {
    match cx.params.required("Status")? {
        "Active" => Ok(true),
        "Inactive" => Ok(false),
        other => Err(ApiError::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            ),
        )),
    }
}

async fn update_access_key(cx: Call<'_>) -> Reply {
    let id = member(cx.params.required("AccessKeyId"));
    cx.state
        .kms
        .update_access_key(
            cx.caller,
            cx.params.get("UserName"),
            id,
            member(status(&cx)),
            &cx.draft(),
        )
        .await
        .map_err(cx.core())?;
    forget(&cx);
    Ok(None)
}

async fn delete_access_key(cx: Call<'_>) -> Reply {
    let id = member(cx.params.required("AccessKeyId"));
    cx.state
        .kms
        .delete_access_key(cx.caller, cx.params.get("UserName"), id, &cx.draft())
        .await
        .map_err(cx.core())?;
    forget(&cx);
    Ok(None)
}

/// Drops the changed key's cached signing keys on this node.
fn forget(cx: &Call<'_>) {
    if let Some(id) = cx.params.get("AccessKeyId") {
        cx.state.auth.forget(id);
    }
}
