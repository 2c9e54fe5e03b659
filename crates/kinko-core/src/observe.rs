//! What the server reads to report on the service: cache counters for its metrics, and whether
//! the root of trust still works, for its readiness check. Reads nothing of any key.

use kinko_crypto::SecretBytes;

use crate::Kms;
use crate::cache_stats::CacheStats;

/// The AAD of the readiness probe's wrap, which no key material is ever wrapped under.
const PROBE_AAD: &[u8] = b"kinko:readiness-probe";

impl Kms {
    /// Lookups of the key, material and key-policy caches since start.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            keys: self.caches().key_lookups(),
            materials: self.caches().material_lookups(),
            policies: self.policies().lookups(),
        }
    }

    /// Whether the root of trust still wraps and unwraps (for a PKCS#11 token: whether its
    /// session still answers). Wraps 32 zero bytes, never key material.
    pub fn root_of_trust_works(&self) -> bool {
        let probe = SecretBytes::new(vec![0; 32]);
        self.root()
            .wrap(&probe, PROBE_AAD)
            .and_then(|wrapped| self.root().unwrap(&wrapped, PROBE_AAD))
            .is_ok_and(|back| back.expose() == probe.expose())
    }
}
