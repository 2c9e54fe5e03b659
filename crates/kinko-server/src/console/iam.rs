//! The IAM pages: users and roles of the account; a user's access keys (create: the secret key is
//! shown once, in that answer only; deactivate, activate, delete) and inline policies (list, put,
//! delete). Each is the IAM action it stands for, as the signed-in principal.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::call::{self, Refusal};
use super::ctx::{Console, Ctx, after_change, change_ctx, page_ctx};
use super::html::{csrf_field, esc, html, page, refused, table, url};
use super::xml::{members, text};

fn field(xml: &str, name: &str) -> String {
    esc(&text(xml, name).unwrap_or_default())
}

fn post(ctx: &Ctx, op: &str, label: &str, extra: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/console/iam\" class=\"inline {class}\">{}\
         <input type=\"hidden\" name=\"op\" value=\"{op}\">{extra}<button type=\"submit\">{label}</button></form>",
        csrf_field(&ctx.session)
    )
}

async fn iam(
    c: &Console,
    ctx: &Ctx,
    action: &str,
    params: &[(&str, &str)],
) -> Result<String, Refusal> {
    call::iam(&c.app, &ctx.session, &ctx.conn, action, params).await
}

/// `GET /console/iam`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut body =
        String::from("<section aria-labelledby=\"h-users\"><h2 id=\"h-users\">Users</h2>");
    match iam(&c, &ctx, "ListUsers", &[]).await {
        Ok(xml) => {
            let rows: Vec<Vec<String>> = members(&xml, "Users")
                .iter()
                .map(|u| {
                    let name = text(u, "UserName").unwrap_or_default();
                    vec![
                        format!(
                            "<a href=\"/console/iam/users/{}\">{}</a>",
                            url(&name),
                            esc(&name)
                        ),
                        field(u, "Arn"),
                        field(u, "CreateDate"),
                    ]
                })
                .collect();
            body.push_str(&table(
                "users",
                "Users",
                &["User name", "ARN", "Created"],
                &rows,
                "No users.",
            ));
        }
        Err(e) => body.push_str(&refused("ListUsers was refused", &e.code, &e.message)),
    }
    body.push_str(&post(
        &ctx,
        "create-user",
        "Create user",
        "<label for=\"new-user\">User name</label><input id=\"new-user\" name=\"user\" required>",
        "",
    ));
    body.push_str("</section><section aria-labelledby=\"h-roles\"><h2 id=\"h-roles\">Roles</h2>");
    match iam(&c, &ctx, "ListRoles", &[]).await {
        Ok(xml) => {
            let rows: Vec<Vec<String>> = members(&xml, "Roles")
                .iter()
                .map(|r| {
                    vec![
                        field(r, "RoleName"),
                        field(r, "Arn"),
                        field(r, "MaxSessionDuration"),
                    ]
                })
                .collect();
            body.push_str(&table(
                "roles",
                "Roles",
                &["Role name", "ARN", "Max session (s)"],
                &rows,
                "No roles.",
            ));
        }
        Err(e) => body.push_str(&refused("ListRoles was refused", &e.code, &e.message)),
    }
    body.push_str("</section>");
    html(StatusCode::OK, page(&ctx.session, "iam", "IAM", &body))
}

/// `GET /console/iam/users/{name}`.
pub(crate) async fn user(
    State(c): State<Arc<Console>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    html(
        StatusCode::OK,
        page(
            &ctx.session,
            "iam",
            &format!("User {name}"),
            &user_body(&c, &ctx, &name, "").await,
        ),
    )
}

async fn user_body(c: &Console, ctx: &Ctx, name: &str, secret_notice: &str) -> String {
    let user = format!(
        "<input type=\"hidden\" name=\"user\" value=\"{}\">",
        esc(name)
    );
    let mut body = secret_notice.to_owned();
    body.push_str("<section aria-labelledby=\"h-keys\"><h2 id=\"h-keys\">Access keys</h2>");
    match iam(c, ctx, "ListAccessKeys", &[("UserName", name)]).await {
        Ok(xml) => {
            let rows: Vec<Vec<String>> = members(&xml, "AccessKeyMetadata")
                .iter()
                .map(|k| {
                    let id = text(k, "AccessKeyId").unwrap_or_default();
                    let status = text(k, "Status").unwrap_or_default();
                    let key = format!(
                        "{user}<input type=\"hidden\" name=\"key\" value=\"{}\">",
                        esc(&id)
                    );
                    let toggle = if status == "Active" {
                        post(ctx, "deactivate-key", "Deactivate", &key, "")
                    } else {
                        post(ctx, "activate-key", "Activate", &key, "")
                    };
                    vec![
                        esc(&id),
                        esc(&status),
                        field(k, "CreateDate"),
                        format!(
                            "{toggle}{}",
                            post(ctx, "delete-key", "Delete", &key, "danger")
                        ),
                    ]
                })
                .collect();
            body.push_str(&table(
                "access-keys",
                "Access keys",
                &["Access key ID", "Status", "Created", ""],
                &rows,
                "No access keys.",
            ));
        }
        Err(e) => body.push_str(&refused("ListAccessKeys was refused", &e.code, &e.message)),
    }
    body.push_str(&post(ctx, "create-key", "Create access key", &user, ""));
    body.push_str("</section><section aria-labelledby=\"h-policies\"><h2 id=\"h-policies\">Inline policies</h2>");
    match iam(c, ctx, "ListUserPolicies", &[("UserName", name)]).await {
        Ok(xml) => {
            let rows: Vec<Vec<String>> = members(&xml, "PolicyNames")
                .iter()
                .map(|p| {
                    let policy = format!(
                        "{user}<input type=\"hidden\" name=\"policy_name\" value=\"{}\">",
                        esc(p)
                    );
                    vec![
                        esc(p),
                        post(ctx, "delete-policy", "Delete", &policy, "danger"),
                    ]
                })
                .collect();
            body.push_str(&table(
                "policies",
                "Inline policies",
                &["Policy name", ""],
                &rows,
                "No inline policies.",
            ));
        }
        Err(e) => body.push_str(&refused(
            "ListUserPolicies was refused",
            &e.code,
            &e.message,
        )),
    }
    body.push_str(&post(
        ctx,
        "put-policy",
        "Save inline policy",
        &format!(
            "{user}<label for=\"policy_name\">Policy name</label><input id=\"policy_name\" name=\"policy_name\" required>\
             <label for=\"policy\">Policy document (JSON)</label>\
             <textarea id=\"policy\" name=\"policy\" rows=\"8\" cols=\"80\" data-json required>{}</textarea>\
             <p class=\"json-status\" id=\"policy-status\" aria-live=\"polite\"></p>",
            esc("{\"Version\": \"2012-10-17\", \"Statement\": []}")
        ),
        "block",
    ));
    body.push_str("</section>");
    body
}

