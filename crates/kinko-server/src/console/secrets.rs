//! The Secrets pages' list and creation: the secrets of the account (ListSecrets, a page at a time
//! by its NextToken, filtered by its own filters: name, description, tag key or value, or all of
//! them) and the create form (CreateSecret with a name, description, a string value and the KMS
//! key: the AWS managed `aws/secretsmanager` or a customer managed key of the account, listed by
//! ListKeys, ListAliases and DescribeKey). Each is the API call it stands for, as the signed-in
//! principal, audited. A secret's own page is `secret_detail`; its changes `secret_actions`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::call::{self, Refusal};
use super::ctx::{Console, Ctx, after_change, change_ctx, page_ctx, query};
use super::html::{csrf_field, esc, html, page, refused, table, url};
use super::key_detail::date;

/// Secrets shown per page.
const PAGE: u32 = 50;
/// The most keys the create form offers.
const MAX_KEYS: usize = 100;

/// The list's filter: which of ListSecrets' filter keys, and its value.
#[derive(Debug, Clone, Default)]
struct Filter {
    by: String,
    value: String,
    deleted: bool,
}

impl Filter {
    fn link(&self, token: Option<&str>) -> String {
        let mut s = format!(
            "/console/secrets?by={}&q={}",
            url(&self.by),
            url(&self.value)
        );
        if self.deleted {
            s.push_str("&deleted=1");
        }
        if let Some(t) = token {
            s.push_str(&format!("&token={}", url(t)));
        }
        s
    }
}

/// ListSecrets' filter keys the page offers, with their labels.
const FILTERS: &[(&str, &str)] = &[
    ("all", "Any field"),
    ("name", "Name"),
    ("description", "Description"),
    ("tag-key", "Tag key"),
    ("tag-value", "Tag value"),
];

/// The link to a secret's page.
pub(crate) fn secret_link(id: &str) -> String {
    format!("/console/secrets/view?id={}", url(id))
}

/// Calls Secrets Manager as the request's principal.
pub(crate) async fn sm(c: &Console, ctx: &Ctx, op: &str, body: Value) -> Result<Value, Refusal> {
    call::secretsmanager(&c.app, &ctx.session, &ctx.conn, op, &body).await
}

