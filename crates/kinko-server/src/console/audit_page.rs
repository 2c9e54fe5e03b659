//! The Audit page: the trail searched by time, principal, event name, key and result, through
//! CloudTrail's LookupEvents as the signed-in principal (one lookup attribute goes to the
//! server, as CloudTrail allows one; the others filter the page), each event's JSON on demand.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::call;
use super::ctx::{Console, page_ctx, query};
use super::html::{esc, html, page, refused, table, url};
use super::key_detail::date;

/// Events looked at per page.
const PAGE: usize = 50;

fn time_arg(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let full = if s.len() == 16 {
        format!("{s}:00Z")
    } else {
        format!("{s}Z")
    };
    time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `GET /console/audit`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&request);
    let get = |k: &str| q.get(k).unwrap_or("").trim().to_owned();
    let (start, end, principal, event, key, result) = (
        get("start"),
        get("end"),
        get("principal"),
        get("event"),
        get("key"),
        get("result"),
    );
    let results = [
        ("", "Any"),
        ("ok", "Succeeded"),
        ("failed", "Failed"),
        ("denied", "Denied"),
    ];
    let mut options = String::new();
    for (v, l) in results {
        let sel = if v == result { " selected" } else { "" };
        options.push_str(&format!("<option value=\"{v}\"{sel}>{l}</option>"));
    }
    let mut body = format!(
        "<form method=\"get\" action=\"/console/audit\" class=\"filters\" role=\"search\">\
         <label for=\"start\">From (UTC)</label><input id=\"start\" name=\"start\" type=\"datetime-local\" value=\"{}\">\
         <label for=\"end\">To (UTC)</label><input id=\"end\" name=\"end\" type=\"datetime-local\" value=\"{}\">\
         <label for=\"principal\">Principal (user name or ARN contains)</label><input id=\"principal\" name=\"principal\" value=\"{}\">\
         <label for=\"event\">Event name</label><input id=\"event\" name=\"event\" value=\"{}\">\
         <label for=\"key\">Key (id or ARN)</label><input id=\"key\" name=\"key\" value=\"{}\">\
         <label for=\"result\">Result</label><select id=\"result\" name=\"result\">{options}</select>\
         <button type=\"submit\">Search</button></form>",
        esc(&start),
        esc(&end),
        esc(&principal),
        esc(&event),
        esc(&key)
    );
    let mut req = json!({ "MaxResults": PAGE });
    if !event.is_empty() {
        req["LookupAttributes"] = json!([{ "AttributeKey": "EventName", "AttributeValue": event }]);
    } else if !key.is_empty() {
        req["LookupAttributes"] =
            json!([{ "AttributeKey": "ResourceName", "AttributeValue": key }]);
    }
    if let Some(t) = time_arg(&start) {
        req["StartTime"] = json!(t);
    }
    if let Some(t) = time_arg(&end) {
        req["EndTime"] = json!(t);
    }
    if let Some(t) = q.get("token").filter(|t| !t.is_empty()) {
        req["NextToken"] = json!(t);
    }
    match call::cloudtrail(&c.app, &ctx.session, &ctx.conn, "LookupEvents", req).await {
        Ok(v) => {
            let mut rows = Vec::new();
            for e in v["Events"].as_array().into_iter().flatten() {
                let record: Value = e["CloudTrailEvent"]
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(Value::Null);
                let arn = record["userIdentity"]["arn"].as_str().unwrap_or("");
                let code = record["errorCode"].as_str().unwrap_or("");
                let denied = code.contains("AccessDenied");
                let keep = match result.as_str() {
                    "ok" => code.is_empty(),
                    "failed" => !code.is_empty(),
                    "denied" => denied,
                    _ => true,
                };
                let principal_ok = principal.is_empty()
                    || arn.contains(&principal)
                    || e["Username"]
                        .as_str()
                        .is_some_and(|u| u.contains(&principal));
                // Without an event name the key went to the server as the lookup attribute.
                let key_ok = key.is_empty()
                    || event.is_empty()
                    || record["resources"].to_string().contains(&key)
                    || record["requestParameters"].to_string().contains(&key);
                if !(keep && principal_ok && key_ok) {
                    continue;
                }
                let outcome = if code.is_empty() {
                    "<span class=\"ok\">Succeeded</span>".to_owned()
                } else {
                    format!(
                        "<span class=\"error\">{}</span><br><small>{}</small>",
                        esc(code),
                        esc(record["errorMessage"].as_str().unwrap_or(""))
                    )
                };
                let pretty = serde_json::to_string_pretty(&record).unwrap_or_default();
                rows.push(vec![
                    esc(&date(&e["EventTime"])),
                    esc(e["EventName"].as_str().unwrap_or("")),
                    esc(arn),
                    esc(record["userAgent"].as_str().unwrap_or("")),
                    outcome,
                    format!(
                        "<details><summary>JSON</summary><pre>{}</pre></details>",
                        esc(&pretty)
                    ),
                ]);
            }
            body.push_str(&table(
                "events",
                "Events, newest first",
                &[
                    "Time",
                    "Event",
                    "Principal",
                    "User agent",
                    "Result",
                    "Event record",
                ],
                &rows,
                "No events match.",
            ));
            if let Some(t) = v["NextToken"].as_str() {
                body.push_str(&format!(
                    "<nav class=\"paging\" aria-label=\"Pages\"><a id=\"next-page\" href=\"/console/audit?start={}&end={}&principal={}&event={}&key={}&result={}&token={}\">Older events</a></nav>",
                    url(&start), url(&end), url(&principal), url(&event), url(&key), url(&result), url(t)
                ));
            }
        }
        Err(e) => body.push_str(&refused("LookupEvents was refused", &e.code, &e.message)),
    }
    html(StatusCode::OK, page(&ctx.session, "audit", "Audit", &body))
}