/// `POST /console/iam`.
pub(crate) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (ctx, form) = match change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let get = |k: &str| form.get(k).unwrap_or("").trim().to_owned();
    let user = get("user");
    let back = format!("/console/iam/users/{}", url(&user));
    let key = get("key");
    let policy_name = get("policy_name");
    let (action, params, to): (&str, Vec<(&str, String)>, String) = match form
        .get("op")
        .unwrap_or("")
    {
        "create-user" => ("CreateUser", vec![("UserName", user.clone())], back.clone()),
        "create-key" => {
            // The secret is shown in this answer only, never stored or redirected with.
            return match iam(&c, &ctx, "CreateAccessKey", &[("UserName", &user)]).await {
                Ok(xml) => {
                    let id = text(&xml, "AccessKeyId").unwrap_or_default();
                    let secret = kinko_crypto::SecretBytes::new(
                        text(&xml, "SecretAccessKey")
                            .unwrap_or_default()
                            .into_bytes(),
                    );
                    drop(kinko_crypto::SecretBytes::new(xml.into_bytes()));
                    let notice = format!(
                        "<div class=\"flash ok\" role=\"alert\" id=\"new-secret\"><p>Access key <code>{}</code> was created. \
                         Its secret access key is shown <strong>this once</strong>; store it now:</p>\
                         <p><label for=\"secret\">Secret access key</label><input id=\"secret\" readonly size=\"48\" value=\"{}\"></p></div>",
                        esc(&id),
                        esc(std::str::from_utf8(secret.expose()).unwrap_or(""))
                    );
                    let body = user_body(&c, &ctx, &user, &notice).await;
                    html(
                        StatusCode::OK,
                        page(&ctx.session, "iam", &format!("User {user}"), &body),
                    )
                }
                Err(e) => after_change(
                    &c,
                    &ctx,
                    false,
                    format!("CreateAccessKey was refused. {e}"),
                    &back,
                ),
            };
        }
        "deactivate-key" => (
            "UpdateAccessKey",
            vec![
                ("UserName", user.clone()),
                ("AccessKeyId", key),
                ("Status", "Inactive".into()),
            ],
            back.clone(),
        ),
        "activate-key" => (
            "UpdateAccessKey",
            vec![
                ("UserName", user.clone()),
                ("AccessKeyId", key),
                ("Status", "Active".into()),
            ],
            back.clone(),
        ),
        "delete-key" => (
            "DeleteAccessKey",
            vec![("UserName", user.clone()), ("AccessKeyId", key)],
            back.clone(),
        ),
        "put-policy" => {
            let document = form.get("policy").unwrap_or("");
            if let Err(e) = serde_json::from_str::<serde_json::Value>(document) {
                return after_change(
                    &c,
                    &ctx,
                    false,
                    format!("The policy is not valid JSON: {e}."),
                    &back,
                );
            }
            (
                "PutUserPolicy",
                vec![
                    ("UserName", user.clone()),
                    ("PolicyName", policy_name),
                    ("PolicyDocument", document.to_owned()),
                ],
                back.clone(),
            )
        }
        "delete-policy" => (
            "DeleteUserPolicy",
            vec![("UserName", user.clone()), ("PolicyName", policy_name)],
            back.clone(),
        ),
        _ => return after_change(&c, &ctx, false, "Unknown action.".into(), "/console/iam"),
    };
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match iam(&c, &ctx, action, &pairs).await {
        Ok(_) => after_change(&c, &ctx, true, format!("{action} succeeded."), &to),
        Err(e) => after_change(
            &c,
            &ctx,
            false,
            format!("{action} was refused. {e}"),
            if action == "CreateUser" {
                "/console/iam"
            } else {
                &to
            },
        ),
    }
}
