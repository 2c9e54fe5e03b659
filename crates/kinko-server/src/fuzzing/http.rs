//! Requests as SigV4 sees them: the `Authorization` header with the date headers, and query
//! strings (presigned requests, and the canonical query string of header-signed ones).

/// A secret access key for [`kinko_sigv4::verify`] (AWS's documentation example).
const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// `kinko_sigv4::parse`, then, for what parses, the canonical request and `verify` with a fixed
/// key (as the server would after looking the access key up).
///
/// Input: an HTTP request head as text: `METHOD path[?query] [HTTP/1.1]`, then `Name: value`
/// lines, a blank line, and the body.
pub fn sigv4_header(data: &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let first = std::str::from_utf8(lines.next().unwrap_or_default()).unwrap_or("POST /");
    let (method, target) = first.split_once(' ').unwrap_or(("POST", first));
    let target = target.rsplit_once(" HTTP/").map_or(target, |(t, _)| t);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&line[..colon]) else {
            continue;
        };
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        headers.push((name, value));
    }
    let req = kinko_sigv4::Request {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    if let Ok(parsed) = kinko_sigv4::parse(&req) {
        let key =
            kinko_sigv4::SigningKey::derive(SECRET, parsed.date, parsed.region, parsed.service);
        let canonical = kinko_sigv4::canonical_request(&req, &parsed);
        let _ = kinko_sigv4::string_to_sign(&parsed, &canonical);
        let _ = kinko_sigv4::verify(&req, &parsed, &key, parsed.request_time);
    }
}

const AUTHORIZATION: &[u8] = b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request, \
SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

/// A query string, presigned (no `Authorization` header) and under a header signature.
///
/// Input: the raw query string (without `?`).
pub fn sigv4_query(data: &[u8]) {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let key = kinko_sigv4::SigningKey::derive(SECRET, "20150830", "us-east-1", "kms");
    let presigned: &[(&str, &[u8])] = &[("Host", b"kms.us-east-1.amazonaws.com")];
    let signed: &[(&str, &[u8])] = &[
        ("Host", b"kms.us-east-1.amazonaws.com"),
        ("X-Amz-Date", b"20150830T123600Z"),
        ("Authorization", AUTHORIZATION),
    ];
    for headers in [presigned, signed] {
        let req = kinko_sigv4::Request {
            method: "GET",
            path: "/",
            query,
            headers,
            body: b"",
        };
        if let Ok(parsed) = kinko_sigv4::parse(&req) {
            let canonical = kinko_sigv4::canonical_request(&req, &parsed);
            let _ = kinko_sigv4::string_to_sign(&parsed, &canonical);
            let _ = kinko_sigv4::verify(&req, &parsed, &key, parsed.request_time);
        }
    }
}
