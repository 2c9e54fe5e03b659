//! How often the in-memory caches answered: one hit/miss counter per cache, read by the server's
//! metrics. Relaxed atomics: the figures are for dashboards, not for decisions.

use std::sync::atomic::{AtomicU64, Ordering};

/// Hits and misses of one cache.
#[derive(Debug, Default)]
pub(crate) struct HitCounter {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HitCounter {
    /// Counts one lookup: `found` is a hit.
    pub(crate) fn count<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The counts so far.
    pub(crate) fn read(&self) -> HitsAndMisses {
        HitsAndMisses {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// Lookups of one cache since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HitsAndMisses {
    /// Lookups the cache answered.
    pub hits: u64,
    /// Lookups that went to the store (or, for policies, compiled the policy).
    pub misses: u64,
}

/// Lookups of every cache since start ([`crate::Kms::cache_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Key records by key id.
    pub keys: HitsAndMisses,
    /// Unwrapped key material.
    pub materials: HitsAndMisses,
    /// Compiled key policies.
    pub policies: HitsAndMisses,
}
