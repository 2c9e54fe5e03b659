//! Multi-Region keys: ReplicateKey, UpdatePrimaryRegion, the regions of one `mrk-` key (for
//! DescribeKey's `MultiRegionConfiguration`), and the rules AWS applies to replicas.
//!
//! Each region's copy of a multi-Region key is a key of its own, stored under its id scoped to
//! that region ([`KeyId::in_region`]); the copies share the id, the key material (each copy
//! wrapped under the root key for its own ARN), spec, usage and origin. `primary_region` on
//! every copy names the primary.

use std::sync::Arc;

use crate::aad::material_aad;
use crate::actions::Action;
use crate::lifecycle::{ServiceAuditFn, ServiceEvent};
use crate::ops::AuditFn;
use crate::rules::{MAX_TAGS_PER_KEY, TOO_MANY_TAGS, dedup_tags, validate_tags};
use crate::{
    Caller, Error, Key, KeyArn, KeyRef, KeyState, Kms, Material, Region, StoreError, Tag,
    UnixMillis, default_key_policy,
};

/// ScheduleKeyDeletion's default waiting period, for a primary whose window was not kept.
const DEFAULT_PENDING_WINDOW_DAYS: u32 = 30;

/// ReplicateKey, validated.
#[derive(Debug, Clone)]
pub struct ReplicateKeyRequest {
    /// The region of the new replica.
    pub replica_region: Region,
    /// The replica's key policy; `None` attaches the default policy.
    pub policy: Option<String>,
    /// `BypassPolicyLockoutSafetyCheck`.
    pub bypass_policy_lockout_safety_check: bool,
    /// The replica's description (not shared with the primary).
    pub description: String,
    /// The replica's tags (not shared with the primary).
    pub tags: Vec<Tag>,
}

/// What ReplicateKey made.
#[derive(Debug, Clone)]
pub struct ReplicateKeyOutput {
    /// The new replica key.
    pub replica: Arc<Key>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

fn require_primary(key: &Key) -> Result<(), Error> {
    if key.primary_region.is_none() {
        return Err(Error::UnsupportedOperation(format!(
            "{} is not a multi-Region key.",
            key.arn
        )));
    }
    if key.is_replica() {
        return Err(Error::UnsupportedOperation(format!(
            "{} is not a multi-Region primary key.",
            key.arn
        )));
    }
    Ok(())
}

impl Kms {
    /// Every region's key of a multi-Region key, ordered by storage id (empty for a
    /// single-Region key).
    pub async fn multi_region_keys(&self, key: &Key) -> Result<Vec<Key>, Error> {
        if key.primary_region.is_none() {
            return Ok(Vec::new());
        }
        Ok(self
            .store()
            .list_key_regions(&key.arn.account, &key.id())
            .await?)
    }

    /// The primary key of a multi-Region replica (`None` for a primary or a single-Region key,
    /// or if the primary is gone).
    pub(crate) async fn primary_of(&self, key: &Key) -> Result<Option<Arc<Key>>, Error> {
        match &key.primary_region {
            Some(region) if key.is_replica() => {
                self.key_in_account(&key.arn.account, region, &key.id())
                    .await
            }
            _ => Ok(None),
        }
    }

    /// After the deletion of `replica`: if its primary waits for its replicas' deletion
    /// (PendingReplicaDeletion) and this was the last, the primary's waiting period begins now.
    pub(crate) async fn replica_deleted(
        &self,
        replica: &Key,
        now: UnixMillis,
        events: ServiceAuditFn<'_>,
    ) -> Result<(), Error> {
        let Some(region) = &replica.primary_region else {
            return Ok(());
        };
        let Some(mut primary) = self
            .store()
            .get_key(&replica.arn.account, region, &replica.id())
            .await?
        else {
            return Ok(());
        };
        let others = self.multi_region_keys(&primary).await?;
        if primary.state != KeyState::PendingReplicaDeletion
            || others.iter().any(|k| k.arn.region != primary.arn.region)
        {
            return Ok(());
        }
        primary.state = KeyState::PendingDeletion;
        primary.deletion_date = Some(
            now.plus_days(
                primary
                    .pending_window_days
                    .unwrap_or(DEFAULT_PENDING_WINDOW_DAYS),
            ),
        );
        primary.version += 1;
        let draft = events(ServiceEvent::PrimaryDeletionScheduled, &primary);
        self.store()
            .update_key(&primary, self.append(&draft))
            .await?;
        self.caches().put_key(primary);
        Ok(())
    }

