//! Finding the key a request names (key id, key ARN, alias name or alias ARN), through the
//! caches, with the authorization every key operation must pass; the key's material; and the
//! read-modify-write every change of a key record goes through.

use std::sync::Arc;

use crate::aad::material_aad;
use crate::actions::Action;
use crate::authz::access_denied;
use crate::material::Prepared;
use crate::ops::AuditFn;
use crate::rules::{Need, check_state, refuse_alias};
use crate::{
    AccountId, AliasName, Caller, DenialReason, EncryptionContext, Error, Key, KeyArn, KeyId,
    KeyRef, Kms, MaterialId, Region, StoreError,
};

impl Kms {
    /// Resolves any KeyId form (aliases included) and checks that the caller may perform
    /// `action` on the key. A key ARN may name another account's key (cross-account use, which
    /// that key's policy must allow).
    pub(crate) async fn resolve(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: Action,
    ) -> Result<Arc<Key>, Error> {
        self.resolve_with(caller, key, action, None).await
    }

    /// [`Kms::resolve`] for an operation with an encryption context (policy conditions and
    /// grant constraints test it).
    pub(crate) async fn resolve_with(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: Action,
        context: Option<&EncryptionContext>,
    ) -> Result<Arc<Key>, Error> {
        let found = self.locate(caller, key, Some(action.as_str())).await?;
        self.authorize(caller, action, &found, context).await?;
        Ok(found)
    }

    /// Finds the key a KeyId names, without authorization. `cross_account`: the action, when
    /// it may use another account's key; whether such a key exists is not revealed (a missing
    /// one is denied like one whose policy does not allow the caller).
    pub(crate) async fn locate(
        &self,
        caller: &Caller,
        key: &KeyRef,
        cross_account: Option<&str>,
    ) -> Result<Arc<Key>, Error> {
        match key {
            KeyRef::Id(id) => self.require_key(caller, &caller.region, id).await,
            KeyRef::Arn(arn) if arn.region != caller.region => Err(other_region(&arn.region)),
            KeyRef::AliasArn { region, .. } if region != &caller.region => {
                Err(other_region(region))
            }
            KeyRef::Arn(arn) => {
                if arn.account != caller.account {
                    let Some(action) = cross_account else {
                        return Err(cross_account_denied(caller, &arn.to_string()));
                    };
                    return self
                        .key_in_account(&arn.account, &arn.region, &arn.key_id)
                        .await?
                        .ok_or_else(|| {
                            access_denied(
                                caller,
                                action,
                                &arn.to_string(),
                                DenialReason::NoResourcePolicyAllows,
                            )
                        });
                }
                self.require_key(caller, &arn.region, &arn.key_id).await
            }
            KeyRef::AliasName(name) => self.resolve_alias(caller, &caller.region, name).await,
            KeyRef::AliasArn {
                region,
                account,
                alias,
            } => {
                if account != &caller.account {
                    return Err(cross_account_denied(caller, &alias.arn(region, account)));
                }
                self.resolve_alias(caller, region, alias).await
            }
        }
    }

    /// Operations that take a key id or key ARN only (no alias), possibly of another account:
    /// the grant operations.
    pub(crate) async fn resolve_by_id(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: Action,
    ) -> Result<Arc<Key>, Error> {
        refuse_alias(key)?;
        self.resolve(caller, key, action).await
    }

    /// Management operations take a key id or key ARN only, of the caller's own account.
    pub(crate) async fn resolve_for_management(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: Action,
    ) -> Result<Arc<Key>, Error> {
        refuse_alias(key)?;
        let found = self.locate(caller, key, None).await?;
        self.authorize(caller, action, &found, None).await?;
        Ok(found)
    }

