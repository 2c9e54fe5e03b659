//! The one module of `kinko-crypto` that calls aws-lc directly, for two things its safe API
//! (aws-lc-rs 1.19) lacks: Ed25519ph signing and verification over a caller's SHA-512 digest
//! (RFC 8032 §5.1, empty context), and ML-KEM key generation from a 64-byte seed `d ‖ z`
//! (FIPS 203 `ML-KEM.KeyGen_internal`), so that ML-KEM private keys can be stored in seed form.
//!
//! The functions come from `aws-lc-sys`, the same copy of aws-lc that aws-lc-rs links (pinned to
//! the version aws-lc-rs requires), so no second libcrypto is built. Every `unsafe` block of the
//! crate is here; each states why its pointers are valid. Buffers passed to C are Rust slices
//! or arrays whose lengths are checked against the C side's fixed sizes before the call.
#![allow(unsafe_code)]

use std::os::raw::c_int;
use std::ptr;

use aws_lc_sys as sys;
use zeroize::Zeroizing;

use crate::{CryptoError, SecretBytes};

/// Length of an Ed25519 seed, public key and of a SHA-512 digest / Ed25519 signature.
pub(crate) const ED25519_SEED_LEN: usize = 32;
pub(crate) const ED25519_PUBLIC_LEN: usize = 32;
pub(crate) const ED25519_SIGNATURE_LEN: usize = 64;
pub(crate) const SHA512_LEN: usize = 64;
/// Length of aws-lc's Ed25519 private key (seed ‖ public key).
const ED25519_PRIVATE_LEN: usize = 64;
/// Length of an ML-KEM key generation seed `d ‖ z`.
pub(crate) const ML_KEM_SEED_LEN: usize = 64;

/// An Ed25519 private key in aws-lc's 64-byte form, for Ed25519ph. Wiped on drop.
pub(crate) struct Ed25519phKey {
    private: Zeroizing<[u8; ED25519_PRIVATE_LEN]>,
}

impl Ed25519phKey {
    /// Expands a 32-byte seed (RFC 8032 private key) into aws-lc's private key.
    pub(crate) fn from_seed(seed: &[u8]) -> Result<Self, CryptoError> {
        let seed: &[u8; ED25519_SEED_LEN] = seed
            .try_into()
            .map_err(|_| CryptoError::InvalidInput("Ed25519 seed must be 32 bytes"))?;
        let mut public = [0u8; ED25519_PUBLIC_LEN];
        let mut private = Zeroizing::new([0u8; ED25519_PRIVATE_LEN]);
        // SAFETY: `public` is 32 writable bytes, `private` 64 writable bytes and `seed` 32
        // readable bytes, exactly the sizes ED25519_keypair_from_seed reads and writes; the
        // function cannot fail and keeps no pointer after it returns.
        unsafe {
            sys::ED25519_keypair_from_seed(
                public.as_mut_ptr(),
                private.as_mut_ptr(),
                seed.as_ptr(),
            );
        }
        Ok(Ed25519phKey { private })
    }

    /// Ed25519ph signature (empty context) over `digest`, which must be SHA-512 of the message.
    pub(crate) fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest: &[u8; SHA512_LEN] = digest
            .try_into()
            .map_err(|_| CryptoError::InvalidInput("Ed25519ph digest must be 64 bytes"))?;
        let mut signature = vec![0u8; ED25519_SIGNATURE_LEN];
        // SAFETY: `signature` has 64 writable bytes, `digest` 64 readable bytes and
        // `self.private` 64 readable bytes, the fixed sizes the function uses; the context pointer
        // may be null because its length is 0. Nothing is retained after the call.
        let rc = unsafe {
            sys::ED25519ph_sign_digest(
                signature.as_mut_ptr(),
                digest.as_ptr(),
                self.private.as_ptr(),
                ptr::null(),
                0,
            )
        };
        if rc == 1 {
            Ok(signature)
        } else {
            Err(CryptoError::Unspecified)
        }
    }
}

/// Verifies an Ed25519ph signature (empty context) over a SHA-512 `digest` by a raw 32-byte
/// public key. False for any input of the wrong length.
pub(crate) fn ed25519ph_verify_digest(public_key: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    let (Ok(public_key), Ok(digest), Ok(signature)) = (
        <&[u8; ED25519_PUBLIC_LEN]>::try_from(public_key),
        <&[u8; SHA512_LEN]>::try_from(digest),
        <&[u8; ED25519_SIGNATURE_LEN]>::try_from(signature),
    ) else {
        return false;
    };
    // SAFETY: the three arrays have exactly the lengths the function reads (64, 64, 32); the
    // context pointer may be null because its length is 0. Nothing is retained after the call.
    let rc = unsafe {
        sys::ED25519ph_verify_digest(
            digest.as_ptr(),
            signature.as_ptr(),
            public_key.as_ptr(),
            ptr::null(),
            0,
        )
    };
    rc == 1
}

