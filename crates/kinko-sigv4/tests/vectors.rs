//! The crate against AWS's published SigV4 test suite (see `vectors/README.md` for sources and license).
//!
//! For each case: the signed request must parse, its canonical request and string to sign must equal AWS's
//! byte for byte, `verify` must accept it and reject it with one byte changed, and `sign` must reproduce
//! AWS's `Authorization` header from the unsigned headers.

use std::path::PathBuf;

use kinko_sigv4::{
    Error, Parsed, Request, SignParams, SigningKey, canonical_request, format_amz_date, parse,
    sign, string_to_sign, verify,
};

const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A request read from one of the suite's text files.
struct Raw {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Raw {
    /// Reads `METHOD target [HTTP/1.1]`, `Name:value` lines, a blank line and the body. A line that starts
    /// with whitespace continues the previous header (obsolete line folding); the HTTP layer replaces such a
    /// line break with a space (RFC 9112 §5.2), so this does too.
    fn parse(text: &str) -> Raw {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let (method, rest) = request_line.split_once(' ').expect("method");
        let target = rest
            .strip_suffix(" HTTP/1.1")
            .or_else(|| rest.strip_suffix(" http/1.1"))
            .unwrap_or(rest);
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = headers
                    .last_mut()
                    .expect("a header before a continuation line");
                last.1.push(b' ');
                last.1.extend_from_slice(line.as_bytes());
            } else {
                let (name, value) = line.split_once(':').expect("name:value");
                headers.push((name.to_owned(), value.as_bytes().to_vec()));
            }
        }
        Raw {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| {
                String::from_utf8(v.clone())
                    .expect("utf-8 header")
                    .trim()
                    .to_owned()
            })
    }
}

/// Runs `f` on the borrowed form of `raw`, which is what a server hands to the crate.
fn with_request<T>(raw: &Raw, f: impl FnOnce(&Request<'_>) -> T) -> T {
    let headers: Vec<(&str, &[u8])> = raw
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let (path, query) = raw.path_and_query();
    f(&Request {
        method: &raw.method,
        path,
        query,
        headers: &headers,
        body: &raw.body,
    })
}

fn read(dir: &str, file: &str) -> Option<String> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", dir, file]
        .iter()
        .collect();
    std::fs::read_to_string(path).ok()
}

/// A file holding exactly one canonical request or string to sign. One file in the suite
/// (`double-url-encode`) ends with a newline that is not part of the value.
fn read_value(dir: &str, file: &str) -> Option<String> {
    read(dir, file).map(|s| s.strip_suffix('\n').map(str::to_owned).unwrap_or(s))
}

/// A string field of the suite's flat `context.json`; good enough for that file, not for JSON in general.
fn json_str(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let rest = json.get(start..)?;
    Some(rest.get(..rest.find('"')?)?.to_owned())
}

fn key_for(parsed: &Parsed<'_>, secret: &str) -> SigningKey {
    SigningKey::derive(
        secret.as_bytes(),
        parsed.date,
        parsed.region,
        parsed.service,
    )
}

/// Verifies `raw` after `tamper` changed it, at the request's own time.
fn verify_tampered(raw: &Raw, secret: &str, tamper: impl FnOnce(&mut Raw)) -> Result<(), Error> {
    let mut raw = Raw {
        method: raw.method.clone(),
        target: raw.target.clone(),
        headers: raw.headers.clone(),
        body: raw.body.clone(),
    };
    tamper(&mut raw);
    with_request(&raw, |req| {
        let parsed = parse(req)?;
        verify(req, &parsed, &key_for(&parsed, secret), parsed.request_time)
    })
}

fn flip_first_byte(value: &mut [u8]) {
    if let Some(b) = value.iter_mut().find(|b| !b.is_ascii_whitespace()) {
        *b = if *b == b'a' { b'b' } else { b'a' };
    }
}

