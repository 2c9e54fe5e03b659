//! The Why? page: why a principal may or may not perform an action on a key, explained statement
//! by statement by the same code as `kinko authz explain` ([`crate::explain`]). A user asks
//! about their own requests; the account's root may ask about any principal of its account.
//! Each explanation is recorded in the audit trail (`eventName: ExplainAuthorization`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use kinko_api::ErrorCode;
use kinko_core::Principal;

use super::call::record_direct;
use super::ctx::{Console, page_ctx, query};
use super::html::{esc, html, page, refused};
use crate::errors::ApiError;
use crate::explain::{ExplainRequest, explain};

/// `GET /console/why`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&request);
    let me = ctx.session.caller.principal.arn();
    let principal = q
        .get("principal")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(&me)
        .to_owned();
    let action = q.get("action").unwrap_or("kms:Encrypt").trim().to_owned();
    let key = q.get("key").unwrap_or("").trim().to_owned();
    let context = q.get("context").unwrap_or("").to_owned();
    let mut body = format!(
        "<form method=\"get\" action=\"/console/why\" class=\"filters\">\
         <label for=\"why-principal\">Principal ARN</label><input id=\"why-principal\" name=\"principal\" size=\"50\" value=\"{}\">\
         <label for=\"action\">Action</label><input id=\"action\" name=\"action\" value=\"{}\">\
         <label for=\"key\">Key (id, ARN or alias)</label><input id=\"key\" name=\"key\" size=\"40\" value=\"{}\">\
         <label for=\"context\">Encryption context (key=value per line)</label><textarea id=\"context\" name=\"context\" rows=\"2\">{}</textarea>\
         <button type=\"submit\" id=\"explain\">Explain</button></form>",
        esc(&principal),
        esc(&action),
        esc(&key),
        esc(&context)
    );
    if q.get("action").is_some() {
        let root = matches!(ctx.session.caller.principal, Principal::Root { .. });
        let same_account = Principal::parse(&principal)
            .is_some_and(|p| p.account() == &ctx.session.caller.account);
        if !(principal == me || root && same_account) {
            let e = ApiError::new(
                ErrorCode::AccessDeniedException,
                format!(
                    "{me} may explain only its own requests; the account's root may explain any of its principals'."
                ),
            );
            record_direct(
                &c.app,
                &ctx.session,
                &ctx.conn,
                "kms.amazonaws.com",
                "ExplainAuthorization",
                Some(&e),
            )
            .await;
            body.push_str(&refused("Explanation refused", e.code.as_str(), &e.message));
        } else {
            let mut map = BTreeMap::new();
            for line in context.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (k, v) = line.split_once('=').unwrap_or((line, ""));
                map.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            let request = ExplainRequest {
                principal_arn: principal.clone(),
                action: action.clone(),
                key: (!key.is_empty()).then(|| key.clone()),
                region: ctx.session.caller.region.to_string(),
                context: map,
                source_ip: ctx.conn.source_ip.parse().ok(),
            };
            match explain(&c.app.kms, &request).await {
                Ok(x) => {
                    record_direct(
                        &c.app,
                        &ctx.session,
                        &ctx.conn,
                        "kms.amazonaws.com",
                        "ExplainAuthorization",
                        None,
                    )
                    .await;
                    body.push_str(&format!(
                        "<div class=\"flash {}\" role=\"status\" id=\"verdict\">{}</div><ol id=\"explanation\">",
                        if x.allowed { "ok" } else { "error" },
                        if x.allowed { "Allowed" } else { "Denied" }
                    ));
                    for l in &x.lines {
                        body.push_str(&format!("<li>{}</li>", esc(l)));
                    }
                    body.push_str("</ol>");
                }
                Err(e) => {
                    let text =
                        std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(": ");
                    body.push_str(&refused("No explanation", "ValidationException", &text));
                }
            }
        }
    }
    html(StatusCode::OK, page(&ctx.session, "why", "Why?", &body))
}
