//! A secret's page: its metadata (DescribeSecret), versions and their staging labels
//! (ListSecretVersionIds), rotation (configuration, last and next rotation), tags and resource
//! policy (GetResourcePolicy), with the forms of the changes `secret_actions` makes. The value
//! is never on this page when it is loaded: it is shown only in the answer to the "Retrieve
//! secret value" button's POST (GetSecretValue, audited as such; `Cache-Control: no-store` like
//! every console response), never in a URL, cookie or flash message.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use kinko_crypto::SecretBytes;
use serde_json::{Value, json};

use super::call::Refusal;
use super::ctx::{Console, Ctx, page_ctx, query};
use super::html::{csrf_field, esc, html, page, refused, table};
use super::key_detail::{date, dl, section, text};
use super::secrets::sm;

/// A value GetSecretValue answered, as the page shows it.
pub(crate) struct Shown {
    /// The version read.
    pub version_id: String,
    /// Its staging labels.
    pub stages: Vec<String>,
    /// The text (`SecretString`) or the base64 of `SecretBinary`.
    pub value: SecretBytes,
    /// Whether it was `SecretBinary`.
    pub binary: bool,
}

impl std::fmt::Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shown")
            .field("version_id", &self.version_id)
            .finish_non_exhaustive()
    }
}

/// A change's form on the secret's page. Its button has the id `op-<op>` unless `per_row`.
pub(crate) fn form(ctx: &Ctx, id: &str, op: &str, label: &str, extra: &str, class: &str) -> String {
    let per_row = matches!(op, "untag" | "reveal-version");
    let button_id = if per_row {
        String::new()
    } else {
        format!(" id=\"op-{op}\"")
    };
    format!(
        "<form method=\"post\" action=\"/console/secrets/view\" class=\"inline {class}\" autocomplete=\"off\">{}\
         <input type=\"hidden\" name=\"id\" value=\"{}\"><input type=\"hidden\" name=\"op\" value=\"{op}\">\
         {extra}<button type=\"submit\"{button_id}>{label}</button></form>",
        csrf_field(&ctx.session),
        esc(id),
    )
}

/// `GET /console/secrets/view?id=…`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let id = query(&request).get("id").unwrap_or("").to_owned();
    render(&c, &ctx, &id, None).await
}

/// The secret's page; with `revealed`, the value GetSecretValue answered (or its refusal) in the
/// value's section.
pub(crate) async fn render(
    c: &Arc<Console>,
    ctx: &Ctx,
    id: &str,
    revealed: Option<Result<Shown, Refusal>>,
) -> Response {
    let meta = match sm(c, ctx, "DescribeSecret", json!({ "SecretId": id })).await {
        Ok(v) => v,
        Err(e) => {
            let body = refused("DescribeSecret was refused", &e.code, &e.message);
            return html(
                StatusCode::OK,
                page(&ctx.session, "secrets", &format!("Secret {id}"), &body),
            );
        }
    };
    let arn = meta["ARN"].as_str().unwrap_or(id).to_owned();
    let name = meta["Name"].as_str().unwrap_or(id).to_owned();
    let deleted = !meta["DeletedDate"].is_null();
    let mut body = String::new();

    let key = match meta["KmsKeyId"].as_str() {
        Some(k) => k.to_owned(),
        None => "aws/secretsmanager".to_owned(),
    };
    body.push_str(&section(
        "general",
        "Secret details",
        &dl(&[
            ("Secret name", name.clone()),
            ("Secret ARN", arn.clone()),
            ("Description", text(&meta["Description"])),
            ("Encryption key", key),
            ("Created", date(&meta["CreatedDate"])),
            ("Last changed", date(&meta["LastChangedDate"])),
            ("Last retrieved", date(&meta["LastAccessedDate"])),
            (
                "Deleted (pending, recoverable until)",
                date(&meta["DeletedDate"]),
            ),
        ]),
    ));

    body.push_str(&section(
        "value",
        "Secret value",
        &value_section(ctx, &arn, revealed),
    ));
    body.push_str(&section(
        "versions",
        "Versions",
        &versions(c, ctx, &arn).await,
    ));
    body.push_str(&section(
        "rotation",
        "Rotation",
        &rotation(c, ctx, &arn, &meta),
    ));
    body.push_str(&section("tags", "Tags", &tags(ctx, &arn, &meta)));
    body.push_str(&section(
        "policy",
        "Resource permissions",
        &policy(c, ctx, &arn).await,
    ));

    let mut state = String::new();
    if deleted {
        state.push_str(
            "<p>This secret is scheduled for deletion; until then it can be restored.</p>",
        );
        state.push_str(&form(
            ctx,
            &arn,
            "restore",
            "Cancel deletion (restore)",
            "",
            "",
        ));
    } else {
        state.push_str(&form(
            ctx,
            &arn,
            "update",
            "Save description and key",
            &format!(
                "<label for=\"new-description\">Description</label>\
                 <input id=\"new-description\" name=\"description\" size=\"60\" value=\"{}\">\
                 <label for=\"new-kms-key\">New encryption key (key id, ARN or alias; empty: unchanged)</label>\
                 <input id=\"new-kms-key\" name=\"kms_key\" size=\"60\">",
                esc(&text(&meta["Description"]))
            ),
            "block",
        ));
        state.push_str(&form(
            ctx,
            &arn,
            "delete",
            "Schedule secret deletion",
            "<label for=\"days\">Recovery window (7–30 days)</label>\
             <input id=\"days\" name=\"days\" type=\"number\" min=\"7\" max=\"30\" value=\"30\" required>",
            "danger",
        ));
    }
    body.push_str(&section("state", "Description, key and deletion", &state));
    html(
        StatusCode::OK,
        page(&ctx.session, "secrets", &format!("Secret {name}"), &body),
    )
}

