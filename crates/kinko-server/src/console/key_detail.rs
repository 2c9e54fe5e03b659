//! A key's page: general and cryptographic configuration, the key policy (view and edit), aliases,
//! tags, grants, rotation (status, period, on-demand, history), imported material, usage from the
//! audit trail (last use, operations per day), and the state changes (enable, disable, schedule
//! and cancel deletion). Each section is the API call AWS's console makes for it; a section the
//! principal may not read shows AWS's refusal in its place.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::call::{self, Refusal};
use super::ctx::{Console, Ctx, page_ctx};
use super::html::{csrf_field, esc, html, page, refused, table, url};

/// Days of usage the chart shows.
const USAGE_DAYS: i64 = 14;

/// A change's form. Its button has the id `op-<op>`, but for changes made per row (an alias, a
/// tag, a grant), which appear many times on one page.
fn form(ctx: &Ctx, id: &str, op: &str, label: &str, extra: &str, class: &str) -> String {
    let per_row = matches!(op, "delete-alias" | "untag" | "revoke-grant");
    let button_id = if per_row {
        String::new()
    } else {
        format!(" id=\"op-{op}\"")
    };
    format!(
        "<form method=\"post\" action=\"/console/keys/{}\" class=\"inline {class}\">{}\
         <input type=\"hidden\" name=\"op\" value=\"{op}\">{extra}<button type=\"submit\"{button_id}>{label}</button></form>",
        url(id),
        csrf_field(&ctx.session)
    )
}

pub(crate) fn dl(pairs: &[(&str, String)]) -> String {
    let mut s = String::from("<dl class=\"config\">");
    for (k, v) in pairs {
        if !v.is_empty() {
            s.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)));
        }
    }
    s.push_str("</dl>");
    s
}

pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A date the API answers (epoch seconds) as UTC text.
pub(crate) fn date(v: &Value) -> String {
    let Some(secs) = v.as_f64() else {
        return text(v);
    };
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(crate) fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section aria-labelledby=\"h-{id}\" id=\"{id}\"><h2 id=\"h-{id}\">{title}</h2>{body}</section>"
    )
}

async fn call(c: &Console, ctx: &Ctx, op: &str, body: Value) -> Result<Value, Refusal> {
    call::kms(&c.app, &ctx.session, &ctx.conn, op, body).await
}

