//! The web console at `/console/`, served by the same binary on the same listener: server-rendered
//! pages compiled in (no CDN, no third-party origin), one small script and one stylesheet for
//! progressive enhancement, under a strict Content-Security-Policy.
//!
//! A user signs in with an access key (`signin`); every page and every change after that is the
//! API call it stands for, made as that principal through the same handlers and recorded in the
//! same audit trail (`call`). Changes are POSTs carrying the session's CSRF token, refused when
//! the browser says they come from another site.

mod audit_page;
mod call;
mod compliance_page;
mod create;
mod ctx;
mod html;
mod iam;
mod key_actions;
mod key_detail;
mod keys;
mod overview;
mod secret_actions;
mod secret_detail;
mod secrets;
mod session;
mod signin;
mod why;
mod xml;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use self::ctx::{Console, Ctx};
use self::html::{bare, html};
use self::session::Sessions;
use crate::state::AppState;

/// The console's routes, under `/console`.
pub fn router<S: Clone + Send + Sync + 'static>(app: Arc<AppState>) -> Router<S> {
    let sessions = Sessions::new(app.kms.store().clone());
    let console = Arc::new(Console { app, sessions });
    Router::new()
        .route("/console", get(|| async { html::redirect("/console/") }))
        .route("/console/", get(home))
        .route("/console/static/console.js", get(script))
        .route("/console/static/console.css", get(style))
        .route("/console/signin", get(signin::form).post(signin::submit))
        .route("/console/signout", post(signin::signout))
        .route("/console/keys", get(keys::list))
        .route("/console/keys/{id}", get(key_detail::show))
        .route("/console/keys/{id}", post(key_actions::submit))
        .route("/console/create", get(create::form).post(create::submit))
        .route("/console/audit", get(audit_page::show))
        .route("/console/audit/verify", post(audit_page::verify))
        .route("/console/why", get(why::show))
        .route("/console/iam", get(iam::show).post(iam::submit))
        .route("/console/iam/users/{name}", get(iam::user))
        .route("/console/overview", get(overview::show))
        .route("/console/compliance", get(compliance_page::show))
        .route("/console/secrets", get(secrets::list))
        .route(
            "/console/secrets/create",
            get(secrets::form).post(secrets::submit),
        )
        .route(
            "/console/secrets/view",
            get(secret_detail::show).post(secret_actions::submit),
        )
        .fallback(not_found)
        .with_state(console)
}

async fn home(State(c): State<Arc<Console>>, request: Request) -> Response {
    match Ctx::new(&c, &request).await {
        Some(_) => html::redirect("/console/overview"),
        None => html::redirect("/console/signin"),
    }
}

async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        bare(
            "Not found",
            "<h1>Not found</h1><p><a href=\"/console/\">Console</a></p>",
        ),
    )
}

async fn script() -> Response {
    asset(
        include_str!("assets/console.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn style() -> Response {
    asset(
        include_str!("assets/console.css"),
        "text/css; charset=utf-8",
    )
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    html::secure(response)
}
