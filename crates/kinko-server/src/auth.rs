//! SigV4 authentication of every request: parse the Authorization header, find the access key,
//! derive (or reuse) the signing key, verify. The signing key is cached per (access key, date,
//! region, service), so the hot path does no database read and no HMAC chain.
//!
//! Temporary credentials (`ASIA…` with `X-Amz-Security-Token`) authenticate while their session
//! lasts: the cached entry keeps the token's SHA-256 (compared in constant time on every hit) and
//! the expiry (checked on every hit against the service clock). A long-term key's entry is
//! rechecked against the store every [`RECHECK_MS`], and dropped at once when this node
//! deactivates or deletes the key, so a key made inactive stops working within seconds on every
//! node.

use std::collections::HashMap;
use std::sync::RwLock;

use kinko_api::ErrorCode;
use kinko_core::{
    AccessKeyId, AccountId, Caller, Kms, Principal, Region, SessionCheck, UnixMillis,
};
use kinko_crypto::{constant_time_eq, sha256};
use kinko_sigv4::SigningKey;

use crate::errors::ApiError;

const MAX_CACHED: usize = 10_000;
/// How long a long-term key's cached entry is trusted before the key's status is read again.
pub const RECHECK_MS: i64 = 5_000;

#[derive(Clone)]
struct Entry {
    key: SigningKey,
    account: AccountId,
    /// Parsed once, when the key is looked up.
    principal: Principal,
    /// Temporary credentials: SHA-256 of the session token, the expiry, and the unique id of the
    /// role that issued them.
    session: Option<([u8; 32], UnixMillis, String)>,
    /// When the key's status was last read (long-term keys).
    checked_at: UnixMillis,
}

fn invalid_token() -> ApiError {
    ApiError::new(
        ErrorCode::UnrecognizedClientException,
        "The security token included in the request is invalid.",
    )
}

fn expired_token() -> ApiError {
    ApiError::new(
        ErrorCode::ExpiredTokenException,
        "The security token included in the request is expired",
    )
}

/// The principal a stored credential names, typed once here for everything after
/// authentication; a credential whose principal is not one of its account's cannot sign.
fn principal_of(account: &AccountId, arn: &str) -> Result<Principal, ApiError> {
    Principal::parse(arn)
        .filter(|p| p.account() == account)
        .ok_or_else(invalid_token)
}

type CacheKey = (String, String, String, String);

/// The signing-key cache.
#[derive(Default)]
pub struct Authenticator {
    cache: RwLock<HashMap<CacheKey, Entry>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.cache.read().map(|c| c.len()).unwrap_or(0);
        write!(f, "Authenticator({n} cached signing keys)")
    }
}

fn sigv4_error(e: kinko_sigv4::Error) -> ApiError {
    let code = match &e {
        kinko_sigv4::Error::Missing => ErrorCode::MissingAuthenticationTokenException,
        kinko_sigv4::Error::Incomplete(_) => ErrorCode::IncompleteSignatureException,
        kinko_sigv4::Error::InvalidSignature(_) => ErrorCode::InvalidSignatureException,
    };
    ApiError::new(code, e.message())
}

impl Authenticator {
    /// Authenticates `req` for `service` and returns the caller and its access key id. On failure
    /// the error comes with the access key id the request claimed, when it named one.
    pub async fn authenticate(
        &self,
        kms: &Kms,
        req: &kinko_sigv4::Request<'_>,
        service: &str,
        now: i64,
    ) -> Result<(Caller, String), (ApiError, Option<String>)> {
        let parsed = kinko_sigv4::parse(req).map_err(|e| (sigv4_error(e), None))?;
        let claimed = parsed.access_key_id.to_owned();
        self.authenticate_parsed(kms, req, &parsed, service, now)
            .await
            .map(|caller| (caller, claimed.clone()))
            .map_err(|e| (e, Some(claimed)))
    }

