//! SigV4 authentication of every request: parse the Authorization header, find the access key,
//! derive (or reuse) the signing key, verify. The signing key is cached per (access key, date,
//! region, service), so the hot path does no database read and no HMAC chain.

use std::collections::HashMap;
use std::sync::RwLock;

use kinko_api::ErrorCode;
use kinko_core::{AccessKeyId, AccountId, Caller, Kms, Region};
use kinko_sigv4::SigningKey;

use crate::errors::ApiError;

const MAX_CACHED: usize = 10_000;

#[derive(Clone)]
struct Entry {
    key: SigningKey,
    account: AccountId,
    principal_arn: String,
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
        if parsed.security_token.is_some() {
            return Err(ApiError::new(
                ErrorCode::UnrecognizedClientException,
                "The security token included in the request is invalid.",
            ));
        }
        let cache_key: CacheKey = (
            parsed.access_key_id.to_owned(),
            parsed.date.to_owned(),
            parsed.region.to_owned(),
            parsed.service.to_owned(),
        );
        let cached = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned());
        let entry = match cached {
            Some(e) => e,
            None => {
                let unknown = || {
                    ApiError::new(
                        ErrorCode::UnrecognizedClientException,
                        "The security token included in the request is invalid.",
                    )
                };
                let id = AccessKeyId::parse(parsed.access_key_id).ok_or_else(unknown)?;
                let (record, secret) = kms
                    .access_key_secret(&id)
                    .await
                    .map_err(|e| crate::errors::from_core(e, ""))?
                    .ok_or_else(unknown)?;
                let key =
                    SigningKey::derive(secret.expose(), parsed.date, parsed.region, parsed.service);
                let entry = Entry {
                    key,
                    account: record.account,
                    principal_arn: record.principal_arn,
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
        Ok(Caller::new(entry.account, region, entry.principal_arn))
    }
}
