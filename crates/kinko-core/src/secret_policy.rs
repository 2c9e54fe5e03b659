//! A secret's resource-based policy: PutResourcePolicy (with BlockPublicPolicy's refusal of a
//! policy that grants broad access), GetResourcePolicy, DeleteResourcePolicy and
//! ValidateResourcePolicy. The documents are checked by `resource_policy` and evaluated with
//! the caller's identity policies by `Kms::authorize_with_resource_policy`.

use crate::actions::Action;
use crate::resource_policy::{PolicyCheck, check, is_public, parse};
use crate::secret_model::Secret;
use crate::secrets::{marked_for_deletion, secret_conflict};
use crate::secrets_seal::SecretsAudit;
use crate::{Caller, Error, Kms};

impl Kms {
    /// PutResourcePolicy: attaches `policy` to the secret, refusing a public one when
    /// `block_public` is set.
    pub async fn put_secret_resource_policy(
        &self,
        caller: &Caller,
        id: &str,
        policy: &str,
        block_public: bool,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self
            .find_secret(caller, id, Action::SmPutResourcePolicy)
            .await?;
        if secret.deletion_date.is_some() {
            return Err(marked_for_deletion());
        }
        let parsed = parse(policy)?;
        if block_public && is_public(&parsed) {
            return Err(Error::PublicPolicy(
                "This resource policy grants public access to the secret, and BlockPublicPolicy is set.".into(),
            ));
        }
        secret.resource_policy = Some(policy.to_owned());
        self.store_secret_policy(secret, audit).await
    }

    /// GetResourcePolicy: the secret, whose `resource_policy` is the answer.
    pub async fn get_secret_resource_policy(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Secret, Error> {
        self.find_secret(caller, id, Action::SmGetResourcePolicy)
            .await
    }

    /// DeleteResourcePolicy: removes the secret's policy (done already when it has none).
    pub async fn delete_secret_resource_policy(
        &self,
        caller: &Caller,
        id: &str,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        let mut secret = self
            .find_secret(caller, id, Action::SmDeleteResourcePolicy)
            .await?;
        secret.resource_policy = None;
        self.store_secret_policy(secret, audit).await
    }

    /// ValidateResourcePolicy: checks `policy`, for the secret `id` when named.
    pub async fn validate_secret_resource_policy(
        &self,
        caller: &Caller,
        id: Option<&str>,
        policy: &str,
    ) -> Result<PolicyCheck, Error> {
        match id {
            Some(id) => {
                self.find_secret(caller, id, Action::SmValidateResourcePolicy)
                    .await?;
            }
            None => {
                self.authorize_secret(caller, Action::SmValidateResourcePolicy, None, "*")
                    .await?;
            }
        }
        check(policy)
    }

    async fn store_secret_policy(
        &self,
        mut secret: Secret,
        audit: &SecretsAudit<'_>,
    ) -> Result<Secret, Error> {
        secret.version += 1;
        let draft = (audit.change)(&secret);
        self.store()
            .update_secret(&secret, &[], &[], self.append(&draft))
            .await
            .map_err(secret_conflict)?;
        Ok(secret)
    }
}
