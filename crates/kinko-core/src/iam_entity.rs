//! What IAM users and roles share, written once: an [`Entity`] is found by name, authorized
//! against, created, listed, tagged and deleted the same way whichever of the two it is; the
//! family files (`iam_users`, `iam_roles`) add what differs (access keys; the trust policy and
//! session duration). Also the [`Member`] type through which the IAM operations receive the
//! request members they read only once the caller is authorized.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use crate::actions::Action;
use crate::identity::{check_role_name, check_user_name, merge_tags, no_such_role, no_such_user};
use crate::store::{AuditAppend, Store};
use crate::{
    AccountId, AuditDraft, Caller, Error, IamRole, IamUser, Kms, PolicyOwner, PolicyOwnerKind,
    StoreError, Tag,
};

/// A request member as the transport read it. An IAM operation looks at it only after the
/// caller is authorized, so a caller without permission learns nothing from its request's
/// shape: a missing or malformed member is reported (as `Err`, a `ValidationError`) only to
/// those who may perform the action.
pub type Member<T> = Result<T, Error>;

type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An IAM user or role: what the shared operations need of it.
pub(crate) trait Entity: Sized + Send + Sync {
    /// Which of the two, as an owner of inline policies.
    const KIND: PolicyOwnerKind;
    /// `User` or `Role`, as messages name it.
    const WORD: &'static str;
    /// The ARN's resource type (`user`, `role`).
    const RESOURCE: &'static str;
    /// Checks a name the request gives.
    fn check_name(name: &str) -> Result<(), Error>;
    /// `NoSuchEntity` for `name`.
    fn no_such(name: &str) -> Error;
    /// Its name.
    fn name(&self) -> &str;
    /// Its path (`/`, `/a/b/`).
    fn path(&self) -> &str;
    /// Its ARN.
    fn arn(&self) -> &str;
    /// Its tags.
    fn tags_mut(&mut self) -> &mut BTreeMap<String, String>;
    /// The store's read by name.
    fn get<'a>(
        store: &'a dyn Store,
        account: &'a AccountId,
        name: &'a str,
    ) -> Pending<'a, Option<Self>>;
    /// The store's listing, ordered by name.
    fn list<'a>(store: &'a dyn Store, account: &'a AccountId) -> Pending<'a, Vec<Self>>;
    /// The store's insert.
    fn insert<'a>(&'a self, store: &'a dyn Store, audit: AuditAppend<'a>) -> Pending<'a, ()>;
    /// The store's update.
    fn update<'a>(&'a self, store: &'a dyn Store, audit: AuditAppend<'a>) -> Pending<'a, bool>;
    /// The store's delete.
    fn delete<'a>(
        store: &'a dyn Store,
        account: &'a AccountId,
        name: &'a str,
        audit: AuditAppend<'a>,
    ) -> Pending<'a, bool>;
}

/// The [`Entity`] of a record type, over its own checks and store methods.
macro_rules! entity {
    ($ty:ty, $kind:ident, $word:literal, $resource:literal, $check:path, $no_such:path,
     $get:ident, $list:ident, $create:ident, $update:ident, $delete:ident) => {
        impl Entity for $ty {
            const KIND: PolicyOwnerKind = PolicyOwnerKind::$kind;
            const WORD: &'static str = $word;
            const RESOURCE: &'static str = $resource;
            fn check_name(name: &str) -> Result<(), Error> {
                $check(name)
            }
            fn no_such(name: &str) -> Error {
                $no_such(name)
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn path(&self) -> &str {
                &self.path
            }
            fn arn(&self) -> &str {
                &self.arn
            }
            fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
                &mut self.tags
            }
            fn get<'a>(
                store: &'a dyn Store,
                account: &'a AccountId,
                name: &'a str,
            ) -> Pending<'a, Option<Self>> {
                store.$get(account, name)
            }
            fn list<'a>(store: &'a dyn Store, account: &'a AccountId) -> Pending<'a, Vec<Self>> {
                store.$list(account)
            }
            fn insert<'a>(
                &'a self,
                store: &'a dyn Store,
                audit: AuditAppend<'a>,
            ) -> Pending<'a, ()> {
                store.$create(self, audit)
            }
            fn update<'a>(
                &'a self,
                store: &'a dyn Store,
                audit: AuditAppend<'a>,
            ) -> Pending<'a, bool> {
                store.$update(self, audit)
            }
            fn delete<'a>(
                store: &'a dyn Store,
                account: &'a AccountId,
                name: &'a str,
                audit: AuditAppend<'a>,
            ) -> Pending<'a, bool> {
                store.$delete(account, name, audit)
            }
        }
    };
}

