//! Inline policies of users and roles: Put, Get, List and Delete of `UserPolicy` and
//! `RolePolicy`, one handler each over the owner's kind.

use kinko_core::{Action, PolicyOwner, PolicyOwnerKind};

use crate::errors::ApiError;
use crate::query::op::{Call, Descriptor, Reply, handler, member};
use crate::query::xml::{Xml, url_encode};

/// The family's actions.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes(
        "PutUserPolicy",
        Action::IamPutUserPolicy,
        handler!(put_user_policy),
    ),
    Descriptor::reads(
        "GetUserPolicy",
        Some(Action::IamGetUserPolicy),
        handler!(get_user_policy),
    ),
    Descriptor::reads(
        "ListUserPolicies",
        Some(Action::IamListUserPolicies),
        handler!(list_user_policies),
    ),
    Descriptor::changes(
        "DeleteUserPolicy",
        Action::IamDeleteUserPolicy,
        handler!(delete_user_policy),
    ),
    Descriptor::changes(
        "PutRolePolicy",
        Action::IamPutRolePolicy,
        handler!(put_role_policy),
    ),
    Descriptor::reads(
        "GetRolePolicy",
        Some(Action::IamGetRolePolicy),
        handler!(get_role_policy),
    ),
    Descriptor::reads(
        "ListRolePolicies",
        Some(Action::IamListRolePolicies),
        handler!(list_role_policies),
    ),
    Descriptor::changes(
        "DeleteRolePolicy",
        Action::IamDeleteRolePolicy,
        handler!(delete_role_policy),
    ),
];

/// The request member naming an owner of `kind`.
fn owner_member(kind: PolicyOwnerKind) -> &'static str {
    match kind {
        PolicyOwnerKind::User => "UserName",
        PolicyOwnerKind::Role => "RoleName",
    }
}

/// The policies' owner the request names.
fn owner(cx: &Call<'_>, kind: PolicyOwnerKind) -> Result<PolicyOwner, ApiError> {
    Ok(PolicyOwner {
        kind,
        name: cx.params.required(owner_member(kind))?.to_owned(),
    })
}

async fn put_policy(cx: Call<'_>, kind: PolicyOwnerKind) -> Reply {
    let owner = owner(&cx, kind)?;
    let name = member(cx.params.required("PolicyName"));
    let document = member(cx.params.required("PolicyDocument"));
    cx.state
        .kms
        .put_inline_policy(cx.caller, &owner, name, document, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}

async fn get_policy(cx: Call<'_>, kind: PolicyOwnerKind) -> Reply {
    let owner = owner(&cx, kind)?;
    let name = member(cx.params.required("PolicyName"));
    let policy = cx
        .state
        .kms
        .get_inline_policy(cx.caller, &owner, name)
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.text(owner_member(kind), &owner.name)
        .text("PolicyName", &policy.name)
        .text("PolicyDocument", &url_encode(&policy.document));
    Ok(Some(x))
}

async fn list_policies(cx: Call<'_>, kind: PolicyOwnerKind) -> Reply {
    let owner = owner(&cx, kind)?;
    let names = cx
        .state
        .kms
        .list_inline_policies(cx.caller, &owner)
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.element("PolicyNames", |list| {
        for n in &names {
            list.text("member", n);
        }
    });
    x.text("IsTruncated", "false");
    Ok(Some(x))
}

async fn delete_policy(cx: Call<'_>, kind: PolicyOwnerKind) -> Reply {
    let owner = owner(&cx, kind)?;
    let name = member(cx.params.required("PolicyName"));
    cx.state
        .kms
        .delete_inline_policy(cx.caller, &owner, name, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}

/// The handlers of one owner kind, each over the shared one.
macro_rules! for_owner {
    ($($name:ident => $shared:ident($kind:ident);)+) => {
        $(
            async fn $name(cx: Call<'_>) -> Reply {
                $shared(cx, PolicyOwnerKind::$kind).await
            }
        )+
    };
}

for_owner! {
    put_user_policy => put_policy(User);
    get_user_policy => get_policy(User);
    list_user_policies => list_policies(User);
    delete_user_policy => delete_policy(User);
    put_role_policy => put_policy(Role);
    get_role_policy => get_policy(Role);
    list_role_policies => list_policies(Role);
    delete_role_policy => delete_policy(Role);
}
