//! The KMS JSON 1.1 protocol (`X-Amz-Target: TrentService.<Op>`): operations as data.
//!
//! Every operation of the KMS model has one [`Descriptor`], kept beside its handler in the file of
//! its family (`keys`, `crypto`, `signing`, `asymmetric`, `rotation`, `import`, `aliases`, `tags`,
//! `grants`, `policies`; `unsupported` for the model's operations Kinko does not serve). Routing,
//! the audit record's `readOnly`, its request parameters and the policy condition keys all come
//! from the descriptor and the operation's typed request:
//!
//! 1. [`lookup`] finds the descriptor by name;
//! 2. [`op::serve`] parses the body once into the typed request (`kinko_api`), records its
//!    parameters for the audit (secret members are never serialized, unknown members were never
//!    read) and gives the caller the condition keys the request carries ([`KmsRequest`]);
//! 3. the handler converts the request, calls the core and converts the result.

mod aliases;
mod asymmetric;
mod crypto;
mod grants;
mod import;
mod keys;
mod op;
mod policies;
mod rotation;
mod signing;
mod tags;
mod unsupported;

use kinko_api::ErrorCode;

pub(crate) use self::op::{Descriptor, Reply, Request};
use crate::errors::ApiError;

/// The `X-Amz-Target` prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

/// Every family's operations.
const FAMILIES: &[&[Descriptor]] = &[
    crypto::OPERATIONS,
    keys::OPERATIONS,
    signing::OPERATIONS,
    asymmetric::OPERATIONS,
    aliases::OPERATIONS,
    grants::OPERATIONS,
    tags::OPERATIONS,
    policies::OPERATIONS,
    rotation::OPERATIONS,
    import::OPERATIONS,
    unsupported::OPERATIONS,
];

/// The descriptor of operation `name`, if the KMS model has it.
pub(crate) fn lookup(name: &str) -> Option<&'static Descriptor> {
    FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .find(|d| d.name == name)
}

/// `UnknownOperationException`.
pub fn unknown_operation() -> ApiError {
    ApiError::new(ErrorCode::UnknownOperationException, "")
}

/// Runs operation `op` (already looked up) on `request`.
pub(crate) async fn dispatch(request: Request<'_>, body: &[u8]) -> Reply {
    match request.op.run {
        Some(run) => run(request, body).await,
        None => Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{} is not supported by Kinko yet.", request.op.name),
        )),
    }
}
