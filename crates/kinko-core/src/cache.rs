//! In-memory caches that keep the database off the hot path: key metadata, alias targets, the
//! grants of a key and unwrapped (prepared) key material. Locks are never held across an `.await`.
//!
//! On a single node every mutation goes through `Kms`, which updates the cache after
//! the store commits, so the cache is never staler than the store. With several nodes on one
//! database, another node's commit reaches this cache as an invalidation (`Kms::invalidate_*`,
//! driven by the server's change feed). Every invalidation bumps a generation counter, and an
//! entry read from the store is cached only if no invalidation happened since the read began:
//! a read that raced with another node's commit cannot put the old record back after the
//! invalidation removed it. A key record never replaces a later version of itself (a read that
//! raced with this node's own write), and a write that overlapped an invalidation removes the
//! key's entry rather than leave whatever a racing read put there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::cache_stats::{HitCounter, HitsAndMisses};
use crate::intern::Interner;
use crate::material::Prepared;
use crate::{AccountId, AliasName, Grant, Key, KeyId, MaterialId, Region};

/// Upper bound on prepared material versions held in memory.
const MAX_MATERIALS: usize = 4096;
/// Upper bound on cached key records and alias entries.
const MAX_ENTRIES: usize = 100_000;

type AliasKey = (AccountId, Region, AliasName);

#[derive(Debug, Default)]
pub(crate) struct Caches {
    keys: RwLock<HashMap<KeyId, Arc<Key>>>,
    aliases: RwLock<HashMap<AliasKey, KeyId>>,
    materials: RwLock<HashMap<(KeyId, MaterialId), Arc<Prepared>>>,
    /// Every grant of a key, ordered by grant id.
    grants: RwLock<HashMap<KeyId, Arc<[Grant]>>>,
    /// Bumped by every invalidation; see the module documentation.
    generation: AtomicU64,
    /// Lookups of `keys`.
    key_lookups: HitCounter,
    /// Lookups of `materials`.
    material_lookups: HitCounter,
    /// The key policies of cached records, each text held once.
    policies: Interner,
}

/// The cache generation a store read began in (see [`Caches::generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

impl Caches {
    /// The current generation: take it before a store read whose result will be cached.
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// Whether an invalidation happened since `read_began`.
    fn stale(&self, read_began: Generation) -> bool {
        self.generation() != read_began
    }

    /// Marks every read in flight as possibly stale (called before an invalidation's removal).
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Caches a key record read from the store in generation `read_began`, unless an
    /// invalidation came in between (or the cache holds a later version, [`Caches::put_key`]);
    /// returns it either way.
    pub(crate) fn put_key_read(&self, read_began: Generation, key: Key) -> Arc<Key> {
        if self.stale(read_began) {
            return Arc::new(key);
        }
        self.put_key(key)
    }

    /// Caches a key record this node has just written, the write having begun in generation
    /// `write_began`. If an invalidation came in between, another node's later change may have
    /// been forgotten meanwhile, and a read that began before this write may be about to cache
    /// the record it replaced: the entry is invalidated instead, so the next lookup reads the
    /// store and no read already in flight is cached.
    pub(crate) fn put_key_written(&self, write_began: Generation, key: Key) -> Arc<Key> {
        if self.stale(write_began) {
            self.invalidate_key(&key.id());
            return Arc::new(key);
        }
        self.put_key(key)
    }

    /// Caches an alias target read in generation `read_began`, unless invalidated since.
    pub(crate) fn put_alias_read(
        &self,
        read_began: Generation,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
        target: KeyId,
    ) {
        if !self.stale(read_began) {
            self.put_alias(account, region, name, target);
        }
    }

    /// Caches prepared material read in generation `read_began`, unless invalidated since.
    pub(crate) fn put_material_read(
        &self,
        read_began: Generation,
        key: KeyId,
        id: MaterialId,
        prepared: Prepared,
    ) -> Arc<Prepared> {
        if self.stale(read_began) {
            return Arc::new(prepared);
        }
        self.put_material(key, id, prepared)
    }

