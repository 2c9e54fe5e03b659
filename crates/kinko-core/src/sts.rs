//! The STS operations: GetCallerIdentity (always allowed), AssumeRole (the role's trust policy
//! decides), and the check of temporary credentials that SigV4 verification makes.

use kinko_crypto::{constant_time_eq, random_array, random_secret, sha256};
use kinko_policy::{Decision, PolicyKind, RequestContext};

use crate::aad::access_key_aad;
use crate::actions::Action;
use crate::bootstrap;
use crate::identity::{is_name_char, parse_policy};
use crate::{
    AccessKeyId, AuditDraft, Caller, DEFAULT_SESSION_SECONDS, Error, IamRole, Kms,
    MIN_SESSION_SECONDS, NewSession, Principal, Session, SessionCheck, UnixMillis,
};

impl Kms {
    /// GetCallerIdentity's `UserId`: the account for its root, `AIDA…` for a user,
    /// `AROA…:<session>` for a role session. Anyone may ask who they are.
    pub async fn caller_user_id(&self, caller: &Caller) -> Result<String, Error> {
        if caller.is_root() {
            return Ok(caller.account.as_str().to_owned());
        }
        if let Some(user) = self.calling_user(caller).await? {
            return Ok(user.id);
        }
        if let Principal::AssumedRole {
            account,
            role,
            session,
        } = &caller.principal
            && *account == caller.account
            && let Ok(r) = self.find::<IamRole>(&caller.account, role).await
        {
            return Ok(format!("{}:{session}", r.id));
        }
        Ok(caller.account.as_str().to_owned())
    }

    /// AssumeRole: the role's trust policy must allow `sts:AssumeRole` to the caller (directly,
    /// or by naming the caller's account, in which case the caller's identity policies must
    /// allow it too).
    pub async fn assume_role(
        &self,
        caller: &Caller,
        role_arn: &str,
        session_name: &str,
        duration_seconds: Option<u32>,
        audit: &AuditDraft,
    ) -> Result<NewSession, Error> {
        let name_ok =
            (2..=64).contains(&session_name.len()) && session_name.chars().all(is_name_char);
        if !name_ok {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match [\\w+=,.@-]*"
            )));
        }
        let denied = || {
            Error::AccessDenied(format!(
                "User: {} is not authorized to perform: {} on resource: {role_arn}",
                caller.principal,
                Action::StsAssumeRole
            ))
        };
        let prefix = format!("arn:aws:iam::{}:role/", caller.account);
        let Some(rest) = role_arn.strip_prefix(&prefix) else {
            return Err(denied());
        };
        let role_name = rest.rsplit('/').next().unwrap_or(rest);
        let role = match self
            .store()
            .get_iam_role(&caller.account, role_name)
            .await?
        {
            Some(r) if r.arn == role_arn => r,
            _ => return Err(denied()),
        };
        let duration = duration_seconds.unwrap_or(DEFAULT_SESSION_SECONDS);
        if duration < MIN_SESSION_SECONDS || duration > role.max_session_duration {
            return Err(Error::Validation(format!(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below {MIN_SESSION_SECONDS}."
            )));
        }
        let identity = self
            .principal_identity(&caller.principal.arn())
            .await?
            .ok_or_else(denied)?;
        let trust = parse_policy(&role.trust_policy, PolicyKind::Trust)?;
        let mut ctx = RequestContext::new(
            identity.request_principal(),
            Action::StsAssumeRole.as_str(),
            &role.arn,
        );
        crate::identity::transport_keys(&mut ctx, &caller.facts);
        let evaluation = trust.evaluate(&ctx);
        let allowed = match evaluation.decision {
            Decision::ExplicitDeny => false,
            Decision::Allow => true,
            Decision::NotApplicable => {
                evaluation.account_delegation.is_some()
                    && identity.allows_request(
                        Action::StsAssumeRole.as_str(),
                        &role.arn,
                        &caller.facts,
                    )
            }
        };
        if !allowed {
            return Err(denied());
        }
        let id_text = {
            let random = random_array::<16>()?;
            let mut s = String::from("ASIA");
            s.extend(random.iter().map(|b| bootstrap::base32_char(*b)));
            s
        };
        let id = AccessKeyId::parse(&id_text)
            .ok_or_else(|| Error::Internal("session key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let session_token = bootstrap::secret_access_key(&random_secret(128)?);
        let now = self.clock().now();
        let expires_at = UnixMillis(now.0.saturating_add(i64::from(duration) * 1000));
        let principal_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            caller.account, role.name
        );
        let session = Session {
            access_key_id: id.clone(),
            account: caller.account.clone(),
            principal_arn: principal_arn.clone(),
            role_arn: role.arn.clone(),
            role_id: role.id.clone(),
            wrapped_secret: self.root().wrap(&secret, access_key_aad(&id).as_bytes())?,
            root_id: self.root().id(),
            token_hash: sha256(session_token.expose()),
            created_at: now,
            expires_at,
        };
        self.store()
            .create_session(&session, self.append(audit))
            .await?;
        Ok(NewSession {
            access_key_id: id,
            secret,
            session_token,
            expires_at,
            assumed_role_arn: principal_arn,
            assumed_role_id: format!("{}:{session_name}", role.id),
        })
    }

    /// Checks temporary credentials for SigV4: the token's hash must match (constant time)
    /// and the session must not have expired.
    pub async fn session_credentials(
        &self,
        id: &AccessKeyId,
        token: &[u8],
    ) -> Result<SessionCheck, Error> {
        let Some(session) = self.store().get_session(id).await? else {
            return Ok(SessionCheck::Invalid);
        };
        if !constant_time_eq(&sha256(token), &session.token_hash) {
            return Ok(SessionCheck::Invalid);
        }
        if self.clock().now() >= session.expires_at {
            return Ok(SessionCheck::Expired);
        }
        let secret = self
            .root()
            .unwrap(&session.wrapped_secret, access_key_aad(id).as_bytes())
            .map_err(|e| {
                Error::failed(
                    format!("session key {id} does not unwrap under the root key"),
                    e,
                )
            })?;
        Ok(SessionCheck::Valid(Box::new(session), secret))
    }
}
