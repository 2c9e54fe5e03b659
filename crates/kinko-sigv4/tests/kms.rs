//! KMS-shaped requests signed the way boto3 and aws-sdk-rust sign them, then verified the way the server will.
//!
//! Covers what the AWS suite doesn't: clock skew at the ±5 minute edges, AWS's error codes and messages
//! for malformed headers, scope checks, required signed headers, the payload-hash header, and header
//! value normalization.

use kinko_sigv4::{
    Error, MAX_SKEW_SECS, Request, SignParams, SigningKey, canonical_request, format_amz_date,
    parse, sign, sign_with_key, verify,
};

const AKID: &str = "AKIAKINKOEXAMPLE";
const SECRET: &str = "kinko/secret/key/for/tests/only+AAAAAAAAAA";
/// 2026-01-01T00:00:00Z.
const T: i64 = 1_767_225_600;
const BODY: &[u8] = br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#;
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your \
                        AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A request as the server receives it, owned.
#[derive(Clone)]
struct Wire {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    fn header_mut(&mut self, name: &str) -> &mut String {
        &mut self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .expect("header present")
            .1
    }

    fn without(mut self, name: &str) -> Wire {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn with(mut self, name: &str, value: &str) -> Wire {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn run<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        f(&Request {
            method: &self.method,
            path: &self.path,
            query: "",
            headers: &headers,
            body: &self.body,
        })
    }

    /// What the server does: parse, derive the key for the scope, verify at `now`.
    fn check(&self, secret: &str, now: i64) -> Result<(), Error> {
        self.run(|req| {
            let parsed = parse(req)?;
            let key = SigningKey::derive(
                secret.as_bytes(),
                parsed.date,
                parsed.region,
                parsed.service,
            );
            verify(req, &parsed, &key, now)
        })
    }
}

fn params(now: i64, token: Option<&'static str>) -> SignParams<'static> {
    SignParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: token,
        region: "eu-west-1",
        service: "kms",
        now_epoch_secs: now,
    }
}

/// Signs `signed` headers, then adds the SDK's unsigned extras, as boto3 and the Rust SDK do.
fn signed_request(signed: &[(&str, &str)], unsigned: &[(&str, &str)], p: &SignParams<'_>) -> Wire {
    let added = sign("POST", "/", "", signed, BODY, p);
    let mut headers: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    headers.extend(added);
    headers.extend(
        unsigned
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    Wire {
        method: "POST".into(),
        path: "/".into(),
        headers,
        body: BODY.to_vec(),
    }
}

/// boto3 1.44.8: signs content-type;host;x-amz-date;x-amz-target. Host keeps its port.
fn boto3(now: i64, token: Option<&'static str>) -> Wire {
    signed_request(
        &[
            ("Host", "localhost:8443"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "TrentService.Encrypt"),
        ],
        &[
            ("User-Agent", "Boto3/1.44.8 md/Botocore#1.44.8"),
            (
                "amz-sdk-invocation-id",
                "5f0c4c6e-6c1e-4a5b-9a51-0c6bde5e3a11",
            ),
            ("amz-sdk-request", "attempt=1; max=3"),
            ("Content-Length", "46"),
            ("Accept-Encoding", "identity"),
        ],
        &params(now, token),
    )
}

/// aws-sdk-rust: signs content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent.
fn sdk_rust(now: i64) -> Wire {
    signed_request(
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.CreateKey"),
            ("content-length", "46"),
            (
                "x-amz-user-agent",
                "aws-sdk-rust/1.7.0 api/kms/1.129.0 os/linux lang/rust/1.95.0",
            ),
            ("host", "127.0.0.1:4000"),
        ],
        &[
            ("user-agent", "aws-sdk-rust/1.7.0 os/linux"),
            ("amz-sdk-request", "attempt=1; max=3"),
        ],
        &params(now, None),
    )
}

fn sha256_hex(data: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn authorization(w: &Wire) -> String {
    w.headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone())
        .expect("authorization")
}

fn with_authorization(w: &Wire, value: &str) -> Wire {
    let mut w = w.clone();
    *w.header_mut("authorization") = value.to_owned();
    w
}

fn invalid(message: &str) -> Result<(), Error> {
    Err(Error::InvalidSignature(message.to_owned()))
}

fn incomplete(message: &str) -> Result<(), Error> {
    Err(Error::Incomplete(message.to_owned()))
}

#[test]
fn boto3_shaped_request_round_trips() {
    let w = boto3(T, None);
    assert!(
        authorization(&w).contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target, ")
    );
    assert_eq!(w.check(SECRET, T), Ok(()));
    w.run(|req| {
        let parsed = parse(req).expect("parses");
        assert_eq!(parsed.access_key_id, AKID);
        assert_eq!(
            (parsed.date, parsed.region, parsed.service),
            ("20260101", "eu-west-1", "kms")
        );
        assert_eq!(
            parsed.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-target"]
        );
        assert_eq!(
            (parsed.amz_date.as_ref(), parsed.request_time),
            ("20260101T000000Z", T)
        );
        assert_eq!(parsed.security_token, None);
    });
}

#[test]
fn sdk_rust_shaped_request_round_trips() {
    let w = sdk_rust(T);
    assert!(authorization(&w).contains(
        "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target;x-amz-user-agent, "
    ));
    assert_eq!(w.check(SECRET, T), Ok(()));
}

#[test]
fn session_token_is_signed_and_reported() {
    let token = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDK";
    let w = boto3(T, Some(token));
    assert!(
        authorization(&w).contains(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        )
    );
    assert_eq!(w.check(SECRET, T), Ok(()));
    w.run(|req| assert_eq!(parse(req).map(|p| p.security_token), Ok(Some(token))));
    // A different token under the same signature no longer verifies.
    let mut swapped = w.clone();
    *swapped.header_mut("x-amz-security-token") = format!("{token}x");
    assert_eq!(swapped.check(SECRET, T), invalid(MISMATCH));
}

#[test]
fn sign_with_key_matches_sign() {
    let headers = [
        ("host", "kms.local"),
        ("x-amz-target", "TrentService.Decrypt"),
    ];
    let key = SigningKey::derive(SECRET.as_bytes(), "20260101", "eu-west-1", "kms");
    let cached = sign_with_key(
        "POST",
        "/",
        "",
        &headers,
        BODY,
        AKID,
        &key,
        "eu-west-1",
        "kms",
        "20260101T000000Z",
        None,
    );
    assert_eq!(
        cached,
        sign("POST", "/", "", &headers, BODY, &params(T, None))
    );
    assert_eq!(
        cached.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["x-amz-date", "authorization"]
    );
}

#[test]
fn skew_within_five_minutes_passes() {
    for now in [T - 299, T - MAX_SKEW_SECS, T, T + 299, T + MAX_SKEW_SECS] {
        assert_eq!(
            boto3(T, None).check(SECRET, now),
            Ok(()),
            "now = T{:+}",
            now - T
        );
    }
}

#[test]
fn skew_over_five_minutes_fails_with_aws_messages() {
    assert_eq!(format_amz_date(T), "20260101T000000Z");
    assert_eq!(
        boto3(T, None).check(SECRET, T + 301),
        invalid(
            "Signature expired: 20260101T000000Z is now earlier than 20260101T000001Z (20260101T000501Z - 5 min.)"
        )
    );
    assert_eq!(
        boto3(T, None).check(SECRET, T - 301),
        invalid(
            "Signature not yet current: 20260101T000000Z is still later than 20251231T235959Z \
             (20251231T235459Z + 5 min.)"
        )
    );
}

#[test]
fn any_signed_change_fails() {
    let w = boto3(T, None);
    let mut body = w.clone();
    if let Some(b) = body.body.get_mut(10) {
        *b ^= 1;
    }
    assert_eq!(body.check(SECRET, T), invalid(MISMATCH), "body");
    let mut target = w.clone();
    *target.header_mut("x-amz-target") = "TrentService.Decrypt".into();
    assert_eq!(target.check(SECRET, T), invalid(MISMATCH), "x-amz-target");
    let mut host = w.clone();
    *host.header_mut("host") = "localhost:8444".into();
    assert_eq!(host.check(SECRET, T), invalid(MISMATCH), "host port");
    let mut method = w.clone();
    method.method = "PUT".into();
    assert_eq!(method.check(SECRET, T), invalid(MISMATCH), "method");
    assert_eq!(
        w.check("kinko/secret/key/for/tests/only+AAAAAAAAAB", T),
        invalid(MISMATCH),
        "secret"
    );
    // Headers outside SignedHeaders may change freely, as SDKs add them after signing.
    let mut agent = w.clone();
    *agent.header_mut("user-agent") = "something else".into();
    assert_eq!(agent.check(SECRET, T), Ok(()), "unsigned user-agent");
}

#[test]
fn signature_must_be_exact_lowercase_hex() {
    let w = boto3(T, None);
    let auth = authorization(&w);
    let (head, sig) = auth.rsplit_once("Signature=").expect("signature");
    assert_eq!(
        with_authorization(&w, &format!("{head}Signature={}", sig.to_uppercase())).check(SECRET, T),
        invalid(MISMATCH)
    );
    assert_eq!(
        with_authorization(&w, &format!("{head}Signature={}", &sig[..63])).check(SECRET, T),
        invalid(MISMATCH)
    );
    assert_eq!(
        with_authorization(&w, &format!("{head}Signature={sig}0")).check(SECRET, T),
        invalid(MISMATCH)
    );
    assert_eq!(
        with_authorization(&w, &format!("{head}Signature=")).check(SECRET, T),
        invalid(MISMATCH)
    );
}

#[test]
fn authorization_parameters_in_any_order_and_spacing() {
    let w = boto3(T, None);
    let auth = authorization(&w);
    let params = auth.strip_prefix("AWS4-HMAC-SHA256 ").expect("algorithm");
    let parts: Vec<&str> = params.split(", ").collect();
    assert_eq!(parts.len(), 3);
    let reordered = format!("AWS4-HMAC-SHA256 {},{},   {}", parts[2], parts[0], parts[1]);
    assert_eq!(with_authorization(&w, &reordered).check(SECRET, T), Ok(()));
}

#[test]
fn no_authorization_is_missing() {
    let w = boto3(T, None).without("authorization");
    assert_eq!(w.check(SECRET, T), Err(Error::Missing));
    assert_eq!(Error::Missing.to_string(), "Missing Authentication Token");
}

#[test]
fn garbage_authorization_is_incomplete() {
    let w = boto3(T, None);
    let scope = format!("Credential={AKID}/20260101/eu-west-1/kms/aws4_request");
    let cases: Vec<(String, String)> = vec![
        (
            String::new(),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' \
             parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="
                .into(),
        ),
        ("Bearer abc".into(), "'abc' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc'.".into()),
        (
            format!("AWS4-HMAC-SHA256 {scope}"),
            format!(
                "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
                 parameter. Authorization=AWS4-HMAC-SHA256 {scope}"
            ),
        ),
        (
            format!("AWS4-HMAC-SHA512 {scope}, SignedHeaders=host;x-amz-date, Signature=00"),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'".into(),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={AKID}/20260101/eu-west-1/kms, SignedHeaders=host;x-amz-date, Signature=00"),
            format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
                 got '{AKID}/20260101/eu-west-1/kms'"
            ),
        ),
        (
            format!("AWS4-HMAC-SHA256 {scope}, {scope}, SignedHeaders=host;x-amz-date, Signature=00"),
            format!(
                "Authorization header has more than one 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 \
                 {scope}, {scope}, SignedHeaders=host;x-amz-date, Signature=00"
            ),
        ),
    ];
    for (auth, message) in cases {
        assert_eq!(
            with_authorization(&w, &auth).check(SECRET, T),
            incomplete(&message),
            "{auth:?}"
        );
    }
}

