//! `kinko-crypto` is the only crate in Kinko that calls cryptographic primitives or the random
//! number generator. Everything else handles key material only through the types defined here.
//!
//! Invariants:
//! - Secret bytes live in [`SecretBytes`], which zeroizes on drop, has a redacted `Debug` and no
//!   `Serialize`; the bytes are reachable only through [`SecretBytes::expose`].
//! - Every failure to open a ciphertext is the same [`CryptoError::Decrypt`], with no detail.
//! - No I/O and no async: providers that need a file or an HSM live with the caller and plug in
//!   through [`RootKey`].

mod envelope;
mod error;
mod kdf;
mod passphrase;
mod random;
mod root_key;
mod secret;
mod signing;

pub use envelope::{
    BlobHeader, DataProtectionKey, FORMAT_V1, HEADER_LEN, KEY_ID_LEN, MATERIAL_ID_LEN,
    MAX_PLAINTEXT_OVERHEAD, encode_context, parse_header,
};
pub use error::CryptoError;
pub use kdf::sp800_108_hmac_sha256;
pub use passphrase::{Argon2Params, derive_root_key, passphrase_verifier};
pub use random::{fill_random, random_array, random_secret};
pub use root_key::{RootKey, SoftwareRootKey, WRAPPED_OVERHEAD};
pub use secret::SecretBytes;
pub use signing::{SigningKeyPair, verify_ed25519};

/// SHA-256 of `data`, for identifiers derived from public values (never from secrets).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
