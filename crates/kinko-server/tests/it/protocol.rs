//! The awsJson1_1 envelope (`kms-reference.md` §1.1–1.4): headers, error shape, dispatch on
//! `X-Amz-Target`, body decoding and the body-size limit.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::StatusCode;
use http_body::Frame;
use serde_json::json;

use crate::harness::{Kinko, Reply, assert_protocol_headers, expect_error};

/// Every response, success or error, from the protocol layer or the KMS layer, carries a
/// request id (a fresh one each time) and the JSON 1.1 content type.
#[tokio::test]
async fn every_response_has_request_id_and_json_content_type() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let mut replies: Vec<Reply> = vec![
        kinko.check("ListKeys", json!({})).await,
        kinko.check("DescribeKey", json!({"KeyId": key_id})).await,
        kinko.check("DescribeKey", json!({})).await,
        kinko
            .check("DescribeKey", json!({"KeyId": "alias/does-not-exist"}))
            .await,
        kinko.check("Frobnicate", json!({})).await,
        kinko.check("Sign", json!({})).await,
        kinko.check_bytes_as("ListKeys", b"{", kinko.signer()).await,
    ];
    let unsigned = kinko
        .request(Some("TrentService.ListKeys"), b"{}", None)
        .body(Body::from("{}"))
        .expect("a request");
    replies.push(kinko.send(unsigned).await);
    let get = http::Request::builder()
        .method("GET")
        .uri("/")
        .body(Body::empty())
        .expect("a request");
    replies.push(kinko.send(get).await);

    let mut ids = HashSet::new();
    for (status, json, headers) in &replies {
        assert_protocol_headers(headers);
        let id = headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "request id {id} reused ({status} {json})"
        );
    }
    assert_eq!(
        replies
            .iter()
            .filter(|(s, _, _)| *s == StatusCode::OK)
            .count(),
        2,
        "two of them succeeded"
    );
}

/// An error body is exactly `{"__type","message"}`, whatever layer raised it.
#[tokio::test]
async fn error_bodies_are_exactly_type_and_message() {
    let kinko = Kinko::start().await;
    for (op, body, code) in [
        ("DescribeKey", json!({}), "ValidationException"),
        (
            "DescribeKey",
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
            "NotFoundException",
        ),
        ("Frobnicate", json!({}), "UnknownOperationException"),
        (
            "ConnectCustomKeyStore",
            json!({}),
            "UnsupportedOperationException",
        ),
        ("ReplicateKey", json!({}), "ValidationException"),
        ("DescribeKey", json!({"KeyId": 5}), "SerializationException"),
    ] {
        // expect_error checks the member set and the header echo.
        expect_error(&kinko.check(op, body).await, 400, code);
    }
}

/// An unknown operation name under the right prefix, a wrong prefix, and no `X-Amz-Target` at
/// all are each `UnknownOperationException` [infer: the usual Coral JSON behaviour].
#[tokio::test]
async fn unknown_or_missing_target_is_unknown_operation() {
    let kinko = Kinko::start().await;
    expect_error(
        &kinko.check("Frobnicate", json!({})).await,
        400,
        "UnknownOperationException",
    );
    expect_error(
        &kinko.check("listkeys", json!({})).await,
        400,
        "UnknownOperationException",
    );

    for target in [Some("SomethingElse.ListKeys"), None] {
        let request = kinko
            .request(target, b"{}", Some(kinko.signer()))
            .body(Body::from("{}"))
            .expect("a request");
        expect_error(&kinko.send(request).await, 400, "UnknownOperationException");
    }
}

/// Operations of the KMS model that Kinko does not serve yet are named as unsupported, not unknown.
#[tokio::test]
async fn model_operation_not_implemented_is_unsupported() {
    let kinko = Kinko::start().await;
    for op in [
        "CreateCustomKeyStore",
        "UpdateCustomKeyStore",
        "ConnectCustomKeyStore",
    ] {
        let message = expect_error(
            &kinko.check(op, json!({})).await,
            400,
            "UnsupportedOperationException",
        );
        assert!(message.contains(op), "the message names {op}: {message}");
    }
}

/// Malformed JSON and a member of the wrong JSON type are `SerializationException`.
#[tokio::test]
async fn malformed_json_and_wrong_types_are_serialization_errors() {
    let kinko = Kinko::start().await;
    for body in [
        &b"{"[..],
        b"not json",
        b"{\"KeyId\": }",
        b"{\"KeyId\": \"x\"} trailing",
    ] {
        let reply = kinko
            .check_bytes_as("DescribeKey", body, kinko.signer())
            .await;
        expect_error(&reply, 400, "SerializationException");
    }
    for body in [
        json!({"KeyId": 5}),
        json!({"KeyId": ["alias/x"]}),
        json!({"KeyId": {"Id": "x"}}),
        json!({"KeyId": true}),
    ] {
        expect_error(
            &kinko.check("DescribeKey", body).await,
            400,
            "SerializationException",
        );
    }
    expect_error(
        &kinko.check("ListKeys", json!({"Limit": "10"})).await,
        400,
        "SerializationException",
    );
    expect_error(
        &kinko.check("ListKeys", json!({"Limit": 1.5})).await,
        400,
        "SerializationException",
    );
    expect_error(
        &kinko
            .check("Encrypt", json!({"KeyId": "alias/x", "Plaintext": "!!"}))
            .await,
        400,
        "SerializationException",
    );
}

