//! Why a request would be allowed or denied, from a service's policies and grants: the key
//! policy (or a secret's resource policy) statement by statement, the caller's identity policies, the grants considered, and the
//! AccessDeniedException the request would get. The code behind both `kinko authz explain`
//! (`authz_explain`, over a stopped or running installation's store) and the console's Why? page
//! (over the running service).

use std::collections::BTreeMap;
use std::net::IpAddr;

use kinko_core::{Caller, EncryptionContext, KeyRef, Kms, Principal, Region, RequestFacts};

use crate::server_error::StoreOpenError;

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
    /// The key (id, ARN, alias name or alias ARN), or none for account-level actions; for a
    /// `secretsmanager:` action, the secret (name, partial ARN or full ARN).
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

/// The principal an ARN names.
pub(crate) fn principal_of(principal_arn: &str) -> Result<Principal, ExplainError> {
    Principal::parse(principal_arn).ok_or_else(|| ExplainError::Principal(principal_arn.to_owned()))
}

/// Explains `request` with a running service's policies and grants: the code behind both
/// `kinko authz explain` and the console's Why? page.
pub async fn explain(kms: &Kms, request: &ExplainRequest) -> Result<Explanation, ExplainError> {
    let principal = principal_of(&request.principal_arn)?;
    let account = principal.account().clone();
    let region = Region::parse(&request.region)
        .ok_or_else(|| ExplainError::Region(request.region.clone()))?;
    let caller = Caller::new(account, region, principal).with_facts(RequestFacts {
        source_ip: request.source_ip,
        ..Default::default()
    });
    let (verdict, denial) = match request.key.as_deref() {
        Some(secret) if request.action.starts_with("secretsmanager:") => kms
            .explain_secret(&caller, &request.action, secret)
            .await
            .map_err(ExplainError::Explain)?,
        key => {
            let key = key
                .map(|key| {
                    KeyRef::parse(key).map_err(|source| ExplainError::Key {
                        key: key.to_owned(),
                        source,
                    })
                })
                .transpose()?;
            let context = EncryptionContext(request.context.clone());
            kms.explain(&caller, &request.action, key.as_ref(), Some(&context))
                .await
                .map_err(ExplainError::Explain)?
        }
    };
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
