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
mod multi_region;
mod op;
mod policies;
mod rotation;
mod signing;
mod tags;
mod unsupported;

use kinko_api::ErrorCode;

pub(crate) use self::op::{Descriptor, KmsRequest, Reply, Request, SYMMETRIC_DEFAULT};
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
    multi_region::OPERATIONS,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_descriptor() {
        let names: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|f| f.iter())
            .map(|d| d.name)
            .collect();
        // The KMS model (botocore 1.44.8) has 56 operations.
        assert_eq!(names.len(), 56);
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "a name is described twice");
        for name in names {
            assert_eq!(lookup(name).map(|d| d.name), Some(name));
        }
        assert!(lookup("NoSuchOperation").is_none());
    }

    #[test]
    fn the_hot_path_is_found_first_and_reads_only() {
        for name in ["Encrypt", "Decrypt", "GenerateDataKey"] {
            let position = FAMILIES
                .iter()
                .flat_map(|f| f.iter())
                .position(|d| d.name == name);
            assert!(position.is_some_and(|p| p < 6), "{name}");
            assert!(lookup(name).is_some_and(|d| !d.mutates && d.run.is_some()));
        }
        assert!(lookup("CreateCustomKeyStore").is_some_and(|d| d.run.is_none()));
    }
}
