//! `kinko-pkcs11` is the `pkcs11` root-of-trust provider: the root key is an AES-256 secret key
//! generated inside a PKCS#11 token (tested with SoftHSM2) and never leaves it. Wrapping and
//! unwrapping key material are `CKM_AES_GCM` operations performed by the token; Kinko only ever
//! holds a handle to the key.
//!
//! It lives in its own crate because it loads a native module at run time and needs a token to
//! test; `kinko-crypto` stays free of I/O and FFI and only defines the [`RootKey`] trait.
//!
//! Invariants:
//! - The root key is created with `CKA_SENSITIVE`, non-`CKA_EXTRACTABLE`, `CKA_TOKEN` and
//!   `CKA_PRIVATE`; an existing key that is extractable, not sensitive, or not AES-256 is refused.
//! - The PIN is never printed: `Debug` output and error messages omit it.
//! - Wrapped format: `0x02 | iv (12) | ciphertext | tag (16)`; anything that does not open is
//!   [`kinko_crypto::CryptoError::Decrypt`].
//!
//! [`RootKey`]: kinko_crypto::RootKey

mod config;
mod error;
mod module;
mod pool;
mod root;

pub use config::{DEFAULT_KEY_LABEL, DEFAULT_MAX_SESSIONS, Pkcs11Config};
pub use error::Pkcs11Error;
pub use root::{PROVIDER, Pkcs11RootKey, WRAP_VERSION};
