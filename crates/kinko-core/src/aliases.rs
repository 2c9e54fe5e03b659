//! The alias operations: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias belongs to
//! the caller's account and region; the alias and the key it points at are both authorized.

use crate::actions::Action;
use crate::ops::{AuditFn, Page};
use crate::rules::{MAX_ALIASES_PER_KEY, Need, check_state, decode_marker, page_marker};
use crate::{Alias, AliasName, Caller, Error, KeyRef, Kms, StoreError};

impl Kms {
    /// CreateAlias.
    pub async fn create_alias(
        &self,
        caller: &Caller,
        name: &AliasName,
        target: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        if name.is_reserved() {
            return Err(Error::InvalidAliasName(format!(
                "Alias {name} is reserved: names beginning with alias/aws/ are for AWS managed keys."
            )));
        }
        self.authorize_in_account(
            caller,
            Action::KmsCreateAlias,
            &name.arn(&caller.region, &caller.account),
        )
        .await?;
        let key = self
            .resolve_for_management(caller, target, Action::KmsCreateAlias)
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        if self.store().count_aliases(&key.id()).await? >= MAX_ALIASES_PER_KEY {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_ALIASES_PER_KEY} aliases: {} has reached the limit.",
                key.arn
            )));
        }
        let now = self.clock().now();
        let alias = Alias {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.clone(),
            target: key.id(),
            created_at: now,
            updated_at: now,
        };
        match self
            .store()
            .create_alias(&alias, self.append(&audit(&key)))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "An alias with the name {} already exists",
                    name.arn(&caller.region, &caller.account)
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.caches()
            .put_alias(&caller.account, &caller.region, name, key.id());
        Ok(())
    }

    /// UpdateAlias: points an alias at another key of the same type and usage.
    pub async fn update_alias(
        &self,
        caller: &Caller,
        name: &AliasName,
        target: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let mut alias = self
            .alias_to_change(caller, name, Action::KmsUpdateAlias)
            .await?;
        let new_target = self
            .resolve_for_management(caller, target, Action::KmsUpdateAlias)
            .await?;
        let old = self
            .key_in_account(&caller.account, &caller.region, &alias.target)
            .await?;
        if let Some(old) = &old {
            self.authorize(caller, Action::KmsUpdateAlias, old, None)
                .await?;
        }
        check_state(&new_target, Need::NotPendingDeletion)?;
        if let Some(old) = &old
            && (old.spec != new_target.spec || old.usage != new_target.usage)
        {
            return Err(Error::Validation(format!(
                "Alias {name} points at a {} {} key; the new target {} is {} {}. The key spec and usage must match.",
                old.spec, old.usage, new_target.arn, new_target.spec, new_target.usage
            )));
        }
        if self.store().count_aliases(&new_target.id()).await? >= MAX_ALIASES_PER_KEY
            && alias.target != new_target.id()
        {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_ALIASES_PER_KEY} aliases: {} has reached the limit.",
                new_target.arn
            )));
        }
        alias.target = new_target.id();
        alias.updated_at = self.clock().now();
        self.store()
            .update_alias(&alias, self.append(&audit(&new_target)))
            .await?;
        self.caches()
            .put_alias(&caller.account, &caller.region, name, new_target.id());
        Ok(())
    }

    /// DeleteAlias.
    pub async fn delete_alias(
        &self,
        caller: &Caller,
        name: &AliasName,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let alias = self
            .alias_to_change(caller, name, Action::KmsDeleteAlias)
            .await?;
        let key = self
            .require_key(caller, &caller.region, &alias.target)
            .await?;
        self.authorize(caller, Action::KmsDeleteAlias, &key, None)
            .await?;
        let draft = audit(&key);
        let append = self.append(&draft);
        let existed = self
            .store()
            .delete_alias(&caller.account, &caller.region, name, append)
            .await?;
        self.caches()
            .forget_alias(&caller.account, &caller.region, name);
        if existed {
            Ok(())
        } else {
            Err(alias_not_found(caller, name))
        }
    }

    /// The caller's alias `name` for UpdateAlias or DeleteAlias (`action`): not a reserved name,
    /// existing, and `action` allowed on the alias itself (its target key is checked after).
    async fn alias_to_change(
        &self,
        caller: &Caller,
        name: &AliasName,
        action: Action,
    ) -> Result<Alias, Error> {
        if name.is_reserved() {
            return Err(Error::InvalidAliasName(format!(
                "Alias {name} is reserved for AWS managed keys."
            )));
        }
        let alias = self
            .store()
            .get_alias(&caller.account, &caller.region, name)
            .await?
            .ok_or_else(|| alias_not_found(caller, name))?;
        self.authorize_in_account(caller, action, &name.arn(&caller.region, &caller.account))
            .await?;
        Ok(alias)
    }

    /// ListAliases, optionally of one key.
    pub async fn list_aliases(
        &self,
        caller: &Caller,
        key: Option<&KeyRef>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Alias>, Error> {
        let target = match key {
            Some(r) => Some(
                self.resolve_for_management(caller, r, Action::KmsListAliases)
                    .await?
                    .id(),
            ),
            None => {
                self.authorize_in_account(caller, Action::KmsListAliases, "*")
                    .await?;
                None
            }
        };
        let after = match marker {
            Some(m) => Some(
                decode_marker(m)
                    .and_then(|s| AliasName::parse(&s).ok())
                    .ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let mut items = self
            .store()
            .list_aliases(
                &caller.account,
                &caller.region,
                target.as_ref(),
                after.as_ref(),
                limit + 1,
            )
            .await?;
        let next_marker = page_marker(&mut items, limit, |a| a.name.to_string());
        Ok(Page { items, next_marker })
    }
}

fn alias_not_found(caller: &Caller, name: &AliasName) -> Error {
    Error::NotFound(format!(
        "Alias {} is not found.",
        name.arn(&caller.region, &caller.account)
    ))
}