#[test]
fn date_header_missing_or_malformed_is_incomplete() {
    let w = boto3(T, None);
    let no_date = w.clone().without("x-amz-date");
    assert_eq!(
        no_date.check(SECRET, T),
        incomplete(&format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
            authorization(&w)
        ))
    );
    let mut bad = w.clone();
    *bad.header_mut("x-amz-date") = "2026-01-01T00:00:00Z".into();
    assert_eq!(
        bad.check(SECRET, T),
        incomplete(
            "Date must be in ISO-8601 'basic format'. Got '2026-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"
        )
    );
}

#[test]
fn scope_date_and_terminator_mismatch_are_invalid_signatures() {
    let w = boto3(T, None);
    let auth = authorization(&w);
    let other_day = with_authorization(&w, &auth.replace("/20260101/", "/20251231/"));
    assert_eq!(
        other_day.check(SECRET, T),
        invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '20251231' != '20260101', from '20260101T000000Z'."
        )
    );
    let terminator = with_authorization(&w, &auth.replace("/aws4_request,", "/aws4_reqeust,"));
    assert_eq!(
        terminator.check(SECRET, T),
        invalid(
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqeust'."
        )
    );
}

#[test]
fn host_date_and_token_must_be_signed() {
    // Signed without host: AWS (DynamoDB, same Coral stack as KMS) answers InvalidSignatureException.
    let p = params(T, None);
    let mut no_host = signed_request(&[("x-amz-target", "TrentService.Encrypt")], &[], &p);
    no_host
        .headers
        .push(("Host".into(), "localhost:8443".into()));
    assert_eq!(
        no_host.check(SECRET, T),
        invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    );

    let w = boto3(T, None);
    let unsigned_date = with_authorization(&w, &authorization(&w).replace(";x-amz-date;", ";"));
    assert_eq!(
        unsigned_date.check(SECRET, T),
        invalid("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
    );

    let added_token = w.with("X-Amz-Security-Token", "sneaked-in");
    assert_eq!(
        added_token.check(SECRET, T),
        invalid("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
    );
}

#[test]
fn every_amz_header_must_be_signed() {
    // The operation header above all: a signature made without it must not carry another operation.
    let p = params(T, None);
    let target_unsigned = signed_request(
        &[
            ("Host", "localhost:8443"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        &[("X-Amz-Target", "TrentService.DisableKey")],
        &p,
    );
    assert_eq!(
        target_unsigned.check(SECRET, T),
        invalid("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
    );

    // Any other x-amz-* header too, in whatever case it was sent.
    let w = boto3(T, None);
    for name in ["x-amz-user-agent", "X-AMZ-Meta-Anything"] {
        assert_eq!(
            w.clone().with(name, "sneaked-in").check(SECRET, T),
            invalid(&format!(
                "'{name}' must be a 'SignedHeader' in the AWS Authorization."
            ))
        );
    }

    // Headers outside the x-amz- family may stay unsigned, as the SDKs leave them.
    let w = w
        .with(
            "X-Amzn-Trace-Id",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
        )
        .with("amz-sdk-request", "attempt=2; max=3");
    assert_eq!(w.check(SECRET, T), Ok(()));
}

#[test]
fn signed_header_absent_from_request_fails() {
    // Signed as if X-Amz-Target were sent, then it is dropped on the way: the server signs an empty value.
    let w = boto3(T, None).without("x-amz-target");
    assert_eq!(w.check(SECRET, T), invalid(MISMATCH));
}

#[test]
fn content_sha256_header_is_checked_when_signed() {
    let hash = "4b5b2b9f0a0bd7b4f5a8c4f3c8ebd0b9e5b02e7d0f0c2a0b3f0e5f8d0a7c6b5a"; // not the body's hash
    let p = params(T, None);
    let base = [
        ("host", "kms.local"),
        ("x-amz-target", "TrentService.Encrypt"),
    ];

    let good_hash = sha256_hex(BODY);
    let good = signed_request(
        &[
            base[0],
            base[1],
            ("x-amz-content-sha256", good_hash.as_str()),
        ],
        &[],
        &p,
    );
    assert_eq!(good.check(SECRET, T), Ok(()));
    let mut good_but_body_changed = good.clone();
    good_but_body_changed.body.push(b' ');
    assert!(good_but_body_changed.check(SECRET, T).is_err());

    let wrong = signed_request(&[base[0], base[1], ("x-amz-content-sha256", hash)], &[], &p);
    assert_eq!(
        wrong.check(SECRET, T),
        invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
    );

    // UNSIGNED-PAYLOAD opts the body out of the signature, as AWS allows.
    let unsigned = signed_request(
        &[
            base[0],
            base[1],
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ],
        &[],
        &p,
    );
    assert_eq!(unsigned.check(SECRET, T), Ok(()));
    let mut unsigned_changed = unsigned.clone();
    unsigned_changed.body = b"{}".to_vec();
    assert_eq!(unsigned_changed.check(SECRET, T), Ok(()));

    // Present but not signed: refused, like every unsigned x-amz-* header.
    let unsigned_header = boto3(T, None).with("X-Amz-Content-SHA256", hash);
    assert_eq!(
        unsigned_header.check(SECRET, T),
        invalid("'X-Amz-Content-SHA256' must be a 'SignedHeader' in the AWS Authorization.")
    );
}

#[test]
fn repeated_headers_join_with_commas_and_spaces_squash() {
    let p = params(T, None);
    let signed = [
        ("host", "kms.local"),
        ("X-Custom", "a"),
        ("x-custom", "  b    c  "),
        ("x-amz-target", "T.Op"),
    ];
    let w = signed_request(&signed, &[], &p);
    assert_eq!(w.check(SECRET, T), Ok(()));
    w.run(|req| {
        let parsed = parse(req).expect("parses");
        let creq = String::from_utf8(canonical_request(req, &parsed)).expect("utf-8");
        assert!(creq.contains("\nhost:kms.local\nx-amz-date:20260101T000000Z\nx-amz-target:T.Op\nx-custom:a,b c\n\n"), "{creq}");
        let tail = format!("\n\nhost;x-amz-date;x-amz-target;x-custom\n{}", sha256_hex(BODY));
        assert!(creq.ends_with(&tail), "{creq}");
    });
    // The same values folded into one header line by a proxy canonicalize the same way.
    let folded = w.clone().without("x-custom").with("X-CUSTOM", "a,b c");
    assert_eq!(folded.check(SECRET, T), Ok(()));
    // Order matters: b c before a is a different request.
    let reordered = w
        .clone()
        .without("x-custom")
        .with("x-custom", "b c")
        .with("x-custom", "a");
    assert_eq!(reordered.check(SECRET, T), invalid(MISMATCH));
    // Inner runs of spaces are squashed, but a space is not the same as none.
    let squashed = w
        .clone()
        .without("x-custom")
        .with("x-custom", "a")
        .with("x-custom", "b c");
    assert_eq!(squashed.check(SECRET, T), Ok(()));
    let joined = w
        .without("x-custom")
        .with("x-custom", "a")
        .with("x-custom", "bc");
    assert_eq!(joined.check(SECRET, T), invalid(MISMATCH));
}

#[test]
fn presigned_query_auth_is_not_missing_but_unsupported() {
    let headers: Vec<(&str, &[u8])> = vec![("host", b"kms.local")];
    let req = Request {
        method: "GET",
        path: "/",
        query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x",
        headers: &headers,
        body: b"",
    };
    assert!(matches!(parse(&req), Err(Error::Incomplete(_))));
    let plain = Request { query: "", ..req };
    assert_eq!(parse(&plain), Err(Error::Missing));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let p = params(T, Some("session-token-value"));
    let text = format!("{p:?}");
    assert!(
        !text.contains(SECRET) && !text.contains("session-token-value"),
        "{text}"
    );
    assert!(text.contains(AKID));
    let key = SigningKey::derive(SECRET.as_bytes(), "20260101", "eu-west-1", "kms");
    assert_eq!(format!("{key:?}"), "SigningKey(..)");
}
