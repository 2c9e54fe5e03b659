//! In-memory caches that keep the database off the hot path: key metadata, alias targets and
//! unwrapped (prepared) key material. Locks are never held across an `.await`.
//!
//! On a single node every mutation goes through [`crate::Kms`], which updates the cache after
//! the store commits, so the cache is never staler than the store.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kinko_crypto::DataProtectionKey;

use crate::{AccountId, AliasName, Key, KeyId, MaterialId, Region};

/// Upper bound on prepared material versions held in memory.
const MAX_MATERIALS: usize = 4096;
/// Upper bound on cached key records and alias entries.
const MAX_ENTRIES: usize = 100_000;

type AliasKey = (AccountId, Region, AliasName);

#[derive(Debug, Default)]
pub(crate) struct Caches {
    keys: RwLock<HashMap<KeyId, Arc<Key>>>,
    aliases: RwLock<HashMap<AliasKey, KeyId>>,
    materials: RwLock<HashMap<(KeyId, MaterialId), Arc<DataProtectionKey>>>,
}

impl Caches {
    pub(crate) fn key(&self, id: &KeyId) -> Option<Arc<Key>> {
        self.keys.read().ok()?.get(id).cloned()
    }

    pub(crate) fn put_key(&self, key: Key) -> Arc<Key> {
        let key = Arc::new(key);
        if let Ok(mut map) = self.keys.write() {
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

    pub(crate) fn material(&self, key: &KeyId, id: &MaterialId) -> Option<Arc<DataProtectionKey>> {
        self.materials.read().ok()?.get(&(*key, *id)).cloned()
    }

    pub(crate) fn put_material(
        &self,
        key: KeyId,
        id: MaterialId,
        prepared: DataProtectionKey,
    ) -> Arc<DataProtectionKey> {
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

    /// Drops all unwrapped material (shutdown).
    pub(crate) fn clear_materials(&self) {
        if let Ok(mut map) = self.materials.write() {
            map.clear();
        }
    }
}
