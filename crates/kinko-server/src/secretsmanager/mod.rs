//! The Secrets Manager JSON 1.1 protocol (`X-Amz-Target: secretsmanager.<Op>`, SigV4 service
//! `secretsmanager`) on the same endpoint as KMS: operations as data, like `kms/`. Each
//! operation has one [`Descriptor`] beside its handler (`values` for the operations that read or
//! write a secret's value, `policy` for its resource policy, `rotation` for RotateSecret and
//! CancelRotateSecret (`rotation_client` POSTs the rotation steps), `admin` for the rest, `unsupported` for the model's operations Kinko
//! does not serve); `op` parses the typed request once, records its parameters (never a secret
//! value) and adds its condition keys; `errors` maps the core's errors to Secrets Manager's
//! codes; `via` records each KMS call the service made for the caller.

mod admin;
mod convert;
mod errors;
mod op;
mod policy;
mod rotation;
mod rotation_client;
mod unsupported;
mod values;
mod via;

use kinko_api::ErrorCode;
use kinko_core::{AuditDraft, Caller};

pub(crate) use self::op::Descriptor;
pub(crate) use self::rotation::rotate_due;
use crate::audit::RequestInfo;
use crate::errors::ApiError;
use crate::state::AppState;

/// The `X-Amz-Target` prefix of Secrets Manager.
pub const TARGET_PREFIX: &str = "secretsmanager.";

/// The audit `eventSource` of Secrets Manager.
pub const EVENT_SOURCE: &str = "secretsmanager.amazonaws.com";

const FAMILIES: &[&[Descriptor]] = &[
    values::OPERATIONS,
    admin::OPERATIONS,
    policy::OPERATIONS,
    rotation::OPERATIONS,
    unsupported::OPERATIONS,
];

/// The descriptor of operation `name`, if the Secrets Manager model has it.
pub(crate) fn lookup(name: &str) -> Option<&'static Descriptor> {
    FAMILIES
        .iter()
        .flat_map(|f| f.iter())
        .find(|d| d.name == name)
}

/// What serving one Secrets Manager request produced.
pub(crate) struct Outcome {
    /// The response body or error.
    pub result: Result<Vec<u8>, ApiError>,
    /// The record of a successful change was committed with it.
    pub committed: bool,
    /// The records of the KMS calls made for the caller, and of an AWS managed key made on
    /// first use (already committed), to append.
    pub kms_records: Vec<AuditDraft>,
}

/// Runs operation `op` on `body` for `caller`.
pub(crate) async fn dispatch(
    state: &AppState,
    caller: Caller,
    op: &'static Descriptor,
    body: &[u8],
    info: &mut RequestInfo,
) -> Outcome {
    let Some(run) = op.run else {
        return Outcome {
            result: Err(ApiError::new(
                ErrorCode::UnsupportedOperationException,
                format!(
                    "{} is not supported by Kinko: Secrets Manager's replication operations are not implemented.",
                    op.name
                ),
            )),
            committed: false,
            kms_records: Vec::new(),
        };
    };
    let records = std::sync::Mutex::new(Vec::new());
    let result = run(
        op::Request {
            kms: &state.kms,
            rotation_functions: &state.rotation_functions,
            caller,
            info,
            records: &records,
            quotas: &state.quotas,
            op: op.name,
        },
        body,
    )
    .await;
    Outcome {
        committed: result.is_ok() && op.mutates,
        result,
        kms_records: records.into_inner().unwrap_or_default(),
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
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "a name is described twice");
        for name in ["CreateSecret", "GetSecretValue", "ReplicateSecretToRegions"] {
            assert!(lookup(name).is_some(), "{name}");
        }
        assert!(lookup("ReplicateSecretToRegions").is_some_and(|d| d.run.is_none()));
        assert!(lookup("NoSuchOperation").is_none());
    }
}
