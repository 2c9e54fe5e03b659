//! The inline policy operations of users and roles: Put, Get, List and Delete of
//! `UserPolicy` and `RolePolicy`. A document is stored only after it parsed as an identity
//! policy. Each operation checks its own `iam:` action (the user's or the role's) against the
//! owner first.

use kinko_policy::PolicyKind;

use crate::actions::Action;
use crate::iam_entity::Member;
use crate::identity::{check_policy_name, parse_policy};
use crate::{
    AuditDraft, Caller, Error, IamRole, IamUser, InlinePolicy, Kms, PolicyOwner, PolicyOwnerKind,
};

impl Kms {
    /// Checks `actions.0` (a user's policies) or `actions.1` (a role's) on `owner`.
    async fn authorize_owner(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        actions: (Action, Action),
    ) -> Result<(), Error> {
        match owner.kind {
            PolicyOwnerKind::User => {
                self.authorize_on::<IamUser>(caller, actions.0, &owner.name)
                    .await
            }
            PolicyOwnerKind::Role => {
                self.authorize_on::<IamRole>(caller, actions.1, &owner.name)
                    .await
            }
        }
    }

    async fn require_owner(&self, caller: &Caller, owner: &PolicyOwner) -> Result<(), Error> {
        match owner.kind {
            PolicyOwnerKind::User => self
                .find::<IamUser>(&caller.account, &owner.name)
                .await
                .map(|_| ()),
            PolicyOwnerKind::Role => self
                .find::<IamRole>(&caller.account, &owner.name)
                .await
                .map(|_| ()),
        }
    }

    /// PutUserPolicy / PutRolePolicy.
    pub async fn put_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: Member<&str>,
        document: Member<&str>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let actions = (Action::IamPutUserPolicy, Action::IamPutRolePolicy);
        self.authorize_owner(caller, owner, actions).await?;
        let (name, document) = (name?, document?);
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
        name: Member<&str>,
    ) -> Result<InlinePolicy, Error> {
        let actions = (Action::IamGetUserPolicy, Action::IamGetRolePolicy);
        self.authorize_owner(caller, owner, actions).await?;
        let name = name?;
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
        let actions = (Action::IamListUserPolicies, Action::IamListRolePolicies);
        self.authorize_owner(caller, owner, actions).await?;
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
        name: Member<&str>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let actions = (Action::IamDeleteUserPolicy, Action::IamDeleteRolePolicy);
        self.authorize_owner(caller, owner, actions).await?;
        let name = name?;
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