/// `GET /console/secrets`.
pub(crate) async fn list(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&request);
    let by = q.get("by").unwrap_or("all");
    let f = Filter {
        by: FILTERS
            .iter()
            .find(|(k, _)| *k == by)
            .map_or("all", |(k, _)| k)
            .to_owned(),
        value: q.get("q").unwrap_or("").trim().to_owned(),
        deleted: q.get("deleted") == Some("1"),
    };
    let token = q.get("token").filter(|t| !t.is_empty());
    let mut body = String::new();
    let mut options = String::new();
    for (k, label) in FILTERS {
        let sel = if *k == f.by { " selected" } else { "" };
        options.push_str(&format!("<option value=\"{k}\"{sel}>{label}</option>"));
    }
    body.push_str(&format!(
        "<form method=\"get\" action=\"/console/secrets\" class=\"filters\" role=\"search\">\
         <label for=\"by\">Filter by</label><select id=\"by\" name=\"by\">{options}</select>\
         <label for=\"q\">Starts with</label><input id=\"q\" name=\"q\" value=\"{}\">\
         <label><input type=\"checkbox\" name=\"deleted\" value=\"1\"{}> Include secrets pending deletion</label>\
         <button type=\"submit\">Filter</button></form>",
        esc(&f.value),
        if f.deleted { " checked" } else { "" },
    ));
    let mut req = json!({ "MaxResults": PAGE, "SortOrder": "asc" });
    if !f.value.is_empty() {
        req["Filters"] = json!([{ "Key": f.by, "Values": [f.value] }]);
    }
    if f.deleted {
        req["IncludePlannedDeletion"] = json!(true);
    }
    if let Some(t) = token {
        req["NextToken"] = json!(t);
    }
    let mut next = None;
    let mut rows = Vec::new();
    match sm(&c, &ctx, "ListSecrets", req).await {
        Ok(v) => {
            for s in v["SecretList"].as_array().into_iter().flatten() {
                let name = s["Name"].as_str().unwrap_or("");
                let arn = s["ARN"].as_str().unwrap_or(name);
                let status = if s["DeletedDate"].is_null() {
                    String::new()
                } else {
                    format!(
                        "<span class=\"state PendingDeletion\">Pending deletion since {}</span>",
                        esc(&date(&s["DeletedDate"]))
                    )
                };
                rows.push(vec![
                    format!("<a href=\"{}\">{}</a>", esc(&secret_link(arn)), esc(name)),
                    esc(s["Description"].as_str().unwrap_or("")),
                    esc(&date(&s["LastChangedDate"])),
                    esc(if s["RotationEnabled"].as_bool() == Some(true) {
                        "Enabled"
                    } else {
                        "Disabled"
                    }),
                    status,
                ]);
            }
            next = v["NextToken"].as_str().map(str::to_owned);
        }
        Err(e) => body.push_str(&refused("ListSecrets was refused", &e.code, &e.message)),
    }
    body.push_str(&table(
        "secrets",
        "Secrets",
        &[
            "Secret name",
            "Description",
            "Last changed",
            "Rotation",
            "Status",
        ],
        &rows,
        "No secrets match.",
    ));
    let mut paging = String::from("<nav class=\"paging\" aria-label=\"Pages\">");
    if token.is_some() {
        paging.push_str(&format!(
            "<a href=\"{}\">First page</a> ",
            esc(&f.link(None))
        ));
    }
    if let Some(t) = &next {
        paging.push_str(&format!(
            "<a href=\"{}\" id=\"next-page\">Next page</a>",
            esc(&f.link(Some(t)))
        ));
    }
    paging.push_str("</nav>");
    body.push_str(&paging);
    body.push_str(
        "<p><a class=\"button\" href=\"/console/secrets/create\" id=\"store-secret\">Store a new secret</a></p>",
    );
    html(
        StatusCode::OK,
        page(&ctx.session, "secrets", "Secrets", &body),
    )
}

