//! The key operations: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion, and the key's use as the audit
//! trail records it (GetKeyLastUsage, usage counts).

use std::sync::Arc;

use kinko_crypto::random_array;

use crate::aad::material_aad;
use crate::actions::Action;
use crate::material::{self, Prepared};
use crate::ops::{AuditFn, CreateKeyRequest, Page, ScheduleDeletionOutput};
use crate::rules::{
    MAX_TAGS_PER_KEY, Need, TOO_MANY_TAGS, decode_marker, dedup_tags, page_marker, validate_tags,
};
use crate::{
    Caller, Error, Key, KeyArn, KeyId, KeyLastUsage, KeyManager, KeyRef, KeySpec, KeyState, Kms,
    Material, MaterialId, Origin, default_key_policy,
};

impl Kms {
    /// CreateKey.
    pub async fn create_key(
        &self,
        caller: &Caller,
        req: CreateKeyRequest,
        audit: AuditFn<'_>,
    ) -> Result<Arc<Key>, Error> {
        self.authorize_in_account(caller, Action::KmsCreateKey, "*")
            .await?;
        if req.custom_key_store
            || matches!(req.origin, Origin::AwsCloudHsm | Origin::ExternalKeyStore)
        {
            return Err(Error::UnsupportedOperation(
                "Custom key stores (AWS_CLOUDHSM, EXTERNAL_KEY_STORE) are not supported by Kinko."
                    .into(),
            ));
        }
        if req.multi_region && req.origin == Origin::External {
            return Err(Error::UnsupportedOperation(
                "Multi-Region keys with imported key material (Origin EXTERNAL) are not supported by Kinko.".into(),
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
            return Err(Error::Tag(TOO_MANY_TAGS.into()));
        }
        let now = self.clock().now();
        let arn = KeyArn {
            region: caller.region.clone(),
            account: caller.account.clone(),
            key_id: if req.multi_region {
                KeyId::multi_region_from_random(random_array()?).in_region(&caller.region)
            } else {
                KeyId::from_random(random_array()?)
            },
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
                .root()
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
                .unwrap_or_else(|| default_key_policy(&caller.account))
                .into(),
            version: 1,
            rotation_period_days: None,
            next_rotation: None,
            on_demand_rotations: 0,
            valid_to: None,
            expiration_model: None,
            manager: KeyManager::Customer,
            primary_region: req.multi_region.then(|| caller.region.clone()),
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
                self.root().id()
            },
            now,
            None,
        );
        self.store()
            .create_key(
                &key,
                &material,
                &dedup_tags(req.tags),
                self.append(&audit(&key)),
            )
            .await?;
        if let Some(prepared) = prepared {
            self.caches()
                .put_material(arn.key_id, material_id, prepared);
        }
        Ok(self.caches().put_key(key))
    }

    /// DescribeKey (aliases allowed).
    pub async fn describe_key(&self, caller: &Caller, key: &KeyRef) -> Result<Arc<Key>, Error> {
        self.resolve(caller, key, Action::KmsDescribeKey).await
    }

    /// ListKeys: keys of the caller's account in the request's region.
    pub async fn list_keys(
        &self,
        caller: &Caller,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Key>, Error> {
        self.authorize_in_account(caller, Action::KmsListKeys, "*")
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
            .store()
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
            Action::KmsEnableKey,
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
                Action::KmsDisableKey,
                Need::EnableDisable,
                |k| {
                    k.state = KeyState::Disabled;
                    Ok(())
                },
            )
            .await?;
        self.caches().forget_materials(&key.id());
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
            Action::KmsUpdateKeyDescription,
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
        let deletion_date = self.clock().now().plus_days(window_days);
        let found = self
            .resolve_for_management(caller, key, Action::KmsScheduleKeyDeletion)
            .await?;
        // A multi-Region primary with replicas waits for them (PendingReplicaDeletion); its
        // waiting period begins when the last replica is gone (`Kms::replica_deleted`).
        let has_replicas = found.primary_region.is_some()
            && !found.is_replica()
            && self
                .multi_region_keys(&found)
                .await?
                .iter()
                .any(|k| k.arn.region != found.arn.region);
        let key = self
            .modify_key(
                audit,
                caller,
                key,
                Action::KmsScheduleKeyDeletion,
                Need::Any,
                |k| {
                    if matches!(
                        k.state,
                        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
                    ) {
                        return Err(Error::InvalidState(format!(
                            "{} is pending deletion.",
                            k.arn
                        )));
                    }
                    if has_replicas {
                        k.state = KeyState::PendingReplicaDeletion;
                        k.deletion_date = None;
                    } else {
                        k.state = KeyState::PendingDeletion;
                        k.deletion_date = Some(deletion_date);
                    }
                    k.pending_window_days = Some(window_days);
                    Ok(())
                },
            )
            .await?;
        self.caches().forget_materials(&key.id());
        Ok(ScheduleDeletionOutput {
            key_arn: key.arn.clone(),
            deletion_date: key.deletion_date,
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
            .resolve_for_management(caller, key, Action::KmsCancelKeyDeletion)
            .await?;
        let material_missing = resolved.origin == Origin::External
            && !self
                .store()
                .get_material(&resolved.id(), &resolved.current_material)
                .await?
                .is_some_and(|m| m.is_imported());
        let key = self
            .modify_key(
                audit,
                caller,
                key,
                Action::KmsCancelKeyDeletion,
                Need::Any,
                |k| {
                    if !matches!(
                        k.state,
                        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
                    ) {
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

    /// GetKeyLastUsage: the key (key id or key ARN only, any state) and its last successful
    /// cryptographic use, if any.
    pub async fn get_key_last_usage(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<(Arc<Key>, Option<KeyLastUsage>), Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsGetKeyLastUsage)
            .await?;
        let usage = self.store().key_last_usage(&key.id()).await?;
        Ok((key, usage))
    }

    /// Successful cryptographic uses of a key per operation, by operation name (for the CLI;
    /// no caller: the installation's operator asks).
    pub async fn key_usage_counts(&self, key: &KeyId) -> Result<Vec<(String, u64)>, Error> {
        Ok(self.store().key_usage_counts(key).await?)
    }
}
