//! The inline policy operations of users and roles: Put, Get, List and Delete of
//! `UserPolicy` and `RolePolicy`. A document is stored only after it parsed as an identity
//! policy.

use kinko_policy::PolicyKind;

use crate::identity::{check_policy_name, parse_policy};
use crate::{AuditDraft, Caller, Error, InlinePolicy, Kms, PolicyOwner, PolicyOwnerKind};

impl Kms {
    async fn require_owner(&self, caller: &Caller, owner: &PolicyOwner) -> Result<(), Error> {
        match owner.kind {
            PolicyOwnerKind::User => self.get_user(caller, &owner.name).await.map(|_| ()),
            PolicyOwnerKind::Role => self.get_role(caller, &owner.name).await.map(|_| ()),
        }
    }

    /// PutUserPolicy / PutRolePolicy.
    pub async fn put_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
        document: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        check_policy_name(name)?;
        parse_policy(document, PolicyKind::Identity)?;
        self.require_owner(caller, owner).await?;
        let policy = InlinePolicy {
            account: caller.account.clone(),
            owner: owner.clone(),
            name: name.to_owned(),
            document: document.to_owned(),
        };
        self.store()
            .put_inline_policy(&policy, self.append(audit))
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// GetUserPolicy / GetRolePolicy.
    pub async fn get_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<InlinePolicy, Error> {
        check_policy_name(name)?;
        self.require_owner(caller, owner).await?;
        self.store()
            .get_inline_policy(&caller.account, owner, name)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "The {} policy with name {name} cannot be found.",
                    match owner.kind {
                        PolicyOwnerKind::User => "user",
                        PolicyOwnerKind::Role => "role",
                    }
                ))
            })
    }

    /// ListUserPolicies / ListRolePolicies: the policy names, ordered.
    pub async fn list_inline_policies(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
    ) -> Result<Vec<String>, Error> {
        self.require_owner(caller, owner).await?;
        Ok(self
            .store()
            .list_inline_policies(&caller.account, owner)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// DeleteUserPolicy / DeleteRolePolicy.
    pub async fn delete_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        check_policy_name(name)?;
        self.require_owner(caller, owner).await?;
        if !self
            .store()
            .delete_inline_policy(&caller.account, owner, name, self.append(audit))
            .await?
        {
            return Err(Error::NotFound(format!(
                "The policy with name {name} cannot be found."
            )));
        }
        self.identity_changed();
        Ok(())
    }
}
