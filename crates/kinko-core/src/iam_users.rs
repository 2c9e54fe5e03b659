//! The IAM user operations: CreateUser, GetUser, ListUsers, DeleteUser, TagUser, and the
//! user's access keys (CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey).

use std::collections::BTreeMap;

use kinko_crypto::{random_array, random_secret};

use crate::aad::access_key_aad;
use crate::bootstrap::{self, NewAccessKey};
use crate::identity::{check_path, check_user_name, merge_tags, no_such_user, unique_id};
use crate::{
    AccessKey, AccessKeyId, AuditDraft, Caller, Error, IamUser, Kms, MAX_ACCESS_KEYS_PER_USER,
    PolicyOwner, PolicyOwnerKind, StoreError, Tag,
};

impl Kms {
    /// CreateUser.
    pub async fn create_user(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<IamUser, Error> {
        check_user_name(name)?;
        let path = path.unwrap_or("/");
        check_path(path)?;
        let tags = merge_tags(&BTreeMap::new(), tags)?;
        let user = IamUser {
            account: caller.account.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AIDA")?,
            arn: format!("arn:aws:iam::{}:user{path}{name}", caller.account),
            created_at: self.clock().now(),
            tags,
        };
        match self
            .store()
            .create_iam_user(&user, self.append(audit))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "User with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.identity_changed();
        Ok(user)
    }

    /// GetUser.
    pub async fn get_user(&self, caller: &Caller, name: &str) -> Result<IamUser, Error> {
        check_user_name(name)?;
        self.store()
            .get_iam_user(&caller.account, name)
            .await?
            .ok_or_else(|| no_such_user(name))
    }

    /// The user making the request, for GetUser without a UserName; `None` for root.
    pub async fn calling_user(&self, caller: &Caller) -> Result<Option<IamUser>, Error> {
        let Some(rest) = caller
            .principal_arn
            .strip_prefix(&format!("arn:aws:iam::{}:user/", caller.account))
        else {
            return Ok(None);
        };
        let name = rest.rsplit('/').next().unwrap_or(rest);
        Ok(self
            .store()
            .get_iam_user(&caller.account, name)
            .await?
            .filter(|u| u.arn == caller.principal_arn))
    }

    /// ListUsers (filtered by path prefix), ordered by name.
    pub async fn list_users(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamUser>, Error> {
        let users = self.store().list_iam_users(&caller.account).await?;
        Ok(users
            .into_iter()
            .filter(|u| path_prefix.is_none_or(|p| u.path.starts_with(p)))
            .collect())
    }

    /// DeleteUser: refused with DeleteConflict while the user has access keys or policies.
    pub async fn delete_user(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let user = self.get_user(caller, name).await?;
        if !self
            .store()
            .list_principal_access_keys(&user.arn)
            .await?
            .is_empty()
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".into(),
            ));
        }
        let owner = PolicyOwner {
            kind: PolicyOwnerKind::User,
            name: user.name.clone(),
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
            .delete_iam_user(&caller.account, name, self.append(audit))
            .await?
        {
            // A key or policy was added since the checks above (or the user went).
            self.get_user(caller, name).await?;
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete access keys and policies first.".into(),
            ));
        }
        self.identity_changed();
        Ok(())
    }

    /// TagUser.
    pub async fn tag_user(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let mut user = self.get_user(caller, name).await?;
        user.tags = merge_tags(&user.tags, tags)?;
        if !self
            .store()
            .update_iam_user(&user, self.append(audit))
            .await?
        {
            return Err(no_such_user(name));
        }
        self.identity_changed();
        Ok(())
    }

    /// The principal whose access keys an IAM call manages: the named user, or without a name
    /// the caller itself (a user or the root).
    async fn key_owner(&self, caller: &Caller, user_name: Option<&str>) -> Result<String, Error> {
        match user_name {
            Some(name) => Ok(self.get_user(caller, name).await?.arn),
            None if caller.is_root() => Ok(caller.principal_arn.clone()),
            None => match self.calling_user(caller).await? {
                Some(user) => Ok(user.arn),
                None => Err(Error::Validation(
                    "Must specify userName when calling with non-User credentials".into(),
                )),
            },
        }
    }

    /// CreateAccessKey: at most two per user.
    pub async fn create_user_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        audit: &AuditDraft,
    ) -> Result<(AccessKey, NewAccessKey), Error> {
        let principal = self.key_owner(caller, user_name).await?;
        let existing = self.store().list_principal_access_keys(&principal).await?;
        if existing.len() >= MAX_ACCESS_KEYS_PER_USER {
            return Err(Error::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
            )));
        }
        let id = bootstrap::access_key_id(random_array()?)
            .ok_or_else(|| Error::Internal("access key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let record = AccessKey {
            id: id.clone(),
            account: caller.account.clone(),
            principal_arn: principal.clone(),
            wrapped_secret: self.root().wrap(&secret, access_key_aad(&id).as_bytes())?,
            root_id: self.root().id(),
            active: true,
            created_at: self.clock().now(),
        };
        self.store()
            .create_access_key_audited(&record, self.append(audit))
            .await?;
        Ok((
            record,
            NewAccessKey {
                account: caller.account.clone(),
                principal_arn: principal,
                id,
                secret,
            },
        ))
    }

    /// ListAccessKeys.
    pub async fn list_user_access_keys(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>, Error> {
        let principal = self.key_owner(caller, user_name).await?;
        Ok(self.store().list_principal_access_keys(&principal).await?)
    }

    async fn owned_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
    ) -> Result<AccessKeyId, Error> {
        let principal = self.key_owner(caller, user_name).await?;
        let not_found = || Error::NotFound(format!("The Access Key with id {id} cannot be found."));
        let id = AccessKeyId::parse(id).ok_or_else(not_found)?;
        match self.store().get_access_key(&id).await? {
            Some(k) if k.principal_arn == principal && k.account == caller.account => Ok(id),
            _ => Err(not_found()),
        }
    }

    /// UpdateAccessKey: Active or Inactive.
    pub async fn update_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
        active: bool,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let id = self.owned_key(caller, user_name, id).await?;
        self.store()
            .set_access_key_active(&id, active, self.append(audit))
            .await?;
        Ok(())
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let id = self.owned_key(caller, user_name, id).await?;
        self.store()
            .delete_access_key(&id, self.append(audit))
            .await?;
        Ok(())
    }
}
