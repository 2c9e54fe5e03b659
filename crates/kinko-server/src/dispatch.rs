//! A request after authentication, whoever made it: the AWS endpoint (`app`) once SigV4 named the
//! caller, and the console (`console`) for a signed-in principal. Both serve an operation through
//! the same handlers and leave the same audit record, so a console action is authorized and
//! audited exactly as the API call it stands for.

use kinko_api::ErrorCode;
use kinko_core::Caller;

use crate::audit::{Recorded, RequestInfo, Touched};
use crate::errors::ApiError;
use crate::kms;
use crate::state::AppState;

/// What serving a request produced, for the response and its audit record.
pub(crate) struct Served {
    /// The response body, or the error.
    pub result: Result<Vec<u8>, ApiError>,
    /// The record of a successful change was committed with the change.
    pub committed: bool,
    /// The keys the request concerned.
    pub touched: Touched,
    /// Whether the request is recorded at all (it is unless nothing identifies a caller).
    pub recorded: bool,
}

impl Served {
    /// A request refused before any operation ran.
    pub(crate) fn failed(error: ApiError, recorded: bool) -> Served {
        Served {
            result: Err(error),
            committed: false,
            touched: Touched::default(),
            recorded,
        }
    }
}

/// Whether the request is one of the Query protocol's (IAM, STS).
pub(crate) fn is_query(info: &RequestInfo) -> bool {
    matches!(info.event_source, "iam.amazonaws.com" | "sts.amazonaws.com")
}

/// Serves an authenticated request of `service` (`kms`, `secretsmanager`, `cloudtrail`, `iam` or
/// `sts`): a KMS operation by its `descriptor`, Secrets Manager's and CloudTrail's by
/// `operation`, a Query action by its `params`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve_authenticated(
    state: &AppState,
    caller: Caller,
    access_key_id: String,
    service: &str,
    operation: &str,
    descriptor: Option<&'static kms::Descriptor>,
    params: Option<Result<crate::query::Params, ApiError>>,
    body: &[u8],
    info: &mut RequestInfo,
) -> Served {
    info.access_key_id = Some(access_key_id);
    info.region = caller.region.to_string();
    info.caller = Some(caller.clone());
    if let Some(params) = params {
        let params = match params {
            Ok(p) => p,
            Err(e) => return Served::failed(e, true),
        };
        let redacted = crate::query::REDACTED;
        info.request_parameters = Some(params.audit_parameters(redacted));
        let action = info.operation.clone();
        if action.is_empty() {
            return Served::failed(
                ApiError::new(
                    ErrorCode::InvalidAction,
                    "Could not find operation: no Action.",
                ),
                true,
            );
        }
        let caller = with_transport_facts(caller, info);
        let audit_info: &RequestInfo = info;
        let outcome =
            crate::query::dispatch(state, &caller, service, &action, &params, audit_info).await;
        return Served {
            result: outcome.result,
            committed: outcome.committed,
            touched: Touched::default(),
            recorded: true,
        };
    }
    if operation.is_empty() {
        return Served::failed(kms::unknown_operation(), true);
    }
    if service == "secretsmanager" {
        let Some(op) = crate::secretsmanager::lookup(operation) else {
            return Served::failed(kms::unknown_operation(), true);
        };
        let outcome = crate::secretsmanager::dispatch(state, caller, op, body, info).await;
        let mut result = outcome.result;
        for draft in outcome.kms_records {
            if let Err(e) = state.audit.append(draft).await {
                // Nothing is returned that the trail does not show.
                result = Err(ApiError::from(e));
            }
        }
        return Served {
            committed: outcome.committed && result.is_ok(),
            result,
            touched: Touched::default(),
            recorded: true,
        };
    }
    if service == "cloudtrail" {
        let caller = with_transport_facts(caller, info);
        let result = crate::cloudtrail::dispatch(
            &state.kms,
            &caller,
            operation,
            body,
            &mut info.request_parameters,
        )
        .await;
        return Served {
            result,
            committed: false,
            touched: Touched::default(),
            recorded: true,
        };
    }
    let Some(op) = descriptor else {
        return Served::failed(kms::unknown_operation(), true);
    };
    let mut seen = Touched::default();
    let request = kms::Request {
        kms: &state.kms,
        quotas: &state.quotas,
        caller,
        info,
        seen: &mut seen,
        op,
    };
    let result = kms::dispatch(request, body).await;
    let committed = result.is_ok() && op.mutates;
    Served {
        result,
        committed,
        touched: seen,
        recorded: true,
    }
}

/// The caller with the transport's condition keys (`aws:SourceIp`, `aws:SecureTransport`), for
/// the Query and CloudTrail branches. KMS and Secrets Manager operations set these, with their
/// parameters' keys, once their body is parsed (`kms::op::serve`, `secretsmanager::op::serve`),
/// so they are not built twice on the hot path.
fn with_transport_facts(caller: Caller, info: &RequestInfo) -> Caller {
    caller.with_facts(kinko_core::RequestFacts {
        source_ip: info.source_ip.parse().ok(),
        secure_transport: info.secure_transport,
        ..kinko_core::RequestFacts::default()
    })
}

/// Writes the audit record of a served request (unless it was committed with its change) and
/// returns what the caller gets: nothing is returned that the trail does not show. Errors of a
/// Query request are in IAM's and STS's codes, for the record and the response alike.
pub(crate) async fn record(
    state: &AppState,
    served: Served,
    info: &RequestInfo,
) -> Result<Vec<u8>, ApiError> {
    let mut result = served.result;
    if is_query(info) {
        result = result.map_err(crate::query::to_query_error);
    }
    if served.recorded && !served.committed {
        let outcome = Recorded {
            key: served.touched.key.as_ref(),
            source_key: served.touched.source_key.as_ref(),
            response_elements: None,
            error: result.as_ref().err(),
        };
        let draft = info.draft(&outcome);
        if let Err(e) = state.audit.append(draft).await {
            result = Err(ApiError::from(e));
            if is_query(info) {
                result = result.map_err(crate::query::to_query_error);
            }
        }
    }
    result
}
