//! The IAM user operations: CreateUser, GetUser, ListUsers, DeleteUser, TagUser, and the
//! user's access keys (CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey).
//! Each checks its own `iam:` action against the user first (what users share with roles is
//! in `iam_entity`).

use std::collections::BTreeMap;

use kinko_crypto::{random_array, random_secret};

use crate::aad::access_key_aad;
use crate::actions::Action;
use crate::bootstrap::{self, NewAccessKey};
use crate::iam_entity::Member;
use crate::identity::{check_path, check_user_name, merge_tags, unique_id};
use crate::{
    AccessKey, AccessKeyId, AuditDraft, Caller, Error, IamUser, Kms, MAX_ACCESS_KEYS_PER_USER,
    Principal, Tag,
};

impl Kms {
    /// CreateUser: `iam:CreateUser` on the new user's ARN.
    pub async fn create_user(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
        tags: Member<Vec<Tag>>,
        audit: &AuditDraft,
    ) -> Result<IamUser, Error> {
        self.authorize_new::<IamUser>(caller, Action::IamCreateUser, path, name)
            .await?;
        let tags = tags?;
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
        self.insert_entity(user, audit).await
    }

    /// GetUser: the user `name`, or without a name the calling user (`None` for the account's
    /// root, which is no user). `iam:GetUser` on the user, on oneself too, as on AWS.
    pub async fn get_user(
        &self,
        caller: &Caller,
        name: Option<&str>,
    ) -> Result<Option<IamUser>, Error> {
        if let Some(name) = name {
            self.authorize_on::<IamUser>(caller, Action::IamGetUser, name)
                .await?;
            return self.find(&caller.account, name).await.map(Some);
        }
        match self.calling_user(caller).await? {
            Some(user) => {
                self.authorize_iam(caller, Action::IamGetUser, &user.arn)
                    .await?;
                Ok(Some(user))
            }
            None if caller.is_root() => Ok(None),
            None => Err(not_a_user()),
        }
    }

    /// The user making the request; `None` for any other principal.
    pub(crate) async fn calling_user(&self, caller: &Caller) -> Result<Option<IamUser>, Error> {
        let Principal::User { account, name, .. } = &caller.principal else {
            return Ok(None);
        };
        if *account != caller.account {
            return Ok(None);
        }
        let arn = caller.principal.arn();
        Ok(self
            .store()
            .get_iam_user(&caller.account, name)
            .await?
            .filter(|u| u.arn == arn))
    }

    /// ListUsers (filtered by path prefix), ordered by name: `iam:ListUsers` on `…:user/*`.
    pub async fn list_users(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamUser>, Error> {
        self.list_entities(caller, Action::IamListUsers, path_prefix)
            .await
    }

    /// DeleteUser: refused with DeleteConflict while the user has access keys or policies.
    pub async fn delete_user(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_on::<IamUser>(caller, Action::IamDeleteUser, name)
            .await?;
        let user: IamUser = self.find(&caller.account, name).await?;
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
        self.delete_entity(
            caller,
            &user,
            name,
            "Cannot delete entity, must delete access keys and policies first.",
            audit,
        )
        .await
    }

    /// TagUser.
    pub async fn tag_user(
        &self,
        caller: &Caller,
        name: &str,
        tags: Member<Vec<Tag>>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_on::<IamUser>(caller, Action::IamTagUser, name)
            .await?;
        self.tag_entity::<IamUser>(caller, name, tags?, audit).await
    }

    /// Checks `action` on the user whose access keys an IAM call manages: the named user, or
    /// without a name the caller itself.
    async fn authorize_key_owner(
        &self,
        caller: &Caller,
        action: Action,
        user_name: Option<&str>,
    ) -> Result<(), Error> {
        match user_name {
            Some(name) => self.authorize_on::<IamUser>(caller, action, name).await,
            None => {
                self.authorize_iam(caller, action, &caller.principal.arn())
                    .await
            }
        }
    }

    /// The principal whose access keys an IAM call manages: the named user, or without a name
    /// the caller itself (a user or the root).
    async fn key_owner(&self, caller: &Caller, user_name: Option<&str>) -> Result<String, Error> {
        match user_name {
            Some(name) => Ok(self.find::<IamUser>(&caller.account, name).await?.arn),
            None if caller.is_root() => Ok(caller.principal.arn()),
            None => match self.calling_user(caller).await? {
                Some(user) => Ok(user.arn),
                None => Err(not_a_user()),
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
        self.authorize_key_owner(caller, Action::IamCreateAccessKey, user_name)
            .await?;
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
        self.authorize_key_owner(caller, Action::IamListAccessKeys, user_name)
            .await?;
        let principal = self.key_owner(caller, user_name).await?;
        Ok(self.store().list_principal_access_keys(&principal).await?)
    }

    /// The access key `id` of the principal an UpdateAccessKey or DeleteAccessKey manages.
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
        id: Member<&str>,
        active: Member<bool>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_key_owner(caller, Action::IamUpdateAccessKey, user_name)
            .await?;
        let (id, active) = (id?, active?);
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
        id: Member<&str>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_key_owner(caller, Action::IamDeleteAccessKey, user_name)
            .await?;
        let id = self.owned_key(caller, user_name, id?).await?;
        self.store()
            .delete_access_key(&id, self.append(audit))
            .await?;
        Ok(())
    }
}

/// GetUser's and the access-key operations' answer to a caller that is neither a user nor
/// its account's root, when the request names no user.
fn not_a_user() -> Error {
    Error::Validation("Must specify userName when calling with non-User credentials".into())
}