    /// ReplicateKey: a replica of a multi-Region primary key in another region of this
    /// installation, with the same id and key material.
    pub async fn replicate_key(
        &self,
        caller: &Caller,
        key_ref: &KeyRef,
        req: ReplicateKeyRequest,
        audit: AuditFn<'_>,
    ) -> Result<ReplicateKeyOutput, Error> {
        let primary = self
            .resolve_for_management(caller, key_ref, Action::KmsReplicateKey)
            .await?;
        require_primary(&primary)?;
        // AWS also requires kms:CreateKey in the replica's region (an identity policy: the key
        // does not exist yet).
        let in_replica_region = Caller {
            region: req.replica_region.clone(),
            ..caller.clone()
        };
        self.authorize_in_account(&in_replica_region, Action::KmsCreateKey, "*")
            .await?;
        match primary.state {
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => {
                return Err(Error::InvalidState(format!(
                    "{} is pending deletion.",
                    primary.arn
                )));
            }
            KeyState::PendingImport => {
                return Err(Error::InvalidState(format!(
                    "{} is pending import.",
                    primary.arn
                )));
            }
            _ => {}
        }
        let region = req.replica_region;
        if region == primary.arn.region {
            return Err(Error::Validation(format!(
                "The replica region {region} is the region of the primary key {}.",
                primary.arn
            )));
        }
        let replica_id = primary.id().in_region(&region);
        let exists = self
            .store()
            .get_key(&primary.arn.account, &region, &replica_id)
            .await?;
        let already = || {
            Error::AlreadyExists(format!(
                "Multi-Region key {} already has a replica in {region}.",
                primary.id()
            ))
        };
        if exists.is_some() {
            return Err(already());
        }
        validate_tags(&req.tags)?;
        let tags = dedup_tags(req.tags);
        if tags.len() > MAX_TAGS_PER_KEY {
            return Err(Error::Tag(TOO_MANY_TAGS.into()));
        }
        let arn = KeyArn {
            region: region.clone(),
            account: primary.arn.account.clone(),
            key_id: replica_id,
        };
        let check_lockout = req.policy.is_some() && !req.bypass_policy_lockout_safety_check;
        let replica = Key {
            arn: arn.clone(),
            created_at: self.clock().now(),
            description: req.description,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: req
                .policy
                .unwrap_or_else(|| default_key_policy(&caller.account))
                .into(),
            version: 1,
            // Rotation is driven by the primary, which rotates every region's copy.
            rotation_period_days: None,
            next_rotation: None,
            ..(*primary).clone()
        };
        if check_lockout {
            // The caller must keep access to the new key under its own policy.
            self.check_lockout(caller, &replica, &replica.policy)
                .await?;
        }
        // The primary is written too (version bumped): a rotation racing this copy conflicts.
        let mut attempts = 0;
        loop {
            let mut primary = self
                .store()
                .get_key(&primary.arn.account, &primary.arn.region, &primary.id())
                .await?
                .ok_or_else(|| Error::NotFound(format!("Key '{}' does not exist", primary.arn)))?;
            let mut replica = replica.clone();
            replica.current_material = primary.current_material;
            replica.on_demand_rotations = primary.on_demand_rotations;
            let mut materials = Vec::new();
            for m in self.store().list_materials(&primary.id()).await? {
                materials.push(self.material_for(&primary, &arn, m)?);
            }
            primary.version += 1;
            let draft = audit(&replica);
            match self
                .store()
                .create_replica(&primary, &replica, &materials, &tags, self.append(&draft))
                .await
            {
                Ok(()) => {
                    self.caches().put_key(primary);
                    return Ok(ReplicateKeyOutput {
                        replica: self.caches().put_key(replica),
                        tags,
                    });
                }
                Err(StoreError::Conflict(_)) if attempts < 3 => {
                    // Either the region has the key now, or the primary changed: look again.
                    if self
                        .store()
                        .get_key(&primary.arn.account, &region, &replica_id)
                        .await?
                        .is_some()
                    {
                        return Err(already());
                    }
                    attempts += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A material version of `from`, wrapped anew for the key `to` (a root-key wrapping is
    /// bound to its key's ARN). Material not yet imported (empty) is copied as it is.
    fn material_for(&self, from: &Key, to: &KeyArn, m: Material) -> Result<Material, Error> {
        let wrapped = if m.wrapped.is_empty() {
            Vec::new()
        } else {
            let secret = self
                .root()
                .unwrap(&m.wrapped, &material_aad(&from.arn, &m.id, from.spec))
                .map_err(|e| {
                    Error::failed(
                        format!(
                            "material {} of {} does not unwrap under the root key",
                            m.id, from.arn
                        ),
                        e,
                    )
                })?;
            self.root()
                .wrap(&secret, &material_aad(to, &m.id, from.spec))?
        };
        Ok(Material {
            key_id: to.key_id,
            wrapped,
            root_id: if m.wrapped.is_empty() {
                m.root_id
            } else {
                self.root().id()
            },
            ..m
        })
    }

    /// A new material version `m` of a multi-Region primary key, wrapped for each of its
    /// replicas: `(replica with the new current material, its material)` (rotation).
    pub(crate) async fn replicas_rotated(
        &self,
        primary: &Key,
        m: &Material,
    ) -> Result<Vec<(Key, Option<Material>)>, Error> {
        let mut out = Vec::new();
        for mut replica in self.multi_region_keys(primary).await? {
            if replica.arn.region == primary.arn.region {
                continue;
            }
            let material = self.material_for(primary, &replica.arn, m.clone())?;
            replica.current_material = m.id;
            replica.on_demand_rotations = primary.on_demand_rotations;
            replica.version += 1;
            out.push((replica, Some(material)));
        }
        Ok(out)
    }

    /// UpdatePrimaryRegion: the replica in `region` becomes the primary key, and the primary
    /// (named by `key_ref`) a replica.
    pub async fn update_primary_region(
        &self,
        caller: &Caller,
        key_ref: &KeyRef,
        region: &Region,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let primary = self
            .resolve_for_management(caller, key_ref, Action::KmsUpdatePrimaryRegion)
            .await?;
        require_primary(&primary)?;
        if matches!(
            primary.state,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        ) {
            return Err(Error::InvalidState(format!(
                "{} is pending deletion.",
                primary.arn
            )));
        }
        let keys = self.multi_region_keys(&primary).await?;
        let Some(new_primary) = keys.iter().find(|k| &k.arn.region == region) else {
            return Err(Error::NotFound(format!(
                "Multi-Region key {} has no replica in {region}.",
                primary.id()
            )));
        };
        if new_primary.arn.region == primary.arn.region {
            return Ok(());
        }
        if new_primary.state == KeyState::PendingDeletion {
            return Err(Error::InvalidState(format!(
                "{} is pending deletion.",
                new_primary.arn
            )));
        }
        let mut changed = Vec::new();
        let (period, next) = (primary.rotation_period_days, primary.next_rotation);
        for mut k in keys {
            k.primary_region = Some(region.clone());
            // Automatic rotation moves with the primary role.
            if &k.arn.region == region {
                (k.rotation_period_days, k.next_rotation) = (period, next);
            } else {
                (k.rotation_period_days, k.next_rotation) = (None, None);
            }
            k.version += 1;
            changed.push((k, None));
        }
        let old = changed
            .iter()
            .find(|(k, _)| k.arn.region == primary.arn.region)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| Error::Internal("the primary key is missing".into()))?;
        let draft = audit(&old);
        self.store()
            .update_keys(&changed, self.append(&draft))
            .await?;
        for (k, _) in changed {
            self.caches().put_key(k);
        }
        Ok(())
    }
}
