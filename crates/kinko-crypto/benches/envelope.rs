//! `cargo bench -p kinko-crypto`: the per-request cost of ciphertext format v1 (KDF + AES-256-GCM
//! with a fresh key schedule) beside the raw AES-256-GCM seal of aws-lc-rs with a prebuilt key,
//! measured in the same run, reported as a ratio. `design.md` §8 budgets 3 µs for 4 KiB.
//! Below it, the asymmetric and HMAC operations of the public API (no ratio: no baseline).
#![allow(clippy::print_stdout)] // a benchmark that reports its results

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use kinko_crypto::{
    AsymmetricSpec, DataProtectionKey, MacAlgorithm, MacKey, MessageKind, PrivateKey, SecretBytes,
    SigningAlgorithm, encode_context, generate_private_key,
};

fn rate(mut f: impl FnMut()) -> f64 {
    for _ in 0..1000 {
        f();
    }
    let budget = Duration::from_millis(700);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..256 {
            f();
        }
        n += 256;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let material = SecretBytes::new(vec![7; 32]);
    let Ok(key) = DataProtectionKey::new(&material) else {
        return;
    };
    let Ok(unbound) = UnboundKey::new(&AES_256_GCM, &[7; 32]) else {
        return;
    };
    let raw = LessSafeKey::new(unbound);
    let ctx = encode_context([("tenant", "acme"), ("purpose", "bench")]);
    println!(
        "{:<34} {:>12} {:>10} {:>8}",
        "operation", "ops/s", "µs/op", "ratio"
    );
    for size in [64usize, 4096] {
        let plaintext = vec![0x5a; size];
        let baseline = rate(|| {
            let mut buf = plaintext.clone();
            let _ = black_box(raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::from(&ctx[..]),
                &mut buf,
            ));
        });
        let sealed = key
            .seal(&[1; 16], &[2; 32], &ctx, &plaintext)
            .unwrap_or_default();
        let seal = rate(|| {
            let _ = black_box(key.seal(&[1; 16], &[2; 32], &ctx, &plaintext));
        });
        let open = rate(|| {
            let _ = black_box(key.open(&sealed, &ctx));
        });
        for (name, r) in [
            (format!("raw AES-256-GCM seal {size} B"), baseline),
            (format!("v1 envelope seal {size} B"), seal),
            (format!("v1 envelope open {size} B"), open),
        ] {
            println!(
                "{name:<34} {r:>12.0} {:>10.2} {:>8.2}",
                1e6 / r,
                r / baseline
            );
        }
    }
    asymmetric();
}

fn asymmetric() {
    let message = [0x5a; 64];
    let mac = MacKey::new(MacAlgorithm::HmacSha256, &[7; 32]);
    let mut rows = vec![(
        "HMAC-SHA256 64 B".to_string(),
        rate(|| {
            let _ = black_box(mac.sign(&message));
        }),
    )];
    for (spec, alg) in [
        (AsymmetricSpec::Rsa2048, SigningAlgorithm::RsaPssSha256),
        (AsymmetricSpec::EccNistP256, SigningAlgorithm::EcdsaSha256),
        (AsymmetricSpec::Ed25519, SigningAlgorithm::Ed25519Sha512),
        (AsymmetricSpec::MlDsa65, SigningAlgorithm::MlDsaShake256),
    ] {
        let Ok(stored) = generate_private_key(spec) else {
            return;
        };
        let Ok(key) = PrivateKey::from_stored(spec, stored.expose()) else {
            return;
        };
        let signature = key
            .sign(alg, MessageKind::Raw, &message)
            .unwrap_or_default();
        rows.push((
            format!("{spec:?} sign"),
            rate(|| {
                let _ = black_box(key.sign(alg, MessageKind::Raw, &message));
            }),
        ));
        rows.push((
            format!("{spec:?} verify"),
            rate(|| {
                let _ = black_box(key.verify(alg, MessageKind::Raw, &message, &signature));
            }),
        ));
    }
    for (name, r) in rows {
        println!("{name:<34} {r:>12.0} {:>10.2}", 1e6 / r);
    }
}
