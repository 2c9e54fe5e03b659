//! IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, TagRole.

use kinko_core::{Action, IamRole, NewRole};

use super::paging::{page, paging};
use crate::query::op::{Call, Descriptor, Reply, handler, member};
use crate::query::xml::{Xml, date, url_encode};

/// The family's actions.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("CreateRole", Action::IamCreateRole, handler!(create_role)),
    Descriptor::reads("GetRole", Some(Action::IamGetRole), handler!(get_role)),
    Descriptor::reads(
        "ListRoles",
        Some(Action::IamListRoles),
        handler!(list_roles),
    ),
    Descriptor::changes("DeleteRole", Action::IamDeleteRole, handler!(delete_role)),
    Descriptor::changes("TagRole", Action::IamTagRole, handler!(tag_role)),
];

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

async fn create_role(cx: Call<'_>) -> Reply {
    let p = cx.params;
    let name = p.required("RoleName")?;
    let request = NewRole {
        path: p.get("Path"),
        trust_policy: member(p.required("AssumeRolePolicyDocument")),
        tags: member(p.tags()),
        description: p.get("Description"),
        max_session_duration: member(p.int("MaxSessionDuration")),
    };
    let role = cx
        .state
        .kms
        .create_role(cx.caller, name, request, &cx.draft())
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.element("Role", |r| role_xml(r, &role));
    Ok(Some(x))
}

async fn get_role(cx: Call<'_>) -> Reply {
    let name = cx.params.required("RoleName")?;
    let role = cx
        .state
        .kms
        .get_role(cx.caller, name)
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.element("Role", |r| role_xml(r, &role));
    Ok(Some(x))
}

async fn list_roles(cx: Call<'_>) -> Reply {
    let roles = cx
        .state
        .kms
        .list_roles(cx.caller, cx.params.get("PathPrefix"))
        .await
        .map_err(cx.core())?;
    let (roles, marker) = page(roles, cx.params, |r| r.name.as_str())?;
    let mut x = Xml::new();
    x.element("Roles", |list| {
        for role in &roles {
            list.element("member", |m| role_xml(m, role));
        }
    });
    paging(&mut x, marker);
    Ok(Some(x))
}

async fn delete_role(cx: Call<'_>) -> Reply {
    let name = cx.params.required("RoleName")?;
    cx.state
        .kms
        .delete_role(cx.caller, name, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}

async fn tag_role(cx: Call<'_>) -> Reply {
    let name = cx.params.required("RoleName")?;
    let tags = member(cx.params.tags());
    cx.state
        .kms
        .tag_role(cx.caller, name, tags, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}