/// One case of the current suite (files `context.json`, `request.txt`, `header-*.txt`).
fn check_suite(dir: &str) {
    let context = read(dir, "context.json").unwrap_or_default();
    let secret = json_str(&context, "secret_access_key").unwrap_or_else(|| SECRET.to_owned());
    let token =
        json_str(&context, "token").filter(|_| !context.contains("\"omit_session_token\": true"));
    let expected_creq =
        read_value(dir, "header-canonical-request.txt").expect("canonical request file");
    let expected_sts = read_value(dir, "header-string-to-sign.txt");
    let signed = Raw::parse(&read(dir, "header-signed-request.txt").expect("signed request file"));
    let expected_authz = signed
        .header("authorization")
        .expect("authorization header");

    let time = with_request(&signed, |req| {
        let parsed = parse(req).expect("the signed request parses");
        assert_eq!(
            String::from_utf8_lossy(&canonical_request(req, &parsed)),
            expected_creq,
            "canonical request"
        );
        let sts = string_to_sign(&parsed, &canonical_request(req, &parsed));
        if let Some(expected_sts) = &expected_sts {
            assert_eq!(&sts, expected_sts, "string to sign");
        }
        if let Some(timestamp) = json_str(&context, "timestamp") {
            assert_eq!(
                format_amz_date(parsed.request_time),
                timestamp.replace(['-', ':'], "")
            );
        }
        assert_eq!(parsed.security_token, token.as_deref());
        assert_eq!(
            verify(
                req,
                &parsed,
                &key_for(&parsed, &secret),
                parsed.request_time
            ),
            Ok(())
        );
        (
            parsed.request_time,
            parsed.region.to_owned(),
            parsed.service.to_owned(),
        )
    });

    // One byte changed anywhere the signature covers must be caught.
    let mismatch = Err(Error::InvalidSignature(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
            .to_owned(),
    ));
    let tampered_host = verify_tampered(&signed, &secret, |r| {
        let host = r
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .expect("host");
        flip_first_byte(&mut host.1);
    });
    assert_eq!(tampered_host, mismatch, "host changed");
    let tampered_signature = verify_tampered(&signed, &secret, |r| {
        let auth = r
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .expect("auth");
        let last = auth
            .1
            .iter_mut()
            .rev()
            .find(|b| b.is_ascii_hexdigit())
            .expect("hex digit");
        *last = if *last == b'0' { b'1' } else { b'0' };
    });
    assert_eq!(tampered_signature, mismatch, "signature changed");
    assert_eq!(
        verify_tampered(&signed, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz", |_| {}),
        mismatch,
        "wrong secret"
    );
    if !signed.body.is_empty() {
        assert!(
            verify_tampered(&signed, &secret, |r| flip_first_byte(&mut r.body)).is_err(),
            "body changed"
        );
    }

    // The client side: sign the unsigned headers and get AWS's Authorization header.
    let headers: Vec<(String, String)> = signed
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                String::from_utf8(v.clone()).expect("utf-8 header"),
            )
        })
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (path, query) = signed.path_and_query();
    let (now, region, service) = time;
    let params = SignParams {
        access_key_id: ACCESS_KEY_ID,
        secret_access_key: &secret,
        session_token: token.as_deref(),
        region: &region,
        service: &service,
        now_epoch_secs: now,
    };
    let added = sign(&signed.method, path, query, &headers, &signed.body, &params);
    let get = |name: &str| {
        added
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("authorization"),
        Some(expected_authz.as_str()),
        "sign() Authorization"
    );
    assert_eq!(get("x-amz-date"), Some(format_amz_date(now).as_str()));
    assert_eq!(get("x-amz-security-token"), token.as_deref());
}

macro_rules! suite {
    ($($test:ident => $dir:literal,)*) => {$(
        #[test]
        fn $test() {
            check_suite($dir);
        }
    )*};
}

suite! {
    get_header_key_duplicate => "get-header-key-duplicate",
    get_header_value_multiline => "get-header-value-multiline",
    get_header_value_order => "get-header-value-order",
    get_header_value_trim => "get-header-value-trim",
    get_relative_normalized => "get-relative-normalized",
    get_relative_relative_normalized => "get-relative-relative-normalized",
    get_slash_dot_slash_normalized => "get-slash-dot-slash-normalized",
    get_slash_normalized => "get-slash-normalized",
    get_slash_pointless_dot_normalized => "get-slash-pointless-dot-normalized",
    get_slashes_normalized => "get-slashes-normalized",
    get_unreserved => "get-unreserved",
    get_utf8 => "get-utf8",
    get_vanilla => "get-vanilla",
    get_vanilla_empty_query_key => "get-vanilla-empty-query-key",
    get_vanilla_query => "get-vanilla-query",
    get_vanilla_query_order_encoded => "get-vanilla-query-order-encoded",
    get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case",
    get_vanilla_query_unreserved => "get-vanilla-query-unreserved",
    get_vanilla_utf8_query => "get-vanilla-utf8-query",
    get_vanilla_with_session_token => "get-vanilla-with-session-token",
    post_header_key_case => "post-header-key-case",
    post_header_key_sort => "post-header-key-sort",
    post_header_value_case => "post-header-value-case",
    post_sts_header_before => "post-sts-header-before",
    post_vanilla => "post-vanilla",
    post_vanilla_empty_query_value => "post-vanilla-empty-query-value",
    post_vanilla_query => "post-vanilla-query",
    post_x_www_form_urlencoded => "post-x-www-form-urlencoded",
    post_x_www_form_urlencoded_parameters => "post-x-www-form-urlencoded-parameters",
    double_url_encode => "double-url-encode",
}

