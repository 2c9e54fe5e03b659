//! Compiled key policies, cached per key: a key policy is parsed once per policy text and key
//! version, not on every request. The cache is checked against the key record it is asked
//! about, so a changed policy is never evaluated in its old form.
//!
//! Keys with the same policy text (every key an account creates with the default policy) share
//! one compiled policy: per key, the cache holds only its version, its ARN and a pointer
//! (issue #20: resident memory with 100,000 keys).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use kinko_policy::{Policy, PolicyKind};

use crate::cache_stats::{HitCounter, HitsAndMisses};
use crate::{Error, Key, KeyId};

/// Upper bound on cached compiled key policies.
const MAX_POLICIES: usize = 100_000;

/// Compiled key policies, keyed by key, checked against the policy text.
#[derive(Debug, Default)]
pub(crate) struct PolicyCache {
    by_key: RwLock<HashMap<KeyId, Arc<CompiledKeyPolicy>>>,
    /// Every policy text compiled and still used by a key of `by_key`.
    by_text: RwLock<HashMap<Arc<str>, Weak<SharedPolicy>>>,
    /// Lookups: a miss compiles the policy (or finds its text already compiled).
    lookups: HitCounter,
}

/// One key's compiled policy and the record it was compiled from.
#[derive(Debug)]
pub(crate) struct CompiledKeyPolicy {
    /// The key record version the policy was compiled from.
    version: i64,
    /// The key ARN, the resource every request on the key names.
    pub(crate) resource: String,
    /// The policy, shared by every key with the same text.
    shared: Arc<SharedPolicy>,
}

/// A compiled policy text.
#[derive(Debug)]
pub(crate) struct SharedPolicy {
    text: Arc<str>,
    /// The compiled policy.
    pub(crate) policy: Policy,
    /// The condition keys the policy reads, lower-cased, each once.
    pub(crate) reads: Vec<String>,
}

impl std::ops::Deref for CompiledKeyPolicy {
    type Target = SharedPolicy;

    fn deref(&self) -> &SharedPolicy {
        &self.shared
    }
}

impl PolicyCache {
    /// The compiled policy of `key`, compiled now if the cached one is missing or stale.
    pub(crate) fn get(&self, key: &Key) -> Result<Arc<CompiledKeyPolicy>, Error> {
        let id = key.id();
        let cached = self
            .by_key
            .read()
            .ok()
            .and_then(|m| m.get(&id).cloned())
            // Every change of a key bumps its version; the length check costs nothing and
            // catches a record edited behind the service's back in the common case.
            .filter(|c| c.version == key.version && c.shared.text.len() == key.policy.len());
        if let Some(hit) = self.lookups.count(cached) {
            return Ok(hit);
        }
        let compiled = Arc::new(CompiledKeyPolicy {
            version: key.version,
            resource: key.arn.to_string(),
            shared: self.shared(key)?,
        });
        if let Ok(mut m) = self.by_key.write() {
            if m.len() >= MAX_POLICIES {
                m.clear();
            }
            m.insert(id, compiled.clone());
        }
        Ok(compiled)
    }

    /// The compiled form of `key`'s policy text: the one already shared if any key still uses
    /// it, else compiled now.
    fn shared(&self, key: &Key) -> Result<Arc<SharedPolicy>, Error> {
        let known = self
            .by_text
            .read()
            .ok()
            .and_then(|m| m.get(&*key.policy).and_then(Weak::upgrade));
        if let Some(shared) = known {
            return Ok(shared);
        }
        // A stored policy was validated when it was written; one that no longer parses (a
        // stricter parser, an edited database) denies everything but is still reported.
        let policy = Policy::parse(&key.policy, PolicyKind::Key).map_err(|e| {
            Error::failed(
                format!("the stored key policy of {} does not parse", key.arn),
                e,
            )
        })?;
        let mut reads: Vec<String> = Vec::new();
        for key in policy.read_keys() {
            if !reads.iter().any(|k| k == key) {
                reads.push(key.to_owned());
            }
        }
        let shared = Arc::new(SharedPolicy {
            text: key.policy.clone(),
            policy,
            reads,
        });
        if let Ok(mut m) = self.by_text.write() {
            if m.len() >= MAX_POLICIES {
                m.retain(|_, w| w.strong_count() > 0);
            }
            m.insert(key.policy.clone(), Arc::downgrade(&shared));
        }
        Ok(shared)
    }

    /// Lookups since start.
    pub(crate) fn lookups(&self) -> HitsAndMisses {
        self.lookups.read()
    }

    /// Forgets the compiled policy of `key`.
    pub(crate) fn forget(&self, key: &KeyId) {
        if let Ok(mut m) = self.by_key.write() {
            m.remove(key);
        }
    }

    /// Forgets every compiled policy.
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.by_key.write() {
            m.clear();
        }
        if let Ok(mut m) = self.by_text.write() {
            m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::key;

    #[test]
    fn keys_with_the_same_policy_text_share_one_compiled_policy() {
        let cache = PolicyCache::default();
        let a = key(1, None);
        let mut b = key(1, None);
        b.arn.key_id = KeyId::from_bytes([8; 16]);
        let (ca, cb) = (
            cache.get(&a).expect("compiles"),
            cache.get(&b).expect("compiles"),
        );
        assert!(Arc::ptr_eq(&ca.shared, &cb.shared));
        assert_ne!(ca.resource, cb.resource, "each key keeps its own ARN");

        // A changed policy is compiled anew, for that key only.
        let mut changed = key(2, None);
        changed.policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#.into();
        let cc = cache.get(&changed).expect("compiles");
        assert!(!Arc::ptr_eq(&cc.shared, &cb.shared));
        assert_eq!(&*cc.text, &*changed.policy);
        assert!(Arc::ptr_eq(
            &cache.get(&b).expect("cached").shared,
            &cb.shared
        ));
    }
}
