//! The library's own speed: how many signatures (or MACs) per second aws-lc-rs makes on this
//! machine, with no server, no HTTP and no SigV4 in the way.
//!
//! This is the denominator of the `server/raw` ratio that the signing scenario prints. It uses the
//! same library version the server links (the workspace pins aws-lc-rs), one key per primitive
//! shared by every thread (as the server shares one cached key per key version), one thread per
//! core, each signing the same message back to back. It is measured while the server is idle, never
//! at the same time as a load phase, so the two numbers never compete for the cores.
//!
//! This is the one place outside `kinko-crypto` that calls a primitive: the bench needs the raw
//! figure, and nothing it computes here is ever used as a key, a signature or a random value.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, ensure};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, ML_DSA_65_SIGNING, PqdsaKeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use aws_lc_rs::{hmac, rsa};

/// A primitive the signing scenario compares the server with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Primitive {
    /// RSA-2048, PKCS#1 v1.5 with SHA-256 (`RSASSA_PKCS1_V1_5_SHA_256`).
    RsaPkcs1Sha256,
    /// ECDSA on P-256 with SHA-256, DER signature (`ECDSA_SHA_256`).
    EcdsaP256Sha256,
    /// Pure Ed25519 (`ED25519_SHA_512`).
    Ed25519,
    /// ML-DSA-65, pure, empty context (`ML_DSA_SHAKE_256`).
    MlDsa65,
    /// HMAC-SHA256 with a 32-byte key (`HMAC_SHA_256`).
    HmacSha256,
}

impl Primitive {
    /// How it is named in the report: the aws-lc-rs item that does the work.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Primitive::RsaPkcs1Sha256 => "RsaKeyPair RSA_PKCS1_SHA256 (2048)",
            Primitive::EcdsaP256Sha256 => "EcdsaKeyPair ECDSA_P256_SHA256_ASN1_SIGNING",
            Primitive::Ed25519 => "Ed25519KeyPair",
            Primitive::MlDsa65 => "PqdsaKeyPair ML_DSA_65_SIGNING",
            Primitive::HmacSha256 => "hmac::sign HMAC_SHA256",
        }
    }

    /// Operations a thread does between two looks at the clock: enough that reading the clock
    /// costs nothing next to them (HMAC takes well under a microsecond), few enough that a batch
    /// straddling the end of the window wastes a negligible share of it.
    fn batch(self) -> u64 {
        match self {
            Primitive::RsaPkcs1Sha256 => 1,
            Primitive::MlDsa65 => 4,
            Primitive::EcdsaP256Sha256 | Primitive::Ed25519 => 16,
            Primitive::HmacSha256 => 256,
        }
    }
}

/// What one raw measurement produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RawRate {
    /// Operations completed inside the measured window, all threads together.
    pub(crate) ops: u64,
    /// `ops` divided by the window.
    pub(crate) ops_per_s: f64,
    /// Threads that signed at the same time.
    pub(crate) threads: usize,
}

/// A key of one primitive, generated for this measurement only.
enum Key {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    MlDsa(PqdsaKeyPair),
    // Boxed: an HMAC key holds its precomputed inner and outer states (over a kilobyte).
    Hmac(Box<hmac::Key>),
}

impl Key {
    fn generate(primitive: Primitive) -> Result<Key> {
        let key = match primitive {
            Primitive::RsaPkcs1Sha256 => {
                Key::Rsa(RsaKeyPair::generate(rsa::KeySize::Rsa2048).map_err(|_| anyhow!("RSA"))?)
            }
            Primitive::EcdsaP256Sha256 => Key::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
                    .map_err(|_| anyhow!("ECDSA P-256"))?,
            ),
            Primitive::Ed25519 => {
                Key::Ed25519(Ed25519KeyPair::generate().map_err(|_| anyhow!("Ed25519"))?)
            }
            Primitive::MlDsa65 => Key::MlDsa(
                PqdsaKeyPair::generate(&ML_DSA_65_SIGNING).map_err(|_| anyhow!("ML-DSA-65"))?,
            ),
            Primitive::HmacSha256 => Key::Hmac(Box::new(
                hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
                    .map_err(|_| anyhow!("HMAC-SHA256"))?,
            )),
        };
        Ok(key)
    }

    /// A buffer large enough for one signature (RSA and ML-DSA write into the caller's buffer).
    fn signature_buffer(&self) -> Vec<u8> {
        match self {
            Key::Rsa(k) => vec![0; k.public_modulus_len()],
            Key::MlDsa(_) => vec![0; ML_DSA_65_SIGNING.signature_len()],
            Key::Ecdsa(_) | Key::Ed25519(_) | Key::Hmac(_) => Vec::new(),
        }
    }

    /// Signs `message` once; the signature's length, so that the work cannot be optimised away
    /// and a broken setup is noticed.
    fn sign(&self, rng: &SystemRandom, message: &[u8], buf: &mut [u8]) -> Result<usize> {
        let len = match self {
            Key::Rsa(k) => {
                k.sign(&RSA_PKCS1_SHA256, rng, message, buf)
                    .map_err(|_| anyhow!("RSA sign failed"))?;
                buf.len()
            }
            Key::Ecdsa(k) => k
                .sign(rng, message)
                .map_err(|_| anyhow!("ECDSA sign failed"))?
                .as_ref()
                .len(),
            Key::Ed25519(k) => k.sign(message).as_ref().len(),
            Key::MlDsa(k) => k
                .sign(message, buf)
                .map_err(|_| anyhow!("ML-DSA sign failed"))?,
            Key::Hmac(k) => hmac::sign(k, message).as_ref().len(),
        };
        Ok(std::hint::black_box(len))
    }
}