    async fn authenticate_parsed(
        &self,
        kms: &Kms,
        req: &kinko_sigv4::Request<'_>,
        parsed: &kinko_sigv4::Parsed<'_>,
        service: &str,
        now: i64,
    ) -> Result<Caller, ApiError> {
        if parsed.service != service {
            return Err(ApiError::new(
                ErrorCode::InvalidSignatureException,
                format!("Credential should be scoped to correct service: '{service}'. "),
            ));
        }
        let region = Region::parse(parsed.region).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidSignatureException,
                format!(
                    "Credential should be scoped to a valid region, not '{}'. ",
                    parsed.region
                ),
            )
        })?;
        let unsigned_payload = req.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("x-amz-content-sha256")
                && value.eq_ignore_ascii_case(b"UNSIGNED-PAYLOAD")
        });
        if unsigned_payload {
            return Err(ApiError::new(
                ErrorCode::InvalidSignatureException,
                "UNSIGNED-PAYLOAD is not accepted: the request body must be covered by the signature.",
            ));
        }
        let token = parsed.security_token;
        let cache_key: CacheKey = (
            parsed.access_key_id.to_owned(),
            parsed.date.to_owned(),
            parsed.region.to_owned(),
            parsed.service.to_owned(),
        );
        let service_now = kms.clock().now();
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned());
        let cached = match cached {
            Some(e) => {
                self.still_valid(kms, &cache_key, e, token, service_now)
                    .await?
            }
            None => None,
        };
        let entry = match cached {
            Some(e) => e,
            None => {
                let id = AccessKeyId::parse(parsed.access_key_id).ok_or_else(invalid_token)?;
                let entry = match token {
                    Some(token) => {
                        match kms
                            .session_credentials(&id, token.as_bytes())
                            .await
                            .map_err(|e| crate::errors::from_core(e, ""))?
                        {
                            SessionCheck::Invalid => return Err(invalid_token()),
                            SessionCheck::Expired => return Err(expired_token()),
                            SessionCheck::Valid(session, secret) => Entry {
                                key: SigningKey::derive(
                                    secret.expose(),
                                    parsed.date,
                                    parsed.region,
                                    parsed.service,
                                ),
                                principal: principal_of(&session.account, &session.principal_arn)?,
                                account: session.account.clone(),
                                session: Some((
                                    session.token_hash,
                                    session.expires_at,
                                    session.role_id.clone(),
                                )),
                                checked_at: service_now,
                            },
                        }
                    }
                    None => {
                        let (record, secret) = kms
                            .access_key_secret(&id)
                            .await
                            .map_err(|e| crate::errors::from_core(e, ""))?
                            .ok_or_else(invalid_token)?;
                        Entry {
                            key: SigningKey::derive(
                                secret.expose(),
                                parsed.date,
                                parsed.region,
                                parsed.service,
                            ),
                            principal: principal_of(&record.account, &record.principal_arn)?,
                            account: record.account,
                            session: None,
                            checked_at: service_now,
                        }
                    }
                };
                if let Ok(mut c) = self.cache.write() {
                    if c.len() >= MAX_CACHED {
                        c.clear();
                    }
                    c.insert(cache_key, entry.clone());
                }
                entry
            }
        };
        kinko_sigv4::verify(req, parsed, &entry.key, now).map_err(sigv4_error)?;
        if let Some((_, _, role_id)) = &entry.session {
            // A session belongs to the role that issued it, by unique id: once that role is
            // deleted (even if another role takes its name), its sessions stop working.
            let current = kms
                .session_role_is_current(&entry.principal.arn(), role_id)
                .await
                .map_err(|e| crate::errors::from_core(e, ""))?;
            if !current {
                self.forget(parsed.access_key_id);
                return Err(invalid_token());
            }
        }
        Ok(Caller::new(entry.account, region, entry.principal))
    }

    /// Checks a cached entry against the request's token and the clock. `Ok(None)`: not
    /// usable from the cache, look the key up again.
    async fn still_valid(
        &self,
        kms: &Kms,
        cache_key: &CacheKey,
        mut entry: Entry,
        token: Option<&str>,
        now: UnixMillis,
    ) -> Result<Option<Entry>, ApiError> {
        match (&entry.session, token) {
            (Some((hash, expires_at, _)), Some(token)) => {
                if !constant_time_eq(&sha256(token.as_bytes()), hash) {
                    return Ok(None);
                }
                if now >= *expires_at {
                    self.forget(&cache_key.0);
                    return Err(expired_token());
                }
                Ok(Some(entry))
            }
            (None, None) => {
                if now.0.saturating_sub(entry.checked_at.0) < RECHECK_MS
                    && now.0 >= entry.checked_at.0
                {
                    return Ok(Some(entry));
                }
                let id = AccessKeyId::parse(&cache_key.0).ok_or_else(invalid_token)?;
                let active = kms
                    .access_key_active(&id)
                    .await
                    .map_err(|e| crate::errors::from_core(e, ""))?;
                if !active {
                    self.forget(&cache_key.0);
                    return Err(invalid_token());
                }
                entry.checked_at = now;
                if let Ok(mut c) = self.cache.write() {
                    c.insert(cache_key.clone(), entry.clone());
                }
                Ok(Some(entry))
            }
            // A token sent with a long-term key, or none with a session key.
            _ => Err(invalid_token()),
        }
    }

    /// Drops every cached signing key of an access key (deactivated or deleted on this node).
    pub fn forget(&self, access_key_id: &str) {
        if let Ok(mut c) = self.cache.write() {
            c.retain(|k, _| k.0 != access_key_id);
        }
    }
}
