//! The Keys page: customer managed and AWS managed keys in two tabs, as AWS shows them, with
//! search (alias, id, description) and filters (spec, state, tag), and paging. It makes the
//! calls AWS's console makes: ListKeys for a page, ListAliases, and DescribeKey for each key
//! listed (ListResourceTags too when a tag filter is set), each as the signed-in principal and
//! each audited. A filter scans at most [`MAX_SCAN`] keys per page shown.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::call::{self, Refusal};
use super::ctx::{Console, Ctx, page_ctx, query};
use super::html::{esc, html, page, refused, table, url};

/// Keys shown per page.
const PAGE: usize = 50;
/// The most keys one page's filters look at.
const MAX_SCAN: usize = 1000;

/// The filters of the page.
#[derive(Debug, Default, Clone)]
struct Filter {
    aws: bool,
    text: String,
    spec: String,
    state: String,
    tag: String,
}

impl Filter {
    fn needs_scan(&self) -> bool {
        !(self.text.is_empty()
            && self.spec.is_empty()
            && self.state.is_empty()
            && self.tag.is_empty())
    }

    fn link(&self, marker: Option<&str>) -> String {
        let mut s = format!(
            "/console/keys?tab={}&q={}&spec={}&state={}&tag={}",
            if self.aws { "aws" } else { "customer" },
            url(&self.text),
            url(&self.spec),
            url(&self.state),
            url(&self.tag)
        );
        if let Some(m) = marker {
            s.push_str(&format!("&marker={}", url(m)));
        }
        s
    }
}