/// Generates a key for `primitive`, then has `threads` threads sign `message` with it back to back
/// for `warmup` (not counted) and then `window`. Only batches that start and end inside the window
/// are counted, as the load generator counts only requests that do.
///
/// Blocks the calling thread for `warmup + window` and a little more.
pub(crate) fn measure(
    primitive: Primitive,
    threads: usize,
    warmup: Duration,
    window: Duration,
    message: &[u8],
) -> Result<RawRate> {
    ensure!(threads >= 1, "at least one thread is needed");
    let key = Key::generate(primitive).with_context(|| {
        format!(
            "cannot generate a key for the raw {} measurement",
            primitive.name()
        )
    })?;
    // One signature up front: a failure here is a setup bug, not something to count.
    let mut buf = key.signature_buffer();
    key.sign(&SystemRandom::new(), message, &mut buf)?;
    let measure_from = Instant::now() + warmup;
    let until = measure_from + window;
    let batch = primitive.batch();
    let counts: Vec<Result<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| sign_until(&key, batch, message, measure_from, until)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow!("a raw signing thread panicked")))
            })
            .collect()
    });
    let mut ops = 0;
    for count in counts {
        ops += count?;
    }
    Ok(RawRate {
        ops,
        ops_per_s: ops as f64 / window.as_secs_f64(),
        threads,
    })
}

/// One thread's loop: batches of `batch` signatures until `until`; returns how many were done in
/// batches that lay wholly inside `[measure_from, until)`.
fn sign_until(
    key: &Key,
    batch: u64,
    message: &[u8],
    measure_from: Instant,
    until: Instant,
) -> Result<u64> {
    let rng = SystemRandom::new();
    let mut buf = key.signature_buffer();
    let mut counted = 0;
    loop {
        let start = Instant::now();
        if start >= until {
            return Ok(counted);
        }
        for _ in 0..batch {
            key.sign(&rng, message, &mut buf)?;
        }
        if start >= measure_from && Instant::now() <= until {
            counted += batch;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primitive_signs_and_is_counted() -> Result<()> {
        let all = [
            Primitive::RsaPkcs1Sha256,
            Primitive::EcdsaP256Sha256,
            Primitive::Ed25519,
            Primitive::MlDsa65,
            Primitive::HmacSha256,
        ];
        for primitive in all {
            let rate = measure(
                primitive,
                2,
                Duration::ZERO,
                Duration::from_millis(50),
                &[7; 32],
            )?;
            assert_eq!(rate.threads, 2);
            assert!(rate.ops > 0, "{primitive:?}: {rate:?}");
            assert!(
                (rate.ops_per_s - rate.ops as f64 * 20.0).abs() < 1e-6,
                "{rate:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn signature_lengths_are_the_algorithms() -> Result<()> {
        let rng = SystemRandom::new();
        let message = [1; 32];
        let len = |p: Primitive| -> Result<usize> {
            let key = Key::generate(p)?;
            let mut buf = key.signature_buffer();
            key.sign(&rng, &message, &mut buf)
        };
        assert_eq!(len(Primitive::RsaPkcs1Sha256)?, 256);
        // DER: usually 70 to 72 bytes, shorter when r or s happens to start with zero bytes.
        assert!((64..=72).contains(&len(Primitive::EcdsaP256Sha256)?));
        assert_eq!(len(Primitive::Ed25519)?, 64);
        assert_eq!(len(Primitive::MlDsa65)?, 3309);
        assert_eq!(len(Primitive::HmacSha256)?, 32);
        Ok(())
    }
}
