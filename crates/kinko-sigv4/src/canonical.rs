//! The canonical request: the exact bytes that both the client and the server hash.
//!
//! [`crate::sign`] and [`crate::verify`] both call [`build`], so they agree by construction; the AWS test
//! suite pins what they agree on. The rules, for non-S3 services as botocore and aws-sdk-rust apply them:
//! - URI: the raw (already percent-encoded) path, dot segments and empty segments removed, then every segment
//!   percent-encoded again. This "double encoding" is what every SDK does for services other than S3.
//! - Query: each `key=value` pair decoded, re-encoded, and sorted.
//! - Headers: exactly the signed names, in the given order; values trimmed, inner space runs squashed, and
//!   repeated headers joined with `,` in the order received. A signed header that is absent gets an empty value.

use aws_lc_rs::digest;

/// Lowercase hex, as SigV4 prints hashes and signatures.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// Builds the canonical request. `headers` are all headers as received; `signed` the `SignedHeaders` list.
pub(crate) fn build(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    signed: &[&str],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + path.len() + query.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    uri(path, &mut out);
    out.push(b'\n');
    query_string(query, &mut out);
    out.push(b'\n');
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let values = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        for (i, (_, value)) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            header_value(value, &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// Trims spaces and tabs at both ends and squashes each run of inner spaces to one.
fn header_value(value: &[u8], out: &mut Vec<u8>) {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    let mut previous_space = false;
    for &b in value.get(start..end).unwrap_or_default() {
        if b == b' ' && previous_space {
            continue;
        }
        previous_space = b == b' ';
        out.push(b);
    }
}

/// The normalized, double-encoded path; `/` for an empty one. Mirrors botocore's `remove_dot_segments`.
fn uri(path: &str, out: &mut Vec<u8>) {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    out.push(b'/');
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        encode(segment.as_bytes(), out);
    }
    if !segments.is_empty() && path.ends_with('/') {
        out.push(b'/');
    }
}

/// The sorted, re-encoded query. A `+` is taken literally (encoded as `%2B`), not as a space.
fn query_string(query: &str, out: &mut Vec<u8>) {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (mut ek, mut ev) = (Vec::new(), Vec::new());
            encode(&decode(k), &mut ek);
            encode(&decode(v), &mut ev);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(k);
        out.push(b'=');
        out.extend_from_slice(v);
    }
}

/// SigV4 URI encoding: unreserved characters stay, every other byte becomes `%XX` (uppercase).
fn encode(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                DIGITS[usize::from(b >> 4)],
                DIGITS[usize::from(b & 15)],
            ]);
        }
    }
}

/// Percent-decoding that leaves malformed escapes as they are.
fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let escaped = match (c, b.get(i + 1), b.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex_val(h).zip(hex_val(l)).map(|(h, l)| (h << 4) | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri_of(path: &str) -> String {
        let mut out = Vec::new();
        uri(path, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn query_of(q: &str) -> String {
        let mut out = Vec::new();
        query_string(q, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn paths() {
        assert_eq!(uri_of(""), "/");
        assert_eq!(uri_of("/"), "/");
        assert_eq!(uri_of("/a/b/../c/./d/"), "/a/c/d/");
        assert_eq!(uri_of("/../../x"), "/x");
        assert_eq!(uri_of("/a%2Fb"), "/a%252Fb");
        assert_eq!(uri_of("/a b+c"), "/a%20b%2Bc");
    }

    #[test]
    fn queries() {
        assert_eq!(query_of(""), "");
        assert_eq!(query_of("b=2&a=1&a=0&&c"), "a=0&a=1&b=2&c=");
        assert_eq!(query_of("k=a%2fb%zz+"), "k=a%2Fb%25zz%2B");
        assert_eq!(query_of("k=%"), "k=%25");
    }

    #[test]
    fn header_values() {
        let mut out = Vec::new();
        header_value(b" \t a   b \t c  ", &mut out);
        assert_eq!(out, b"a b \t c");
        out.clear();
        header_value(b"   ", &mut out);
        assert_eq!(out, b"");
    }
}
