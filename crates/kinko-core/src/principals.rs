//! Loading a principal's [`Identity`] (kind, tags, compiled inline policies) from the store,
//! through the identity cache: what authorization evaluates for every caller that is not an
//! account's root.

use std::collections::BTreeMap;
use std::sync::Arc;

use kinko_policy::{Policy, PolicyKind, RequestPrincipal};

use crate::identity::root_arn;
use crate::{AccountId, Error, Identity, IdentityKind, Kms, PolicyOwner, PolicyOwnerKind};

impl Kms {
    /// The principal named by `principal_arn` with its tags and compiled identity policies, or
    /// `None` if it does not exist. Cached for [`crate::IDENTITY_TTL_MS`]; this node's own identity
    /// changes empty the cache at once.
    pub async fn principal_identity(
        &self,
        principal_arn: &str,
    ) -> Result<Option<Arc<Identity>>, Error> {
        let now = self.clock().now();
        if let Some(hit) = self.identities().get(principal_arn, now) {
            return Ok(hit);
        }
        let identity = self.load_identity(principal_arn).await?.map(Arc::new);
        self.identities().put(principal_arn, now, identity.clone());
        Ok(identity)
    }

    async fn load_identity(&self, arn: &str) -> Result<Option<Identity>, Error> {
        let Some(principal) = RequestPrincipal::from_arn(arn) else {
            return Ok(None);
        };
        let Some(account) = AccountId::parse(&principal.account) else {
            return Ok(None);
        };
        let (kind, owner, tags, role_id) = match principal.kind {
            kinko_policy::PrincipalKind::Root => {
                let exists = self
                    .store()
                    .list_accounts()
                    .await?
                    .iter()
                    .any(|a| a.id == account);
                if !exists || arn != root_arn(&account) {
                    return Ok(None);
                }
                return Ok(Some(Identity {
                    arn: arn.to_owned(),
                    account,
                    kind: IdentityKind::Root,
                    tags: BTreeMap::new(),
                    policies: Vec::new(),
                    role_id: None,
                }));
            }
            kinko_policy::PrincipalKind::User => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                match self.store().get_iam_user(&account, name).await? {
                    Some(u) if u.arn == arn => (
                        IdentityKind::User,
                        PolicyOwner {
                            kind: PolicyOwnerKind::User,
                            name: u.name,
                        },
                        u.tags,
                        None,
                    ),
                    _ => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::Role => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                match self.store().get_iam_role(&account, name).await? {
                    Some(r) if r.arn == arn => (
                        IdentityKind::Role,
                        PolicyOwner {
                            kind: PolicyOwnerKind::Role,
                            name: r.name,
                        },
                        r.tags,
                        Some(r.id),
                    ),
                    _ => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::AssumedRole { .. } => {
                let name = arn.split('/').nth(1).unwrap_or_default();
                match self.store().get_iam_role(&account, name).await? {
                    Some(r) => (
                        IdentityKind::AssumedRole { role_arn: r.arn },
                        PolicyOwner {
                            kind: PolicyOwnerKind::Role,
                            name: r.name,
                        },
                        r.tags,
                        Some(r.id),
                    ),
                    None => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::Service => return Ok(None),
        };
        let mut policies = Vec::new();
        for p in self.store().list_inline_policies(&account, &owner).await? {
            // Stored documents parsed when they were put; one that no longer does (a stricter
            // parser after an upgrade) is left out rather than failing every request: it then grants
            // nothing, which is the safe side.
            if let Ok(policy) = Policy::parse(&p.document, PolicyKind::Identity) {
                policies.push((p.name, Arc::new(policy)));
            }
        }
        Ok(Some(Identity {
            arn: arn.to_owned(),
            account,
            kind,
            tags,
            policies,
            role_id,
        }))
    }

    /// Whether the role that issued a session (by its unique id) still bears the name in the
    /// session's ARN. A role deleted and created again under the same name is another role: its
    /// permissions never reach the old role's sessions. Read through the identity cache, which
    /// this node's IAM changes empty at once.
    pub async fn session_role_is_current(
        &self,
        session_arn: &str,
        role_id: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .principal_identity(session_arn)
            .await?
            .is_some_and(|identity| {
                matches!(identity.kind, IdentityKind::AssumedRole { .. })
                    && identity.role_id.as_deref() == Some(role_id)
            }))
    }
}
