//! Key lifecycle: automatic and on-demand rotation, the rotation status and history, and the
//! scheduled work Kinko does by itself (rotations that are due, deletions whose waiting period
//! has ended, imported material that has expired). Every change commits its audit event in the
//! same transaction; scheduled work records a service event.

use std::sync::Arc;

use kinko_crypto::random_array;

use crate::aad::material_aad;
use crate::actions::Action;
use crate::material::{self, Prepared};
use crate::ops::AuditFn;
use crate::ops::Page;
use crate::rules::{Need, check_state};
use crate::{
    AuditAppend, AuditDraft, Caller, DEFAULT_ROTATION_PERIOD_DAYS, Error, Key, KeyArn, KeyRef,
    KeySpec, KeyState, Kms, MAX_ON_DEMAND_ROTATIONS, Material, MaterialId, Origin, RotationType,
    StoreError, UnixMillis,
};

/// An on-demand rotation is refused when an automatic one is due this soon (AWS's rule).
const ON_DEMAND_CONFLICT_WINDOW_MS: i64 = 20 * 60 * 1000;
/// Most keys one scheduler pass handles; the next pass takes the rest.
const JOB_BATCH: usize = 100;
/// How long an expired STS session is kept, so that its use is still reported as expired.
const SESSION_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// GetKeyRotationStatus's answer.
#[derive(Debug, Clone)]
pub struct RotationStatus {
    /// The key.
    pub key_arn: KeyArn,
    /// Whether automatic rotation is on (false while the key is pending deletion).
    pub enabled: bool,
    /// The automatic rotation period.
    pub period_days: Option<u32>,
    /// When automatic rotation next rotates the key.
    pub next_rotation: Option<UnixMillis>,
}

/// Work Kinko does by itself, recorded as CloudTrail service events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceEvent {
    /// Automatic rotation (`RotateKey`).
    RotateKey,
    /// The end of a deletion's waiting period (`DeleteKey`).
    DeleteKey,
    /// Imported material past its `ValidTo` (`DeleteExpiredKeyMaterial`).
    DeleteExpiredKeyMaterial,
    /// A service's first use made its AWS managed key (`CreateKey`).
    CreateManagedKey,
    /// ... and its alias `alias/aws/<service>` (`CreateAlias`).
    CreateManagedAlias,
    /// The last replica of a multi-Region primary in PendingReplicaDeletion is gone: the
    /// primary's waiting period begins (recorded as `ScheduleKeyDeletion`).
    PrimaryDeletionScheduled,
}

impl ServiceEvent {
    /// CloudTrail's `eventName`.
    pub fn name(self) -> &'static str {
        match self {
            ServiceEvent::RotateKey => "RotateKey",
            ServiceEvent::DeleteKey => "DeleteKey",
            ServiceEvent::DeleteExpiredKeyMaterial => "DeleteExpiredKeyMaterial",
            ServiceEvent::CreateManagedKey => "CreateKey",
            ServiceEvent::CreateManagedAlias => "CreateAlias",
            ServiceEvent::PrimaryDeletionScheduled => "ScheduleKeyDeletion",
        }
    }
}

/// Builds the audit record of a service event from the key it concerns (after the change).
pub type ServiceAuditFn<'a> = &'a (dyn Fn(ServiceEvent, &Key) -> AuditDraft + Send + Sync);

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// Keys rotated automatically.
    pub rotated: Vec<KeyArn>,
    /// Keys deleted.
    pub deleted: Vec<KeyArn>,
    /// Keys whose imported material expired.
    pub expired: Vec<KeyArn>,
}

