//! What a Secrets Manager operation is: its [`Descriptor`], the typed request it parses
//! ([`SmRequest`]) and the [`Call`] its handler works with, which carries the audit hooks the
//! core needs ([`kinko_core::SecretsAudit`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use kinko_core::{AuditDraft, Caller, Key, Kms, Secret, ServiceEvent, ViaCall};
use kinko_policy::{ConditionKeys, ContextValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::audit::{Recorded, RequestInfo};
use crate::errors::ApiError;

/// A handler's answer.
pub(crate) type Reply = Result<Vec<u8>, ApiError>;

/// Runs one operation on a request body.
pub(crate) type Run =
    for<'a> fn(Request<'a>, &'a [u8]) -> Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// Everything the server knows about one Secrets Manager operation.
#[derive(Debug)]
pub(crate) struct Descriptor {
    /// The operation name (`X-Amz-Target` suffix, `eventName`).
    pub name: &'static str,
    /// Whether it changes state (`readOnly: false`; its record commits with the change).
    pub mutates: bool,
    /// The handler; `None` for an operation Kinko does not serve.
    pub run: Option<Run>,
}

impl Descriptor {
    pub(crate) const fn reads(name: &'static str, run: Run) -> Descriptor {
        Descriptor {
            name,
            mutates: false,
            run: Some(run),
        }
    }

    pub(crate) const fn changes(name: &'static str, run: Run) -> Descriptor {
        Descriptor {
            name,
            mutates: true,
            run: Some(run),
        }
    }

    pub(crate) const fn unsupported(name: &'static str, mutates: bool) -> Descriptor {
        Descriptor {
            name,
            mutates,
            run: None,
        }
    }
}

/// The [`Run`] of a handler.
macro_rules! handler {
    ($f:path) => {
        |request, body| Box::pin($crate::secretsmanager::op::serve(request, body, $f))
    };
}
pub(crate) use handler;

/// A typed Secrets Manager request: parsed from the body, serialized for the audit record
/// (secret values skipped), and read for the condition keys it carries.
pub(crate) trait SmRequest: DeserializeOwned + Serialize + Send {
    /// `secretsmanager:Name`, `secretsmanager:KmsKeyId`, `aws:RequestTag/…`, ….
    fn facts(&self, _keys: &mut ConditionKeys) {}
}

/// Adds a string condition key when the request has it.
pub(crate) fn text(keys: &mut ConditionKeys, name: &str, value: Option<&String>) {
    if let Some(v) = value {
        keys.insert(name, ContextValue::String(v.clone()));
    }
}

/// One request on its way to a handler.
pub(crate) struct Request<'a> {
    pub kms: &'a Kms,
    /// Rotation functions: Lambda ARN → HTTP URL.
    pub rotation_functions: &'a std::collections::BTreeMap<String, String>,
    pub caller: Caller,
    pub info: &'a mut RequestInfo,
    /// Records of the KMS calls made for the caller, appended after the handler.
    pub records: &'a Mutex<Vec<AuditDraft>>,
    /// The request quotas, charged once the request is parsed.
    pub quotas: &'a crate::quota::Quotas,
    /// The operation's name.
    pub op: &'static str,
}

/// What a handler works with.
pub(crate) struct Call<'a> {
    pub kms: &'a Kms,
    /// Rotation functions: Lambda ARN → HTTP URL.
    pub rotation_functions: &'a std::collections::BTreeMap<String, String>,
    pub caller: Caller,
    info: &'a RequestInfo,
    records: &'a Mutex<Vec<AuditDraft>>,
}

impl<'a> Call<'a> {
    /// Maps a core error to Secrets Manager's wire.
    pub(crate) fn core(&self) -> impl Fn(kinko_core::Error) -> ApiError + 'a {
        let request_id = self.info.request_id.as_str();
        move |e| super::errors::from_core(e, request_id)
    }

    /// The request's audit details (for a record made after its change).
    pub(crate) fn info(&self) -> &'a RequestInfo {
        self.info
    }

    /// The record of this request's change (committed with it).
    pub(crate) fn record(&self, _secret: &Secret) -> AuditDraft {
        self.info.draft(&Recorded {
            key: None,
            source_key: None,
            response_elements: None,
            error: None,
        })
    }

    /// Records one KMS call made for the caller.
    pub(crate) fn via(&self, call: ViaCall<'_>) {
        let draft = super::via::record(self.info, &call);
        if let Ok(mut records) = self.records.lock() {
            records.push(draft);
        }
    }

    /// The record of an AWS managed key made on first use.
    pub(crate) fn event(&self, event: ServiceEvent, key: &Key) -> AuditDraft {
        crate::jobs::service_event_for(
            event,
            key,
            self.kms.clock().now(),
            Some(crate::util::new_uuid()),
        )
    }
}

/// Builds the hooks the core's secret operations take from `call`.
macro_rules! secrets_audit {
    ($call:expr) => {
        kinko_core::SecretsAudit {
            change: &|s| $call.record(s),
            via: &|c| $call.via(c),
            events: &|e, k| $call.event(e, k),
        }
    };
}
pub(crate) use secrets_audit;

/// Parses `body` into the operation's typed request, records its parameters, adds its
/// condition keys to the caller and runs `handler`.
pub(crate) async fn serve<'a, R, H, F>(request: Request<'a>, body: &'a [u8], handler: H) -> Reply
where
    R: SmRequest,
    H: FnOnce(Call<'a>, R) -> F,
    F: Future<Output = Reply>,
{
    let typed: R = crate::json::decode(body)?;
    if !crate::json::is_blank(body) {
        request.info.request_parameters = crate::audit::request_parameters(&typed, &[]);
    }
    // After authentication and parsing (the record shows the parameters), before any work: a
    // throttled request changes nothing.
    request.quotas.admit_secrets(request.op, &request.caller)?;
    let mut facts = kinko_core::RequestFacts {
        source_ip: request.info.source_ip.parse().ok(),
        secure_transport: request.info.secure_transport,
        ..Default::default()
    };
    typed.facts(&mut facts.keys);
    let info: &'a RequestInfo = request.info;
    let call = Call {
        kms: request.kms,
        rotation_functions: request.rotation_functions,
        caller: request.caller.with_facts(facts),
        info,
        records: request.records,
    };
    handler(call, typed).await
}

/// A JSON response body.
pub(crate) fn body(value: &impl Serialize) -> Reply {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "serializing a response");
        ApiError::new(
            kinko_api::ErrorCode::InternalServiceError,
            "An internal error occurred; retry the request.",
        )
    })
}

/// `InvalidParameterException` for a missing or malformed member.
pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(kinko_api::ErrorCode::InvalidParameterException, message)
}

/// A required member.
pub(crate) fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| invalid(format!("You must provide a value for {name}.")))
}
