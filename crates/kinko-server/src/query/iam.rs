//! The IAM subset Kinko serves (AWS Query protocol, SigV4 service `iam`): users, their access
//! keys and inline policies, roles with their trust and inline policies, and tags.
//!
//! Who may call: the account's root, or a principal whose identity policies allow the `iam:`
//! action on the target user or role (a pattern for listings); anyone else gets `AccessDenied`.
//! The check is the core's (`Kms::authorize_iam`), made before the request's members are read.
//! Changes commit their audit record with the change (the draft is built before the call, for
//! a success); failures are recorded by the caller of [`dispatch`] through the writer.

use kinko_api::ErrorCode;
use kinko_core::{
    AccessKey, Action, Caller, Error, IamRole, IamUser, PolicyOwner, PolicyOwnerKind,
};

use super::form::Params;
use super::xml::{Xml, date, success_body, url_encode};
use crate::audit::{Recorded, RequestInfo};
use crate::errors::ApiError;
use crate::state::AppState;

/// The IAM XML namespace.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// An IAM action Kinko serves: its name (`Action=`), and whether it changes state (`readOnly:
/// false`; the record of a success commits with the change). Handled by [`serve`].
#[derive(Debug)]
pub struct Operation {
    /// The action name; its IAM action is `iam:<name>`.
    pub name: &'static str,
    /// Whether it changes state.
    pub mutates: bool,
}

/// Every IAM action Kinko serves.
pub const ACTIONS: &[Operation] = &[
    Operation {
        name: "CreateUser",
        mutates: true,
    },
    Operation {
        name: "GetUser",
        mutates: false,
    },
    Operation {
        name: "ListUsers",
        mutates: false,
    },
    Operation {
        name: "DeleteUser",
        mutates: true,
    },
    Operation {
        name: "TagUser",
        mutates: true,
    },
    Operation {
        name: "CreateAccessKey",
        mutates: true,
    },
    Operation {
        name: "ListAccessKeys",
        mutates: false,
    },
    Operation {
        name: "UpdateAccessKey",
        mutates: true,
    },
    Operation {
        name: "DeleteAccessKey",
        mutates: true,
    },
    Operation {
        name: "CreateRole",
        mutates: true,
    },
    Operation {
        name: "GetRole",
        mutates: false,
    },
    Operation {
        name: "ListRoles",
        mutates: false,
    },
    Operation {
        name: "DeleteRole",
        mutates: true,
    },
    Operation {
        name: "TagRole",
        mutates: true,
    },
    Operation {
        name: "PutUserPolicy",
        mutates: true,
    },
    Operation {
        name: "GetUserPolicy",
        mutates: false,
    },
    Operation {
        name: "ListUserPolicies",
        mutates: false,
    },
    Operation {
        name: "DeleteUserPolicy",
        mutates: true,
    },
    Operation {
        name: "PutRolePolicy",
        mutates: true,
    },
    Operation {
        name: "GetRolePolicy",
        mutates: false,
    },
    Operation {
        name: "ListRolePolicies",
        mutates: false,
    },
    Operation {
        name: "DeleteRolePolicy",
        mutates: true,
    },
];

/// Whether IAM action `action` changes state.
pub fn mutates(action: &str) -> bool {
    ACTIONS.iter().any(|a| a.name == action && a.mutates)
}