/// `GET /console/keys/{id}`.
pub(crate) async fn show(
    State(c): State<Arc<Console>>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let meta = match call(&c, &ctx, "DescribeKey", json!({ "KeyId": id })).await {
        Ok(v) => v["KeyMetadata"].clone(),
        Err(e) => {
            let body = refused("DescribeKey was refused", &e.code, &e.message);
            return html(
                StatusCode::OK,
                page(&ctx.session, "keys", &format!("Key {id}"), &body),
            );
        }
    };
    let key_id = meta["KeyId"].as_str().unwrap_or(&id).to_owned();
    let arn = meta["Arn"].as_str().unwrap_or("").to_owned();
    let state = meta["KeyState"].as_str().unwrap_or("").to_owned();
    let customer = meta["KeyManager"].as_str() == Some("CUSTOMER");
    let mut body = String::new();

    body.push_str(&section(
        "general",
        "General configuration",
        &dl(&[
            ("ARN", arn.clone()),
            ("Key ID", key_id.clone()),
            ("Status", state.clone()),
            ("Description", text(&meta["Description"])),
            ("Created", date(&meta["CreationDate"])),
            ("Key manager", text(&meta["KeyManager"])),
            ("Deletion date", date(&meta["DeletionDate"])),
            (
                "Pending window (days)",
                text(&meta["PendingDeletionWindowInDays"]),
            ),
        ]),
    ));
    body.push_str(&section(
        "crypto",
        "Cryptographic configuration",
        &dl(&[
            ("Key spec", text(&meta["KeySpec"])),
            ("Key usage", text(&meta["KeyUsage"])),
            ("Origin", text(&meta["Origin"])),
            ("Encryption algorithms", text(&meta["EncryptionAlgorithms"])),
            ("Signing algorithms", text(&meta["SigningAlgorithms"])),
            ("MAC algorithms", text(&meta["MacAlgorithms"])),
            (
                "Key agreement algorithms",
                text(&meta["KeyAgreementAlgorithms"]),
            ),
            ("Multi-Region", text(&meta["MultiRegion"])),
        ]),
    ));

    if customer {
        let mut s = String::new();
        match state.as_str() {
            "Enabled" => s.push_str(&form(&ctx, &key_id, "disable", "Disable key", "", "")),
            "Disabled" => s.push_str(&form(&ctx, &key_id, "enable", "Enable key", "", "")),
            _ => {}
        }
        if state == "PendingDeletion" {
            s.push_str(&form(
                &ctx,
                &key_id,
                "cancel-deletion",
                "Cancel key deletion",
                "",
                "",
            ));
        } else {
            s.push_str(&form(
                &ctx,
                &key_id,
                "schedule-deletion",
                "Schedule key deletion",
                "<label for=\"days\">Waiting period (7–30 days)</label>\
                 <input id=\"days\" name=\"days\" type=\"number\" min=\"7\" max=\"30\" value=\"30\" required>",
                "danger",
            ));
        }
        body.push_str(&section("state", "Key state", &s));
    }

    // Key policy.
    let policy = match call(
        &c,
        &ctx,
        "GetKeyPolicy",
        json!({ "KeyId": key_id, "PolicyName": "default" }),
    )
    .await
    {
        Ok(v) => {
            let raw = v["Policy"].as_str().unwrap_or("");
            let pretty = serde_json::from_str::<Value>(raw)
                .ok()
                .and_then(|p| serde_json::to_string_pretty(&p).ok())
                .unwrap_or_else(|| raw.to_owned());
            if customer {
                form(
                    &ctx,
                    &key_id,
                    "put-policy",
                    "Save policy",
                    &format!(
                        "<label for=\"policy\">Key policy (JSON)</label>\
                         <textarea id=\"policy\" name=\"policy\" rows=\"18\" cols=\"90\" spellcheck=\"false\" data-json>{}</textarea>\
                         <p class=\"json-status\" id=\"policy-status\" aria-live=\"polite\"></p>",
                        esc(&pretty)
                    ),
                    "block",
                )
            } else {
                format!("<pre id=\"policy\">{}</pre>", esc(&pretty))
            }
        }
        Err(e) => refused("GetKeyPolicy was refused", &e.code, &e.message),
    };
    body.push_str(&section("key-policy", "Key policy", &policy));

    // Aliases.
    let mut s = String::new();
    match call(&c, &ctx, "ListAliases", json!({ "KeyId": key_id })).await {
        Ok(v) => {
            let rows: Vec<Vec<String>> = v["Aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["AliasName"].as_str())
                .map(|name| {
                    let remove = if customer && !name.starts_with("alias/aws/") {
                        form(
                            &ctx,
                            &key_id,
                            "delete-alias",
                            "Delete",
                            &format!(
                                "<input type=\"hidden\" name=\"alias\" value=\"{}\">",
                                esc(name)
                            ),
                            "",
                        )
                    } else {
                        String::new()
                    };
                    vec![esc(name), remove]
                })
                .collect();
            s.push_str(&table(
                "aliases",
                "Aliases",
                &["Alias", ""],
                &rows,
                "This key has no aliases.",
            ));
        }
        Err(e) => s.push_str(&refused("ListAliases was refused", &e.code, &e.message)),
    }
    if customer {
        s.push_str(&form(&ctx, &key_id, "create-alias", "Add alias",
            "<label for=\"alias\">Alias name</label><input id=\"alias\" name=\"alias\" placeholder=\"alias/my-key\" required>", ""));
    }
    body.push_str(&section("aliases-section", "Aliases", &s));

    // Tags.
    let mut s = String::new();
    match call(&c, &ctx, "ListResourceTags", json!({ "KeyId": key_id })).await {
        Ok(v) => {
            let rows: Vec<Vec<String>> = v["Tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let k = t["TagKey"].as_str().unwrap_or("");
                    vec![
                        esc(k),
                        esc(t["TagValue"].as_str().unwrap_or("")),
                        if customer {
                            form(
                                &ctx,
                                &key_id,
                                "untag",
                                "Remove",
                                &format!(
                                    "<input type=\"hidden\" name=\"tag_key\" value=\"{}\">",
                                    esc(k)
                                ),
                                "",
                            )
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            s.push_str(&table(
                "tags",
                "Tags",
                &["Key", "Value", ""],
                &rows,
                "This key has no tags.",
            ));
        }
        Err(e) => s.push_str(&refused(
            "ListResourceTags was refused",
            &e.code,
            &e.message,
        )),
    }
    if customer {
        s.push_str(&form(
            &ctx,
            &key_id,
            "tag",
            "Add tag",
            "<label for=\"tag_key\">Tag key</label><input id=\"tag_key\" name=\"tag_key\" required>\
             <label for=\"tag_value\">Tag value</label><input id=\"tag_value\" name=\"tag_value\">",
            "",
        ));
    }
    body.push_str(&section("tags-section", "Tags", &s));

    // Grants.
    let grants = match call(&c, &ctx, "ListGrants", json!({ "KeyId": key_id })).await {
        Ok(v) => {
            let rows: Vec<Vec<String>> = v["Grants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| {
                    let gid = g["GrantId"].as_str().unwrap_or("");
                    vec![
                        esc(gid),
                        esc(g["Name"].as_str().unwrap_or("")),
                        esc(g["GranteePrincipal"].as_str().unwrap_or("")),
                        esc(&text(&g["Operations"])),
                        form(
                            &ctx,
                            &key_id,
                            "revoke-grant",
                            "Revoke",
                            &format!(
                                "<input type=\"hidden\" name=\"grant_id\" value=\"{}\">",
                                esc(gid)
                            ),
                            "danger",
                        ),
                    ]
                })
                .collect();
            table(
                "grants",
                "Grants",
                &["Grant ID", "Name", "Grantee", "Operations", ""],
                &rows,
                "This key has no grants.",
            )
        }
        Err(e) => refused("ListGrants was refused", &e.code, &e.message),
    };
    body.push_str(&section("grants-section", "Grants", &grants));

    // Rotation.
    let symmetric = meta["KeySpec"].as_str() == Some("SYMMETRIC_DEFAULT");
    if symmetric && customer {
        let mut s = String::new();
        match call(&c, &ctx, "GetKeyRotationStatus", json!({ "KeyId": key_id })).await {
            Ok(v) => {
                let enabled = v["KeyRotationEnabled"].as_bool() == Some(true);
                s.push_str(&dl(&[
                    (
                        "Automatic rotation",
                        if enabled {
                            "Enabled".into()
                        } else {
                            "Disabled".into()
                        },
                    ),
                    ("Rotation period (days)", text(&v["RotationPeriodInDays"])),
                    ("Next rotation", date(&v["NextRotationDate"])),
                    (
                        "On-demand rotation started",
                        date(&v["OnDemandRotationStartDate"]),
                    ),
                ]));
                let period = v["RotationPeriodInDays"].as_i64().unwrap_or(365);
                s.push_str(&form(&ctx, &key_id, "enable-rotation", if enabled { "Set period" } else { "Enable automatic rotation" },
                    &format!("<label for=\"period\">Rotation period (90–2560 days)</label>\
                     <input id=\"period\" name=\"period\" type=\"number\" min=\"90\" max=\"2560\" value=\"{period}\" required>"), ""));
                if enabled {
                    s.push_str(&form(
                        &ctx,
                        &key_id,
                        "disable-rotation",
                        "Disable automatic rotation",
                        "",
                        "",
                    ));
                }
                s.push_str(&form(&ctx, &key_id, "rotate-now", "Rotate now", "", ""));
            }
            Err(e) => s.push_str(&refused(
                "GetKeyRotationStatus was refused",
                &e.code,
                &e.message,
            )),
        }
        match call(&c, &ctx, "ListKeyRotations", json!({ "KeyId": key_id })).await {
            Ok(v) => {
                let rows: Vec<Vec<String>> = v["Rotations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        vec![
                            esc(&date(&r["RotationDate"])),
                            esc(&text(&r["RotationType"])),
                        ]
                    })
                    .collect();
                s.push_str(&table(
                    "rotations",
                    "Rotation history",
                    &["Rotated", "Type"],
                    &rows,
                    "This key has not been rotated.",
                ));
            }
            Err(e) => s.push_str(&refused(
                "ListKeyRotations was refused",
                &e.code,
                &e.message,
            )),
        }
        body.push_str(&section("rotation", "Key rotation", &s));
    }

    if meta["Origin"].as_str() == Some("EXTERNAL") {
        body.push_str(&section(
            "import",
            "Key material",
            &dl(&[
                ("Origin", "EXTERNAL (imported)".into()),
                ("State", state.clone()),
                ("Expiration model", text(&meta["ExpirationModel"])),
                ("Material expires", date(&meta["ValidTo"])),
            ]),
        ));
    }

    body.push_str(&section("usage", "Usage", &usage(&c, &ctx, &key_id).await));
    html(
        StatusCode::OK,
        page(&ctx.session, "keys", &format!("Key {key_id}"), &body),
    )
}

/// Last use and operations per day of the key, from the audit trail (LookupEvents by resource).
async fn usage(c: &Console, ctx: &Ctx, key_id: &str) -> String {
    let now = c.app.kms.clock().now().0 / 1000;
    let start = now - USAGE_DAYS * 86_400;
    let mut per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let mut last: Option<(String, String)> = None;
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({
            "LookupAttributes": [{ "AttributeKey": "ResourceName", "AttributeValue": key_id }],
            "StartTime": start, "MaxResults": 50,
        });
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page =
            match call::cloudtrail(&c.app, &ctx.session, &ctx.conn, "LookupEvents", body).await {
                Ok(p) => p,
                Err(e) => return refused("LookupEvents was refused", &e.code, &e.message),
            };
        for e in page["Events"].as_array().into_iter().flatten() {
            let Some(t) = e["EventTime"].as_f64() else {
                continue;
            };
            let day = (t as i64 - start) / 86_400;
            *per_day.entry(day).or_insert(0) += 1;
            // Last use: the newest successful cryptographic operation.
            let name = e["EventName"].as_str().unwrap_or("");
            let failed = e["CloudTrailEvent"]
                .as_str()
                .is_some_and(|r| r.contains("\"errorCode\""));
            if last.is_none() && !failed && kinko_core::CRYPTOGRAPHIC_OPERATIONS.contains(&name) {
                last = Some((
                    date(&e["EventTime"]),
                    e["EventName"].as_str().unwrap_or("").to_owned(),
                ));
            }
        }
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let mut s = match &last {
        Some((when, what)) => format!(
            "<p id=\"last-use\">Last use: {} ({})</p>",
            esc(when),
            esc(what)
        ),
        None => format!(
            "<p id=\"last-use\">No cryptographic use recorded in the last {USAGE_DAYS} days.</p>"
        ),
    };
    s.push_str(&bar_chart(
        "usage-chart",
        &format!("Operations per day, last {USAGE_DAYS} days"),
        &(0..USAGE_DAYS)
            .map(|d| per_day.get(&d).copied().unwrap_or(0))
            .collect::<Vec<_>>(),
    ));
    s
}

/// A bar chart as inline SVG (no script, no style attribute), with a text alternative.
pub(crate) fn bar_chart(id: &str, title: &str, values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let (w, h) = (600usize, 120usize);
    let bw = w / values.len().max(1);
    let mut bars = String::new();
    for (i, v) in values.iter().enumerate() {
        let bh = (*v as usize * (h - 10)) / max as usize;
        bars.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bh}\" class=\"bar\"><title>{v}</title></rect>",
            i * bw + 1,
            h - bh,
            bw.saturating_sub(2).max(1)
        ));
    }
    let summary = values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<figure><svg id=\"{id}\" role=\"img\" aria-label=\"{t}: {summary}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">{bars}</svg>\
         <figcaption>{t} (max {max})</figcaption></figure>",
        t = esc(title)
    )
}
