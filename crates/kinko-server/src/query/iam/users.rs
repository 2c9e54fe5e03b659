//! IAM users: CreateUser, GetUser, ListUsers, DeleteUser, TagUser.

use kinko_core::{Action, IamUser};

use super::paging::{page, paging};
use crate::query::op::{Call, Descriptor, Reply, handler, member};
use crate::query::xml::{Xml, date};

/// The family's actions.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("CreateUser", Action::IamCreateUser, handler!(create_user)),
    Descriptor::reads("GetUser", Some(Action::IamGetUser), handler!(get_user)),
    Descriptor::reads(
        "ListUsers",
        Some(Action::IamListUsers),
        handler!(list_users),
    ),
    Descriptor::changes("DeleteUser", Action::IamDeleteUser, handler!(delete_user)),
    Descriptor::changes("TagUser", Action::IamTagUser, handler!(tag_user)),
];

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

async fn create_user(cx: Call<'_>) -> Reply {
    let name = cx.params.required("UserName")?;
    let path = cx.params.get("Path");
    let tags = member(cx.params.tags());
    let user = cx
        .state
        .kms
        .create_user(cx.caller, name, path, tags, &cx.draft())
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.element("User", |u| user_xml(u, &user));
    Ok(Some(x))
}

async fn get_user(cx: Call<'_>) -> Reply {
    let found = cx
        .state
        .kms
        .get_user(cx.caller, cx.params.get("UserName"))
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    match found {
        Some(user) => {
            x.element("User", |u| user_xml(u, &user));
        }
        // The account's root, which is no user.
        None => {
            x.element("User", |u| {
                u.text("UserId", cx.caller.account.as_str())
                    .text("Arn", &cx.caller.principal.arn())
                    .text("CreateDate", &date(kinko_core::UnixMillis(0)));
            });
        }
    }
    Ok(Some(x))
}

async fn list_users(cx: Call<'_>) -> Reply {
    let users = cx
        .state
        .kms
        .list_users(cx.caller, cx.params.get("PathPrefix"))
        .await
        .map_err(cx.core())?;
    let (users, marker) = page(users, cx.params, |u| u.name.as_str())?;
    let mut x = Xml::new();
    x.element("Users", |list| {
        for user in &users {
            list.element("member", |m| user_xml(m, user));
        }
    });
    paging(&mut x, marker);
    Ok(Some(x))
}

async fn delete_user(cx: Call<'_>) -> Reply {
    let name = cx.params.required("UserName")?;
    cx.state
        .kms
        .delete_user(cx.caller, name, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}

async fn tag_user(cx: Call<'_>) -> Reply {
    let name = cx.params.required("UserName")?;
    let tags = member(cx.params.tags());
    cx.state
        .kms
        .tag_user(cx.caller, name, tags, &cx.draft())
        .await
        .map_err(cx.core())?;
    Ok(None)
}
