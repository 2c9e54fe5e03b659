//! The HTTP surface: `POST /` for the AWS protocols, `GET /healthz` and `GET /readyz`.
//! Every response carries `x-amzn-RequestId`; every error is `{"__type","message"}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt, Limited};
use kinko_api::{ErrorBody, ErrorCode};
use kinko_core::Kms;

use crate::auth::Authenticator;
use crate::errors::ApiError;
use crate::protocol;

/// Largest request body Kinko reads. KMS payloads are small (4 KiB plaintexts, 32 KB policies).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Shared state of the server.
#[derive(Debug)]
pub struct AppState {
    /// The service.
    pub kms: Arc<Kms>,
    /// SigV4 verification with its signing-key cache.
    pub auth: Authenticator,
}

/// Builds the router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .fallback(handle)
        .layer(axum::middleware::map_response(ensure_request_id))
        .with_state(state)
}

/// Health endpoints and axum's own rejections carry a request id too.
async fn ensure_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("x-amzn-requestid")
        && let Ok(v) = HeaderValue::from_str(&request_id())
    {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

fn request_id() -> String {
    let bytes = kinko_crypto::random_array::<16>().unwrap_or_default();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn respond(
    status: StatusCode,
    body: Vec<u8>,
    request_id: &str,
    error: Option<ErrorCode>,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    if let Some(code) = error {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code.as_str()));
    }
    response
}

fn error_response(error: &ApiError, request_id: &str) -> Response {
    let body = serde_json::to_vec(&ErrorBody {
        kind: error.code.as_str(),
        message: &error.message,
    })
    .unwrap_or_else(|_| b"{\"__type\":\"KMSInternalException\",\"message\":\"\"}".to_vec());
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, body, request_id, Some(error.code))
}

async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let request_id = request_id();
    match serve_request(&state, request, &request_id).await {
        Ok(body) => respond(StatusCode::OK, body, &request_id, None),
        Err(error) => {
            tracing::debug!(request_id, code = error.code.as_str(), "request failed");
            error_response(&error, &request_id)
        }
    }
}

async fn serve_request(
    state: &AppState,
    request: Request,
    request_id: &str,
) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST || parts.uri.path() != "/" {
        return Err(ApiError::new(ErrorCode::UnknownOperationException, ""));
    }
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLargeException,
            format!("Request body exceeds the maximum of {MAX_BODY_BYTES} bytes."),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| too_large())?
        .to_bytes();

    let header_pairs: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let sig_request = kinko_sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &header_pairs,
        body: &body,
    };
    let now = state.kms.clock().now().as_secs();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (service, operation) = match target.strip_prefix(protocol::TARGET_PREFIX) {
        Some(op) => ("kms", op),
        None => ("kms", ""),
    };
    let caller = state
        .auth
        .authenticate(&state.kms, &sig_request, service, now)
        .await?;
    if operation.is_empty() {
        return Err(protocol::unknown_operation());
    }
    protocol::dispatch(&state.kms, &caller, operation, &body, request_id).await
}
