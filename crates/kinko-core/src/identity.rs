//! PLACEHOLDER until the identity branch merges: principals and their inline policies.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{AccountId, Error, Kms};

/// What kind of principal an identity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    /// The account root.
    Root,
    /// An IAM user.
    User,
    /// A role.
    Role,
    /// A role session.
    AssumedRole {
        /// The role's ARN.
        role_arn: String,
    },
}

/// A principal with its tags and compiled inline policies.
#[derive(Debug)]
pub struct Identity {
    /// Principal ARN.
    pub arn: String,
    /// Its account.
    pub account: AccountId,
    /// Its kind.
    pub kind: IdentityKind,
    /// Principal tags.
    pub tags: BTreeMap<String, String>,
    /// Inline identity policies, by name.
    pub policies: Vec<(String, Arc<kinko_policy::Policy>)>,
}

impl Kms {
    /// The identity behind a principal ARN.
    pub async fn principal_identity(
        &self,
        _principal_arn: &str,
    ) -> Result<Option<Arc<Identity>>, Error> {
        Ok(None)
    }
}