    /// The key an alias of the caller's account points at (the alias target cached).
    async fn resolve_alias(
        &self,
        caller: &Caller,
        region: &Region,
        name: &AliasName,
    ) -> Result<Arc<Key>, Error> {
        let target = match self.caches().alias(&caller.account, region, name) {
            Some(id) => id,
            None => {
                let read_began = self.caches().generation();
                let alias = self
                    .store()
                    .get_alias(&caller.account, region, name)
                    .await?
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "Alias {} is not found.",
                            name.arn(region, &caller.account)
                        ))
                    })?;
                self.caches().put_alias_read(
                    read_began,
                    &caller.account,
                    region,
                    name,
                    alias.target,
                );
                alias.target
            }
        };
        self.require_key(caller, region, &target).await
    }

    /// The caller's own key `id` in `region`; NotFound if there is none.
    pub(crate) async fn require_key(
        &self,
        caller: &Caller,
        region: &Region,
        id: &KeyId,
    ) -> Result<Arc<Key>, Error> {
        self.key_in_account(&caller.account, region, id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "Key '{}' does not exist",
                    KeyArn {
                        region: region.clone(),
                        account: caller.account.clone(),
                        key_id: *id
                    }
                ))
            })
    }

    /// Key `id` of `account` in `region`, from the cache or the store (cached only if no
    /// invalidation raced the read).
    pub(crate) async fn key_in_account(
        &self,
        account: &AccountId,
        region: &Region,
        id: &KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        // A multi-Region id names the copy in `region` (a UUID key id is unchanged).
        let id = &id.in_region(region);
        if let Some(k) = self.caches().key(id) {
            return Ok((&k.arn.account == account && &k.arn.region == region).then_some(k));
        }
        let read_began = self.caches().generation();
        match self.store().get_key(account, region, id).await? {
            Some(k) => Ok(Some(self.caches().put_key_read(read_began, k))),
            None => Ok(None),
        }
    }

    /// The key's current material version, prepared.
    pub(crate) async fn current_material(
        &self,
        key: &Key,
    ) -> Result<(MaterialId, Arc<Prepared>), Error> {
        let id = key.current_material;
        let prepared = self.material(key, &id).await?.ok_or_else(|| {
            Error::Internal(format!("current material of {} is missing", key.arn))
        })?;
        Ok((id, prepared))
    }

    /// Material version `id` of the key, prepared: from the cache, or read and unwrapped under
    /// the root key. `None` if the key has no such version.
    pub(crate) async fn material(
        &self,
        key: &Key,
        id: &MaterialId,
    ) -> Result<Option<Arc<Prepared>>, Error> {
        if let Some(p) = self.caches().material(&key.id(), id) {
            return Ok(Some(p));
        }
        let read_began = self.caches().generation();
        let Some(record) = self.store().get_material(&key.id(), id).await? else {
            return Ok(None);
        };
        let secret = self
            .root()
            .unwrap(&record.wrapped, &material_aad(&key.arn, id, key.spec))
            .map_err(|e| {
                Error::failed(
                    format!(
                        "material {id} of {} does not unwrap under the root key",
                        key.arn
                    ),
                    e,
                )
            })?;
        let prepared = Prepared::new(key.spec, &secret)?;
        Ok(Some(self.caches().put_material_read(
            read_began,
            key.id(),
            *id,
            prepared,
        )))
    }

    /// Reads the key fresh from the store, applies `change`, bumps the version and writes it
    /// back; retries when another writer got there first.
    pub(crate) async fn modify_key<F>(
        &self,
        audit: AuditFn<'_>,
        caller: &Caller,
        key_ref: &KeyRef,
        action: Action,
        need: Need,
        change: F,
    ) -> Result<Arc<Key>, Error>
    where
        F: Fn(&mut Key) -> Result<(), Error>,
    {
        let resolved = self.resolve_for_management(caller, key_ref, action).await?;
        let mut attempts = 0;
        loop {
            let mut key = self
                .store()
                .get_key(&resolved.arn.account, &resolved.arn.region, &resolved.id())
                .await?
                .ok_or_else(|| Error::NotFound(format!("Key '{}' does not exist", resolved.arn)))?;
            check_state(&key, need)?;
            change(&mut key)?;
            key.version += 1;
            let draft = audit(&key);
            let append = self.append(&draft);
            // Another node's later change may be invalidated while this write is in flight.
            let write_began = self.caches().generation();
            match self.store().update_key(&key, append).await {
                Ok(()) => return Ok(self.caches().put_key_written(write_began, key)),
                Err(StoreError::Conflict(_)) if attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn cross_account_denied(caller: &Caller, resource: &str) -> Error {
    Error::AccessDenied(format!(
        "User: {} is not authorized to access {resource}: this operation cannot use a key of another account",
        caller.principal
    ))
}

/// A key or alias ARN of a region other than the request's: AWS answers as if it named nothing,
/// with the region in the message.
fn other_region(region: &Region) -> Error {
    Error::NotFound(format!("Invalid arn {region}"))
}