impl Kms {
    /// EnableKeyRotation (key id or ARN): automatic rotation every `period_days` (90–2560,
    /// validated by the caller; default 365).
    pub async fn enable_key_rotation(
        &self,
        caller: &Caller,
        key: &KeyRef,
        period_days: Option<u32>,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let now = self.clock().now();
        let period = period_days.unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
        self.modify_key(
            audit,
            caller,
            key,
            Action::KmsEnableKeyRotation,
            Need::Any,
            |k| {
                crate::rules::refuse_replica(k, "automatic rotation")?;
                check_automatic_rotation(k)?;
                // A changed period counts from the last rotation (or creation), as AWS does.
                k.next_rotation = Some(match (k.rotation_period_days, k.next_rotation) {
                    (Some(old), Some(next)) => UnixMillis(next.0 - i64::from(old) * 86_400_000)
                        .plus_days(period)
                        .max(now),
                    _ => now.plus_days(period),
                });
                k.rotation_period_days = Some(period);
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// DisableKeyRotation (key id or ARN).
    pub async fn disable_key_rotation(
        &self,
        caller: &Caller,
        key: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        self.modify_key(
            audit,
            caller,
            key,
            Action::KmsDisableKeyRotation,
            Need::Any,
            |k| {
                crate::rules::refuse_replica(k, "automatic rotation")?;
                check_automatic_rotation(k)?;
                k.rotation_period_days = None;
                k.next_rotation = None;
                Ok(())
            },
        )
        .await
        .map(|_| ())
    }

    /// GetKeyRotationStatus (key id or ARN).
    pub async fn get_key_rotation_status(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<RotationStatus, Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsGetKeyRotationStatus)
            .await?;
        // AWS answered UnsupportedOperationException here until 2025; it now answers
        // `KeyRotationEnabled: false` for asymmetric and HMAC keys, which never rotate.
        if key.spec != KeySpec::SymmetricDefault {
            return Ok(RotationStatus {
                key_arn: key.arn.clone(),
                enabled: false,
                period_days: None,
                next_rotation: None,
            });
        }
        if key.state == KeyState::PendingImport {
            return Err(Error::UnsupportedOperation(format!(
                "{} is pending import; its rotation status is not available.",
                key.arn
            )));
        }
        let pending_deletion = key.state == KeyState::PendingDeletion;
        // Automatic rotation is a shared property of a multi-Region key, kept by its primary.
        let (period, next) = match self.primary_of(&key).await? {
            Some(primary) => (primary.rotation_period_days, primary.next_rotation),
            None => (key.rotation_period_days, key.next_rotation),
        };
        let enabled = period.is_some() && !pending_deletion;
        Ok(RotationStatus {
            key_arn: key.arn.clone(),
            enabled,
            period_days: period.filter(|_| enabled),
            next_rotation: next.filter(|_| enabled),
        })
    }

    /// RotateKeyOnDemand (key id or ARN): new material now, at most 25 times per key.
    pub async fn rotate_key_on_demand(
        &self,
        caller: &Caller,
        key: &KeyRef,
        audit: AuditFn<'_>,
    ) -> Result<KeyArn, Error> {
        let resolved = self
            .resolve_for_management(caller, key, Action::KmsRotateKeyOnDemand)
            .await?;
        // AWS checks the key's state before its spec: a disabled RSA key is DisabledException.
        check_state(&resolved, Need::Crypto)?;
        crate::rules::refuse_replica(&resolved, "rotation")?;
        check_rotation_kind(&resolved)?;
        if resolved.origin == Origin::External {
            return self.rotate_to_imported(&resolved, audit).await;
        }
        let now = self.clock().now();
        let mut attempts = 0;
        loop {
            let mut key = self.fresh_key(&resolved).await?;
            check_state(&key, Need::Crypto)?;
            if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS {
                return Err(Error::LimitExceeded(format!(
                    "{} has been rotated on demand {MAX_ON_DEMAND_ROTATIONS} times, the most a key can be.",
                    key.arn
                )));
            }
            if key
                .next_rotation
                .is_some_and(|next| next.0 - now.0 < ON_DEMAND_CONFLICT_WINDOW_MS)
            {
                return Err(Error::Conflict(format!(
                    "An automatic rotation of {} is due within 20 minutes; try again after it.",
                    key.arn
                )));
            }
            key.on_demand_rotations += 1;
            match self
                .rotate(&mut key, RotationType::OnDemand, now, audit)
                .await
            {
                Ok(()) => return Ok(key.arn.clone()),
                Err(Error::StoreUnavailable(StoreError::Conflict(_))) if attempts < 3 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// ListKeyRotations (key id or ARN): the key's rotations, oldest first, or every material
    /// version with `all_material`.
    pub async fn list_key_rotations(
        &self,
        caller: &Caller,
        key: &KeyRef,
        all_material: bool,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<(Arc<Key>, Page<Material>), Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsListKeyRotations)
            .await?;
        check_rotation_kind(&key)?;
        let mut items: Vec<Material> = self
            .store()
            .list_materials(&key.id())
            .await?
            .into_iter()
            .filter(|m| all_material || m.rotation_type.is_some())
            .collect();
        if let Some(marker) = marker {
            let after = items
                .iter()
                .position(|m| m.id.to_string() == marker)
                .ok_or_else(|| Error::InvalidMarker(format!("Invalid marker: {marker}")))?;
            items.drain(..=after);
        }
        let next_marker = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|m| m.id.to_string())
        } else {
            None
        };
        Ok((key, Page { items, next_marker }))
    }

    /// One scheduler pass: rotates the keys whose automatic rotation is due, deletes the keys
    /// whose waiting period has ended, and expires imported material past its `ValidTo`. Each
    /// key's change is one transaction with a version check, so several runners (restarts,
    /// several nodes) never do the same work twice.
    ///
    /// The pass runs only while this node holds the store's job lock ([`crate::Store::try_job_lock`]:
    /// an advisory lock on PostgreSQL); if another node holds it, the pass is skipped and the
    /// report is empty.
    pub async fn run_scheduled_jobs(&self, events: ServiceAuditFn<'_>) -> Result<JobReport, Error> {
        let Some(lock) = self.store().try_job_lock().await? else {
            return Ok(JobReport::default());
        };
        let result = self.run_scheduled_jobs_locked(events).await;
        lock.release().await;
        result
    }

    async fn run_scheduled_jobs_locked(
        &self,
        events: ServiceAuditFn<'_>,
    ) -> Result<JobReport, Error> {
        let now = self.clock().now();
        let mut report = JobReport::default();
        for mut key in self.store().keys_due(now, JOB_BATCH).await? {
            let outcome = if key.state == KeyState::PendingDeletion {
                self.delete_due(&key, now, events).await.map(|done| {
                    if done {
                        report.deleted.push(key.arn.clone());
                    }
                })
            } else if key.valid_to.is_some_and(|v| v <= now) {
                self.expire_material(&mut key, events)
                    .await
                    .map(|()| report.expired.push(key.arn.clone()))
            } else if key.state == KeyState::Enabled && key.next_rotation.is_some_and(|n| n <= now)
            {
                let audit = |k: &Key| events(ServiceEvent::RotateKey, k);
                let period = key
                    .rotation_period_days
                    .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
                key.next_rotation = Some(now.plus_days(period));
                self.rotate(&mut key, RotationType::Automatic, now, &audit)
                    .await
                    .map(|()| report.rotated.push(key.arn.clone()))
            } else {
                Ok(())
            };
            match outcome {
                Ok(_) => {}
                // Someone else changed the key first; the next pass sees the new state.
                Err(e) if e.is_store_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        // STS sessions a day past their expiry: until then a request with one still gets
        // ExpiredToken rather than an unknown-key error, as from AWS.
        self.store()
            .delete_expired_sessions(UnixMillis(now.0.saturating_sub(SESSION_GRACE_MS)))
            .await?;
        Ok(report)
    }

    /// Gives `key` new material of `rotation_type` (the key's other fields already changed by
    /// the caller) and makes it current, in one transaction.
    async fn rotate(
        &self,
        key: &mut Key,
        rotation_type: RotationType,
        now: UnixMillis,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let material_id = MaterialId(random_array()?);
        let secret = material::generate(key.spec)?;
        let prepared = Prepared::new(key.spec, &secret)?;
        let wrapped = self
            .root()
            .wrap(&secret, &material_aad(&key.arn, &material_id, key.spec))?;
        let material = Material::generated(
            key.id(),
            material_id,
            wrapped,
            self.root().id(),
            now,
            Some(rotation_type),
        );
        key.current_material = material_id;
        key.version += 1;
        let draft = audit(key);
        let append = AuditAppend {
            chain: self.audit_chain(),
            draft: &draft,
        };
        // A multi-Region primary rotates every region's copy in the same transaction.
        let replicas = self.replicas_rotated(key, &material).await?;
        if replicas.is_empty() {
            self.store()
                .add_material(key, &material, append)
                .await
                .map_err(conflict_as_retryable)?;
        } else {
            let mut all = vec![(key.clone(), Some(material))];
            all.extend(replicas);
            self.store()
                .update_keys(&all, append)
                .await
                .map_err(conflict_as_retryable)?;
            for (replica, _) in all.into_iter().skip(1) {
                self.caches().forget_materials(&replica.id());
                self.caches().put_key(replica);
            }
        }
        self.caches().put_material(key.id(), material_id, prepared);
        self.caches().put_key(key.clone());
        Ok(())
    }

    /// Deletes a key whose waiting period has ended; false if it is no longer due.
    async fn delete_due(
        &self,
        key: &Key,
        now: UnixMillis,
        events: ServiceAuditFn<'_>,
    ) -> Result<bool, Error> {
        if key.state != KeyState::PendingDeletion || key.deletion_date.is_none_or(|d| d > now) {
            return Ok(false);
        }
        let draft = events(ServiceEvent::DeleteKey, key);
        self.store()
            .delete_key(
                key,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await
            .map_err(conflict_as_retryable)?;
        self.caches().forget_key(&key.id());
        if key.is_replica() {
            self.replica_deleted(key, now, events).await?;
        }
        Ok(true)
    }

    /// Destroys expired imported material: the key goes to PendingImport.
    async fn expire_material(
        &self,
        key: &mut Key,
        events: ServiceAuditFn<'_>,
    ) -> Result<(), Error> {
        let mut material = self
            .store()
            .get_material(&key.id(), &key.current_material)
            .await?
            .ok_or_else(|| {
                Error::Internal(format!("current material of {} is missing", key.arn))
            })?;
        material.wrapped = Vec::new();
        material.root_id = String::new();
        key.state = KeyState::PendingImport;
        key.valid_to = None;
        key.version += 1;
        let draft = events(ServiceEvent::DeleteExpiredKeyMaterial, key);
        self.store()
            .put_material(
                key,
                &material,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await
            .map_err(conflict_as_retryable)?;
        self.caches().forget_materials(&key.id());
        self.caches().put_key(key.clone());
        Ok(())
    }

    /// The key as stored now (not as cached).
    pub(crate) async fn fresh_key(&self, key: &Key) -> Result<Key, Error> {
        self.store()
            .get_key(&key.arn.account, &key.arn.region, &key.id())
            .await?
            .ok_or_else(|| Error::NotFound(format!("Key '{}' does not exist", key.arn)))
    }
}

/// A version conflict stays recognisable (retry or skip) instead of becoming an internal error.
fn conflict_as_retryable(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(_) => Error::StoreUnavailable(e),
        other => other.into(),
    }
}

/// Rotation exists for symmetric encryption keys only.
fn check_rotation_kind(key: &Key) -> Result<(), Error> {
    if key.spec != KeySpec::SymmetricDefault {
        return Err(Error::UnsupportedOperation(format!(
            "{} has key spec {}: only symmetric encryption keys (SYMMETRIC_DEFAULT) can be rotated.",
            key.arn, key.spec
        )));
    }
    Ok(())
}

/// Enable/DisableKeyRotation: symmetric keys with generated material, in a state that allows it.
fn check_automatic_rotation(key: &Key) -> Result<(), Error> {
    check_rotation_kind(key)?;
    if key.origin != Origin::AwsKms {
        return Err(Error::UnsupportedOperation(format!(
            "{} has imported key material, which is not rotated automatically; use RotateKeyOnDemand.",
            key.arn
        )));
    }
    match key.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(Error::Disabled(format!("{} is disabled.", key.arn))),
        _ => check_state(key, Need::Crypto),
    }
}
