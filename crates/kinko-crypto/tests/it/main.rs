//! Integration tests of `kinko-crypto`'s public API, one binary: round trips and refusals for
//! every asymmetric spec (`asymmetric`), published vectors (`wycheproof`, `ed25519ph`),
//! independent implementations as oracles (`pq`), and key material import (`import`).

mod asymmetric;
mod ed25519ph;
mod import;
mod pq;
mod wycheproof;

use std::sync::OnceLock;

use kinko_crypto::{AsymmetricSpec, PrivateKey, SecretBytes, generate_private_key};

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    kinko_crypto::hex::encode(bytes)
}

/// Bytes of a hex string (tests only: a bad literal is a test bug).
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    kinko_crypto::hex::decode(s).expect("hex literal")
}

/// One generated key per spec, shared by the tests of this binary (RSA-4096 keygen takes a second).
pub(crate) fn key(spec: AsymmetricSpec) -> &'static (SecretBytes, PrivateKey) {
    static KEYS: OnceLock<Vec<OnceLock<(SecretBytes, PrivateKey)>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        AsymmetricSpec::ALL
            .iter()
            .map(|_| OnceLock::new())
            .collect()
    });
    let index = AsymmetricSpec::ALL
        .iter()
        .position(|s| *s == spec)
        .expect("spec in ALL");
    keys[index].get_or_init(|| {
        let stored = generate_private_key(spec).expect("keygen");
        let key = PrivateKey::from_stored(spec, stored.expose()).expect("parse own key");
        (stored, key)
    })
}

/// The specs that sign.
pub(crate) fn signing_specs() -> impl Iterator<Item = AsymmetricSpec> {
    AsymmetricSpec::ALL
        .into_iter()
        .filter(|s| !s.signing_algorithms().is_empty())
}
