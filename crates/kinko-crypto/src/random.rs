//! The system CSPRNG (aws-lc's DRBG seeded from the OS). Nothing else in Kinko draws randomness.

use aws_lc_rs::rand::SecureRandom;

use crate::{CryptoError, SecretBytes};

/// The system random source, for the aws-lc-rs primitives that take one (ECDSA keys and
/// signatures, RSA-PSS padding).
#[allow(clippy::disallowed_types)] // the one place that names aws-lc's random source
pub(crate) fn system_random() -> impl SecureRandom {
    aws_lc_rs::rand::SystemRandom::new()
}

/// Fills `buf` with random bytes.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    system_random()
        .fill(buf)
        .map_err(|_| CryptoError::Unspecified)
}

/// A random array, for identifiers and nonces.
pub fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill_random(&mut out)?;
    Ok(out)
}

/// `len` random secret bytes (key material, data keys).
pub fn random_secret(len: usize) -> Result<SecretBytes, CryptoError> {
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes)?;
    Ok(SecretBytes::new(bytes))
}
