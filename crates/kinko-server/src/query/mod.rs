//! The AWS Query protocol that IAM and STS speak (no `X-Amz-Target`; the SigV4 credential
//! scope's service tells them apart): form-encoded requests ([`form`]), XML responses and errors
//! ([`xml`]), and the two services' actions as data ([`op`]: one descriptor and one handler per
//! action, by family in [`iam`] and in [`sts`]). Routing and the audit record's `readOnly`
//! follow from the descriptors; the authorization is the core operations' own.

mod errors;
mod form;
pub mod iam;
mod op;
pub mod sts;
mod xml;

use kinko_api::ErrorCode;
use kinko_core::Caller;

pub use self::form::Params;
pub use self::op::QueryOutcome;
use self::op::{Call, Descriptor};
use self::xml::success_body;
pub use self::xml::{error_response, ok_response, to_query_error};
use crate::audit::RequestInfo;
use crate::errors::ApiError;
use crate::state::AppState;

/// Request members that never reach an audit record, whatever the action.
pub const REDACTED: &[&str] = &[
    "Password",
    "SecretAccessKey",
    "SessionToken",
    "NewPassword",
    "OldPassword",
];

/// The descriptor of `action` of `service` (`iam` or `sts`), if Kinko serves it.
fn lookup(service: &str, action: &str) -> Option<&'static Descriptor> {
    if service == "iam" {
        iam::lookup(action)
    } else {
        sts::lookup(action)
    }
}

/// Whether `action` of `service` (`iam` or `sts`) changes state (`readOnly: false`).
pub fn mutates(service: &str, action: &str) -> bool {
    lookup(service, action).is_some_and(|d| d.mutates)
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
    let (namespace, version) = if service == "iam" {
        (iam::NAMESPACE, iam::VERSION)
    } else {
        (sts::NAMESPACE, sts::VERSION)
    };
    let Some(op) = lookup(service, action) else {
        return QueryOutcome {
            result: Err(ApiError::new(
                ErrorCode::InvalidAction,
                format!("Could not find operation {action} for version {version}"),
            )),
            committed: false,
        };
    };
    let call = Call {
        state,
        caller,
        params,
        info,
    };
    let result = (op.run)(call).await;
    QueryOutcome {
        committed: result.is_ok() && op.commits,
        result: result.map(|xml| success_body(namespace, op.name, xml, &info.request_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_descriptor_naming_its_policy_action() {
        let all: Vec<(&str, &Descriptor)> = iam::operations()
            .map(|d| ("iam", d))
            .chain(sts::OPERATIONS.iter().map(|d| ("sts", d)))
            .collect();
        for (i, (service, d)) in all.iter().enumerate() {
            let found = lookup(service, d.name).expect("found by its name");
            assert_eq!(
                (found.action, found.mutates, found.commits),
                (d.action, d.mutates, d.commits)
            );
            assert!(
                all[..i]
                    .iter()
                    .all(|(s, e)| s != service || e.name != d.name)
            );
            if let Some(action) = d.action {
                assert_eq!(action.as_str(), format!("{service}:{}", d.name));
            }
            // Whatever changes state commits its record with the change.
            assert!(!d.mutates || d.commits, "{}", d.name);
        }
        // Every `iam:` action Kinko authorizes is served, by exactly one descriptor.
        let iam_actions = kinko_core::Action::ALL
            .iter()
            .filter(|a| a.as_str().starts_with("iam:"));
        for action in iam_actions {
            let served = iam::operations().filter(|d| d.action == Some(*action));
            assert_eq!(served.count(), 1, "{action}");
        }
        assert!(mutates("iam", "CreateUser"));
        assert!(!mutates("iam", "GetUser"));
        assert!(!mutates("sts", "AssumeRole"));
        assert!(lookup("sts", "AssumeRole").is_some_and(|d| d.commits));
        assert!(lookup("iam", "CreateKey").is_none());
    }
}
