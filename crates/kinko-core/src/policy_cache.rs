//! Compiled key policies, cached per key: a key policy is parsed once per policy text and key
//! version, not on every request. The cache is checked against the key record it is asked
//! about, so a changed policy is never evaluated in its old form.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kinko_policy::{Policy, PolicyKind};

use crate::cache_stats::{HitCounter, HitsAndMisses};
use crate::{Error, Key, KeyId};

/// Upper bound on cached compiled key policies.
const MAX_POLICIES: usize = 100_000;

/// Compiled key policies, keyed by key, checked against the policy text.
#[derive(Debug, Default)]
pub(crate) struct PolicyCache {
    by_key: RwLock<HashMap<KeyId, Arc<CompiledKeyPolicy>>>,
    /// Lookups: a miss compiles the policy.
    lookups: HitCounter,
}

/// One key's compiled policy and the record it was compiled from.
#[derive(Debug)]
pub(crate) struct CompiledKeyPolicy {
    text: String,
    /// The key record version the policy was compiled from.
    version: i64,
    /// The key ARN, the resource every request on the key names.
    pub(crate) resource: String,
    /// The compiled policy.
    pub(crate) policy: Policy,
    /// The condition keys the policy reads, lower-cased, each once.
    pub(crate) reads: Vec<String>,
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
            .filter(|c| c.version == key.version && c.text.len() == key.policy.len());
        if let Some(hit) = self.lookups.count(cached) {
            return Ok(hit);
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
        let compiled = Arc::new(CompiledKeyPolicy {
            text: key.policy.clone(),
            version: key.version,
            resource: key.arn.to_string(),
            policy,
            reads,
        });
        if let Ok(mut m) = self.by_key.write() {
            if m.len() >= MAX_POLICIES {
                m.clear();
            }
            m.insert(id, compiled.clone());
        }
        Ok(compiled)
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
    }
}