/// `post-sts-header-after` sends X-Amz-Security-Token without signing it. AWS's suite shows the signature
/// still computes; this server refuses it, because an unsigned token could be swapped in transit.
#[test]
fn post_sts_header_after_is_refused_but_signs_like_aws() {
    let dir = "post-sts-header-after";
    let signed = Raw::parse(&read(dir, "header-signed-request.txt").expect("signed request file"));
    let refused = with_request(&signed, |req| parse(req).map(|_| ()));
    assert_eq!(
        refused,
        Err(Error::InvalidSignature(
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
    // Without the token header, the rest is plain post-vanilla and must verify and match AWS's creq.
    let mut stripped = signed;
    stripped
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-security-token"));
    let expected_creq = read_value(dir, "header-canonical-request.txt").expect("creq");
    with_request(&stripped, |req| {
        let parsed = parse(req).expect("parses");
        assert_eq!(
            String::from_utf8_lossy(&canonical_request(req, &parsed)),
            expected_creq
        );
        assert_eq!(
            verify(req, &parsed, &key_for(&parsed, SECRET), parsed.request_time),
            Ok(())
        );
    });
}

/// botocore's copies of the 2011 suite: a `Date` header instead of X-Amz-Date, and a path to double-encode.
fn check_botocore(dir: &str, name: &str) {
    let file = |ext: &str| read(dir, &format!("{name}.{ext}")).expect("vector file");
    let mut raw = Raw::parse(&file("req"));
    raw.headers
        .push(("Authorization".to_owned(), file("authz").into_bytes()));
    with_request(&raw, |req| {
        let parsed = parse(req).expect("parses");
        assert_eq!(parsed.amz_date, "20110909T233600Z");
        assert_eq!(parsed.request_time, 1_315_611_360);
        let creq = canonical_request(req, &parsed);
        assert_eq!(String::from_utf8_lossy(&creq), file("creq"));
        assert_eq!(string_to_sign(&parsed, &creq), file("sts"));
        let key = key_for(&parsed, SECRET);
        assert_eq!(verify(req, &parsed, &key, parsed.request_time), Ok(()));
        assert!(verify(req, &parsed, &key, parsed.request_time + 301).is_err());
    });
    let result = verify_tampered(&raw, SECRET, |r| {
        let date = r
            .headers
            .iter_mut()
            .find(|(n, _)| n == "Date")
            .expect("date");
        date.1 = b"Mon, 09 Sep 2011 23:36:01 GMT".to_vec();
    });
    assert!(
        matches!(result, Err(Error::InvalidSignature(_))),
        "date changed by one second: {result:?}"
    );
}

#[test]
fn botocore_get_space() {
    check_botocore("botocore-get-space", "get-space");
}

#[test]
fn botocore_get_utf8() {
    check_botocore("botocore-get-utf8", "get-utf8");
}

/// AWS General Reference, "Create a signed AWS API request" (IAM ListUsers, 20150830): published string-to-sign
/// hash `f536975d...` and signature `5d672d79...`, which depend on the published signing key `c4afb1cc...`.
#[test]
fn iam_example_from_the_aws_docs() {
    let headers = [
        ("Host", "iam.amazonaws.com"),
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let params = SignParams {
        access_key_id: ACCESS_KEY_ID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "iam",
        now_epoch_secs: 1_440_938_160,
    };
    let added = sign(
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        &headers,
        b"",
        &params,
    );
    let authorization = added
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        authorization,
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        )
    );
}
