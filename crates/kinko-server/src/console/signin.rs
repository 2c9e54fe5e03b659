//! Signing in and out. A user signs in with an access key id and its secret (and the session
//! token of a role session); the secret is checked against the stored one in constant time and
//! never kept. Every attempt is audited as `ConsoleLogin` (`signin.amazonaws.com`), and failures
//! are slowed: each failure from an address adds [`FAILURE_DELAY_MS`] (up to
//! [`MAX_DELAY_MS`]) before the answer, until a sign-in from that address succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use kinko_api::ErrorCode;
use kinko_core::{AccessKeyId, Caller, Principal, Region, SessionCheck, UnixMillis};
use kinko_crypto::constant_time_eq;
use serde_json::json;

use super::ctx::{COOKIE, Console, conn, cross_site, read_form};
use super::html::{bare, esc, html, redirect};
use crate::audit::Recorded;
use crate::errors::ApiError;

/// What each failed sign-in from an address adds to the next answer's delay.
pub const FAILURE_DELAY_MS: u64 = 500;
/// The longest delay.
pub const MAX_DELAY_MS: u64 = 5_000;

fn failures() -> &'static Mutex<HashMap<String, u32>> {
    static FAILURES: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    FAILURES.get_or_init(Default::default)
}

fn form_page(error: Option<&str>) -> String {
    let alert = error
        .map(|e| {
            format!(
                "<div class=\"flash error\" role=\"alert\" id=\"signin-error\">{}</div>",
                esc(e)
            )
        })
        .unwrap_or_default();
    bare(
        "Sign in",
        &format!(
            "<h1>Sign in to Kinko</h1>{alert}\
             <form method=\"post\" action=\"/console/signin\" class=\"signin\" autocomplete=\"off\">\
             <label for=\"access_key_id\">Access key ID</label>\
             <input id=\"access_key_id\" name=\"access_key_id\" required spellcheck=\"false\">\
             <label for=\"secret_access_key\">Secret access key</label>\
             <input id=\"secret_access_key\" name=\"secret_access_key\" type=\"password\" required>\
             <label for=\"session_token\">Session token (role sessions only)</label>\
             <input id=\"session_token\" name=\"session_token\" type=\"password\">\
             <button type=\"submit\">Sign in</button></form>\
             <p class=\"hint\">Use the root's key from the data directory's <code>credentials</code> file, \
             an IAM user's access key, or a role session's temporary credentials.</p>"
        ),
    )
}

/// `GET /console/signin`.
pub(crate) async fn form() -> Response {
    html(StatusCode::OK, form_page(None))
}

/// Who an access key and secret sign in as, and when a role session's credentials end.
async fn check(
    c: &Console,
    id: &str,
    secret: &str,
    token: Option<&str>,
) -> Result<Option<(Caller, Option<UnixMillis>)>, kinko_core::Error> {
    let Some(parsed) = AccessKeyId::parse(id) else {
        return Ok(None);
    };
    let kms = &c.app.kms;
    let (account, arn, stored, expires) = match token {
        Some(token) => match kms.session_credentials(&parsed, token.as_bytes()).await? {
            SessionCheck::Valid(session, stored) => {
                if !kms
                    .session_role_is_current(&session.principal_arn, &session.role_id)
                    .await?
                {
                    return Ok(None);
                }
                (
                    session.account.clone(),
                    session.principal_arn.clone(),
                    stored,
                    Some(session.expires_at),
                )
            }
            _ => return Ok(None),
        },
        None => match kms.access_key_secret(&parsed).await? {
            Some((record, stored)) => (record.account, record.principal_arn, stored, None),
            None => return Ok(None),
        },
    };
    if !constant_time_eq(stored.expose(), secret.as_bytes()) {
        return Ok(None);
    }
    let Some(principal) = Principal::parse(&arn).filter(|p| p.account() == &account) else {
        return Ok(None);
    };
    let Some(region) = Region::parse(&c.app.default_region) else {
        return Ok(None);
    };
    Ok(Some((Caller::new(account, region, principal), expires)))
}

/// `POST /console/signin`.
pub(crate) async fn submit(State(c): State<Arc<Console>>, request: Request) -> Response {
    if cross_site(request.headers()) {
        return html(
            StatusCode::FORBIDDEN,
            form_page(Some("Cross-site sign-in refused.")),
        );
    }
    let conn = conn(&request);
    let form = match read_form(request).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let id = form.get("access_key_id").unwrap_or("").trim().to_owned();
    let secret = form.get("secret_access_key").unwrap_or("");
    let token = form.get("session_token").filter(|t| !t.is_empty());
    let outcome = check(&c, &id, secret, token).await;
    let mut info = conn.info(&c.app, "signin.amazonaws.com", "ConsoleLogin", false);
    // A claimed id is recorded only in the shape of an access key id.
    info.access_key_id = AccessKeyId::parse(&id).map(|_| id.clone());
    match outcome {
        Ok(Some((caller, expires))) => {
            info.caller = Some(caller.clone());
            let draft = info.draft(&Recorded {
                key: None,
                source_key: None,
                response_elements: Some(json!({ "ConsoleLogin": "Success" })),
                error: None,
            });
            if c.app.audit.append(draft).await.is_err() {
                return html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    form_page(Some("The audit trail is unavailable; try again.")),
                );
            }
            if let Ok(mut f) = failures().lock() {
                f.remove(&conn.source_ip);
            }
            let now = c.app.kms.clock().now();
            let Some(session) = c.sessions.start(caller, id, now, expires).await else {
                return html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    form_page(Some("No session could be started; try again.")),
                );
            };
            let mut response = redirect("/console/keys");
            let secure = if conn.tls.is_some() { "; Secure" } else { "" };
            let cookie =
                format!("{COOKIE}={session}; Path=/console; HttpOnly; SameSite=Strict{secure}");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        Ok(None) | Err(_) => {
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "console sign-in could not be checked");
            }
            let error = ApiError::new(ErrorCode::AccessDeniedException, "Failed authentication");
            let draft = info.draft(&Recorded {
                key: None,
                source_key: None,
                response_elements: Some(json!({ "ConsoleLogin": "Failure" })),
                error: Some(&error),
            });
            let _ = c.app.audit.append(draft).await;
            let count = failures()
                .lock()
                .map(|mut f| {
                    if f.len() > 100_000 {
                        f.clear();
                    }
                    let n = f.entry(conn.source_ip.clone()).or_insert(0);
                    *n = n.saturating_add(1);
                    *n
                })
                .unwrap_or(1);
            let delay = (u64::from(count) * FAILURE_DELAY_MS).min(MAX_DELAY_MS);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            html(
                StatusCode::UNAUTHORIZED,
                form_page(Some(
                    "Sign-in failed: the access key, secret or session token is not valid.",
                )),
            )
        }
    }
}

/// `POST /console/signout`: ends the session (with its CSRF token) and clears the cookie.
pub(crate) async fn signout(State(c): State<Arc<Console>>, request: Request) -> Response {
    let (ctx, _) = match super::ctx::change_ctx(&c, request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    c.sessions.end(&ctx.cookie).await;
    let mut response = redirect("/console/signin");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
