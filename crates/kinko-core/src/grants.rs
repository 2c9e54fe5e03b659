//! PLACEHOLDER until the grants branch merges.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{Error, KeyArn, KeyId, Kms, UnixMillis};

/// A grant operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOperation {
    /// Decrypt.
    Decrypt,
}

impl GrantOperation {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        "Decrypt"
    }
}

/// Grant constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantConstraints {
    /// Exact context.
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    /// Subset context.
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
}

/// A grant.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Id.
    pub grant_id: String,
    /// Key.
    pub key_arn: KeyArn,
    /// Name.
    pub name: Option<String>,
    /// Grantee.
    pub grantee_principal: String,
    /// Retiring principal.
    pub retiring_principal: Option<String>,
    /// Operations.
    pub operations: Vec<GrantOperation>,
    /// Constraints.
    pub constraints: Option<GrantConstraints>,
    /// Issuing account.
    pub issuing_account: String,
    /// Created.
    pub created_at: UnixMillis,
}

impl Kms {
    /// Grants of a key.
    pub async fn grants_for_key(&self, _key: &KeyId) -> Result<Arc<[Grant]>, Error> {
        Ok(Arc::from(Vec::new()))
    }
}
