//! Root keys derived from a passphrase with Argon2id (RFC 9106), and the verifier that lets the
//! server refuse a wrong passphrase before it decrypts anything.

use aws_lc_rs::hmac;

use crate::{CryptoError, SecretBytes};

/// Argon2id cost parameters, stored beside the salt so that they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Params {
    /// RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes).
    pub const RECOMMENDED: Argon2Params = Argon2Params {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
}

/// Derives a 32-byte root key from `passphrase` and `salt` (Kinko stores 16 random bytes;
/// Argon2 itself allows 8).
pub fn derive_root_key(
    passphrase: &[u8],
    salt: &[u8],
    params: Argon2Params,
) -> Result<SecretBytes, CryptoError> {
    if salt.len() < 8 {
        return Err(CryptoError::InvalidInput(
            "Argon2id salt must be at least 8 bytes",
        ));
    }
    let params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|_| CryptoError::InvalidInput("Argon2id parameters"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = SecretBytes::new(vec![0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, out.expose_mut())
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(out)
}

/// The verifier stored beside the salt: HMAC-SHA256(root key, label). Comparing it tells
/// whether a passphrase is right without decrypting anything.
pub fn passphrase_verifier(root_key: &SecretBytes) -> [u8; 32] {
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, root_key.expose()),
        b"kinko/passphrase-verifier/v1",
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).expect("hex literal")
    }

    /// Determinism, salt and passphrase sensitivity, and the verifier separating passphrases.
    #[test]
    fn derivation_is_deterministic_and_sensitive() {
        let p = Argon2Params {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        };
        let salt = [7u8; 16];
        let a = derive_root_key(b"correct horse", &salt, p)
            .map(|k| k.expose().to_vec())
            .unwrap_or_default();
        let b = derive_root_key(b"correct horse", &salt, p)
            .map(|k| k.expose().to_vec())
            .unwrap_or_default();
        let c = derive_root_key(b"correct horsf", &salt, p)
            .map(|k| k.expose().to_vec())
            .unwrap_or_default();
        let d = derive_root_key(b"correct horse", &[8u8; 16], p)
            .map(|k| k.expose().to_vec())
            .unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        let va = passphrase_verifier(&SecretBytes::new(a.clone()));
        let vc = passphrase_verifier(&SecretBytes::new(c));
        assert_ne!(va, vc);
        assert!(
            !va.windows(8).any(|w| a.windows(8).any(|x| x == w)),
            "verifier leaks key bytes"
        );
        assert!(
            derive_root_key(b"x", &[0; 7], p).is_err(),
            "short salt refused"
        );
    }

    /// The Argon2id known answer of the reference implementation's test suite
    /// (phc-winner-argon2 `src/test.c`: v=0x13, t=2, m=2^16 KiB, p=1, "password", "somesalt"),
    /// also reproduced by Python `cryptography`'s Argon2id.
    #[test]
    fn reference_known_answer() {
        let p = Argon2Params {
            memory_kib: 1 << 16,
            iterations: 2,
            parallelism: 1,
        };
        let key = derive_root_key(b"password", b"somesalt", p)
            .map(|k| k.expose().to_vec())
            .unwrap_or_default();
        assert_eq!(
            key,
            hex("09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7")
        );
    }
}