/// The keys a secret may be encrypted under: the account's enabled, customer managed symmetric
/// encryption keys (by alias where they have one), at most [`MAX_KEYS`] (the form also takes any
/// key by id, ARN or alias in a text field).
async fn customer_keys(c: &Arc<Console>, ctx: &Ctx) -> Result<Vec<(String, String)>, Refusal> {
    let aliases = super::keys::aliases_by_key(c, ctx)
        .await
        .unwrap_or_default();
    let listed = call::kms(
        &c.app,
        &ctx.session,
        &ctx.conn,
        "ListKeys",
        json!({ "Limit": MAX_KEYS }),
    )
    .await?;
    let ids: Vec<String> = listed["Keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["KeyId"].as_str().map(str::to_owned))
        .collect();
    let mut out = Vec::new();
    for (id, meta, _) in super::keys::describe_all(c, ctx, ids, false).await {
        let Ok(meta) = meta else { continue };
        let usable = meta["KeyManager"].as_str() == Some("CUSTOMER")
            && meta["KeyState"].as_str() == Some("Enabled")
            && meta["KeySpec"].as_str() == Some("SYMMETRIC_DEFAULT")
            && meta["KeyUsage"].as_str() == Some("ENCRYPT_DECRYPT");
        if !usable {
            continue;
        }
        let names = aliases.get(&id).cloned().unwrap_or_default();
        let label = if names.is_empty() {
            id.clone()
        } else {
            format!("{} ({id})", names.join(", "))
        };
        out.push((id, label));
    }
    Ok(out)
}

/// `GET /console/secrets/create`.
pub(crate) async fn form(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut options =
        String::from("<option value=\"\">aws/secretsmanager (AWS managed key)</option>");
    let mut notice = String::new();
    match customer_keys(&c, &ctx).await {
        Ok(keys) => {
            for (id, label) in keys {
                options.push_str(&format!(
                    "<option value=\"{}\">{}</option>",
                    esc(&id),
                    esc(&label)
                ));
            }
        }
        Err(e) => notice = refused("ListKeys was refused", &e.code, &e.message),
    }
    let body = format!(
        "{notice}<form method=\"post\" action=\"/console/secrets/create\" class=\"stack\" autocomplete=\"off\">{csrf}\
         <label for=\"name\">Secret name</label><input id=\"name\" name=\"name\" required maxlength=\"512\">\
         <label for=\"description\">Description</label><input id=\"description\" name=\"description\" maxlength=\"2048\">\
         <label for=\"value\">Secret value (text)</label>\
         <textarea id=\"value\" name=\"value\" rows=\"6\" cols=\"70\" spellcheck=\"false\" autocomplete=\"off\"></textarea>\
         <label for=\"kms_key\">Encryption key</label><select id=\"kms_key\" name=\"kms_key\">{options}</select>\
         <label for=\"kms_key_other\">Or another key (key id, ARN or alias; it takes precedence)</label>\
         <input id=\"kms_key_other\" name=\"kms_key_other\" maxlength=\"2048\">\
         <label for=\"tags\">Tags (one key=value per line)</label><textarea id=\"tags\" name=\"tags\" rows=\"3\" cols=\"50\"></textarea>\
         <button type=\"submit\" id=\"create-secret\">Store secret</button></form>",
        csrf = csrf_field(&ctx.session),
    );
    html(
        StatusCode::OK,
        page(&ctx.session, "secrets", "Store a new secret", &body),
    )
}

/// Tags given as `key=value` lines, as Secrets Manager's `Tags`.
pub(crate) fn tags(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("The tag line {line:?} is not key=value."));
        };
        out.push(json!({ "Key": k.trim(), "Value": v.trim() }));
    }
    Ok(out)
}

/// `POST /console/secrets/create`: CreateSecret.
pub(crate) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (ctx, form) = match change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let back = "/console/secrets/create";
    let name = form.get("name").unwrap_or("").trim().to_owned();
    let mut req = json!({
        "Name": name,
        "SecretString": form.get("value").unwrap_or(""),
    });
    let description = form.get("description").unwrap_or("").trim();
    if !description.is_empty() {
        req["Description"] = json!(description);
    }
    // The list offers at most MAX_KEYS keys; any other is named in the text field.
    let typed = form.get("kms_key_other").unwrap_or("").trim();
    let key = if typed.is_empty() {
        form.get("kms_key").unwrap_or("").trim()
    } else {
        typed
    };
    if !key.is_empty() {
        req["KmsKeyId"] = json!(key);
    }
    match tags(form.get("tags").unwrap_or("")) {
        Ok(t) if !t.is_empty() => req["Tags"] = Value::Array(t),
        Ok(_) => {}
        Err(why) => return after_change(&c, &ctx, false, why, back),
    }
    let answer = sm(&c, &ctx, "CreateSecret", req).await;
    match answer {
        Ok(v) => {
            let arn = v["ARN"].as_str().unwrap_or(&name).to_owned();
            after_change(
                &c,
                &ctx,
                true,
                format!("Secret {name} was created."),
                &secret_link(&arn),
            )
        }
        Err(e) => after_change(
            &c,
            &ctx,
            false,
            format!("CreateSecret was refused. {e}"),
            back,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_lines_become_tags_and_bad_lines_are_refused() {
        let t = tags("a=1\n\n b = two \n").expect("valid");
        assert_eq!(
            t,
            vec![
                json!({"Key":"a","Value":"1"}),
                json!({"Key":"b","Value":"two"})
            ]
        );
        assert!(tags("novalue").is_err());
        assert_eq!(
            Filter {
                by: "name".into(),
                value: "a b".into(),
                deleted: true
            }
            .link(Some("t/1")),
            "/console/secrets?by=name&q=a%20b&deleted=1&token=t%2F1"
        );
    }
}