fn value_section(ctx: &Ctx, arn: &str, revealed: Option<Result<Shown, Refusal>>) -> String {
    let mut s = String::new();
    match revealed {
        None => {
            s.push_str("<p class=\"hint\">The value is shown only when you ask for it; each retrieval is recorded as GetSecretValue.</p>");
            s.push_str(&form(ctx, arn, "reveal", "Retrieve secret value", "", ""));
        }
        Some(Err(e)) => {
            s.push_str(&refused("GetSecretValue was refused", &e.code, &e.message));
        }
        Some(Ok(shown)) => {
            let text = String::from_utf8_lossy(shown.value.expose());
            s.push_str(&format!(
                "<p>Version <code id=\"shown-version\">{}</code> ({}){}:</p>\
                 <pre id=\"secret-value\" tabindex=\"0\" aria-label=\"Secret value\">{}</pre>",
                esc(&shown.version_id),
                esc(&shown.stages.join(", ")),
                if shown.binary {
                    ", binary, shown as base64"
                } else {
                    ""
                },
                esc(&text),
            ));
            s.push_str(&format!(
                "<p><a href=\"{}\" id=\"hide-value\">Hide the value</a></p>",
                esc(&super::secrets::secret_link(arn))
            ));
        }
    }
    s.push_str(&form(
        ctx,
        arn,
        "put-value",
        "Store a new value",
        "<label for=\"new-value\">New value (text; becomes AWSCURRENT)</label>\
         <textarea id=\"new-value\" name=\"value\" rows=\"4\" cols=\"70\" spellcheck=\"false\" autocomplete=\"off\"></textarea>",
        "block",
    ));
    s
}

async fn versions(c: &Arc<Console>, ctx: &Ctx, arn: &str) -> String {
    let listed = sm(
        c,
        ctx,
        "ListSecretVersionIds",
        json!({ "SecretId": arn, "IncludeDeprecated": true, "MaxResults": 100 }),
    )
    .await;
    match listed {
        Ok(v) => {
            let rows: Vec<Vec<String>> = v["Versions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|ver| {
                    let vid = ver["VersionId"].as_str().unwrap_or("");
                    vec![
                        format!("<code>{}</code>", esc(vid)),
                        esc(&text(&ver["VersionStages"])),
                        esc(&date(&ver["CreatedDate"])),
                        esc(&text(&ver["KmsKeyIds"])),
                        form(
                            ctx,
                            arn,
                            "reveal-version",
                            "Retrieve",
                            &format!(
                                "<input type=\"hidden\" name=\"version_id\" value=\"{}\">",
                                esc(vid)
                            ),
                            "",
                        ),
                    ]
                })
                .collect();
            table(
                "versions-table",
                "Versions, newest first",
                &[
                    "Version ID",
                    "Staging labels",
                    "Created",
                    "KMS keys",
                    "Value",
                ],
                &rows,
                "No versions.",
            )
        }
        Err(e) => refused("ListSecretVersionIds was refused", &e.code, &e.message),
    }
}

