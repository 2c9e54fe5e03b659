//! What every console handler shares: the [`Console`] state, the signed-in request ([`Ctx`]),
//! reading forms and query strings, and the checks a change passes first (same site, session,
//! CSRF token).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;

use super::call::Conn;
use super::html::{self, bare, esc};
use super::session::{Flash, Session, Sessions};
use crate::query::Params;
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "kinko_console";
/// The largest form the console reads.
const MAX_FORM: usize = 64 * 1024;

/// What every console handler shares: the server's state and the console's sessions.
#[derive(Debug)]
pub(crate) struct Console {
    /// The server.
    pub app: Arc<AppState>,
    /// Signed-in browsers.
    pub sessions: Sessions,
}

/// One signed-in request: the session, its cookie value and where it came from.
pub(crate) struct Ctx {
    /// The session.
    pub session: Session,
    /// The cookie's value (the session id).
    pub cookie: String,
    /// The connection.
    pub conn: Conn,
}

impl Ctx {
    /// The live session of `request`, if it has one. A session signed in with a long-term
    /// access key ends as soon as that key is deactivated or deleted.
    pub(crate) fn new<'a>(
        c: &'a Console,
        request: &Request,
    ) -> impl Future<Output = Option<Ctx>> + Send + 'a {
        // Read from the request before anything waits: the request is not `Sync`.
        let cookie = session_cookie(request.headers());
        let conn = conn(request);
        Self::open(c, cookie, conn)
    }

    async fn open(c: &Console, cookie: Option<String>, conn: Conn) -> Option<Ctx> {
        let cookie = cookie?;
        let session = c.sessions.get(&cookie, c.app.kms.clock().now()).await?;
        if session.expires.is_none() {
            let id = kinko_core::AccessKeyId::parse(&session.access_key_id)?;
            if !c.app.kms.access_key_active(&id).await.unwrap_or(false) {
                c.sessions.end(&cookie).await;
                return None;
            }
        }
        Some(Ctx {
            session,
            cookie,
            conn,
        })
    }
}

/// The connection facts of `request`.
pub(crate) fn conn(request: &Request) -> Conn {
    Conn {
        source_ip: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".to_owned()),
        tls: crate::audit::TlsDetails::of(request),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Whether the browser says this request comes from another site (`Sec-Fetch-Site`, or an
/// `Origin` that is not this host).
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h);
            origin_host.is_none() || origin_host != host
        }
    }
}

/// A signed-in page request: the context, or a redirect to sign in.
pub(crate) fn page_ctx<'a>(
    c: &'a Console,
    request: &Request,
) -> impl Future<Output = Result<Ctx, Box<Response>>> + Send + 'a {
    let ctx = Ctx::new(c, request);
    async move {
        ctx.await
            .ok_or_else(|| Box::new(html::redirect("/console/signin")))
    }
}

/// A signed-in change: the context and its form, once the request is shown to come from this
/// site with the session's CSRF token; otherwise the refusal.
pub(crate) async fn change_ctx(
    c: &Console,
    request: Request,
) -> Result<(Ctx, Params), Box<Response>> {
    if request.method() != Method::POST || cross_site(request.headers()) {
        return Err(Box::new(forbidden("Cross-site request refused.")));
    }
    let Some(ctx) = Ctx::new(c, &request).await else {
        return Err(Box::new(html::redirect("/console/signin")));
    };
    let form = read_form(request).await?;
    if !ctx.session.csrf_ok(form.get("csrf")) {
        return Err(Box::new(forbidden(
            "The form's CSRF token is missing or wrong; reload the page.",
        )));
    }
    Ok((ctx, form))
}

/// Reads a form body.
pub(crate) async fn read_form(request: Request) -> Result<Params, Box<Response>> {
    let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_FORM)
        .await
        .map_err(|_| Box::new(forbidden("The form is too large.")))?;
    Params::parse(&body).map_err(|e| Box::new(forbidden(&e.message)))
}

/// The query string of `request`, parsed.
pub(crate) fn query(request: &Request) -> Params {
    Params::parse(request.uri().query().unwrap_or("").as_bytes()).unwrap_or_default()
}

fn forbidden(why: &str) -> Response {
    html::html(
        StatusCode::FORBIDDEN,
        bare(
            "Refused",
            &format!(
                "<h1>Refused</h1><p role=\"alert\">{}</p><p><a href=\"/console/\">Console</a></p>",
                esc(why)
            ),
        ),
    )
}

/// Leaves the outcome of a change for the next page and sends the browser there.
pub(crate) fn after_change(c: &Console, ctx: &Ctx, ok: bool, text: String, to: &str) -> Response {
    c.sessions.flash(&ctx.cookie, Flash { ok, text });
    html::redirect(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_posts_are_recognized() {
        assert!(!cross_site(&headers(&[("host", "a:1")])));
        assert!(!cross_site(&headers(&[
            ("host", "a:1"),
            ("origin", "http://a:1")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "a:1"),
            ("origin", "http://evil:1")
        ])));
        assert!(cross_site(&headers(&[("host", "a:1"), ("origin", "null")])));
        assert!(cross_site(&headers(&[
            ("host", "a:1"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!cross_site(&headers(&[
            ("host", "a:1"),
            ("sec-fetch-site", "same-origin")
        ])));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=b; kinko_console=xyz; c=d")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("xyz"));
        assert_eq!(session_cookie(&headers(&[("cookie", "a=b")])), None);
    }
}