    /// Caches the grants of `key` read in generation `read_began`, unless invalidated since;
    /// returns them either way.
    pub(crate) fn put_grants_read(
        &self,
        read_began: Generation,
        key: KeyId,
        grants: Vec<Grant>,
    ) -> Arc<[Grant]> {
        let grants: Arc<[Grant]> = grants.into();
        if self.stale(read_began) {
            return grants;
        }
        if let Ok(mut map) = self.grants.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, grants.clone());
        }
        grants
    }

    /// The cached grants of `key`.
    pub(crate) fn grants(&self, key: &KeyId) -> Option<Arc<[Grant]>> {
        self.grants.read().ok()?.get(key).cloned()
    }

    /// The grants of `key` changed (here or on another node): forget them, and keep a read
    /// that began before the change from caching the old list.
    pub(crate) fn invalidate_grants(&self, key: &KeyId) {
        self.bump();
        if let Ok(mut map) = self.grants.write() {
            map.remove(key);
        }
    }

    /// Another node changed `key`: forget its record, its aliases, its grants and its material.
    pub(crate) fn invalidate_key(&self, key: &KeyId) {
        self.bump();
        self.forget_key(key);
    }

    /// Another node changed an alias: forget where it points.
    pub(crate) fn invalidate_alias(&self, account: &AccountId, region: &Region, name: &AliasName) {
        self.bump();
        self.forget_alias(account, region, name);
    }

    /// Changes may have been missed: forget every key record, alias, grant list and prepared
    /// material.
    pub(crate) fn invalidate_all(&self) {
        self.bump();
        if let Ok(mut map) = self.keys.write() {
            map.clear();
        }
        if let Ok(mut map) = self.aliases.write() {
            map.clear();
        }
        if let Ok(mut map) = self.grants.write() {
            map.clear();
        }
        self.clear_materials();
    }

    pub(crate) fn key(&self, id: &KeyId) -> Option<Arc<Key>> {
        let found = self.keys.read().ok().and_then(|m| m.get(id).cloned());
        self.key_lookups.count(found)
    }

    /// Lookups of key records since start.
    pub(crate) fn key_lookups(&self) -> HitsAndMisses {
        self.key_lookups.read()
    }

    /// Lookups of prepared material since start.
    pub(crate) fn material_lookups(&self) -> HitsAndMisses {
        self.material_lookups.read()
    }

    /// Caches a key record, unless the cache holds a later version of it: a read that began
    /// before a write and ends after it brings back the record the write replaced, which must
    /// not overwrite the writer's (every change of a key record raises its `version`).
    pub(crate) fn put_key(&self, mut key: Key) -> Arc<Key> {
        key.policy = self.policies.intern(&key.policy);
        let key = Arc::new(key);
        if let Ok(mut map) = self.keys.write() {
            if map
                .get(&key.id())
                .is_some_and(|cached| cached.version > key.version)
            {
                return key;
            }
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key.id(), key.clone());
        }
        key
    }

    pub(crate) fn alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Option<KeyId> {
        let map = self.aliases.read().ok()?;
        map.get(&(account.clone(), region.clone(), name.clone()))
            .copied()
    }

    pub(crate) fn put_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
        target: KeyId,
    ) {
        if let Ok(mut map) = self.aliases.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert((account.clone(), region.clone(), name.clone()), target);
        }
    }

    pub(crate) fn forget_alias(&self, account: &AccountId, region: &Region, name: &AliasName) {
        if let Ok(mut map) = self.aliases.write() {
            map.remove(&(account.clone(), region.clone(), name.clone()));
        }
    }

    pub(crate) fn material(&self, key: &KeyId, id: &MaterialId) -> Option<Arc<Prepared>> {
        let found = self
            .materials
            .read()
            .ok()
            .and_then(|m| m.get(&(*key, *id)).cloned());
        self.material_lookups.count(found)
    }

    pub(crate) fn put_material(
        &self,
        key: KeyId,
        id: MaterialId,
        prepared: Prepared,
    ) -> Arc<Prepared> {
        let prepared = Arc::new(prepared);
        if let Ok(mut map) = self.materials.write() {
            if map.len() >= MAX_MATERIALS {
                map.clear();
            }
            map.insert((key, id), prepared.clone());
        }
        prepared
    }

    /// Drops every unwrapped material version of a key (on disable and deletion).
    pub(crate) fn forget_materials(&self, key: &KeyId) {
        if let Ok(mut map) = self.materials.write() {
            map.retain(|(k, _), _| k != key);
        }
    }

    /// Forgets a deleted key: its record, its grants, its material and every alias pointing
    /// at it.
    pub(crate) fn forget_key(&self, key: &KeyId) {
        if let Ok(mut map) = self.keys.write() {
            map.remove(key);
        }
        if let Ok(mut map) = self.grants.write() {
            map.remove(key);
        }
        if let Ok(mut map) = self.aliases.write() {
            map.retain(|_, target| target != key);
        }
        self.forget_materials(key);
    }

    /// Drops all unwrapped material (shutdown).
    pub(crate) fn clear_materials(&self) {
        if let Ok(mut map) = self.materials.write() {
            map.clear();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{KeyArn, KeySpec, KeyState, KeyUsage, Origin, UnixMillis, default_key_policy};

    /// A symmetric key of account 111122223333 with the default policy (also used by
    /// `policy_cache`'s tests).
    pub(crate) fn key(version: i64, rotation: Option<u32>) -> Key {
        let account = AccountId::parse("111122223333").expect("an account id");
        Key {
            arn: KeyArn {
                region: Region::parse("us-east-1").expect("a region"),
                account: account.clone(),
                key_id: KeyId::from_bytes([7; 16]),
            },
            created_at: UnixMillis(1),
            description: String::new(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            current_material: MaterialId([7; 32]),
            policy: default_key_policy(&account).into(),
            version,
            rotation_period_days: rotation,
            next_rotation: None,
            on_demand_rotations: 0,
            valid_to: None,
            expiration_model: None,
            primary_region: None,
            manager: crate::KeyManager::Customer,
        }
    }

    fn cached(caches: &Caches) -> Option<(i64, Option<u32>)> {
        caches
            .key(&KeyId::from_bytes([7; 16]))
            .map(|k| (k.version, k.rotation_period_days))
    }

    #[test]
    fn a_read_that_began_before_a_write_does_not_put_the_old_record_back() {
        let caches = Caches::default();
        let read_began = caches.generation();
        let write_began = caches.generation();
        caches.put_key_written(write_began, key(2, Some(365)));
        // The read saw the record before the write committed, and ends after it.
        caches.put_key_read(read_began, key(1, None));
        assert_eq!(cached(&caches), Some((2, Some(365))));
    }

    #[test]
    fn a_write_that_overlapped_an_invalidation_leaves_no_entry_for_an_older_read() {
        let caches = Caches::default();
        let write_began = caches.generation();
        caches.invalidate_all();
        // A read that began after the invalidation, before the write committed.
        let read_began = caches.generation();
        caches.put_key_written(write_began, key(2, Some(365)));
        caches.put_key_read(read_began, key(1, None));
        assert_eq!(cached(&caches), None, "the older record must not be cached");
        // The next read, after the write, caches what the store holds.
        let next = caches.generation();
        caches.put_key_read(next, key(2, Some(365)));
        assert_eq!(cached(&caches), Some((2, Some(365))));
    }

    #[test]
    fn cached_keys_with_the_same_policy_share_one_copy_of_it() {
        let caches = Caches::default();
        let mut other = key(1, None);
        other.arn.key_id = KeyId::from_bytes([8; 16]);
        let (a, b) = (caches.put_key(key(1, None)), caches.put_key(other));
        assert_eq!(a.policy, b.policy);
        assert!(Arc::ptr_eq(&a.policy, &b.policy));
        let mut changed = key(2, None);
        changed.policy = "{\"Statement\":[]}".into();
        let c = caches.put_key(changed);
        assert_eq!(&*c.policy, "{\"Statement\":[]}");
        assert!(!Arc::ptr_eq(&a.policy, &c.policy));
    }
}
