//! Query requests: form-encoded POST bodies (`Action=…&Version=…`, lists and maps as
//! `Tags.member.1.Key`), decoded by hand (a percent-decoder is a few lines), and the parameters
//! their audit record shows.

use std::collections::BTreeMap;

use kinko_api::ErrorCode;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;

/// The decoded parameters of a Query request (names are case-sensitive, each at most once).
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

/// Most parameters a Query request may carry. The largest IAM and STS requests (50 tags, 10
/// policy ARNs, a policy document) carry a few hundred; past this the body is refused before
/// any parameter is decoded, so that a 1 MiB body of `a&a&a…` costs no memory.
pub const MAX_PARAMETERS: usize = 1_000;

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` body of at most [`MAX_PARAMETERS`]
    /// parameters.
    pub fn parse(body: &[u8]) -> Result<Params, ApiError> {
        let count = body
            .split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
            .count();
        if count > MAX_PARAMETERS {
            return Err(ApiError::new(
                ErrorCode::MalformedQueryString,
                format!(
                    "The request has {count} parameters; at most {MAX_PARAMETERS} are allowed."
                ),
            ));
        }
        let mut out = BTreeMap::new();
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let mut it = pair.splitn(2, |b| *b == b'=');
            let name = decode(it.next().unwrap_or_default())?;
            let value = decode(it.next().unwrap_or_default())?;
            // A repeated parameter is ambiguous (which `Action` runs?): refused, never resolved
            // by taking one of them.
            if out.contains_key(&name) {
                return Err(ApiError::new(
                    ErrorCode::MalformedQueryString,
                    format!(
                        "The parameter '{}' appears more than once in the request.",
                        name.chars().take(128).collect::<String>()
                    ),
                ));
            }
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

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::xml::{escape, url_encode};

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

    #[test]
    fn a_body_of_too_many_parameters_is_refused_before_decoding() {
        let at_limit = (0..MAX_PARAMETERS)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Params::parse(at_limit.as_bytes()).is_ok());
        // 100,000 parameters in under 1 MiB, as in the report; empty pairs do not count.
        let flood = "a&".repeat(100_000);
        let refused = Params::parse(flood.as_bytes()).map(|_| ()).err();
        assert_eq!(
            refused.map(|e| e.code),
            Some(ErrorCode::MalformedQueryString)
        );
        assert!(Params::parse("&".repeat(100_000).as_bytes()).is_ok());
    }
}
