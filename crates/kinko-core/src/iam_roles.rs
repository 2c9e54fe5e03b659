//! The IAM role operations: CreateRole, GetRole, ListRoles, DeleteRole, TagRole.

use std::collections::BTreeMap;

use kinko_policy::PolicyKind;

use crate::identity::{
    check_path, check_role_name, merge_tags, no_such_role, parse_policy, unique_id,
};
use crate::{
    AuditDraft, Caller, DEFAULT_SESSION_SECONDS, Error, IamRole, Kms, MAX_ROLE_SESSION_SECONDS,
    PolicyOwner, PolicyOwnerKind, StoreError, Tag,
};

impl Kms {
    /// CreateRole.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_role(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
        trust_policy: &str,
        description: Option<&str>,
        max_session_duration: Option<u32>,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<IamRole, Error> {
        check_role_name(name)?;
        let path = path.unwrap_or("/");
        check_path(path)?;
        parse_policy(trust_policy, PolicyKind::Trust)?;
        let description = description.unwrap_or("");
        if description.chars().count() > 1000 {
            return Err(Error::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
            ));
        }
        let max_session_duration = max_session_duration.unwrap_or(DEFAULT_SESSION_SECONDS);
        if !(DEFAULT_SESSION_SECONDS..=MAX_ROLE_SESSION_SECONDS).contains(&max_session_duration) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between {DEFAULT_SESSION_SECONDS} and {MAX_ROLE_SESSION_SECONDS}"
            )));
        }
        let tags = merge_tags(&BTreeMap::new(), tags)?;
        let role = IamRole {
            account: caller.account.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AROA")?,
            arn: format!("arn:aws:iam::{}:role{path}{name}", caller.account),
            trust_policy: trust_policy.to_owned(),
            description: description.to_owned(),
            max_session_duration,
            created_at: self.clock().now(),
            tags,
        };
        match self
            .store()
            .create_iam_role(&role, self.append(audit))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "Role with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.identity_changed();
        Ok(role)
    }

    /// GetRole.
    pub async fn get_role(&self, caller: &Caller, name: &str) -> Result<IamRole, Error> {
        check_role_name(name)?;
        self.store()
            .get_iam_role(&caller.account, name)
            .await?
            .ok_or_else(|| no_such_role(name))
    }

    /// ListRoles (filtered by path prefix), ordered by name.
    pub async fn list_roles(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamRole>, Error> {
        let roles = self.store().list_iam_roles(&caller.account).await?;
        Ok(roles
            .into_iter()
            .filter(|r| path_prefix.is_none_or(|p| r.path.starts_with(p)))
            .collect())
    }

    /// DeleteRole: refused with DeleteConflict while the role has inline policies.
    pub async fn delete_role(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let role = self.get_role(caller, name).await?;
        let owner = PolicyOwner {
            kind: PolicyOwnerKind::Role,
            name: role.name.clone(),
        };
        if !self
            .store()
            .list_inline_policies(&caller.account, &owner)
            .await?
            .is_empty()
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !self
            .store()
            .delete_iam_role(&caller.account, name, self.append(audit))
            .await?
        {
            // A policy was added since the check above (or the role went).
            self.get_role(caller, name).await?;
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        self.identity_changed();
        Ok(())
    }

    /// TagRole.
    pub async fn tag_role(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let mut role = self.get_role(caller, name).await?;
        role.tags = merge_tags(&role.tags, tags)?;
        if !self
            .store()
            .update_iam_role(&role, self.append(audit))
            .await?
        {
            return Err(no_such_role(name));
        }
        self.identity_changed();
        Ok(())
    }
}
