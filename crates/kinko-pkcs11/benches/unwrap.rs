//! `cargo bench -p kinko-pkcs11`: unwraps per second of 32-byte key material through the
//! `pkcs11` root (SoftHSM2, every unwrap a `C_DecryptInit` + `C_Decrypt` round trip into the
//! module) beside `kinko_crypto::SoftwareRootKey` in the same run, reported as a ratio; plus
//! the pkcs11 wrap rate and multi-threaded unwrap with a session pool and with one session, which
//! is what the pool size was chosen from. Needs SoftHSM2 like the tests (it fails, not skips).
#![allow(clippy::print_stdout)] // a benchmark that reports its results

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use kinko_crypto::{RootKey, SecretBytes, SoftwareRootKey};
use kinko_pkcs11::{DEFAULT_MAX_SESSIONS, Pkcs11Config, Pkcs11RootKey};

const TOKEN: &str = "kinko-bench";
const PIN: &str = "1234";
const AAD: &[u8] = b"arn:aws:kms:eu-west-1:111122223333:key/k|m-1|SYMMETRIC_DEFAULT";

/// Operations per second of `f` on `threads` threads (each runs `f` in a loop for the budget).
fn rate(threads: usize, f: impl Fn() -> bool + Sync) -> f64 {
    for _ in 0..200 {
        black_box(f());
    }
    let budget = Duration::from_millis(1500);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < budget {
                        for _ in 0..32 {
                            if !black_box(f()) {
                                return 0;
                            }
                        }
                        n += 32;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

/// A closure unwrapping `wrapped` with `root`, true when 32 bytes came back.
fn unwraps<'a>(root: &'a dyn RootKey, wrapped: &'a [u8]) -> impl Fn() -> bool + Sync + 'a {
    move || root.unwrap(wrapped, AAD).is_ok_and(|m| m.len() == 32)
}

fn main() {
    let hsm = match support::init("softhsm-bench", &[(TOKEN, PIN)]) {
        Ok(hsm) => hsm,
        Err(e) => panic!("SoftHSM2 set-up failed: {e}"),
    };
    let config = Pkcs11Config::new(&hsm.module, TOKEN, SecretBytes::from_slice(PIN.as_bytes()));
    let pooled = match Pkcs11RootKey::open(&config, true) {
        Ok(root) => root,
        Err(e) => panic!("opening the pkcs11 root: {e}"),
    };
    let single = match Pkcs11RootKey::open_with_sessions(&config, false, 1) {
        Ok(root) => root,
        Err(e) => panic!("opening the pkcs11 root with one session: {e}"),
    };
    let software = match SoftwareRootKey::new(&SecretBytes::new(vec![7; 32]), "file") {
        Ok(root) => root,
        Err(e) => panic!("software root: {e}"),
    };
    let material = SecretBytes::new(vec![0x42; 32]);
    let (Ok(hsm_wrapped), Ok(sw_wrapped)) =
        (pooled.wrap(&material, AAD), software.wrap(&material, AAD))
    else {
        panic!("wrap failed");
    };

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!("32-byte material, {cpus} CPU(s), pool limit {DEFAULT_MAX_SESSIONS} sessions");
    println!("{:<44} {:>12} {:>10}", "operation", "ops/s", "µs/op");
    let row = |name: &str, ops: f64| {
        println!("{name:<44} {ops:>12.0} {:>10.2}", 1e6 / ops);
        ops
    };
    let sw = row(
        "software unwrap, 1 thread",
        rate(1, unwraps(&software, &sw_wrapped)),
    );
    let hsm1 = row(
        "pkcs11 unwrap, 1 thread",
        rate(1, unwraps(&pooled, &hsm_wrapped)),
    );
    row(
        "pkcs11 wrap, 1 thread",
        rate(1, || pooled.wrap(&material, AAD).is_ok()),
    );
    let pool4 = row(
        "pkcs11 unwrap, 4 threads, pooled sessions",
        rate(4, unwraps(&pooled, &hsm_wrapped)),
    );
    let one4 = row(
        "pkcs11 unwrap, 4 threads, one session",
        rate(4, unwraps(&single, &hsm_wrapped)),
    );
    println!(
        "software / pkcs11 unwrap (1 thread): {:.1}x; pooled / one session (4 threads): {:.2}x; \
         sessions open: {}",
        sw / hsm1,
        pool4 / one4,
        pooled.open_sessions()
    );
}