/// Maps a domain error to IAM's codes. No `_ =>` arm: a new variant must be decided here too.
pub fn from_core(error: Error, request_id: &str) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match error {
        Error::NotFound(m) => (C::NoSuchEntity, m),
        Error::AlreadyExists(m) => (C::EntityAlreadyExists, m),
        Error::LimitExceeded(m) => (C::LimitExceeded, m),
        Error::MalformedPolicyDocument(m) => (C::MalformedPolicyDocument, m),
        Error::DeleteConflict(m) => (C::DeleteConflict, m),
        Error::AccessDenied(m) => (C::AccessDenied, m),
        Error::Validation(m)
        | Error::InvalidArn(m)
        | Error::Tag(m)
        | Error::InvalidMarker(m)
        | Error::InvalidAliasName(m)
        | Error::UnsupportedOperation(m)
        | Error::Conflict(m)
        | Error::Disabled(m)
        | Error::InvalidState(m)
        | Error::InvalidKeyUsage(m)
        | Error::IncorrectKey(m)
        | Error::InvalidImportToken(m)
        | Error::ExpiredImportToken(m)
        | Error::IncorrectKeyMaterial(m)
        | Error::InvalidGrantId(m)
        | Error::InvalidGrantToken(m) => (C::ValidationError, m),
        Error::DryRun => (C::ValidationError, Error::DryRun.to_string()),
        Error::InvalidCiphertext | Error::InvalidSignature | Error::InvalidMac => {
            (C::ValidationError, String::new())
        }
        Error::StoreUnavailable(e) => {
            tracing::warn!(request_id, error = %e, "storage unavailable");
            (
                C::ServiceFailure,
                "Service unavailable; retry the request.".to_owned(),
            )
        }
        Error::Internal(detail) => {
            tracing::error!(request_id, detail, "internal error");
            (
                C::ServiceFailure,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
        Error::Failed { what, cause } => {
            tracing::error!(request_id, detail = %what, %cause, "internal error");
            (
                C::ServiceFailure,
                "An internal error occurred; retry the request.".to_owned(),
            )
        }
    };
    ApiError::new(code, message)
}

fn user_xml(x: &mut Xml, u: &IamUser) {
    x.text("Path", &u.path)
        .text("UserName", &u.name)
        .text("UserId", &u.id)
        .text("Arn", &u.arn)
        .text("CreateDate", &date(u.created_at));
    if !u.tags.is_empty() {
        x.tags(&u.tags);
    }
}

fn role_xml(x: &mut Xml, r: &IamRole) {
    x.text("Path", &r.path)
        .text("RoleName", &r.name)
        .text("RoleId", &r.id)
        .text("Arn", &r.arn)
        .text("CreateDate", &date(r.created_at))
        .text("AssumeRolePolicyDocument", &url_encode(&r.trust_policy));
    if !r.description.is_empty() {
        x.text("Description", &r.description);
    }
    x.text("MaxSessionDuration", &r.max_session_duration.to_string());
    if !r.tags.is_empty() {
        x.tags(&r.tags);
    }
}

fn key_metadata_xml(x: &mut Xml, k: &AccessKey, user_name: &str) {
    if !user_name.is_empty() {
        x.text("UserName", user_name);
    }
    x.text("AccessKeyId", k.id.as_str())
        .text("Status", if k.active { "Active" } else { "Inactive" })
        .text("CreateDate", &date(k.created_at));
}

/// The user name an access key ARN belongs to (empty for root).
fn user_name_of(principal_arn: &str) -> &str {
    if principal_arn.ends_with(":root") {
        return "";
    }
    principal_arn.rsplit('/').next().unwrap_or_default()
}

/// One page of a name-ordered listing: `MaxItems` (1–1000, default 100) after `Marker`.
fn page<T>(
    items: Vec<T>,
    params: &Params,
    name: impl Fn(&T) -> &str,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = params.int("MaxItems")?.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
            ),
        ));
    }
    let after = params.get("Marker").map(str::to_ascii_lowercase);
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| {
            after
                .as_deref()
                .is_none_or(|m| name(i).to_ascii_lowercase().as_str() > m)
        })
        .collect();
    let max = usize::try_from(max).unwrap_or(100);
    if rest.len() > max {
        rest.truncate(max);
        let marker = rest.last().map(|i| name(i).to_owned());
        Ok((rest, marker))
    } else {
        Ok((rest, None))
    }
}

fn paging(x: &mut Xml, marker: Option<String>) {
    match marker {
        Some(m) => {
            x.text("IsTruncated", "true").text("Marker", &m);
        }
        None => {
            x.text("IsTruncated", "false");
        }
    }
}

/// What serving an IAM or STS request produced.
#[derive(Debug)]
pub struct QueryOutcome {
    /// The XML body, or the error.
    pub result: Result<Vec<u8>, ApiError>,
    /// The audit record was committed with the change.
    pub committed: bool,
}

/// Serves one IAM action.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    action: &str,
    params: &Params,
    info: &RequestInfo,
) -> QueryOutcome {
    let result = serve(state, caller, action, params, info).await;
    let committed = result.is_ok() && mutates(action);
    QueryOutcome {
        result: result.map(|xml| success_body(NAMESPACE, action, xml, &info.request_id)),
        committed,
    }
}