fn rotation(c: &Console, ctx: &Ctx, arn: &str, meta: &Value) -> String {
    let enabled = meta["RotationEnabled"].as_bool() == Some(true);
    let rules = &meta["RotationRules"];
    let schedule = match (
        rules["AutomaticallyAfterDays"].as_i64(),
        rules["ScheduleExpression"].as_str(),
    ) {
        (_, Some(e)) => e.to_owned(),
        (Some(d), None) => format!("every {d} days"),
        _ => String::new(),
    };
    let mut s = dl(&[
        (
            "Automatic rotation",
            if enabled { "Enabled" } else { "Disabled" }.to_owned(),
        ),
        ("Rotation function", text(&meta["RotationLambdaARN"])),
        ("Schedule", schedule),
        ("Last rotated", date(&meta["LastRotatedDate"])),
        ("Next rotation", date(&meta["NextRotationDate"])),
    ]);
    let functions = &c.app.rotation_functions;
    if functions.is_empty() {
        s.push_str(
            "<p class=\"hint\" id=\"no-rotation-function\">No rotation function is configured on \
             this server (<code>kinko serve --rotation-function ARN=URL</code>).</p>",
        );
    } else {
        let current = meta["RotationLambdaARN"].as_str().unwrap_or("");
        let mut options = String::new();
        for f in functions.keys() {
            let sel = if f == current { " selected" } else { "" };
            options.push_str(&format!("<option{sel}>{}</option>", esc(f)));
        }
        let days = rules["AutomaticallyAfterDays"].as_i64().unwrap_or(30);
        s.push_str(&form(
            ctx,
            arn,
            "rotate",
            "Save rotation and rotate now",
            &format!(
                "<label for=\"lambda\">Rotation function</label><select id=\"lambda\" name=\"lambda\">{options}</select>\
                 <label for=\"rotation-days\">Rotate every (days, 1–1000)</label>\
                 <input id=\"rotation-days\" name=\"days\" type=\"number\" min=\"1\" max=\"1000\" value=\"{days}\" required>"
            ),
            "block",
        ));
    }
    if enabled {
        s.push_str(&form(ctx, arn, "rotate-now", "Rotate now", "", ""));
        s.push_str(&form(
            ctx,
            arn,
            "cancel-rotation",
            "Disable rotation",
            "",
            "danger",
        ));
    }
    s
}

fn tags(ctx: &Ctx, arn: &str, meta: &Value) -> String {
    let rows: Vec<Vec<String>> = meta["Tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let k = t["Key"].as_str().unwrap_or("");
            vec![
                esc(k),
                esc(t["Value"].as_str().unwrap_or("")),
                form(
                    ctx,
                    arn,
                    "untag",
                    "Remove",
                    &format!(
                        "<input type=\"hidden\" name=\"tag_key\" value=\"{}\">",
                        esc(k)
                    ),
                    "",
                ),
            ]
        })
        .collect();
    let mut s = table(
        "tags-table",
        "Tags",
        &["Key", "Value", ""],
        &rows,
        "No tags.",
    );
    s.push_str(&form(
        ctx,
        arn,
        "tag",
        "Add tag",
        "<label for=\"tag-key\">Tag key</label><input id=\"tag-key\" name=\"tag_key\" required>\
         <label for=\"tag-value\">Tag value</label><input id=\"tag-value\" name=\"tag_value\">",
        "",
    ));
    s
}

async fn policy(c: &Arc<Console>, ctx: &Ctx, arn: &str) -> String {
    match sm(c, ctx, "GetResourcePolicy", json!({ "SecretId": arn })).await {
        Ok(v) => {
            let raw = v["ResourcePolicy"].as_str().unwrap_or("");
            let pretty = serde_json::from_str::<Value>(raw)
                .ok()
                .and_then(|p| serde_json::to_string_pretty(&p).ok())
                .unwrap_or_else(|| raw.to_owned());
            let mut s = String::new();
            if raw.is_empty() {
                s.push_str("<p id=\"no-policy\">This secret has no resource policy.</p>");
            }
            s.push_str(&form(
                ctx,
                arn,
                "put-policy",
                "Save resource policy",
                &format!(
                    "<label for=\"resource-policy\">Resource policy (JSON)</label>\
                     <textarea id=\"resource-policy\" name=\"policy\" rows=\"12\" cols=\"90\" spellcheck=\"false\" data-json>{}</textarea>\
                     <p class=\"json-status\" id=\"resource-policy-status\" aria-live=\"polite\"></p>",
                    esc(&pretty)
                ),
                "block",
            ));
            if !raw.is_empty() {
                s.push_str(&form(
                    ctx,
                    arn,
                    "delete-policy",
                    "Delete resource policy",
                    "",
                    "danger",
                ));
            }
            s
        }
        Err(e) => refused("GetResourcePolicy was refused", &e.code, &e.message),
    }
}
