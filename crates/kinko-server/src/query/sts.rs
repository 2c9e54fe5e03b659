//! The STS subset Kinko serves (AWS Query protocol, SigV4 service `sts`): GetCallerIdentity
//! (always allowed) and AssumeRole (the role's trust policy decides, in `kinko-core`).

use kinko_api::ErrorCode;
use kinko_core::{Caller, Error};

use super::form::Params;
use super::iam::{QueryOutcome, from_core};
use super::xml::{Xml, date, success_body};
use crate::audit::{Recorded, RequestInfo};
use crate::errors::ApiError;
use crate::state::AppState;

/// The STS XML namespace.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Serves one STS action.
pub async fn dispatch(
    state: &AppState,
    caller: &Caller,
    action: &str,
    params: &Params,
    info: &RequestInfo,
) -> QueryOutcome {
    let result = serve(state, caller, action, params, info).await;
    // AssumeRole stores the session with its record.
    let committed = result.is_ok() && action == "AssumeRole";
    QueryOutcome {
        result: result.map(|xml| success_body(NAMESPACE, action, Some(xml), &info.request_id)),
        committed,
    }
}

async fn serve(
    state: &AppState,
    caller: &Caller,
    action: &str,
    params: &Params,
    info: &RequestInfo,
) -> Result<Xml, ApiError> {
    let kms = &state.kms;
    let rid = info.request_id.as_str();
    let core = |e: Error| from_core(e, rid);
    match action {
        "GetCallerIdentity" => {
            let user_id = caller_user_id(state, caller).await.map_err(core)?;
            let mut x = Xml::new();
            x.text("UserId", &user_id)
                .text("Account", caller.account.as_str())
                .text("Arn", &caller.principal_arn);
            Ok(x)
        }
        "AssumeRole" => {
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
            let draft = info.draft(&Recorded::default());
            let session = kms
                .assume_role(caller, role_arn, session_name, duration, &draft)
                .await
                .map_err(core)?;
            // Borrowed from the zeroizing buffers: the response body is the one copy.
            let not_utf8 = || core(Error::Internal("credential is not UTF-8".into()));
            let secret = std::str::from_utf8(session.secret.expose()).map_err(|_| not_utf8())?;
            let token =
                std::str::from_utf8(session.session_token.expose()).map_err(|_| not_utf8())?;
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
            Ok(x)
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

/// GetCallerIdentity's `UserId`: the account for root, `AIDA…` for a user, `AROA…:<session>`
/// for a role session.
async fn caller_user_id(state: &AppState, caller: &Caller) -> Result<String, Error> {
    if caller.is_root() {
        return Ok(caller.account.as_str().to_owned());
    }
    if let Some(user) = state.kms.calling_user(caller).await? {
        return Ok(user.id);
    }
    let prefix = format!("arn:aws:sts::{}:assumed-role/", caller.account);
    if let Some(rest) = caller.principal_arn.strip_prefix(&prefix)
        && let Some((role, session)) = rest.split_once('/')
        && let Ok(r) = state.kms.get_role(caller, role).await
    {
        return Ok(format!("{}:{session}", r.id));
    }
    Ok(caller.account.as_str().to_owned())
}
