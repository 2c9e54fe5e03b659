//! The HTTP surface: `POST /` for the AWS protocols, `GET /healthz` and `GET /readyz`.
//! Every response carries `x-amzn-RequestId`. KMS and CloudTrail (JSON, told apart by
//! `X-Amz-Target`) answer errors as `{"__type","message"}`; IAM and STS (AWS Query: no
//! `X-Amz-Target`, told apart by the SigV4 credential scope's service) answer in XML.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use axum::Router;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt, Limited};
use kinko_api::{ErrorBody, ErrorCode};

use crate::audit::RequestInfo;
use crate::dispatch::{Served, is_query};
use crate::errors::ApiError;
use crate::kms;
use crate::state::AppState;
use crate::util::new_uuid;

/// Largest request body Kinko reads. KMS payloads are small (4 KiB plaintexts, 32 KB policies).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const JSON_CONTENT_TYPE: &str = crate::json::CONTENT_TYPE;

/// Builds the router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(state): State<Arc<AppState>>| async move {
                crate::readiness::check(&state).await
            }),
        )
        .merge(crate::console::router(state.clone()))
        .fallback(handle)
        .layer(axum::middleware::map_response(ensure_request_id))
        .with_state(state)
}

/// Health endpoints and axum's own rejections carry a request id too.
async fn ensure_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key("x-amzn-requestid")
        && let Ok(v) = HeaderValue::from_str(&new_uuid())
    {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

pub(crate) fn respond(
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
        message: (!error.code.says_nothing()).then_some(error.message.as_str()),
    })
    .unwrap_or_else(|_| b"{\"__type\":\"KMSInternalException\",\"message\":\"\"}".to_vec());
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, body, request_id, Some(error.code))
}

/// Serves one AWS request inside a span carrying its request id, so that every log line of
/// the request names it.
async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = new_uuid();
    let span = tracing::info_span!("request", request_id = %request_id);
    handle_in_span(state, request, request_id, started)
        .instrument(span)
        .await
}

/// Refuses a request at once when [`crate::inflight`]'s bound is reached: nothing parsed,
/// nothing recorded (nothing identifies a caller yet).
fn refuse_overload(state: &AppState, request: &Request, request_id: &str) -> Response {
    crate::metrics::in_flight_refused();
    let message = format!(
        "Rate exceeded: {} requests are in progress. Reduce the frequency of your calls.",
        state.in_flight.limit()
    );
    let target = request.headers().contains_key("x-amz-target");
    let query = !target && query_service(request.headers()).is_some();
    let (service, response) = if query {
        let error = ApiError::new(ErrorCode::Throttling, message);
        ("query", crate::query::error_response(&error, request_id))
    } else {
        let error = ApiError::new(ErrorCode::ThrottlingException, message);
        ("kms", error_response(&error, request_id))
    };
    tracing::debug!(service, "refused: too many requests in progress");
    response
}

/// The `service` and `operation` labels of a request's metrics (bounded sets).
fn metric_labels(info: &RequestInfo) -> (&'static str, &'static str) {
    match info.event_source {
        "iam.amazonaws.com" => ("iam", crate::metrics::action_label(&info.operation)),
        "sts.amazonaws.com" => ("sts", crate::metrics::action_label(&info.operation)),
        crate::secretsmanager::EVENT_SOURCE => (
            "secretsmanager",
            crate::secretsmanager::lookup(&info.operation).map_or("unknown", |d| d.name),
        ),
        "cloudtrail.amazonaws.com" => (
            "cloudtrail",
            if info.operation == "LookupEvents" {
                "LookupEvents"
            } else {
                "unknown"
            },
        ),
        _ => (
            "kms",
            kms::lookup(&info.operation).map_or("unknown", |d| d.name),
        ),
    }
}

