//! The AWS Query protocol that IAM and STS speak (no `X-Amz-Target`; the SigV4 credential
//! scope's service tells them apart): form-encoded requests ([`form`]), XML responses and errors
//! ([`xml`]), and the two services' actions ([`iam`], [`sts`]).

mod form;
pub mod iam;
pub mod sts;
mod xml;

use kinko_core::Caller;

pub use self::form::Params;
pub use self::iam::QueryOutcome;
pub use self::xml::{error_response, ok_response, to_query_error};
use crate::audit::RequestInfo;
use crate::state::AppState;

/// Request members that never reach an audit record, whatever the action.
pub const REDACTED: &[&str] = &[
    "Password",
    "SecretAccessKey",
    "SessionToken",
    "NewPassword",
    "OldPassword",
];

/// Whether `action` of `service` (`iam` or `sts`) changes state (`readOnly: false`).
pub fn mutates(service: &str, action: &str) -> bool {
    service == "iam" && iam::mutates(action)
}

/// Serves one action of `service` (`iam` or `sts`).
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    service: &str,
    action: &str,
    params: &Params,
    info: &RequestInfo,
) -> QueryOutcome {
    if service == "iam" {
        iam::dispatch(state, caller, action, params, info).await
    } else {
        sts::dispatch(state, caller, action, params, info).await
    }
}
