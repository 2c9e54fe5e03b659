//! A secret's resource-based policy: PutResourcePolicy (with BlockPublicPolicy's refusal of a
//! policy that grants broad access), GetResourcePolicy, DeleteResourcePolicy and
//! ValidateResourcePolicy. The documents are checked by `resource_policy` and evaluated with
//! the caller's identity policies by `Kms::authorize_with_resource_policy`.

use crate::actions::Action;
use crate::authz::{Verdict, access_denied};
use crate::resource_policy::{PolicyCheck, check, is_public, parse};
use crate::secret_model::Secret;
use crate::secrets::{marked_for_deletion, secret_conflict, with_secret_keys};
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

    /// The decision on a `secretsmanager:` `action` on the secret `id` names (name, partial or
    /// full ARN), with the secret's resource policy and the caller's identity policies statement
    /// by statement, for `kinko authz explain`; the message of a denial is the
    /// AccessDeniedException the request would get. A missing secret is decided on what `id`
    /// named, as the operations decide before answering ResourceNotFoundException.
    pub async fn explain_secret(
        &self,
        caller: &Caller,
        action: &str,
        id: &str,
    ) -> Result<(Verdict, Option<String>), Error> {
        let (verdict, resource) = match self.lookup_secret(caller, id).await? {
            None => {
                let mut verdict = self.decide_account(caller, action, id, true).await?;
                verdict.explanation.insert(
                    0,
                    format!(
                        "no secret {id} in {} {}: identity policies only",
                        caller.account, caller.region
                    ),
                );
                (verdict, id.to_owned())
            }
            Some(secret) => {
                let with_secret = with_secret_keys(caller, &secret);
                let verdict = match &secret.resource_policy {
                    None => {
                        let mut verdict = self
                            .decide_account(&with_secret, action, &secret.arn, true)
                            .await?;
                        verdict
                            .explanation
                            .insert(0, format!("secret {} has no resource policy", secret.arn));
                        verdict
                    }
                    Some(policy) => {
                        let policy = parse(policy)?;
                        self.decide_with_resource_policy(
                            &with_secret,
                            action,
                            &secret.arn,
                            &policy,
                            true,
                        )
                        .await?
                    }
                };
                (verdict, secret.arn)
            }
        };
        let message = verdict
            .denied
            .map(|reason| access_denied(caller, action, &resource, reason).to_string());
        Ok((verdict, message))
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