async fn handle_in_span(
    state: Arc<AppState>,
    request: Request,
    request_id: String,
    started: Instant,
) -> Response {
    let Some(_permit) = state.in_flight.try_enter() else {
        return refuse_overload(&state, &request, &request_id);
    };
    let tls_details = crate::audit::TlsDetails::of(&request);
    let mut info = RequestInfo {
        request_id,
        time: state.kms.clock().now(),
        source_ip: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".to_owned()),
        secure_transport: tls_details.is_some(),
        tls_details,
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        event_source: "kms.amazonaws.com",
        operation: String::new(),
        read_only: true,
        region: state.default_region.clone(),
        access_key_id: None,
        caller: None,
        request_parameters: None,
        invoked_by: None,
    };
    let served = serve_request(&state, request, &mut info).await;
    let request_id = info.request_id.clone();
    let result = crate::dispatch::record(&state, served, &info).await;
    let (service, operation) = metric_labels(&info);
    let outcome = result.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
    crate::metrics::request(service, operation, outcome, started.elapsed().as_secs_f64());
    if is_query(&info) {
        return match result {
            Ok(body) => crate::query::ok_response(body, &request_id),
            Err(error) => {
                tracing::debug!(request_id, code = error.code.as_str(), "request failed");
                crate::query::error_response(&error, &request_id)
            }
        };
    }
    match result {
        Ok(body) => respond(StatusCode::OK, body, &request_id, None),
        Err(error) => {
            tracing::debug!(request_id, code = error.code.as_str(), "request failed");
            error_response(&error, &request_id)
        }
    }
}

/// The service of the SigV4 credential scope (`Credential=<key>/<date>/<region>/<service>/…`)
/// when it is `iam` or `sts`.
fn query_service(headers: &axum::http::HeaderMap) -> Option<&'static str> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    match scope.split('/').nth(3)? {
        "iam" => Some("iam"),
        "sts" => Some("sts"),
        _ => None,
    }
}

async fn serve_request(state: &AppState, request: Request, info: &mut RequestInfo) -> Served {
    let (parts, body) = request.into_parts();
    let fail = Served::failed;
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (service, operation) = if let Some(op) = target.strip_prefix(kms::TARGET_PREFIX) {
        ("kms", op)
    } else if let Some(op) = target.strip_prefix(crate::secretsmanager::TARGET_PREFIX) {
        info.event_source = crate::secretsmanager::EVENT_SOURCE;
        ("secretsmanager", op)
    } else if let Some(op) = target.strip_prefix(crate::cloudtrail::TARGET_PREFIX) {
        info.event_source = "cloudtrail.amazonaws.com";
        ("cloudtrail", op)
    } else if let Some(svc) = query_service(&parts.headers).filter(|_| target.is_empty()) {
        info.event_source = if svc == "iam" {
            "iam.amazonaws.com"
        } else {
            "sts.amazonaws.com"
        };
        (svc, "")
    } else {
        ("kms", "")
    };
    info.operation = operation.chars().take(128).collect();
    let descriptor = if service == "kms" {
        kms::lookup(operation)
    } else {
        None
    };
    let sm_descriptor = if service == "secretsmanager" {
        crate::secretsmanager::lookup(operation)
    } else {
        None
    };
    info.read_only =
        !(descriptor.is_some_and(|d| d.mutates) || sm_descriptor.is_some_and(|d| d.mutates));
    if parts.method != Method::POST || parts.uri.path() != "/" {
        return fail(
            ApiError::new(ErrorCode::UnknownOperationException, ""),
            false,
        );
    }
    if matches!(service, "kms" | "cloudtrail" | "secretsmanager")
        && let Err(e) = crate::json::check_content_type(
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
        )
    {
        return fail(e, false);
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
        return fail(too_large(), false);
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return fail(too_large(), false),
    };

    let params = if is_query(info) {
        let params = crate::query::Params::parse(&body);
        if let Ok(p) = &params {
            let action = p.get("Action").unwrap_or_default();
            info.operation = action.chars().take(128).collect();
            info.read_only = !crate::query::mutates(service, action);
        }
        Some(params)
    } else {
        None
    };

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
    let now = state.signature_clock.now().as_secs();
    let (caller, access_key_id) = match state
        .auth
        .authenticate(&state.kms, &sig_request, service, now)
        .await
    {
        Ok(ok) => ok,
        Err((e, claimed)) => {
            // A request that names no access key cannot be attributed to anyone: not recorded.
            let recorded = claimed.is_some();
            info.access_key_id = claimed;
            return fail(e, recorded);
        }
    };
    crate::dispatch::serve_authenticated(
        state,
        caller,
        access_key_id,
        service,
        operation,
        descriptor,
        params,
        &body,
        info,
    )
    .await
}
