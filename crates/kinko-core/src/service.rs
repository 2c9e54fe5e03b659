//! [`Kms`]: one method per KMS operation. Each resolves the key (cache first), checks the key
//! state rules of `kms-reference.md` §4, does the work, and writes through the store before it
//! updates the cache.

use std::collections::BTreeMap;
use std::sync::Arc;

use kinko_crypto::{RootKey, SecretBytes, random_array, random_secret};

use crate::bootstrap::{self, NewAccessKey};
use crate::cache::Caches;
use crate::identity::IdentityCache;
use crate::material::{self, Prepared};
use crate::ops::{
    CreateKeyRequest, DataKeySize, DecryptOutput, EncryptOutput, GenerateDataKeyOutput, Page,
    ReEncryptOutput, ScheduleDeletionOutput,
};
use crate::{
    AccessKey, AccessKeyId, Account, AccountId, Alias, AliasName, AuditAppend, AuditDraft, Caller,
    Clock, EncryptionAlgorithmSpec, EncryptionContext, Error, Key, KeyArn, KeyId, KeyRef, KeySpec,
    KeyState, KeyUsage, Material, MaterialId, Origin, Region, Store, StoreError, Tag,
    default_key_policy,
};

/// Setting that names the default account, claimed by the first node to start.
const DEFAULT_ACCOUNT_SETTING: &str = "default_account";

/// Most aliases one key may have.
pub const MAX_ALIASES_PER_KEY: usize = 50;
/// Most tags one key may have.
pub const MAX_TAGS_PER_KEY: usize = 50;

/// The KMS service: storage, root of trust, clock and caches.
#[derive(Debug)]
pub struct Kms {
    store: Arc<dyn Store>,
    root: Arc<dyn RootKey>,
    clock: Arc<dyn Clock>,
    caches: Caches,
    pub(crate) policies: crate::authz::PolicyCache,
    identities: IdentityCache,
    chain: String,
}

/// Builds the audit event of a successful change from the key it changed. The server supplies
/// it, because only the server knows the CloudTrail record's fields.
pub type AuditFn<'a> = &'a (dyn Fn(&Key) -> AuditDraft + Send + Sync);

/// What an operation needs of the key's state.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Cryptographic use: Enabled only.
    Crypto,
    /// Changes that PendingDeletion forbids (aliases, tags, description).
    NotPendingDeletion,
    /// Enable/Disable: not PendingDeletion, not PendingImport.
    EnableDisable,
    /// Anything goes (describe, list, policies).
    Any,
}

impl Kms {
    /// Builds the service.
    pub fn new(store: Arc<dyn Store>, root: Arc<dyn RootKey>, clock: Arc<dyn Clock>) -> Kms {
        Kms {
            store,
            root,
            clock,
            caches: Caches::default(),
            policies: Default::default(),
            identities: IdentityCache::default(),
            chain: "node-1".to_owned(),
        }
    }

    /// Names this node's audit chain (one chain per node).
    pub fn with_audit_chain(mut self, chain: impl Into<String>) -> Kms {
        self.chain = chain.into();
        self
    }

    /// This node's audit chain.
    pub fn audit_chain(&self) -> &str {
        &self.chain
    }

    /// The root of trust.
    pub(crate) fn root(&self) -> &Arc<dyn RootKey> {
        &self.root
    }

