//! [`Kms`], the service every operation is a method of: its storage, root of trust, clock and
//! caches, how it is built, and how other nodes' changes reach its caches. The operations
//! themselves live in one file per family (`keys.rs`, `crypto.rs`, `aliases.rs`, …), the
//! rules they share in `rules.rs`, and key resolution in `resolve.rs`.

use std::sync::Arc;

use kinko_crypto::RootKey;

use crate::cache::Caches;
use crate::identity::IdentityCache;
use crate::policy_cache::PolicyCache;
use crate::{AccountId, AliasName, AuditAppend, AuditDraft, Clock, KeyId, Region, Store};

/// The KMS service: storage, root of trust, clock and caches.
#[derive(Debug)]
pub struct Kms {
    store: Arc<dyn Store>,
    root: Arc<dyn RootKey>,
    clock: Arc<dyn Clock>,
    caches: Caches,
    policies: PolicyCache,
    identities: IdentityCache,
    chain: String,
}

impl Kms {
    /// Builds the service.
    pub fn new(store: Arc<dyn Store>, root: Arc<dyn RootKey>, clock: Arc<dyn Clock>) -> Kms {
        Kms {
            store,
            root,
            clock,
            caches: Caches::default(),
            policies: PolicyCache::default(),
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

    /// The cache of principals' identities.
    pub(crate) fn identities(&self) -> &IdentityCache {
        &self.identities
    }

    /// The caches of key records, alias targets, grants and prepared material.
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

    /// The compiled key policies.
    pub(crate) fn policies(&self) -> &PolicyCache {
        &self.policies
    }

    /// The audit append of a change made on this node: `draft` on this node's chain.
    pub(crate) fn append<'a>(&'a self, draft: &'a AuditDraft) -> AuditAppend<'a> {
        AuditAppend {
            chain: &self.chain,
            draft,
        }
    }

    /// An IAM identity changed on this node: principals are read again at once.
    pub(crate) fn identity_changed(&self) {
        self.identities.clear();
    }

    /// Another node changed `key` (its record, material, tags or an alias pointing at it):
    /// forgets the cached record, the aliases that point at it and its prepared material, so
    /// the next request reads the store.
    pub fn invalidate_key(&self, key: &KeyId) {
        self.caches.invalidate_key(key);
        self.policies.forget(key);
    }

    /// Another node created, moved or deleted an alias: forgets where it points.
    pub fn invalidate_alias(&self, account: &AccountId, region: &Region, name: &AliasName) {
        self.caches.invalidate_alias(account, region, name);
    }

    /// Changes of other nodes may have been missed (the change feed was unreachable): forgets
    /// every cached key record, alias target and prepared material.
    pub fn invalidate_all(&self) {
        self.caches.invalidate_all();
        self.policies.clear();
        self.identities.clear();
    }
}