/// Owns an `EVP_PKEY_CTX` and frees it on every path.
struct PkeyCtx(*mut sys::EVP_PKEY_CTX);

impl Drop for PkeyCtx {
    fn drop(&mut self) {
        // SAFETY: the pointer came from EVP_PKEY_CTX_new_id, is non-null (checked at
        // construction) and is freed exactly once, here.
        unsafe { sys::EVP_PKEY_CTX_free(self.0) }
    }
}

/// Owns an `EVP_PKEY` and frees it (aws-lc wipes the key material) on every path.
struct Pkey(*mut sys::EVP_PKEY);

impl Drop for Pkey {
    fn drop(&mut self) {
        // SAFETY: the pointer came from EVP_PKEY_keygen_deterministic, is non-null (checked at
        // construction) and is freed exactly once, here.
        unsafe { sys::EVP_PKEY_free(self.0) }
    }
}

/// Which ML-KEM parameter set, as aws-lc's NID.
pub(crate) fn ml_kem_nid(level: usize) -> Option<c_int> {
    match level {
        512 => Some(sys::NID_MLKEM512),
        768 => Some(sys::NID_MLKEM768),
        1024 => Some(sys::NID_MLKEM1024),
        _ => None,
    }
}

/// ML-KEM key generation from a 64-byte seed `d ‖ z` (FIPS 203 Algorithm 16): returns the
/// encapsulation key (`ek_len` bytes) and the decapsulation key (`dk_len` bytes, secret).
pub(crate) fn ml_kem_keypair_from_seed(
    nid: c_int,
    seed: &[u8],
    ek_len: usize,
    dk_len: usize,
) -> Result<(Vec<u8>, SecretBytes), CryptoError> {
    if seed.len() != ML_KEM_SEED_LEN {
        return Err(CryptoError::InvalidInput("ML-KEM seed must be 64 bytes"));
    }
    // SAFETY: EVP_PKEY_CTX_new_id takes no pointer we own (the engine may be null); the result
    // is checked for null and then owned by `PkeyCtx`.
    let ctx = unsafe { sys::EVP_PKEY_CTX_new_id(sys::EVP_PKEY_KEM, ptr::null_mut()) };
    if ctx.is_null() {
        return Err(CryptoError::Unspecified);
    }
    let ctx = PkeyCtx(ctx);
    // SAFETY: `ctx.0` is a live, non-null context owned by `ctx` for the whole block.
    let ready = unsafe {
        sys::EVP_PKEY_keygen_init(ctx.0) == 1 && sys::EVP_PKEY_CTX_kem_set_params(ctx.0, nid) == 1
    };
    if !ready {
        return Err(CryptoError::Unspecified);
    }
    let mut out: *mut sys::EVP_PKEY = ptr::null_mut();
    let mut seed_len = seed.len();
    // SAFETY: `ctx.0` is live; `out` is a valid place for the new key pointer (null asks aws-lc to
    // allocate one); `seed` has `seed_len` (64) readable bytes, the length aws-lc checks against
    // the parameter set, and `seed_len` is a valid in/out size. aws-lc copies the seed.
    let rc = unsafe {
        sys::EVP_PKEY_keygen_deterministic(ctx.0, &mut out, seed.as_ptr(), &mut seed_len)
    };
    if rc != 1 || out.is_null() {
        if !out.is_null() {
            drop(Pkey(out));
        }
        return Err(CryptoError::Unspecified);
    }
    let key = Pkey(out);

    let mut ek = vec![0u8; ek_len];
    let mut written = ek.len();
    // SAFETY: `key.0` is a live key; `ek` has `written` writable bytes and aws-lc writes at most
    // that many, reporting the count back through `written`.
    let rc = unsafe { sys::EVP_PKEY_get_raw_public_key(key.0, ek.as_mut_ptr(), &mut written) };
    if rc != 1 || written != ek_len {
        return Err(CryptoError::Unspecified);
    }
    let mut dk = SecretBytes::new(vec![0u8; dk_len]);
    let mut written = dk.len();
    // SAFETY: as above, with the `dk_len` writable bytes of `dk`.
    let rc = unsafe {
        sys::EVP_PKEY_get_raw_private_key(key.0, dk.expose_mut().as_mut_ptr(), &mut written)
    };
    if rc != 1 || written != dk_len {
        return Err(CryptoError::Unspecified);
    }
    Ok((ek, dk))
}
