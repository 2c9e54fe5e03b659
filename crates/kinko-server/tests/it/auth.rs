//! SigV4 authentication as the caller sees it (`kms-reference.md` §1.4–1.5): each failure's AWS
//! error code, driven by the server's own clock.

use axum::body::Body;
use http::StatusCode;
use serde_json::json;

use crate::harness::{HOST, JSON_1_1, Kinko, Signer, expect_error};

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your \
                        AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// No `Authorization` header: `MissingAuthenticationTokenException`. The reference leaves the
/// status open (400/403 [?]); Kinko follows its recommendation of 400 for every client fault.
#[tokio::test]
async fn unsigned_request_is_missing_authentication_token() {
    let kinko = Kinko::start().await;
    let request = kinko
        .request(Some("TrentService.ListKeys"), b"{}", None)
        .body(Body::from("{}"))
        .expect("a request");
    let message = expect_error(
        &kinko.send(request).await,
        400,
        "MissingAuthenticationTokenException",
    );
    assert_eq!(message, "Missing Authentication Token");

    // Authentication comes first: an unsigned request learns nothing about its body.
    let request = kinko
        .request(Some("TrentService.ListKeys"), b"{", None)
        .body(Body::from("{"))
        .expect("a request");
    expect_error(
        &kinko.send(request).await,
        400,
        "MissingAuthenticationTokenException",
    );
}

/// An `Authorization` header without its SignedHeaders and Signature parts.
#[tokio::test]
async fn incomplete_authorization_is_incomplete_signature() {
    let kinko = Kinko::start().await;
    let credential = format!(
        "{}/20260101/us-east-1/kms/aws4_request",
        kinko.access_key_id
    );
    for authorization in [
        format!("AWS4-HMAC-SHA256 Credential={credential}"),
        format!("AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-amz-date"),
        "AWS4-HMAC-SHA256".to_owned(),
    ] {
        let request = kinko
            .request(Some("TrentService.ListKeys"), b"{}", None)
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", authorization)
            .body(Body::from("{}"))
            .expect("a request");
        expect_error(
            &kinko.send(request).await,
            400,
            "IncompleteSignatureException",
        );
    }
}

/// A signature made with the wrong secret.
#[tokio::test]
async fn wrong_signature_is_invalid_signature() {
    let kinko = Kinko::start().await;
    let wrong = "0000000000000000000000000000000000000000";
    let signer = Signer {
        secret: wrong,
        ..kinko.signer()
    };
    let message = expect_error(
        &kinko.check_as("ListKeys", json!({}), signer).await,
        400,
        "InvalidSignatureException",
    );
    assert_eq!(message, MISMATCH);

    // A body changed after signing is the same failure.
    let signed = kinko.request(Some("TrentService.ListKeys"), b"{}", Some(kinko.signer()));
    let request = signed
        .body(Body::from(r#"{"Limit":1}"#))
        .expect("a request");
    let message = expect_error(&kinko.send(request).await, 400, "InvalidSignatureException");
    assert_eq!(message, MISMATCH);
}

/// A request signed 6 minutes off the server's clock, either way, is refused; 4 minutes is not.
#[tokio::test]
async fn clock_skew_over_five_minutes_is_invalid_signature() {
    let kinko = Kinko::start().await;
    let now = kinko.clock.now_secs();
    for (skew, prefix) in [
        (-360, "Signature expired: "),
        (360, "Signature not yet current: "),
    ] {
        let signer = Signer {
            now_secs: now + skew,
            ..kinko.signer()
        };
        let message = expect_error(
            &kinko.check_as("ListKeys", json!({}), signer).await,
            400,
            "InvalidSignatureException",
        );
        assert!(message.starts_with(prefix), "{skew} s of skew: {message}");
    }
    for skew in [-240, 240] {
        let signer = Signer {
            now_secs: now + skew,
            ..kinko.signer()
        };
        let (status, json, _) = kinko.check_as("ListKeys", json!({}), signer).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "4 minutes of skew is accepted: {json}"
        );
    }

    // The server's clock is the reference: a request signed "now" becomes stale when it moves.
    let signer = kinko.signer();
    kinko.clock.advance(6 * 60 * 1000);
    expect_error(
        &kinko.check_as("ListKeys", json!({}), signer).await,
        400,
        "InvalidSignatureException",
    );
}

/// Credentials scoped to another service (`s3`) are refused.
#[tokio::test]
async fn credential_scoped_to_another_service_is_invalid_signature() {
    let kinko = Kinko::start().await;
    let signer = Signer {
        service: "s3",
        ..kinko.signer()
    };
    let message = expect_error(
        &kinko.check_as("ListKeys", json!({}), signer).await,
        400,
        "InvalidSignatureException",
    );
    assert!(
        message.contains("'kms'"),
        "the message names the expected service: {message}"
    );
}

/// An access key id Kinko never issued (well-formed or not).
#[tokio::test]
async fn unknown_access_key_is_unrecognized_client() {
    let kinko = Kinko::start().await;
    for id in ["AKIAZZZZZZZZZZZZZZZZ", "not-an-access-key"] {
        let signer = Signer {
            access_key_id: id,
            ..kinko.signer()
        };
        let message = expect_error(
            &kinko.check_as("ListKeys", json!({}), signer).await,
            400,
            "UnrecognizedClientException",
        );
        assert_eq!(
            message,
            "The security token included in the request is invalid."
        );
    }
}

/// A signature that leaves `X-Amz-Target` out cannot carry an operation: a captured, signed
/// DescribeKey resent with `TrentService.DisableKey` is refused, and the key stays enabled.
#[tokio::test]
async fn operation_header_must_be_signed() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let body = serde_json::to_vec(&json!({ "KeyId": key_id })).expect("a body");
    let signer = kinko.signer();
    let signed_headers = [("host", HOST), ("content-type", JSON_1_1)];
    let params = kinko_sigv4::SignParams {
        access_key_id: signer.access_key_id,
        secret_access_key: signer.secret,
        session_token: None,
        region: signer.region,
        service: signer.service,
        now_epoch_secs: signer.now_secs,
    };
    let added = kinko_sigv4::sign("POST", "/", "", &signed_headers, &body, &params);
    for target in ["TrentService.DescribeKey", "TrentService.DisableKey"] {
        let mut request = http::Request::builder().method("POST").uri("/");
        for (name, value) in signed_headers {
            request = request.header(name, value);
        }
        for (name, value) in &added {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .header("x-amz-target", target)
            .body(Body::from(body.clone()))
            .expect("a request");
        let message = expect_error(&kinko.send(request).await, 400, "InvalidSignatureException");
        assert_eq!(
            message,
            "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization."
        );
    }
    let described = kinko.ok("DescribeKey", json!({ "KeyId": key_id })).await;
    assert_eq!(described["KeyMetadata"]["Enabled"], json!(true));
    assert_eq!(described["KeyMetadata"]["KeyState"], json!("Enabled"));
}
