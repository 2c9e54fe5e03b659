//! The AWS Query protocol that IAM and STS speak: form-encoded POST bodies (`Action=…&Version=…`,
//! lists and maps as `Tags.member.1.Key`), XML responses wrapped in `<XxxResponse>`/`<XxxResult>`
//! with the request id in `<ResponseMetadata>`, and XML errors (`<ErrorResponse>`) with IAM's
//! HTTP statuses. Hand-written: a percent-decoder and an XML writer are a few lines each.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kinko_api::ErrorCode;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;

/// The decoded parameters of a Query request (names are case-sensitive, last one wins).
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Params, ApiError> {
        let mut out = BTreeMap::new();
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let mut it = pair.splitn(2, |b| *b == b'=');
            let name = decode(it.next().unwrap_or_default())?;
            let value = decode(it.next().unwrap_or_default())?;
            out.insert(name, value);
        }
        Ok(Params(out))
    }

    /// A parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter (IAM's ValidationError when missing).
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_camel(name)
                ),
            )
        })
    }

    /// An optional integer parameter.
    pub fn int(&self, name: &str) -> Result<Option<u32>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<u32>().map(Some).map_err(|_| {
                ApiError::new(
                    ErrorCode::ValidationError,
                    format!("Invalid value '{v}' for {name}: it must be a whole number."),
                )
            }),
        }
    }

    /// `Tags.member.N.Key` / `Tags.member.N.Value`, in N order.
    pub fn tags(&self) -> Result<Vec<kinko_core::Tag>, ApiError> {
        let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (name, value) in &self.0 {
            let Some(rest) = name.strip_prefix("Tags.member.") else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            let entry = by_index.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(value.clone()),
                "Value" => entry.1 = Some(value.clone()),
                _ => {}
            }
        }
        by_index
            .into_values()
            .map(|(key, value)| match key {
                Some(key) => Ok(kinko_core::Tag {
                    key,
                    value: value.unwrap_or_default(),
                }),
                None => Err(ApiError::new(
                    ErrorCode::ValidationError,
                    "1 validation error detected: Value null at 'tags.member.key' failed to satisfy constraint: Member must not be null",
                )),
            })
            .collect()
    }

    /// The request parameters as an audit record shows them: lowerCamelCase names, tags as a
    /// list, `Action`/`Version` left out, and never a secret (`redacted` names).
    pub fn audit_parameters(&self, redacted: &[&str]) -> Value {
        let mut out = Map::new();
        for (name, value) in &self.0 {
            if name == "Action" || name == "Version" || name.contains('.') {
                continue;
            }
            if redacted.contains(&name.as_str()) {
                continue;
            }
            out.insert(lower_camel(name), json!(value));
        }
        if let Ok(tags) = self.tags()
            && !tags.is_empty()
        {
            let list: Vec<Value> = tags
                .iter()
                .map(|t| json!({ "key": t.key, "value": t.value }))
                .collect();
            out.insert("tags".into(), Value::Array(list));
        }
        Value::Object(out)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn malformed() -> ApiError {
    ApiError::new(
        ErrorCode::MalformedQueryString,
        "The request body is not valid application/x-www-form-urlencoded UTF-8.",
    )
}

/// Percent-decoding with `+` as space, into UTF-8.
fn decode(s: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = s
                    .get(i + 1)
                    .copied()
                    .and_then(hex_value)
                    .ok_or_else(malformed)?;
                let lo = s
                    .get(i + 2)
                    .copied()
                    .and_then(hex_value)
                    .ok_or_else(malformed)?;
                out.push(hi * 16 + lo);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| malformed())
}

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

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_tags() {
        let p = Params::parse(
            b"Action=CreateUser&UserName=a%2Bb+c&Tags.member.2.Key=k2&Tags.member.1.Key=k1&Tags.member.1.Value=v%261",
        )
        .unwrap_or_default();
        assert_eq!(p.get("UserName"), Some("a+b c"));
        let tags = p.tags().unwrap_or_default();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags.first().map(|t| t.value.as_str()), Some("v&1"));
        assert!(Params::parse(b"A=%zz").is_err());
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
        assert_eq!(escape("<&>"), "&lt;&amp;&gt;");
    }
}
