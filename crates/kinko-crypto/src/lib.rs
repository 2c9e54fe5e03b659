//! `kinko-crypto` is the only crate in Kinko that calls cryptographic primitives or the random
//! number generator. Everything else handles key material only through the types defined here.
//!
//! Invariants:
//! - Secret bytes live in [`SecretBytes`], which zeroizes on drop, has a redacted `Debug` and no
//!   `Serialize`; the bytes are reachable only through [`SecretBytes::expose`].
//! - Every failure to open a ciphertext is the same [`CryptoError::Decrypt`], with no detail.
//! - No I/O and no async: providers that need a file or an HSM live with the caller and plug in
//!   through [`RootKey`].

mod asymmetric;
mod envelope;
mod error;
pub mod hex;
mod import;
mod kdf;
mod mac;
mod passphrase;
mod random;
mod root_key;
mod secret;
mod signing;

pub use asymmetric::{
    AsymmetricSpec, MessageKind, OaepAlgorithm, PrivateKey, SigningAlgorithm,
    generate_data_key_pair, generate_private_key, verify_with_public_key,
};
pub use envelope::{
    BlobHeader, DataProtectionKey, FORMAT_V1, HEADER_LEN, KEY_ID_LEN, MATERIAL_ID_LEN,
    MAX_PLAINTEXT_OVERHEAD, encode_context, parse_header,
};
pub use error::CryptoError;
pub use import::{
    AES_KWP_KEK_LEN, ImportedKind, SYMMETRIC_MATERIAL_LEN, WrappingAlgorithm, WrappingKeySpec,
    aes_kwp_unwrap, aes_kwp_wrap, generate_wrapping_key, hmac_import_lengths,
    normalize_imported_material, same_material, unwrap_imported_material, wrap_key_material,
};
pub use kdf::sp800_108_hmac_sha256;
pub use mac::{MacAlgorithm, MacKey, generate_mac_key};
pub use passphrase::{Argon2Params, derive_root_key, passphrase_verifier};
pub use random::{fill_random, random_array, random_secret};
pub use root_key::{RootKey, SoftwareRootKey, WRAPPED_OVERHEAD};
pub use secret::SecretBytes;
pub use signing::{SigningKeyPair, verify_ed25519};

/// SHA-256 of `data`, for identifiers derived from public values (never from secrets).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_parts(&[data])
}

/// SHA-256 of the concatenation of `parts`, without copying them together first.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
