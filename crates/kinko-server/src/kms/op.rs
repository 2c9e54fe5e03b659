//! What a KMS operation is: its [`Descriptor`] (the data every part of the server derives from),
//! the typed request it parses ([`KmsRequest`]) and the [`Call`] its handler works with. The
//! family files hold one descriptor and one handler per operation; this file holds what they
//! share, and imports none of them.

use std::future::Future;
use std::pin::Pin;

use kinko_api::{Blob, ErrorCode};
use kinko_core::{AuditDraft, Caller, Key, Kms};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::audit::{Recorded, RequestInfo, Touched};
use crate::errors::{ApiError, from_core};
use crate::facts::Parameters;

/// What a handler answers: the JSON response body, or the error.
pub(crate) type Reply = Result<Vec<u8>, ApiError>;

/// Runs one operation on a request body (see [`serve`]).
pub(crate) type Run =
    for<'a> fn(Request<'a>, &'a [u8]) -> Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// Everything the server knows about one KMS operation. What its audit record leaves out is
/// marked on its request type (`#[serde(skip_serializing)]` in `kinko-api`), and the condition
/// keys it carries are its request type's [`KmsRequest::facts`].
#[derive(Debug)]
pub(crate) struct Descriptor {
    /// The operation name (`X-Amz-Target` suffix, `eventName`); its IAM action is `kms:<name>`.
    pub name: &'static str,
    /// Whether it changes state: `readOnly: false`, and the record of a success commits in the
    /// change's own transaction.
    pub mutates: bool,
    /// Request parameters the record shows when the request leaves them out (the default AWS
    /// applies).
    pub audit_defaults: &'static [(&'static str, &'static str)],
    /// The `responseElements` of the record of a success, from the key it changed.
    pub response_elements: Option<fn(&Key) -> Option<serde_json::Value>>,
    /// The handler; `None` for an operation of the model Kinko does not serve.
    pub run: Option<Run>,
}

impl Descriptor {
    /// An operation that changes nothing.
    pub(crate) const fn reads(name: &'static str, run: Run) -> Descriptor {
        Descriptor {
            name,
            mutates: false,
            audit_defaults: &[],
            response_elements: None,
            run: Some(run),
        }
    }

    /// An operation that changes state.
    pub(crate) const fn changes(name: &'static str, run: Run) -> Descriptor {
        Descriptor {
            mutates: true,
            ..Descriptor::reads(name, run)
        }
    }

    /// An operation of the model that Kinko does not serve.
    pub(crate) const fn unsupported(name: &'static str, mutates: bool) -> Descriptor {
        Descriptor {
            name,
            mutates,
            audit_defaults: &[],
            response_elements: None,
            run: None,
        }
    }

    /// The same operation, recording `defaults` for parameters the request leaves out.
    pub(crate) const fn recording(self, defaults: &'static [(&'static str, &'static str)]) -> Self {
        Descriptor {
            audit_defaults: defaults,
            ..self
        }
    }

    /// The same operation, recording `responseElements` from the key it changed.
    pub(crate) const fn responding(self, elements: fn(&Key) -> Option<serde_json::Value>) -> Self {
        Descriptor {
            response_elements: Some(elements),
            ..self
        }
    }
}

/// Encrypt's and Decrypt's recorded default algorithm.
pub(crate) const SYMMETRIC_DEFAULT: &[(&str, &str)] =
    &[("encryptionAlgorithm", "SYMMETRIC_DEFAULT")];

/// The [`Run`] of a handler: parse with [`serve`], then call it.
macro_rules! handler {
    ($f:path) => {
        |request, body| Box::pin($crate::kms::op::serve(request, body, $f))
    };
}
pub(crate) use handler;

/// A typed KMS request: parsed from the body, serialized for the audit record, and read for the
/// policy condition keys it carries (none unless the operation says so).
pub(crate) trait KmsRequest: DeserializeOwned + Serialize + Send {
    /// The members that feed condition keys.
    fn facts(&self) -> Parameters<'_> {
        Parameters::default()
    }

    /// Whether the request asks for a dry run (`DryRun: true`, in the operations whose model
    /// has it).
    fn dry_run(&self) -> bool {
        false
    }
}

