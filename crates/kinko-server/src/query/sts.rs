//! The STS subset Kinko serves (AWS Query protocol, SigV4 service `sts`), as data: one
//! [`Descriptor`] and one handler per action. GetCallerIdentity is always allowed; AssumeRole is
//! decided by the role's trust policy, in `kinko-core`, and commits its record with the session.

use kinko_api::ErrorCode;
use kinko_core::{Action, Error};

use super::op::{Call, Descriptor, Reply, handler};
use super::xml::{Xml, date};
use crate::errors::ApiError;

/// The STS XML namespace.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The API version, as errors name it.
pub const VERSION: &str = "2011-06-15";

/// Every STS action Kinko serves.
pub(crate) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("GetCallerIdentity", None, handler!(get_caller_identity)),
    Descriptor::reads(
        "AssumeRole",
        Some(Action::StsAssumeRole),
        handler!(assume_role),
    )
    .committing(),
];

/// The descriptor of STS action `name`, if Kinko serves it.
pub(crate) fn lookup(name: &str) -> Option<&'static Descriptor> {
    OPERATIONS.iter().find(|d| d.name == name)
}

async fn get_caller_identity(cx: Call<'_>) -> Reply {
    let user_id = cx
        .state
        .kms
        .caller_user_id(cx.caller)
        .await
        .map_err(cx.core())?;
    let mut x = Xml::new();
    x.text("UserId", &user_id)
        .text("Account", cx.caller.account.as_str())
        .text("Arn", &cx.caller.principal.arn());
    Ok(Some(x))
}

async fn assume_role(cx: Call<'_>) -> Reply {
    let core = cx.core();
    let params = cx.params;
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    for unsupported in [
        "Policy",
        "PolicyArns.member.1.arn",
        "SerialNumber",
        "TokenCode",
    ] {
        if params.get(unsupported).is_some() {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("{unsupported} is not supported by Kinko yet."),
            ));
        }
    }
    let duration = params.int("DurationSeconds")?;
    let session = cx
        .state
        .kms
        .assume_role(cx.caller, role_arn, session_name, duration, &cx.draft())
        .await
        .map_err(&core)?;
    // Borrowed from the zeroizing buffers: the response body is the one copy.
    let not_utf8 = || core(Error::Internal("credential is not UTF-8".into()));
    let secret = std::str::from_utf8(session.secret.expose()).map_err(|_| not_utf8())?;
    let token = std::str::from_utf8(session.session_token.expose()).map_err(|_| not_utf8())?;
    let mut x = Xml::new();
    x.element("Credentials", |c| {
        c.text("AccessKeyId", session.access_key_id.as_str())
            .text("SecretAccessKey", secret)
            .text("SessionToken", token)
            .text("Expiration", &date(session.expires_at));
    })
    .element("AssumedRoleUser", |u| {
        u.text("AssumedRoleId", &session.assumed_role_id)
            .text("Arn", &session.assumed_role_arn);
    });
    Ok(Some(x))
}