    /// The caches.
    pub(crate) fn identities(&self) -> &IdentityCache {
        &self.identities
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The store (for audit appends and queries made by the server).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock the service uses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Drops every unwrapped key material from memory (graceful shutdown).
    pub fn shutdown(&self) {
        self.caches.clear_materials();
    }

    /// Another node changed `key` (its record, material, tags or an alias pointing at it):
    /// forgets the cached record, the aliases that point at it and its prepared material, so
    /// the next request reads the store.
    pub fn invalidate_key(&self, key: &KeyId) {
        self.caches.invalidate_key(key);
        self.forget_policy(key);
    }

    /// Another node created, moved or deleted an alias: forgets where it points.
    pub fn invalidate_alias(&self, account: &AccountId, region: &Region, name: &AliasName) {
        self.caches.invalidate_alias(account, region, name);
    }

    /// Changes of other nodes may have been missed (the change feed was unreachable): forgets
    /// every cached key record, alias target and prepared material.
    pub fn invalidate_all(&self) {
        self.caches.invalidate_all();
        self.forget_policies();
        self.identities.clear();
    }

    // ----- accounts and credentials -------------------------------------------------------

    /// Creates the default account and its root access key if no account exists yet.
    /// Returns the new access key (with its secret) only when it was created now.
    ///
    /// Several nodes may start at once on one empty database: the account id is claimed through
    /// the `default_account` setting (insert-or-ignore, then read back), so they all agree on
    /// one account, and only the node whose claim won creates the root access key (and returns
    /// it); the others return `None`.
    pub async fn ensure_default_account(&self) -> Result<Option<NewAccessKey>, Error> {
        if !self.store.list_accounts().await?.is_empty() {
            return Ok(None);
        }
        let proposed = bootstrap::account_id(random_array()?)
            .ok_or_else(|| Error::Internal("account id generation".into()))?;
        let claimed = self
            .store
            .put_setting_if_absent(DEFAULT_ACCOUNT_SETTING, proposed.as_str())
            .await?;
        let account = AccountId::parse(&claimed).ok_or_else(|| {
            Error::Internal(format!("malformed {DEFAULT_ACCOUNT_SETTING} setting"))
        })?;
        let created_here = match self
            .store
            .create_account(&Account {
                id: account.clone(),
                created_at: self.clock.now(),
            })
            .await
        {
            Ok(()) => true,
            // Another node claimed and created it first.
            Err(StoreError::Conflict(_)) => false,
            Err(e) => return Err(e.into()),
        };
        // The claim's winner makes the access key; so does a node that found the claim but no
        // account (its winner stopped in between), lest the installation have no credentials.
        if account != proposed && !created_here {
            return Ok(None);
        }
        let principal = format!("arn:aws:iam::{account}:root");
        self.create_access_key(&account, &principal).await.map(Some)
    }

    /// Creates an access key for `principal_arn` in `account`.
    pub async fn create_access_key(
        &self,
        account: &AccountId,
        principal_arn: &str,
    ) -> Result<NewAccessKey, Error> {
        let id = bootstrap::access_key_id(random_array()?)
            .ok_or_else(|| Error::Internal("access key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let wrapped_secret = self.root.wrap(&secret, access_key_aad(&id).as_bytes())?;
        self.store
            .create_access_key(&AccessKey {
                id: id.clone(),
                account: account.clone(),
                principal_arn: principal_arn.to_owned(),
                wrapped_secret,
                root_id: self.root.id(),
                active: true,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(NewAccessKey {
            account: account.clone(),
            principal_arn: principal_arn.to_owned(),
            id,
            secret,
        })
    }

    /// Looks up an active access key and unwraps its secret, for SigV4 verification.
    pub async fn access_key_secret(
        &self,
        id: &AccessKeyId,
    ) -> Result<Option<(AccessKey, SecretBytes)>, Error> {
        let Some(record) = self.store.get_access_key(id).await? else {
            return Ok(None);
        };
        if !record.active {
            return Ok(None);
        }
        let secret = self
            .root
            .unwrap(&record.wrapped_secret, access_key_aad(id).as_bytes())
            .map_err(|_| {
                Error::Internal(format!(
                    "access key {id} does not unwrap under the root key"
                ))
            })?;
        Ok(Some((record, secret)))
    }

    // ----- key lifecycle --------------------------------------------------------------------

    /// CreateKey.
    pub async fn create_key(
        &self,
        caller: &Caller,
        req: CreateKeyRequest,
        audit: AuditFn<'_>,
    ) -> Result<Arc<Key>, Error> {
        self.authorize_in_account(caller, "kms:CreateKey", "*")
            .await?;
        if req.custom_key_store
            || matches!(req.origin, Origin::AwsCloudHsm | Origin::ExternalKeyStore)
        {
            return Err(Error::UnsupportedOperation(
                "Custom key stores (AWS_CLOUDHSM, EXTERNAL_KEY_STORE) are not supported by Kinko."
                    .into(),
            ));
        }
        if req.multi_region {
            return Err(Error::UnsupportedOperation(
                "Multi-Region keys are not supported by Kinko yet.".into(),
            ));
        }
        if req.spec == KeySpec::Sm2 {
            return Err(material::unsupported_spec(req.spec));
        }
        if !req.spec.usages().contains(&req.usage) {
            return Err(Error::Validation(format!(
                "KeyUsage {} is not compatible with KeySpec {}; it allows {}.",
                req.usage,
                req.spec,
                req.spec
                    .usages()
                    .iter()
                    .map(|u| u.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        validate_tags(&req.tags)?;
        if req.tags.len() > MAX_TAGS_PER_KEY {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_TAGS_PER_KEY} tags."
            )));
        }
        let now = self.clock.now();
        let arn = KeyArn {
            region: caller.region.clone(),
            account: caller.account.clone(),
            key_id: KeyId::from_random(random_array()?),
        };
        let check_lockout = req.policy.is_some() && !req.bypass_policy_lockout_safety_check;
        let material_id = MaterialId(random_array()?);
        let external = req.origin == Origin::External;
        // EXTERNAL keys start PendingImport with an empty material row that ImportKeyMaterial
        // fills; every other key gets its material now.
        let (wrapped, prepared) = if external {
            (Vec::new(), None)
        } else {
            let secret = material::generate(req.spec)?;
            let prepared = Prepared::new(req.spec, &secret)?;
            let wrapped = self
                .root
                .wrap(&secret, &material_aad(&arn, &material_id, req.spec))?;
            (wrapped, Some(prepared))
        };
        let key = Key {
            arn: arn.clone(),
            created_at: now,
            description: req.description,
            spec: req.spec,
            usage: req.usage,
            origin: req.origin,
            state: if external {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            deletion_date: None,
            pending_window_days: None,
            current_material: material_id,
            policy: req
                .policy
                .unwrap_or_else(|| default_key_policy(&caller.account)),
            version: 1,
            rotation_period_days: None,
            next_rotation: None,
            on_demand_rotations: 0,
            valid_to: None,
            expiration_model: None,
        };
        if check_lockout {
            self.check_lockout(caller, &key, &key.policy).await?;
        }
        let material = Material::generated(
            arn.key_id,
            material_id,
            wrapped,
            if external {
                String::new()
            } else {
                self.root.id()
            },
            now,
            None,
        );
        self.store
            .create_key(
                &key,
                &material,
                &dedup_tags(req.tags),
                AuditAppend {
                    chain: &self.chain,
                    draft: &audit(&key),
                },
            )
            .await?;
        if let Some(prepared) = prepared {
            self.caches.put_material(arn.key_id, material_id, prepared);
        }
        Ok(self.caches.put_key(key))
    }

    /// DescribeKey (aliases allowed).
    pub async fn describe_key(&self, caller: &Caller, key: &KeyRef) -> Result<Arc<Key>, Error> {
        self.resolve(caller, key, "kms:DescribeKey").await
    }

    /// ListKeys: keys of the caller's account in the request's region.
    pub async fn list_keys(
        &self,
        caller: &Caller,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Key>, Error> {
        self.authorize_in_account(caller, "kms:ListKeys", "*")
            .await?;
        let after = match marker {
            Some(m) => Some(
                decode_marker(m)
                    .and_then(|s| KeyId::parse(&s))
                    .ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let mut items = self
            .store
            .list_keys(&caller.account, &caller.region, after.as_ref(), limit + 1)
            .await?;
        let next_marker = page_marker(&mut items, limit, |k| k.id().to_string());
        Ok(Page { items, next_marker })
    }

    /// EnableKey.
    pub async fn enable_key(
        &self,
        caller: &Caller,
        key: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        self.modify_key(
            audit,
            caller,
            key,
            "kms:EnableKey",
            Need::EnableDisable,
            |k| {
                k.state = KeyState::Enabled;
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// DisableKey. Drops the key's unwrapped material from memory.
    pub async fn disable_key(
        &self,
        caller: &Caller,
        key: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let key = self
            .modify_key(
                audit,
                caller,
                key,
                "kms:DisableKey",
                Need::EnableDisable,
                |k| {
                    k.state = KeyState::Disabled;
                    Ok(())
                },
            )
            .await?;
        self.caches.forget_materials(&key.id());
        Ok(())
    }

    /// UpdateKeyDescription.
    pub async fn update_key_description(
        &self,
        caller: &Caller,
        key: &KeyRef,
        description: String,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        self.modify_key(
            audit,
            caller,
            key,
            "kms:UpdateKeyDescription",
            Need::NotPendingDeletion,
            move |k| {
                k.description = description.clone();
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// ScheduleKeyDeletion with a 7–30 day window (validated by the caller).
    pub async fn schedule_key_deletion(
        &self,
        caller: &Caller,
        key: &KeyRef,
        window_days: u32,
        audit: AuditFn<'_>,
    ) -> Result<ScheduleDeletionOutput, Error> {
        let deletion_date = self.clock.now().plus_days(window_days);
        let key = self
            .modify_key(
                audit,
                caller,
                key,
                "kms:ScheduleKeyDeletion",
                Need::Any,
                |k| {
                    if k.state == KeyState::PendingDeletion {
                        return Err(Error::InvalidState(format!(
                            "{} is pending deletion.",
                            k.arn
                        )));
                    }
                    k.state = KeyState::PendingDeletion;
                    k.deletion_date = Some(deletion_date);
                    k.pending_window_days = Some(window_days);
                    Ok(())
                },
            )
            .await?;
        self.caches.forget_materials(&key.id());
        Ok(ScheduleDeletionOutput {
            key_arn: key.arn.clone(),
            deletion_date,
            state: key.state,
            pending_window_days: window_days,
        })
    }

    /// CancelKeyDeletion: the key ends up Disabled.
    pub async fn cancel_key_deletion(
        &self,
        caller: &Caller,
        key: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<KeyArn, Error> {
        // An EXTERNAL key whose material is gone goes back to waiting for it.
        let resolved = self
            .resolve_for_management(caller, key, "kms:CancelKeyDeletion")
            .await?;
        let material_missing = resolved.origin == Origin::External
            && !self
                .store
                .get_material(&resolved.id(), &resolved.current_material)
                .await?
                .is_some_and(|m| m.is_imported());
        let key = self
            .modify_key(
                audit,
                caller,
                key,
                "kms:CancelKeyDeletion",
                Need::Any,
                |k| {
                    if k.state != KeyState::PendingDeletion {
                        return Err(Error::InvalidState(format!(
                            "{} is not pending deletion.",
                            k.arn
                        )));
                    }
                    k.state = if material_missing {
                        KeyState::PendingImport
                    } else {
                        KeyState::Disabled
                    };
                    k.deletion_date = None;
                    k.pending_window_days = None;
                    Ok(())
                },
            )
            .await?;
        Ok(key.arn.clone())
    }

    // ----- cryptographic operations ---------------------------------------------------------

    /// Encrypt with the key's current material.
    pub async fn encrypt(
        &self,
        caller: &Caller,
        key: &KeyRef,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<EncryptOutput, Error> {
        let key = self
            .resolve_with(caller, key, "kms:Encrypt", Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, algorithm)?;
        let (material_id, ciphertext) = self
            .encrypt_with(&key, algorithm, context, plaintext)
            .await?;
        Ok(EncryptOutput {
            ciphertext,
            key_arn: key.arn.clone(),
            material_id,
        })
    }

    /// Decrypt; `key` is optional for symmetric ciphertexts.
    pub async fn decrypt(
        &self,
        caller: &Caller,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key: Option<&KeyRef>,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<DecryptOutput, Error> {
        self.decrypt_as(caller, "kms:Decrypt", ciphertext, context, key, algorithm)
            .await
    }

    /// Decrypt as `action` (`kms:Decrypt`, or `kms:ReEncryptFrom` for ReEncrypt's source).
    async fn decrypt_as(
        &self,
        caller: &Caller,
        action: &str,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key: Option<&KeyRef>,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<DecryptOutput, Error> {
        let named = match key {
            Some(r) => Some(self.resolve_with(caller, r, action, Some(context)).await?),
            None => None,
        };
        if let Some(k) = &named {
            check_encrypt_usage(k, algorithm)?;
            if let Some(oaep) = algorithm.oaep() {
                return self.decrypt_oaep(k, oaep, ciphertext, context).await;
            }
        } else if algorithm != EncryptionAlgorithmSpec::SymmetricDefault {
            return Err(Error::InvalidCiphertext);
        }
        let header =
            kinko_crypto::parse_header(ciphertext).map_err(|_| Error::InvalidCiphertext)?;
        let blob_key = KeyId::from_bytes(header.key_id);
        if named.as_ref().is_some_and(|k| k.id() != blob_key) {
            return Err(Error::IncorrectKey(
                "The key ID in the request does not identify a CMK that can perform this operation.".into(),
            ));
        }
        let key = match named {
            Some(k) => k,
            None => {
                let found = self
                    .key_in_account(&caller.account, &caller.region, &blob_key)
                    .await?
                    .ok_or(Error::InvalidCiphertext)?;
                self.authorize(caller, action, &found, Some(context))
                    .await?;
                found
            }
        };
        check_state(&key, Need::Crypto)?;
        let material_id = MaterialId(header.material_id);
        let prepared = self
            .material(&key, &material_id)
            .await?
            .ok_or(Error::InvalidCiphertext)?;
        let plaintext = prepared
            .symmetric()?
            .open(ciphertext, &context.aad())
            .map_err(|_| Error::InvalidCiphertext)?;
        Ok(DecryptOutput {
            plaintext,
            key_arn: key.arn.clone(),
            material_id: Some(material_id),
        })
    }

    /// ReEncrypt: decrypt under the source key and encrypt under the destination key, inside
    /// the service.
    #[allow(clippy::too_many_arguments)]
    pub async fn re_encrypt(
        &self,
        caller: &Caller,
        ciphertext: &[u8],
        source_context: &EncryptionContext,
        source_key: Option<&KeyRef>,
        source_algorithm: EncryptionAlgorithmSpec,
        destination_key: &KeyRef,
        destination_context: &EncryptionContext,
        destination_algorithm: EncryptionAlgorithmSpec,
    ) -> Result<ReEncryptOutput, Error> {
        let destination = self
            .resolve_with(
                caller,
                destination_key,
                "kms:ReEncryptTo",
                Some(destination_context),
            )
            .await?;
        check_state(&destination, Need::Crypto)?;
        check_encrypt_usage(&destination, destination_algorithm)?;
        let source = self
            .decrypt_as(
                caller,
                "kms:ReEncryptFrom",
                ciphertext,
                source_context,
                source_key,
                source_algorithm,
            )
            .await?;
        let (material_id, new_blob) = self
            .encrypt_with(
                &destination,
                destination_algorithm,
                destination_context,
                source.plaintext.expose(),
            )
            .await?;
        Ok(ReEncryptOutput {
            ciphertext: new_blob,
            source_key_arn: source.key_arn,
            destination_key_arn: destination.arn.clone(),
            source_material_id: source.material_id,
            destination_material_id: (destination_algorithm
                == EncryptionAlgorithmSpec::SymmetricDefault)
                .then_some(material_id),
        })
    }

    /// GenerateDataKey and GenerateDataKeyWithoutPlaintext.
    pub async fn generate_data_key(
        &self,
        caller: &Caller,
        key: &KeyRef,
        size: DataKeySize,
        context: &EncryptionContext,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyOutput, Error> {
        let action = if with_plaintext {
            "kms:GenerateDataKey"
        } else {
            "kms:GenerateDataKeyWithoutPlaintext"
        };
        let key = self
            .resolve_with(caller, key, action, Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, EncryptionAlgorithmSpec::SymmetricDefault)?;
        let data_key = random_secret(size.byte_len())?;
        let (material_id, prepared) = self.current_material(&key).await?;
        let ciphertext = prepared.symmetric()?.seal(
            key.arn.key_id.as_bytes(),
            &material_id.0,
            &context.aad(),
            data_key.expose(),
        )?;
        Ok(GenerateDataKeyOutput {
            plaintext: with_plaintext.then_some(data_key),
            ciphertext,
            key_arn: key.arn.clone(),
            material_id,
        })
    }

    /// GenerateRandom.
    pub async fn generate_random(
        &self,
        caller: &Caller,
        bytes: usize,
    ) -> Result<SecretBytes, Error> {
        self.authorize_in_account(caller, "kms:GenerateRandom", "*")
            .await?;
        Ok(random_secret(bytes)?)
    }

    // ----- aliases --------------------------------------------------------------------------

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
            "kms:CreateAlias",
            &name.arn(&caller.region, &caller.account),
        )
        .await?;
        let key = self
            .resolve_for_management(caller, target, "kms:CreateAlias")
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        if self.store.count_aliases(&key.id()).await? >= MAX_ALIASES_PER_KEY {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_ALIASES_PER_KEY} aliases: {} has reached the limit.",
                key.arn
            )));
        }
        let now = self.clock.now();
        let alias = Alias {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.clone(),
            target: key.id(),
            created_at: now,
            updated_at: now,
        };
        match self
            .store
            .create_alias(
                &alias,
                AuditAppend {
                    chain: &self.chain,
                    draft: &audit(&key),
                },
            )
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
        self.caches
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
        if name.is_reserved() {
            return Err(Error::InvalidAliasName(format!(
                "Alias {name} is reserved for AWS managed keys."
            )));
        }
        let mut alias = self
            .store
            .get_alias(&caller.account, &caller.region, name)
            .await?
            .ok_or_else(|| alias_not_found(caller, name))?;
        self.authorize_in_account(
            caller,
            "kms:UpdateAlias",
            &name.arn(&caller.region, &caller.account),
        )
        .await?;
        let new_target = self
            .resolve_for_management(caller, target, "kms:UpdateAlias")
            .await?;
        if let Some(old) = self
            .key_in_account(&caller.account, &caller.region, &alias.target)
            .await?
        {
            self.authorize(caller, "kms:UpdateAlias", &old, None)
                .await?;
        }
        check_state(&new_target, Need::NotPendingDeletion)?;
        if let Some(old) = self
            .key_in_account(&caller.account, &caller.region, &alias.target)
            .await?
            && (old.spec != new_target.spec || old.usage != new_target.usage)
        {
            {
                return Err(Error::Validation(format!(
                    "Alias {name} points at a {} {} key; the new target {} is {} {}. The key spec and usage must match.",
                    old.spec, old.usage, new_target.arn, new_target.spec, new_target.usage
                )));
            }
        }
        if self.store.count_aliases(&new_target.id()).await? >= MAX_ALIASES_PER_KEY
            && alias.target != new_target.id()
        {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_ALIASES_PER_KEY} aliases: {} has reached the limit.",
                new_target.arn
            )));
        }
        alias.target = new_target.id();
        alias.updated_at = self.clock.now();
        self.store
            .update_alias(
                &alias,
                AuditAppend {
                    chain: &self.chain,
                    draft: &audit(&new_target),
                },
            )
            .await?;
        self.caches
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
        if name.is_reserved() {
            return Err(Error::InvalidAliasName(format!(
                "Alias {name} is reserved for AWS managed keys."
            )));
        }
        let alias = self
            .store
            .get_alias(&caller.account, &caller.region, name)
            .await?
            .ok_or_else(|| alias_not_found(caller, name))?;
        self.authorize_in_account(
            caller,
            "kms:DeleteAlias",
            &name.arn(&caller.region, &caller.account),
        )
        .await?;
        let key = self
            .require_key(caller, &caller.region, &alias.target)
            .await?;
        self.authorize(caller, "kms:DeleteAlias", &key, None)
            .await?;
        let draft = audit(&key);
        let append = AuditAppend {
            chain: &self.chain,
            draft: &draft,
        };
        let existed = self
            .store
            .delete_alias(&caller.account, &caller.region, name, append)
            .await?;
        self.caches
            .forget_alias(&caller.account, &caller.region, name);
        if existed {
            Ok(())
        } else {
            Err(alias_not_found(caller, name))
        }
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
                self.resolve_for_management(caller, r, "kms:ListAliases")
                    .await?
                    .id(),
            ),
            None => {
                self.authorize_in_account(caller, "kms:ListAliases", "*")
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
            .store
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

    // ----- tags -----------------------------------------------------------------------------

    /// TagResource: adds or overwrites tags.
    pub async fn tag_resource(
        &self,
        caller: &Caller,
        key: &KeyRef,
        tags: Vec<Tag>,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        validate_tags(&tags)?;
        let key = self
            .resolve_for_management(caller, key, "kms:TagResource")
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        let tags = dedup_tags(tags);
        let existing = self
            .store
            .list_tags(&key.id(), None, MAX_TAGS_PER_KEY + 1)
            .await?;
        let new_keys = tags
            .iter()
            .filter(|t| !existing.iter().any(|e| e.key == t.key))
            .count();
        if existing.len() + new_keys > MAX_TAGS_PER_KEY {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_TAGS_PER_KEY} tags; this request would give {} {}.",
                key.arn,
                existing.len() + new_keys
            )));
        }
        self.store
            .put_tags(
                &key.id(),
                &tags,
                AuditAppend {
                    chain: &self.chain,
                    draft: &audit(&key),
                },
            )
            .await?;
        Ok(())
    }

    /// UntagResource: removes tags; missing ones are not an error.
    pub async fn untag_resource(
        &self,
        caller: &Caller,
        key: &KeyRef,
        tag_keys: Vec<String>,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let key = self
            .resolve_for_management(caller, key, "kms:UntagResource")
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        self.store
            .delete_tags(
                &key.id(),
                &tag_keys,
                AuditAppend {
                    chain: &self.chain,
                    draft: &audit(&key),
                },
            )
            .await?;
        Ok(())
    }

    /// ListResourceTags.
    pub async fn list_resource_tags(
        &self,
        caller: &Caller,
        key: &KeyRef,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Tag>, Error> {
        let key = self
            .resolve_for_management(caller, key, "kms:ListResourceTags")
            .await?;
        let after = match marker {
            Some(m) => Some(
                decode_marker(m).ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let mut items = self
            .store
            .list_tags(&key.id(), after.as_deref(), limit + 1)
            .await?;
        let next_marker = page_marker(&mut items, limit, |t| t.key.clone());
        Ok(Page { items, next_marker })
    }

    // ----- key policies ---------------------------------------------------------------------

    /// GetKeyPolicy: the stored `default` policy.
    pub async fn get_key_policy(&self, caller: &Caller, key: &KeyRef) -> Result<String, Error> {
        let key = self
            .resolve_for_management(caller, key, "kms:GetKeyPolicy")
            .await?;
        Ok(key.policy.clone())
    }

    /// PutKeyPolicy: replaces the `default` policy (validated by the caller).
    pub async fn put_key_policy(
        &self,
        caller: &Caller,
        key: &KeyRef,
        policy: String,
        bypass_lockout_check: bool,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        if !bypass_lockout_check {
            let current = self
                .resolve_for_management(caller, key, "kms:PutKeyPolicy")
                .await?;
            self.check_lockout(caller, &current, &policy).await?;
        }
        self.modify_key(
            audit,
            caller,
            key,
            "kms:PutKeyPolicy",
            Need::Any,
            move |k| {
                k.policy = policy.clone();
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// ListKeyPolicies: a key has exactly one policy, `default`.
    pub async fn list_key_policies(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<Vec<String>, Error> {
        self.resolve_for_management(caller, key, "kms:ListKeyPolicies")
            .await?;
        Ok(vec![crate::DEFAULT_POLICY_NAME.to_owned()])
    }

    // ----- resolution and caching -----------------------------------------------------------

    /// Resolves any KeyId form (aliases included) and checks that the caller may perform
    /// `action` on the key. A key ARN may name another account's key (cross-account use, which
    /// that key's policy must allow).
    pub(crate) async fn resolve(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: &str,
    ) -> Result<Arc<Key>, Error> {
        self.resolve_with(caller, key, action, None).await
    }

    /// [`Kms::resolve`] for an operation with an encryption context (policy conditions and
    /// grant constraints test it).
    pub(crate) async fn resolve_with(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: &str,
        context: Option<&EncryptionContext>,
    ) -> Result<Arc<Key>, Error> {
        let found = self.locate(caller, key, Some(action)).await?;
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
            KeyRef::Arn(arn) => {
                if arn.account != caller.account {
                    let Some(action) = cross_account else {
                        return Err(cross_account_denied(caller, &arn.to_string()));
                    };
                    return self
                        .key_in_account(&arn.account, &arn.region, &arn.key_id)
                        .await?
                        .ok_or_else(|| {
                            crate::authz::access_denied(
                                caller,
                                action,
                                &arn.to_string(),
                                crate::DenialReason::NoResourcePolicyAllows,
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
        action: &str,
    ) -> Result<Arc<Key>, Error> {
        refuse_alias(key)?;
        self.resolve(caller, key, action).await
    }

    /// Management operations take a key id or key ARN only, of the caller's own account.
    pub(crate) async fn resolve_for_management(
        &self,
        caller: &Caller,
        key: &KeyRef,
        action: &str,
    ) -> Result<Arc<Key>, Error> {
        refuse_alias(key)?;
        let found = self.locate(caller, key, None).await?;
        self.authorize(caller, action, &found, None).await?;
        Ok(found)
    }

    async fn resolve_alias(
        &self,
        caller: &Caller,
        region: &Region,
        name: &AliasName,
    ) -> Result<Arc<Key>, Error> {
        let target = match self.caches.alias(&caller.account, region, name) {
            Some(id) => id,
            None => {
                let read_began = self.caches.generation();
                let alias = self
                    .store
                    .get_alias(&caller.account, region, name)
                    .await?
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "Alias {} is not found.",
                            name.arn(region, &caller.account)
                        ))
                    })?;
                self.caches
                    .put_alias_read(read_began, &caller.account, region, name, alias.target);
                alias.target
            }
        };
        self.require_key(caller, region, &target).await
    }

    async fn require_key(
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

    pub(crate) async fn key_in_account(
        &self,
        account: &AccountId,
        region: &Region,
        id: &KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        if let Some(k) = self.caches.key(id) {
            return Ok((&k.arn.account == account && &k.arn.region == region).then_some(k));
        }
        let read_began = self.caches.generation();
        match self.store.get_key(account, region, id).await? {
            Some(k) => Ok(Some(self.caches.put_key_read(read_began, k))),
            None => Ok(None),
        }
    }

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

    async fn material(&self, key: &Key, id: &MaterialId) -> Result<Option<Arc<Prepared>>, Error> {
        if let Some(p) = self.caches.material(&key.id(), id) {
            return Ok(Some(p));
        }
        let read_began = self.caches.generation();
        let Some(record) = self.store.get_material(&key.id(), id).await? else {
            return Ok(None);
        };
        let secret = self
            .root
            .unwrap(&record.wrapped, &material_aad(&key.arn, id, key.spec))
            .map_err(|_| {
                Error::Internal(format!(
                    "material {id} of {} does not unwrap under the root key",
                    key.arn
                ))
            })?;
        let prepared = Prepared::new(key.spec, &secret)?;
        Ok(Some(self.caches.put_material_read(
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
        action: &str,
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
                .store
                .get_key(&resolved.arn.account, &resolved.arn.region, &resolved.id())
                .await?
                .ok_or_else(|| Error::NotFound(format!("Key '{}' does not exist", resolved.arn)))?;
            check_state(&key, need)?;
            change(&mut key)?;
            key.version += 1;
            let draft = audit(&key);
            let append = AuditAppend {
                chain: &self.chain,
                draft: &draft,
            };
            // Another node's later change may be invalidated while this write is in flight.
            let write_began = self.caches.generation();
            match self.store.update_key(&key, append).await {
                Ok(()) => return Ok(self.caches.put_key_read(write_began, key)),
                Err(StoreError::Conflict(_)) if attempts < 3 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    // ----- key usage (from the audit trail) -------------------------------------------------

    /// GetKeyLastUsage: the key (key id or key ARN only, any state) and its last successful
    /// cryptographic use, if any.
    pub async fn get_key_last_usage(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<(Arc<Key>, Option<crate::KeyLastUsage>), Error> {
        let key = self
            .resolve_for_management(caller, key, "kms:GetKeyLastUsage")
            .await?;
        let usage = self.store.key_last_usage(&key.id()).await?;
        Ok((key, usage))
    }

    /// Successful cryptographic uses of a key per operation, by operation name (for the CLI;
    /// no caller: the installation's operator asks).
    pub async fn key_usage_counts(&self, key: &KeyId) -> Result<Vec<(String, u64)>, Error> {
        Ok(self.store.key_usage_counts(key).await?)
    }
}

pub(crate) fn access_key_aad(id: &AccessKeyId) -> String {
    format!("kinko/access-key/{id}")
}

/// Root-key AAD of a material version: key ARN ‖ material id ‖ key spec (`design.md` §2).
pub(crate) fn material_aad(arn: &KeyArn, id: &MaterialId, spec: KeySpec) -> Vec<u8> {
    format!("kinko/material/{arn}|{id}|{spec}").into_bytes()
}

pub(crate) fn check_state(key: &Key, need: Need) -> Result<(), Error> {
    let arn = &key.arn;
    match (need, key.state) {
        (Need::Any, _) => Ok(()),
        (Need::Crypto, KeyState::Enabled | KeyState::Updating) => Ok(()),
        (Need::Crypto, KeyState::Disabled) => Err(Error::Disabled(format!("{arn} is disabled."))),
        (_, KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => {
            Err(Error::InvalidState(format!("{arn} is pending deletion.")))
        }
        (Need::NotPendingDeletion, _) => Ok(()),
        (Need::Crypto | Need::EnableDisable, KeyState::PendingImport) => {
            Err(Error::InvalidState(format!("{arn} is pending import.")))
        }
        (Need::Crypto, KeyState::Unavailable) => {
            Err(Error::InvalidState(format!("{arn} is unavailable.")))
        }
        (Need::Crypto | Need::EnableDisable, KeyState::Creating) => {
            Err(Error::InvalidState(format!("{arn} is creating.")))
        }
        (Need::EnableDisable, KeyState::Updating) => {
            Err(Error::InvalidState(format!("{arn} is updating.")))
        }
        (Need::EnableDisable, KeyState::Enabled | KeyState::Disabled | KeyState::Unavailable) => {
            Ok(())
        }
    }
}

pub(crate) fn check_encrypt_usage(
    key: &Key,
    algorithm: EncryptionAlgorithmSpec,
) -> Result<(), Error> {
    check_usage(key, KeyUsage::EncryptDecrypt)?;
    if !key
        .spec
        .encryption_algorithms(key.usage)
        .contains(&algorithm)
    {
        return Err(incompatible_algorithm(algorithm.as_str(), key));
    }
    Ok(())
}

/// The key's usage must be `usage`.
pub(crate) fn check_usage(key: &Key, usage: KeyUsage) -> Result<(), Error> {
    if key.usage != usage {
        return Err(Error::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for this operation.",
            key.arn, key.usage
        )));
    }
    Ok(())
}

/// `InvalidKeyUsageException` for an algorithm the key's spec does not offer.
pub(crate) fn incompatible_algorithm(algorithm: &str, key: &Key) -> Error {
    Error::InvalidKeyUsage(format!(
        "Algorithm {algorithm} is incompatible with key spec {}.",
        key.spec
    ))
}

/// Operations that take a key id or key ARN only: an alias is not a key they can find.
pub(crate) fn refuse_alias(key: &KeyRef) -> Result<(), Error> {
    if key.is_alias() {
        return Err(Error::NotFound(format!("Invalid keyId '{key}'")));
    }
    Ok(())
}

fn cross_account_denied(caller: &Caller, resource: &str) -> Error {
    Error::AccessDenied(format!(
        "User: {} is not authorized to access {resource}: this operation cannot use a key of another account",
        caller.principal_arn
    ))
}

fn alias_not_found(caller: &Caller, name: &AliasName) -> Error {
    Error::NotFound(format!(
        "Alias {} is not found.",
        name.arn(&caller.region, &caller.account)
    ))
}

fn validate_tags(tags: &[Tag]) -> Result<(), Error> {
    for t in tags {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::Tag(format!(
                "Tag keys beginning with aws: are reserved: {}",
                t.key
            )));
        }
    }
    Ok(())
}

/// Later tags with the same key overwrite earlier ones.
fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    let map: BTreeMap<String, String> = tags.into_iter().map(|t| (t.key, t.value)).collect();
    map.into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

/// Trims `items` (fetched with `limit + 1`) to `limit` and returns the marker of the next page.
pub(crate) fn page_marker<T>(
    items: &mut Vec<T>,
    limit: usize,
    sort_key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|last| encode_marker(&sort_key(last)))
}

/// Markers are the hex of the last item's sort key: opaque to clients, and within the
/// `[\u0020-\u00FF]` marker alphabet whatever the key holds.
pub(crate) fn encode_marker(sort_key: &str) -> String {
    sort_key.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn decode_marker(marker: &str) -> Option<String> {
    if marker.is_empty() || !marker.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..marker.len())
        .step_by(2)
        .map(|i| {
            marker
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}