/// One request on its way to an operation's handler.
pub(crate) struct Request<'a> {
    /// The service.
    pub kms: &'a Kms,
    /// The request quotas the operation counts against, charged once the request is parsed.
    pub quotas: &'a crate::quota::Quotas,
    /// The authenticated caller (the request's condition keys are added once it is parsed).
    pub caller: Caller,
    /// The request as the audit records it; [`serve`] fills in its parameters.
    pub info: &'a mut RequestInfo,
    /// The keys the request concerned, as the handler learns them.
    pub seen: &'a mut Touched,
    /// The operation.
    pub op: &'static Descriptor,
}

/// What a handler works with.
pub(crate) struct Call<'a> {
    /// The service.
    pub kms: &'a Kms,
    /// The caller, with the request's condition keys.
    pub caller: Caller,
    /// The keys the request concerned.
    pub seen: &'a mut Touched,
    info: &'a RequestInfo,
    op: &'static Descriptor,
}

impl<'a> Call<'a> {
    /// Maps a core error to the wire.
    pub(crate) fn core(&self) -> impl Fn(kinko_core::Error) -> ApiError + 'a {
        let request_id = self.info.request_id.as_str();
        move |e| from_core(e, request_id)
    }

    /// Builds the record of a successful change from the key it changed (the core commits it
    /// with the change).
    pub(crate) fn audit(&self) -> impl Fn(&Key) -> AuditDraft + Send + Sync + 'a {
        let (info, op) = (self.info, self.op);
        move |key| {
            info.draft(&Recorded {
                key: Some(&key.arn),
                source_key: None,
                response_elements: op.response_elements.and_then(|f| f(key)),
                error: None,
            })
        }
    }
}

/// Parses `body` once into the operation's typed request, records its parameters, adds its
/// condition keys to the caller and runs `handler`.
pub(crate) async fn serve<'a, R, H, F>(request: Request<'a>, body: &'a [u8], handler: H) -> Reply
where
    R: KmsRequest,
    H: FnOnce(Call<'a>, R) -> F,
    F: Future<Output = Reply>,
{
    let typed: R = crate::json::decode(body)?;
    // An empty body reads as `{}` but records no parameters, as it carried none.
    if !crate::json::is_blank(body) {
        request.info.request_parameters =
            crate::audit::request_parameters(&typed, request.op.audit_defaults);
    }
    let parameters = typed.facts();
    // After authentication and parsing (the record shows the parameters), before any work:
    // a throttled request changes nothing.
    request
        .quotas
        .admit(request.op.name, &parameters, &request.caller)?;
    let mut facts = crate::facts::kms_request(&parameters, request.info.source_ip.parse().ok());
    facts.secure_transport = request.info.secure_transport;
    let dry_run = typed.dry_run();
    facts.dry_run = dry_run;
    let info: &'a RequestInfo = request.info;
    let call = Call {
        kms: request.kms,
        caller: request.caller.with_facts(facts),
        seen: request.seen,
        info,
        op: request.op,
    };
    let reply = handler(call, typed).await;
    if !dry_run {
        return reply;
    }
    // A dry run that passed validation, authorization and the key's checks answers that it
    // would have succeeded; operations that change state stop in the core before the change,
    // and the cryptographic ones throw their result away here.
    match reply {
        Ok(body) => {
            drop(kinko_crypto::SecretBytes::new(body));
            Err(ApiError::new(
                ErrorCode::DryRunOperationException,
                kinko_core::Error::DryRun.to_string(),
            ))
        }
        Err(e) => Err(e),
    }
}

/// Overwrites a plaintext blob once it has been serialized.
pub(crate) fn wipe_blob(blob: Option<Blob>) {
    if let Some(mut b) = blob {
        let secret = kinko_crypto::SecretBytes::new(std::mem::take(&mut b.0));
        drop(secret);
    }
}