/// All aliases of the account, by target key id (ListAliases, paged).
pub(crate) async fn aliases_by_key(
    c: &Console,
    ctx: &Ctx,
) -> Result<HashMap<String, Vec<String>>, Refusal> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut marker: Option<String> = None;
    for _ in 0..100 {
        let mut body = json!({ "Limit": 100 });
        if let Some(m) = &marker {
            body["Marker"] = json!(m);
        }
        let page = call::kms(&c.app, &ctx.session, &ctx.conn, "ListAliases", body).await?;
        for a in page["Aliases"].as_array().into_iter().flatten() {
            if let (Some(name), Some(target)) = (a["AliasName"].as_str(), a["TargetKeyId"].as_str())
            {
                out.entry(target.to_owned())
                    .or_default()
                    .push(name.to_owned());
            }
        }
        match page["NextMarker"].as_str() {
            Some(m) if page["Truncated"].as_bool() == Some(true) => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// DescribeKey (and ListResourceTags when `tags`) for each of `ids`, at once.
pub(crate) async fn describe_all(
    c: &Arc<Console>,
    ctx: &Ctx,
    ids: Vec<String>,
    tags: bool,
) -> Vec<(String, Result<Value, Refusal>, Vec<(String, String)>)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        let (c, session, conn) = (c.clone(), ctx.session.clone(), ctx.conn.clone());
        set.spawn(async move {
            let meta = call::kms(
                &c.app,
                &session,
                &conn,
                "DescribeKey",
                json!({ "KeyId": id }),
            )
            .await
            .map(|v| v["KeyMetadata"].clone());
            let mut pairs = Vec::new();
            if tags && meta.is_ok() {
                let t = call::kms(
                    &c.app,
                    &session,
                    &conn,
                    "ListResourceTags",
                    json!({ "KeyId": id }),
                )
                .await;
                for tag in t
                    .ok()
                    .iter()
                    .flat_map(|v| v["Tags"].as_array().cloned().unwrap_or_default())
                {
                    pairs.push((
                        tag["TagKey"].as_str().unwrap_or("").to_owned(),
                        tag["TagValue"].as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
            (i, id, meta, pairs)
        });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(row) = done {
            out.push(row);
        }
    }
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|(_, id, m, t)| (id, m, t)).collect()
}

fn matches(f: &Filter, meta: &Value, aliases: &[String], tags: &[(String, String)]) -> bool {
    let aws = meta["KeyManager"].as_str() == Some("AWS");
    if aws != f.aws {
        return false;
    }
    if !f.spec.is_empty() && meta["KeySpec"].as_str() != Some(f.spec.as_str()) {
        return false;
    }
    if !f.state.is_empty() && meta["KeyState"].as_str() != Some(f.state.as_str()) {
        return false;
    }
    if !f.text.is_empty() {
        let needle = f.text.to_lowercase();
        let hay = [
            meta["KeyId"].as_str().unwrap_or(""),
            meta["Description"].as_str().unwrap_or(""),
        ];
        if !hay.iter().any(|h| h.to_lowercase().contains(&needle))
            && !aliases.iter().any(|a| a.to_lowercase().contains(&needle))
        {
            return false;
        }
    }
    if !f.tag.is_empty() {
        let (k, v) = f
            .tag
            .split_once('=')
            .map_or((f.tag.as_str(), None), |(k, v)| (k, Some(v)));
        if !tags
            .iter()
            .any(|(tk, tv)| tk == k && v.is_none_or(|v| v == tv))
        {
            return false;
        }
    }
    true
}

fn select(name: &str, label: &str, current: &str, options: &[&str]) -> String {
    let mut s = format!(
        "<label for=\"{name}\">{label}</label><select id=\"{name}\" name=\"{name}\"><option value=\"\">Any</option>"
    );
    for o in options {
        let sel = if *o == current { " selected" } else { "" };
        s.push_str(&format!("<option{sel}>{o}</option>"));
    }
    s.push_str("</select>");
    s
}

/// Every key spec Kinko knows.
pub(crate) const SPECS: &[&str] = &[
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
];
const STATES: &[&str] = &[
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "Unavailable",
];

/// `GET /console/keys`.
pub(crate) async fn list(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&request);
    let f = Filter {
        aws: q.get("tab") == Some("aws"),
        text: q.get("q").unwrap_or("").trim().to_owned(),
        spec: q.get("spec").unwrap_or("").to_owned(),
        state: q.get("state").unwrap_or("").to_owned(),
        tag: q.get("tag").unwrap_or("").trim().to_owned(),
    };
    let mut marker = q.get("marker").filter(|m| !m.is_empty()).map(str::to_owned);
    let mut body = String::new();
    let tabs = format!(
        "<nav class=\"tabs\" aria-label=\"Key managers\"><a href=\"{}\"{}>Customer managed keys</a><a href=\"{}\"{}>AWS managed keys</a></nav>",
        esc(&Filter {
            aws: false,
            ..f.clone()
        }
        .link(None)),
        if f.aws { "" } else { " aria-current=\"page\"" },
        esc(&Filter {
            aws: true,
            ..f.clone()
        }
        .link(None)),
        if f.aws { " aria-current=\"page\"" } else { "" },
    );
    body.push_str(&tabs);
    body.push_str(&format!(
        "<form method=\"get\" action=\"/console/keys\" class=\"filters\" role=\"search\">\
         <input type=\"hidden\" name=\"tab\" value=\"{}\">\
         <label for=\"q\">Search alias, id or description</label><input id=\"q\" name=\"q\" value=\"{}\">\
         {}{}<label for=\"tag\">Tag (key or key=value)</label><input id=\"tag\" name=\"tag\" value=\"{}\">\
         <button type=\"submit\">Filter</button></form>",
        if f.aws { "aws" } else { "customer" },
        esc(&f.text),
        select("spec", "Key spec", &f.spec, SPECS),
        select("state", "Key state", &f.state, STATES),
        esc(&f.tag),
    ));
    let aliases = match aliases_by_key(&c, &ctx).await {
        Ok(a) => a,
        Err(e) => {
            body.push_str(&refused("ListAliases was refused", &e.code, &e.message));
            HashMap::new()
        }
    };
    let mut rows = Vec::new();
    let mut scanned = 0usize;
    let mut refusals = Vec::new();
    loop {
        let mut req = json!({ "Limit": PAGE });
        if let Some(m) = &marker {
            req["Marker"] = json!(m);
        }
        let listed = match call::kms(&c.app, &ctx.session, &ctx.conn, "ListKeys", req).await {
            Ok(v) => v,
            Err(e) => {
                body.push_str(&refused("ListKeys was refused", &e.code, &e.message));
                marker = None;
                break;
            }
        };
        let ids: Vec<String> = listed["Keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["KeyId"].as_str().map(str::to_owned))
            .collect();
        scanned += ids.len();
        for (id, meta, tags) in describe_all(&c, &ctx, ids, !f.tag.is_empty()).await {
            let names = aliases.get(&id).cloned().unwrap_or_default();
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    // A key the principal may list but not describe: listed by id with the reason.
                    if !f.needs_scan() && !f.aws {
                        refusals.push(vec![
                            esc(&names.join(", ")),
                            format!("<a href=\"/console/keys/{}\">{}</a>", url(&id), esc(&id)),
                            format!(
                                "<span class=\"refused-cell\">{}</span>",
                                esc(&e.to_string())
                            ),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]);
                    }
                    continue;
                }
            };
            if !matches(&f, &meta, &names, &tags) {
                continue;
            }
            let s = |k: &str| esc(meta[k].as_str().unwrap_or(""));
            rows.push(vec![
                esc(&names.join(", ")),
                format!("<a href=\"/console/keys/{}\">{}</a>", url(&id), esc(&id)),
                format!(
                    "<span class=\"state {}\">{}</span>",
                    s("KeyState"),
                    s("KeyState")
                ),
                s("KeySpec"),
                s("KeyUsage"),
                s("Description"),
            ]);
        }
        marker = listed["NextMarker"]
            .as_str()
            .filter(|_| listed["Truncated"].as_bool() == Some(true))
            .map(str::to_owned);
        if marker.is_none() || !f.needs_scan() || rows.len() >= PAGE || scanned >= MAX_SCAN {
            break;
        }
    }
    rows.extend(refusals);
    let caption = if f.aws {
        "AWS managed keys"
    } else {
        "Customer managed keys"
    };
    body.push_str(&table(
        "keys",
        caption,
        &[
            "Aliases",
            "Key ID",
            "Status",
            "Key spec",
            "Key usage",
            "Description",
        ],
        &rows,
        "No keys match.",
    ));
    let mut paging = String::from("<nav class=\"paging\" aria-label=\"Pages\">");
    if q.get("marker").is_some_and(|m| !m.is_empty()) {
        paging.push_str(&format!(
            "<a href=\"{}\">First page</a> ",
            esc(&f.link(None))
        ));
    }
    if let Some(m) = &marker {
        paging.push_str(&format!(
            "<a href=\"{}\" id=\"next-page\">Next page</a>",
            esc(&f.link(Some(m)))
        ));
    }
    paging.push_str("</nav>");
    if f.needs_scan() {
        paging.push_str(&format!(
            "<p class=\"hint\">Filters looked at {scanned} keys.</p>"
        ));
    }
    body.push_str(&paging);
    body.push_str("<p><a class=\"button\" href=\"/console/create\">Create key</a></p>");
    html(StatusCode::OK, page(&ctx.session, "keys", "Keys", &body))
}