entity!(
    IamUser,
    User,
    "User",
    "user",
    check_user_name,
    no_such_user,
    get_iam_user,
    list_iam_users,
    create_iam_user,
    update_iam_user,
    delete_iam_user
);
entity!(
    IamRole,
    Role,
    "Role",
    "role",
    check_role_name,
    no_such_role,
    get_iam_role,
    list_iam_roles,
    create_iam_role,
    update_iam_role,
    delete_iam_role
);

impl Kms {
    /// The user or role `name` of `account`, read without an authorization check: for the
    /// core's own use once an operation has authorized its caller.
    pub(crate) async fn find<E: Entity>(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<E, Error> {
        E::check_name(name)?;
        E::get(&**self.store(), account, name)
            .await?
            .ok_or_else(|| E::no_such(name))
    }

    /// Checks that `caller` may perform `action` on the user or role `name`: its ARN (with its
    /// path) when it exists, the plain `…:user/<name>` or `…:role/<name>` otherwise.
    pub(crate) async fn authorize_on<E: Entity>(
        &self,
        caller: &Caller,
        action: Action,
        name: &str,
    ) -> Result<(), Error> {
        let resource = match self.find::<E>(&caller.account, name).await {
            Ok(entity) => entity.arn().to_owned(),
            Err(_) => format!("arn:aws:iam::{}:{}/{name}", caller.account, E::RESOURCE),
        };
        self.authorize_iam(caller, action, &resource).await
    }

    /// Checks that `caller` may perform `action` on a new user or role at `path` (`/` when
    /// none) named `name`.
    pub(crate) async fn authorize_new<E: Entity>(
        &self,
        caller: &Caller,
        action: Action,
        path: Option<&str>,
        name: &str,
    ) -> Result<(), Error> {
        let resource = format!(
            "arn:aws:iam::{}:{}{}{name}",
            caller.account,
            E::RESOURCE,
            path.unwrap_or("/")
        );
        self.authorize_iam(caller, action, &resource).await
    }

    /// Stores a new user or role: `EntityAlreadyExists` if the account has one of its name.
    pub(crate) async fn insert_entity<E: Entity>(
        &self,
        entity: E,
        audit: &AuditDraft,
    ) -> Result<E, Error> {
        match entity.insert(&**self.store(), self.append(audit)).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "{} with name {} already exists.",
                    E::WORD,
                    entity.name()
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.identity_changed();
        Ok(entity)
    }

    /// ListUsers / ListRoles once authorized: those under `path_prefix`, ordered by name.
    pub(crate) async fn list_entities<E: Entity>(
        &self,
        caller: &Caller,
        action: Action,
        path_prefix: Option<&str>,
    ) -> Result<Vec<E>, Error> {
        let all = format!("arn:aws:iam::{}:{}/*", caller.account, E::RESOURCE);
        self.authorize_iam(caller, action, &all).await?;
        let entities = E::list(&**self.store(), &caller.account).await?;
        Ok(entities
            .into_iter()
            .filter(|e| path_prefix.is_none_or(|p| e.path().starts_with(p)))
            .collect())
    }

    /// TagUser / TagRole once authorized.
    pub(crate) async fn tag_entity<E: Entity>(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let mut entity = self.find::<E>(&caller.account, name).await?;
        let merged = merge_tags(entity.tags_mut(), tags)?;
        *entity.tags_mut() = merged;
        if !entity.update(&**self.store(), self.append(audit)).await? {
            return Err(E::no_such(name));
        }
        self.identity_changed();
        Ok(())
    }

    /// Deletes `entity`, named `name` by the request, once authorized (and, for a user, once it
    /// was found to have no access keys): `DeleteConflict` while it has inline policies, or,
    /// with `conflict`, when something was attached since.
    pub(crate) async fn delete_entity<E: Entity>(
        &self,
        caller: &Caller,
        entity: &E,
        name: &str,
        conflict: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let owner = PolicyOwner {
            kind: E::KIND,
            name: entity.name().to_owned(),
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
        if !E::delete(&**self.store(), &caller.account, name, self.append(audit)).await? {
            // Something was attached since the checks above (or the entity went).
            self.find::<E>(&caller.account, name).await?;
            return Err(Error::DeleteConflict(conflict.to_owned()));
        }
        self.identity_changed();
        Ok(())
    }
}
