//! Query responses: XML bodies wrapped in `<XxxResponse>`/`<XxxResult>` with the request id in
//! `<ResponseMetadata>`, and XML errors (`<ErrorResponse>`) with IAM's HTTP statuses. A small
//! hand-written writer.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kinko_api::ErrorCode;

use crate::errors::ApiError;

/// Percent-encoding of everything but RFC 3986's unreserved characters (IAM returns policy
/// documents this way).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// XML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write these, not even as character references: a client's
            // U+0000 echoed in a message would make the whole body unparseable.
            c if c < ' ' && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A small XML writer: elements in order, text escaped.
#[derive(Debug, Default)]
pub struct Xml(String);

impl Xml {
    /// An empty document fragment.
    pub fn new() -> Xml {
        Xml(String::new())
    }
    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Xml {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        self.0.push_str(&escape(text));
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }
    /// `<name>…</name>` around what `inner` writes.
    pub fn element(&mut self, name: &str, inner: impl FnOnce(&mut Xml)) -> &mut Xml {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        inner(self);
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }
    /// A `<Tags>` list of `<member><Key/><Value/></member>`.
    pub fn tags(&mut self, tags: &BTreeMap<String, String>) -> &mut Xml {
        self.element("Tags", |x| {
            for (k, v) in tags {
                x.element("member", |m| {
                    m.text("Key", k).text("Value", v);
                });
            }
        })
    }
    /// The fragment.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The body of a successful response: `<{action}Response xmlns=…>`, the result (if any), and the
/// request id.
pub fn success_body(
    namespace: &str,
    action: &str,
    result: Option<Xml>,
    request_id: &str,
) -> Vec<u8> {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{namespace}\">"
    );
    if let Some(result) = result {
        out.push_str(&format!(
            "<{action}Result>{}</{action}Result>",
            result.into_string()
        ));
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    ));
    out.into_bytes()
}

fn respond(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// A successful Query response.
pub fn ok_response(body: Vec<u8>, request_id: &str) -> Response {
    respond(StatusCode::OK, body, request_id)
}

/// The Query form of an error: codes Kinko shares with KMS (authentication, body size) become
/// the ones IAM and STS answer with.
pub fn to_query_error(e: ApiError) -> ApiError {
    use ErrorCode as C;
    let code = match e.code {
        C::UnrecognizedClientException => C::InvalidClientTokenId,
        C::InvalidSignatureException => C::SignatureDoesNotMatch,
        C::IncompleteSignatureException => C::IncompleteSignature,
        C::MissingAuthenticationTokenException => C::MissingAuthenticationToken,
        C::ExpiredTokenException => C::ExpiredToken,
        C::AccessDeniedException => C::AccessDenied,
        C::KMSInternalException | C::DependencyTimeoutException => C::ServiceFailure,
        C::UnknownOperationException => C::InvalidAction,
        C::ValidationException | C::SerializationException => C::ValidationError,
        other => other,
    };
    ApiError {
        code,
        message: e.message,
    }
}

/// An XML error response.
pub fn error_response(error: &ApiError, request_id: &str) -> Response {
    let kind = if error.code.status() >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        error.code.as_str(),
        escape(&error.message),
        escape(request_id)
    );
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, body.into_bytes(), request_id)
}

/// ISO 8601 with seconds, as IAM writes dates.
pub fn date(t: kinko_core::UnixMillis) -> String {
    kinko_audit::iso8601(t)
}
