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
use std::sync::{Arc, RwLock};

use kinko_api::ErrorCode;
use kinko_core::{
    AccessKeyId, AccountId, Caller, Kms, Principal, Region, SessionCheck, UnixMillis,
};
use kinko_crypto::{constant_time_eq, sha256};
use kinko_sigv4::SigningKey;

use crate::errors::ApiError;

/// Access keys with cached signing keys; past it the cache starts again empty.
const MAX_CACHED: usize = 10_000;
/// Scopes (date, region, service) cached per access key; past it the oldest goes.
const MAX_SCOPES: usize = 8;
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

/// One cached signing key: its scope and what the access key is.
struct Scoped {
    date: String,
    region: String,
    service: String,
    entry: Arc<Entry>,
}

impl Scoped {
    fn is(&self, date: &str, region: &str, service: &str) -> bool {
        self.date == date && self.region == region && self.service == service
    }
}

/// The signing-key cache: by access key id, then by scope. A hit is looked up with the request's
/// borrowed strings and shares the entry, so it allocates and copies nothing.
#[derive(Default)]
pub struct Authenticator {
    cache: RwLock<HashMap<String, Vec<Scoped>>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self
            .cache
            .read()
            .map(|c| c.values().map(Vec::len).sum::<usize>())
            .unwrap_or(0);
        write!(f, "Authenticator({n} cached signing keys)")
    }
}

/// Where a request's signing key is cached: access key id, date, region and service.
struct Scope<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
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
        match self
            .authenticate_parsed(kms, req, &parsed, service, now)
            .await
        {
            Ok(caller) => Ok((caller, claimed)),
            Err(e) => Err((e, Some(claimed))),
        }
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
        let cache_key = Scope {
            access_key_id: parsed.access_key_id,
            date: parsed.date,
            region: parsed.region,
            service: parsed.service,
        };
        let service_now = kms.clock().now();
        let cached = self.cached(&cache_key);
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
                            SessionCheck::Valid(session, secret) => Arc::new(Entry {
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
                            }),
                        }
                    }
                    None => {
                        let (record, secret) = kms
                            .access_key_secret(&id)
                            .await
                            .map_err(|e| crate::errors::from_core(e, ""))?
                            .ok_or_else(invalid_token)?;
                        Arc::new(Entry {
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
                        })
                    }
                };
                self.remember(&cache_key, entry.clone());
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
        Ok(Caller::new(
            entry.account.clone(),
            region,
            entry.principal.clone(),
        ))
    }

    /// The cached entry of `scope`, if any.
    fn cached(&self, scope: &Scope<'_>) -> Option<Arc<Entry>> {
        let cache = self.cache.read().ok()?;
        cache
            .get(scope.access_key_id)?
            .iter()
            .find(|s| s.is(scope.date, scope.region, scope.service))
            .map(|s| s.entry.clone())
    }

    /// Caches `entry` for `scope`, in place of what was cached for it (bounded: [`MAX_CACHED`]
    /// access keys, [`MAX_SCOPES`] scopes each).
    fn remember(&self, scope: &Scope<'_>, entry: Arc<Entry>) {
        let Ok(mut cache) = self.cache.write() else {
            return;
        };
        if cache.len() >= MAX_CACHED && !cache.contains_key(scope.access_key_id) {
            cache.clear();
        }
        let scopes = cache.entry(scope.access_key_id.to_owned()).or_default();
        scopes.retain(|s| !s.is(scope.date, scope.region, scope.service));
        if scopes.len() >= MAX_SCOPES {
            scopes.remove(0);
        }
        scopes.push(Scoped {
            date: scope.date.to_owned(),
            region: scope.region.to_owned(),
            service: scope.service.to_owned(),
            entry,
        });
    }

    /// Checks a cached entry against the request's token and the clock. `Ok(None)`: not
    /// usable from the cache, look the key up again.
    async fn still_valid(
        &self,
        kms: &Kms,
        cache_key: &Scope<'_>,
        entry: Arc<Entry>,
        token: Option<&str>,
        now: UnixMillis,
    ) -> Result<Option<Arc<Entry>>, ApiError> {
        match (&entry.session, token) {
            (Some((hash, expires_at, _)), Some(token)) => {
                if !constant_time_eq(&sha256(token.as_bytes()), hash) {
                    return Ok(None);
                }
                if now >= *expires_at {
                    self.forget(cache_key.access_key_id);
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
                let id = AccessKeyId::parse(cache_key.access_key_id).ok_or_else(invalid_token)?;
                let active = kms
                    .access_key_active(&id)
                    .await
                    .map_err(|e| crate::errors::from_core(e, ""))?;
                if !active {
                    self.forget(cache_key.access_key_id);
                    return Err(invalid_token());
                }
                let entry = Arc::new(Entry {
                    checked_at: now,
                    ..(*entry).clone()
                });
                self.remember(cache_key, entry.clone());
                Ok(Some(entry))
            }
            // A token sent with a long-term key, or none with a session key.
            _ => Err(invalid_token()),
        }
    }

    /// Drops every cached signing key of an access key (deactivated or deleted on this node).
    pub fn forget(&self, access_key_id: &str) {
        if let Ok(mut c) = self.cache.write() {
            c.remove(access_key_id);
        }
    }
}
