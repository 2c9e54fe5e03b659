//! `kinko authz explain`: why a request would be allowed or denied, read from an installation's
//! store (a stopped or running server's): the key policy statement by statement, the caller's
//! identity policies, the grants considered, and the AccessDeniedException the request would
//! get. Nothing is decrypted, so no root of trust is opened: the service is built on a root that
//! refuses every use.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use kinko_core::{
    Caller, EncryptionContext, KeyRef, Kms, Principal, Region, RequestFacts, SystemClock,
};
use kinko_crypto::{CryptoError, RootKey, SecretBytes};

use crate::installation::open_existing;
use crate::{Config, StoreOpenError};

/// Why a request could not be explained (a denial is an explanation, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// The principal is not an IAM or STS ARN.
    #[error(
        "{0} is not an IAM or STS principal ARN (arn:aws:iam::<account>:root, :user/…, :role/…, arn:aws:sts::<account>:assumed-role/…)"
    )]
    Principal(String),
    /// The region is not a region name.
    #[error("{0} is not a region name")]
    Region(String),
    /// `--key` names no key.
    #[error("--key {key:?}")]
    Key {
        /// What was given.
        key: String,
        /// Why it is not a key reference.
        #[source]
        source: kinko_core::Error,
    },
    /// The installation's store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreOpenError),
    /// The service failed to decide (a store error, a missing key).
    #[error("explaining the request")]
    Explain(#[source] kinko_core::Error),
}

/// A request to explain.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    /// The caller: `arn:aws:iam::<account>:root`, a user, role or role session ARN.
    pub principal_arn: String,
    /// The action, such as `kms:Decrypt`.
    pub action: String,
    /// The key (id, ARN, alias name or alias ARN), or none for account-level actions.
    pub key: Option<String>,
    /// The region the request would be signed for.
    pub region: String,
    /// The encryption context of the request.
    pub context: BTreeMap<String, String>,
    /// The client address (`aws:SourceIp`).
    pub source_ip: Option<IpAddr>,
}

/// What the explanation found.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Whether the request would be allowed.
    pub allowed: bool,
    /// One line per policy, statement or grant considered, then the decision.
    pub lines: Vec<String>,
}

/// A root of trust that refuses every use: explaining never unwraps anything.
#[derive(Debug)]
struct NoRoot;

impl RootKey for NoRoot {
    fn wrap(&self, _: &SecretBytes, _: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::Unspecified)
    }
    fn unwrap(&self, _: &[u8], _: &[u8]) -> Result<SecretBytes, CryptoError> {
        Err(CryptoError::Unspecified)
    }
    fn provider(&self) -> &'static str {
        "none"
    }
    fn id(&self) -> String {
        "none".into()
    }
}

/// The principal an ARN names.
fn principal_of(principal_arn: &str) -> Result<Principal, ExplainError> {
    Principal::parse(principal_arn).ok_or_else(|| ExplainError::Principal(principal_arn.to_owned()))
}

/// Explains `request` against the installation `config` names.
pub async fn explain_installation(
    config: &Config,
    request: &ExplainRequest,
) -> Result<Explanation, ExplainError> {
    let principal = principal_of(&request.principal_arn)?;
    let account = principal.account().clone();
    let region = Region::parse(&request.region)
        .ok_or_else(|| ExplainError::Region(request.region.clone()))?;
    let key = request
        .key
        .as_deref()
        .map(|key| {
            KeyRef::parse(key).map_err(|source| ExplainError::Key {
                key: key.to_owned(),
                source,
            })
        })
        .transpose()?;
    let store = open_existing(config).await?;
    let kms = Kms::new(store.shared(), Arc::new(NoRoot), Arc::new(SystemClock));
    let caller = Caller::new(account, region, principal).with_facts(RequestFacts {
        source_ip: request.source_ip,
        ..Default::default()
    });
    let context = EncryptionContext(request.context.clone());
    let result = kms
        .explain(&caller, &request.action, key.as_ref(), Some(&context))
        .await
        .map_err(ExplainError::Explain);
    store.close().await;
    let (verdict, denial) = result?;
    let mut lines = verdict.explanation;
    match &denial {
        None => lines.push(format!(
            "ALLOWED: {} may perform {}",
            request.principal_arn, request.action
        )),
        Some(message) => lines.push(format!("DENIED: {message}")),
    }
    Ok(Explanation {
        allowed: denial.is_none(),
        lines,
    })
}