#[allow(clippy::too_many_lines)]
async fn serve(
    state: &AppState,
    caller: &Caller,
    action: &str,
    params: &Params,
    info: &RequestInfo,
) -> Result<Option<Xml>, ApiError> {
    let kms = &state.kms;
    let rid = info.request_id.as_str();
    let core = |e: Error| from_core(e, rid);
    let acct = caller.account.as_str();
    let draft = || info.draft(&Recorded::default());
    let user_arn = |name: &str| format!("arn:aws:iam::{acct}:user/{name}");
    let role_arn = |name: &str| format!("arn:aws:iam::{acct}:role/{name}");
    // The ARN a user-targeted action is authorized against: the user's own (with its path)
    // when it exists.
    let target_user = |name: String| async move {
        match kms.get_user(caller, &name).await {
            Ok(u) => u.arn,
            Err(_) => user_arn(&name),
        }
    };
    let target_role = |name: String| async move {
        match kms.get_role(caller, &name).await {
            Ok(r) => r.arn,
            Err(_) => role_arn(&name),
        }
    };
    let authz = |action: Action, resource: String| async move {
        kms.authorize_iam(caller, action, &resource)
            .await
            .map_err(|e| from_core(e, rid))
    };
    match action {
        "CreateUser" => {
            let name = params.required("UserName")?;
            let path = params.get("Path");
            let arn = format!("arn:aws:iam::{acct}:user{}{name}", path.unwrap_or("/"));
            authz(Action::IamCreateUser, arn).await?;
            let tags = params.tags()?;
            let user = kms
                .create_user(caller, name, path, tags, &draft())
                .await
                .map_err(core)?;
            let mut x = Xml::new();
            x.element("User", |u| user_xml(u, &user));
            Ok(Some(x))
        }
        "GetUser" => {
            let user = match params.get("UserName") {
                Some(name) => {
                    authz(Action::IamGetUser, target_user(name.to_owned()).await).await?;
                    kms.get_user(caller, name).await.map_err(core)?
                }
                None => match kms.calling_user(caller).await.map_err(core)? {
                    // On oneself too, as AWS requires: `iam:GetUser` on one's own ARN.
                    Some(u) => {
                        authz(Action::IamGetUser, u.arn.clone()).await?;
                        u
                    }
                    None if caller.is_root() => {
                        let mut x = Xml::new();
                        x.element("User", |u| {
                            u.text("UserId", acct)
                                .text("Arn", &caller.principal_arn)
                                .text("CreateDate", &date(kinko_core::UnixMillis(0)));
                        });
                        return Ok(Some(x));
                    }
                    None => {
                        return Err(ApiError::new(
                            ErrorCode::ValidationError,
                            "Must specify userName when calling with non-User credentials",
                        ));
                    }
                },
            };
            let mut x = Xml::new();
            x.element("User", |u| user_xml(u, &user));
            Ok(Some(x))
        }
        "ListUsers" => {
            authz(Action::IamListUsers, format!("arn:aws:iam::{acct}:user/*")).await?;
            let users = kms
                .list_users(caller, params.get("PathPrefix"))
                .await
                .map_err(core)?;
            let (users, marker) = page(users, params, |u| u.name.as_str())?;
            let mut x = Xml::new();
            x.element("Users", |list| {
                for user in &users {
                    list.element("member", |m| user_xml(m, user));
                }
            });
            paging(&mut x, marker);
            Ok(Some(x))
        }
        "DeleteUser" => {
            let name = params.required("UserName")?;
            authz(Action::IamDeleteUser, target_user(name.to_owned()).await).await?;
            kms.delete_user(caller, name, &draft())
                .await
                .map_err(core)?;
            Ok(None)
        }
        "TagUser" => {
            let name = params.required("UserName")?;
            authz(Action::IamTagUser, target_user(name.to_owned()).await).await?;
            let tags = params.tags()?;
            kms.tag_user(caller, name, tags, &draft())
                .await
                .map_err(core)?;
            Ok(None)
        }
        "CreateAccessKey" | "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" => {
            let user = params.get("UserName");
            let resource = match user {
                Some(name) => target_user(name.to_owned()).await,
                None => caller.principal_arn.clone(),
            };
            let iam_action = match action {
                "CreateAccessKey" => Action::IamCreateAccessKey,
                "ListAccessKeys" => Action::IamListAccessKeys,
                "UpdateAccessKey" => Action::IamUpdateAccessKey,
                _ => Action::IamDeleteAccessKey,
            };
            authz(iam_action, resource).await?;
            match action {
                "CreateAccessKey" => {
                    let (record, new) = kms
                        .create_user_access_key(caller, user, &draft())
                        .await
                        .map_err(core)?;
                    // Borrowed from the zeroizing buffer: the response body is the one copy.
                    let secret = std::str::from_utf8(new.secret.expose()).map_err(|_| {
                        core(Error::Internal("secret access key is not UTF-8".into()))
                    })?;
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
                "ListAccessKeys" => {
                    let keys = kms
                        .list_user_access_keys(caller, user)
                        .await
                        .map_err(core)?;
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
                "UpdateAccessKey" => {
                    let id = params.required("AccessKeyId")?;
                    let active = match params.required("Status")? {
                        "Active" => true,
                        "Inactive" => false,
                        other => {
                            return Err(ApiError::new(
                                ErrorCode::ValidationError,
                                format!(
                                    "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
                                ),
                            ));
                        }
                    };
                    kms.update_access_key(caller, user, id, active, &draft())
                        .await
                        .map_err(core)?;
                    state.auth.forget(id);
                    Ok(None)
                }
                _ => {
                    let id = params.required("AccessKeyId")?;
                    kms.delete_access_key(caller, user, id, &draft())
                        .await
                        .map_err(core)?;
                    state.auth.forget(id);
                    Ok(None)
                }
            }
        }
        "CreateRole" => {
            let name = params.required("RoleName")?;
            let path = params.get("Path");
            let arn = format!("arn:aws:iam::{acct}:role{}{name}", path.unwrap_or("/"));
            authz(Action::IamCreateRole, arn).await?;
            let document = params.required("AssumeRolePolicyDocument")?;
            let tags = params.tags()?;
            let role = kms
                .create_role(
                    caller,
                    name,
                    path,
                    document,
                    params.get("Description"),
                    params.int("MaxSessionDuration")?,
                    tags,
                    &draft(),
                )
                .await
                .map_err(core)?;
            let mut x = Xml::new();
            x.element("Role", |r| role_xml(r, &role));
            Ok(Some(x))
        }
        "GetRole" => {
            let name = params.required("RoleName")?;
            authz(Action::IamGetRole, target_role(name.to_owned()).await).await?;
            let role = kms.get_role(caller, name).await.map_err(core)?;
            let mut x = Xml::new();
            x.element("Role", |r| role_xml(r, &role));
            Ok(Some(x))
        }
        "ListRoles" => {
            authz(Action::IamListRoles, format!("arn:aws:iam::{acct}:role/*")).await?;
            let roles = kms
                .list_roles(caller, params.get("PathPrefix"))
                .await
                .map_err(core)?;
            let (roles, marker) = page(roles, params, |r| r.name.as_str())?;
            let mut x = Xml::new();
            x.element("Roles", |list| {
                for role in &roles {
                    list.element("member", |m| role_xml(m, role));
                }
            });
            paging(&mut x, marker);
            Ok(Some(x))
        }
        "DeleteRole" => {
            let name = params.required("RoleName")?;
            authz(Action::IamDeleteRole, target_role(name.to_owned()).await).await?;
            kms.delete_role(caller, name, &draft())
                .await
                .map_err(core)?;
            Ok(None)
        }
        "TagRole" => {
            let name = params.required("RoleName")?;
            authz(Action::IamTagRole, target_role(name.to_owned()).await).await?;
            let tags = params.tags()?;
            kms.tag_role(caller, name, tags, &draft())
                .await
                .map_err(core)?;
            Ok(None)
        }
        "PutUserPolicy" | "GetUserPolicy" | "ListUserPolicies" | "DeleteUserPolicy"
        | "PutRolePolicy" | "GetRolePolicy" | "ListRolePolicies" | "DeleteRolePolicy" => {
            let (kind, member) = if action.contains("User") {
                (PolicyOwnerKind::User, "UserName")
            } else {
                (PolicyOwnerKind::Role, "RoleName")
            };
            let owner_name = params.required(member)?;
            let resource = match kind {
                PolicyOwnerKind::User => target_user(owner_name.to_owned()).await,
                PolicyOwnerKind::Role => target_role(owner_name.to_owned()).await,
            };
            let iam_action = match action {
                "PutUserPolicy" => Action::IamPutUserPolicy,
                "GetUserPolicy" => Action::IamGetUserPolicy,
                "ListUserPolicies" => Action::IamListUserPolicies,
                "DeleteUserPolicy" => Action::IamDeleteUserPolicy,
                "PutRolePolicy" => Action::IamPutRolePolicy,
                "GetRolePolicy" => Action::IamGetRolePolicy,
                "ListRolePolicies" => Action::IamListRolePolicies,
                _ => Action::IamDeleteRolePolicy,
            };
            authz(iam_action, resource).await?;
            let owner = PolicyOwner {
                kind,
                name: owner_name.to_owned(),
            };
            if action.starts_with("Put") {
                let name = params.required("PolicyName")?;
                let document = params.required("PolicyDocument")?;
                kms.put_inline_policy(caller, &owner, name, document, &draft())
                    .await
                    .map_err(core)?;
                Ok(None)
            } else if action.starts_with("Get") {
                let name = params.required("PolicyName")?;
                let policy = kms
                    .get_inline_policy(caller, &owner, name)
                    .await
                    .map_err(core)?;
                let mut x = Xml::new();
                x.text(member, owner_name)
                    .text("PolicyName", &policy.name)
                    .text("PolicyDocument", &url_encode(&policy.document));
                Ok(Some(x))
            } else if action.starts_with("List") {
                let names = kms
                    .list_inline_policies(caller, &owner)
                    .await
                    .map_err(core)?;
                let mut x = Xml::new();
                x.element("PolicyNames", |list| {
                    for n in &names {
                        list.text("member", n);
                    }
                });
                x.text("IsTruncated", "false");
                Ok(Some(x))
            } else {
                let name = params.required("PolicyName")?;
                kms.delete_inline_policy(caller, &owner, name, &draft())
                    .await
                    .map_err(core)?;
                Ok(None)
            }
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}
