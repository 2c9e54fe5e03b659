//! The console's HTML: escaping, the page frame (navigation, the signed-in principal, sign-out,
//! the last change's outcome) and the security headers every console response carries. Pages
//! are server-rendered; `assets/console.js` only enhances them, and the Content-Security-Policy
//! allows scripts and styles from this origin only, none inline.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::Session;
pub(crate) use crate::markup::{esc, table};

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Percent-encodes a value for a URL query or path segment.
pub fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The console's sections, in the navigation's order.
const NAV: &[(&str, &str)] = &[
    ("overview", "Overview"),
    ("keys", "Keys"),
    ("create", "Create key"),
    ("secrets", "Secrets"),
    ("iam", "IAM"),
    ("audit", "Audit"),
    ("why", "Why?"),
    ("compliance", "Compliance"),
];

/// Adds the console's security headers to a response.
pub fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(response)
}

/// A `303 See Other` to `to`.
pub fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    secure(response)
}

/// A whole page outside a session (sign-in, errors).
pub fn bare(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Kinko</title><link rel=\"stylesheet\" href=\"/console/static/console.css\">\
         <script src=\"/console/static/console.js\" defer></script></head>\
         <body><main id=\"main\">{body}</main></body></html>",
        t = esc(title)
    )
}

/// A page of a signed-in session: navigation (with `active` marked), the principal, sign-out,
/// the last change's outcome, then `body`.
pub fn page(session: &Session, active: &str, title: &str, body: &str) -> String {
    let mut nav = String::new();
    for (id, label) in NAV {
        let current = if *id == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!(
            "<li><a href=\"/console/{id}\"{current}>{label}</a></li>"
        ));
    }
    let flash = match &session.flash {
        Some(f) => format!(
            "<div class=\"flash {}\" role=\"status\" id=\"flash\">{}</div>",
            if f.ok { "ok" } else { "error" },
            esc(&f.text)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Kinko</title><link rel=\"stylesheet\" href=\"/console/static/console.css\">\
         <script src=\"/console/static/console.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><span class=\"brand\">Kinko</span><nav aria-label=\"Console\"><ul>{nav}</ul></nav>\
         <form method=\"post\" action=\"/console/signout\" class=\"signout\">{csrf}\
         <span class=\"who\" id=\"principal\">{who}</span>\
         <button type=\"submit\">Sign out</button></form></header>\
         <main id=\"main\"><h1>{t}</h1>{flash}{body}</main></body></html>",
        t = esc(title),
        csrf = csrf_field(session),
        who = esc(&session.caller.principal.arn()),
    )
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf_field(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// An error the API answered, shown where its data would have been: the code and AWS's reason.
pub fn refused(what: &str, code: &str, message: &str) -> String {
    format!(
        "<div class=\"refused\" role=\"alert\"><strong>{}</strong>: {} <span class=\"code\">({})</span></div>",
        esc(what),
        esc(message),
        esc(code)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc("<script>\"a\"&'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(url("alias/a b&c"), "alias%2Fa%20b%26c");
    }
}
