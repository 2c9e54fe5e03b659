//! `kinko authz explain`: why a request would be allowed or denied, read from an installation's
//! store (a stopped or running server's): the key policy statement by statement, the caller's
//! identity policies, the grants considered, and the AccessDeniedException the request would
//! get. Nothing is decrypted, so no root of trust is opened: the service is built on a root that
//! refuses every use.

use std::sync::Arc;

use kinko_core::{Kms, SystemClock};
use kinko_crypto::{CryptoError, RootKey, SecretBytes};

use crate::Config;
use crate::explain::{ExplainError, ExplainRequest, Explanation, explain, principal_of};
use crate::installation::open_existing;

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

/// Explains `request` against the installation `config` names.
pub async fn explain_installation(
    config: &Config,
    request: &ExplainRequest,
) -> Result<Explanation, ExplainError> {
    // Checked before the store is opened.
    principal_of(&request.principal_arn)?;
    let store = open_existing(config).await?;
    let kms = Kms::new(store.shared(), Arc::new(NoRoot), Arc::new(SystemClock));
    let result = explain(&kms, request).await;
    store.close().await;
    result
}