/// The body must be a JSON object: other JSON values are `SerializationException`, including
/// arrays, which a lenient decoder would read positionally as the struct's members.
#[tokio::test]
async fn body_that_is_not_an_object_is_a_serialization_error() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let positional = format!("[\"{key_id}\"]");
    let mut wrong = Vec::new();
    for body in [
        &b"\"KeyId\""[..],
        b"5",
        b"null",
        b"true",
        b"[]",
        positional.as_bytes(),
    ] {
        let reply = kinko
            .check_bytes_as("DescribeKey", body, kinko.signer())
            .await;
        if reply.1.get("__type").and_then(serde_json::Value::as_str)
            == Some("SerializationException")
        {
            expect_error(&reply, 400, "SerializationException");
        } else {
            wrong.push(format!(
                "{} -> {} {}",
                String::from_utf8_lossy(body),
                reply.0,
                reply.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "non-object bodies not refused as SerializationException:\n{}",
        wrong.join("\n")
    );
}

/// Members the model does not have (newer SDKs add some) are ignored; `null` is absent.
#[tokio::test]
async fn unknown_members_are_ignored_and_null_is_absent() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let reply = kinko
        .ok(
            "DescribeKey",
            json!({"KeyId": key_id, "SomeFutureMember": {"nested": [1, 2]}, "X": null}),
        )
        .await;
    assert_eq!(reply["KeyMetadata"]["KeyId"], key_id);
    let reply = kinko
        .ok(
            "ListKeys",
            json!({"Limit": null, "Marker": null, "Whatever": 1}),
        )
        .await;
    assert_eq!(reply["Keys"].as_array().map(Vec::len), Some(1));
}

/// An empty (or whitespace-only) body is read as `{}`.
#[tokio::test]
async fn empty_body_is_an_empty_object() {
    let kinko = Kinko::start().await;
    kinko.create_key().await;
    for body in [&b""[..], b"  \n"] {
        let (status, json, headers) = kinko.check_bytes_as("ListKeys", body, kinko.signer()).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_protocol_headers(&headers);
        assert_eq!(json["Keys"].as_array().map(Vec::len), Some(1));
    }
    // And `{}` semantics carry through: a required member is then missing.
    let reply = kinko
        .check_bytes_as("DescribeKey", b"", kinko.signer())
        .await;
    expect_error(&reply, 400, "ValidationException");
}

const LIMIT: usize = kinko_server::MAX_BODY_BYTES;

/// A signed ListKeys whose JSON body is exactly `len` bytes (an ignored padding member).
fn padded_list_keys(len: usize) -> Vec<u8> {
    let overhead = br#"{"Pad":""}"#.len();
    let mut body = br#"{"Pad":""#.to_vec();
    body.extend(std::iter::repeat_n(b'x', len - overhead));
    body.extend_from_slice(br#""}"#);
    assert_eq!(body.len(), len);
    body
}

/// A body over 1 MiB with an honest `Content-Length` is refused with 413
/// `RequestEntityTooLargeException`; exactly 1 MiB is still served.
#[tokio::test]
async fn body_over_limit_with_content_length_is_413() {
    let kinko = Kinko::start().await;
    let at_limit = padded_list_keys(LIMIT);
    let (status, json, _) = kinko
        .check_bytes_as("ListKeys", &at_limit, kinko.signer())
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a body of exactly the limit is served: {json}"
    );

    let over = padded_list_keys(LIMIT + 1);
    let reply = kinko
        .check_bytes_as("ListKeys", &over, kinko.signer())
        .await;
    expect_error(&reply, 413, "RequestEntityTooLargeException");
}

/// A request body that arrives in chunks, with no `Content-Length` (as
/// `Transfer-Encoding: chunked` does), and whose size is not known in advance.
struct Chunked(VecDeque<Bytes>);

impl Chunked {
    fn new(body: &[u8], chunk: usize) -> Chunked {
        Chunked(body.chunks(chunk).map(Bytes::copy_from_slice).collect())
    }
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }
}

async fn send_chunked(kinko: &Kinko, body: &[u8]) -> Reply {
    let request = kinko
        .request(Some("TrentService.ListKeys"), body, Some(kinko.signer()))
        .header("transfer-encoding", "chunked")
        .body(Body::new(Chunked::new(body, 64 * 1024)))
        .expect("a request");
    assert!(request.headers().get("content-length").is_none());
    kinko.send(request).await
}

/// The same limit holds for a chunked body, which has no `Content-Length` to check up front.
#[tokio::test]
async fn chunked_body_over_limit_is_413() {
    let kinko = Kinko::start().await;
    let (status, json, _) = send_chunked(&kinko, &padded_list_keys(200 * 1024)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a chunked body under the limit is served: {json}"
    );

    let reply = send_chunked(&kinko, &padded_list_keys(LIMIT + 1)).await;
    expect_error(&reply, 413, "RequestEntityTooLargeException");
    let reply = send_chunked(&kinko, &padded_list_keys(3 * LIMIT)).await;
    expect_error(&reply, 413, "RequestEntityTooLargeException");
}
