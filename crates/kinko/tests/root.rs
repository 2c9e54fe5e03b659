//! The root of trust, end to end through the real `kinko` binary: the passphrase provider, a
//! migration chain through every provider (file → passphrase → pkcs11 → file) with every
//! ciphertext checked after each hop, a migration SIGKILLed at random points and then finished,
//! backup and restore while the server runs, and a scan of everything on disk for the data keys
//! GenerateDataKey handed out.
//!
//! The PKCS#11 hop uses a throwaway SoftHSM2 token (module /usr/lib/softhsm/libsofthsm2.so).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_kms::types::DataKeySpec;
use common::{
    Outcome, Sealed, Server, assert_all_decrypt, base64, contains, create_key, encrypt,
    files_under, kinko, run, softhsm_token, spawn_logged, try_decrypt,
};

/// Exactly 12 characters: the shortest passphrase Kinko accepts.
const PASSPHRASE: &str = "twelve-chars";

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A passphrase installation: created on first start, reopened with the same passphrase, and
/// refused with a wrong passphrase, without one, or with another provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_root_creates_reopens_and_refuses_wrong_starts() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let logs = tmp.path();

    // A passphrase of 11 characters is refused at first start, and leaves nothing behind that
    // would stop a proper first start.
    let short_dir = tmp.path().join("short");
    Server::refused(
        &short_dir,
        &["--root", "passphrase"],
        &[("KINKO_ROOT_PASSPHRASE", "eleven-char")],
        logs,
    )
    .assert_refused(
        "a first start with an 11-character passphrase",
        &["12 characters"],
    );
    assert!(
        !short_dir.join("credentials").exists(),
        "a refused first start wrote credentials"
    );
    let again = Server::start(
        &short_dir,
        &["--root", "passphrase"],
        &[("KINKO_ROOT_PASSPHRASE", PASSPHRASE)],
        logs,
    );
    again.stop();

    // First start creates the installation under the passphrase.
    let data = tmp.path().join("data");
    let env = [("KINKO_ROOT_PASSPHRASE", PASSPHRASE)];
    let server = Server::start(&data, &["--root", "passphrase"], &env, logs);
    assert!(
        !data.join("root.key").exists(),
        "a passphrase installation has no root key file"
    );
    let credentials = std::fs::read(data.join("credentials")).expect("the credentials file");
    let kms = server.client();
    let key = create_key(&kms, "passphrase root").await;
    let sealed = vec![
        encrypt(
            &kms,
            &key,
            b"under a passphrase",
            &[("purpose", "passphrase-test")],
        )
        .await,
        encrypt(&kms, &key, b"second", &[("n", "2")]).await,
    ];
    assert_all_decrypt(&kms, &sealed, "on the first start").await;
    server.stop();

    // Same passphrase, from a file this time (trailing newline stripped): everything decrypts.
    let passphrase_file = tmp.path().join("passphrase.txt");
    std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).expect("write the passphrase file");
    let server = Server::start(
        &data,
        &[
            "--root",
            "passphrase",
            "--passphrase-file",
            path_str(&passphrase_file),
        ],
        &[],
        logs,
    );
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after a restart with the same passphrase").await;
    let more = encrypt(&kms, &key, b"after restart", &[]).await;
    assert_all_decrypt(
        &kms,
        std::slice::from_ref(&more),
        "a new encrypt after restart",
    )
    .await;
    server.stop();
    assert_eq!(
        std::fs::read(data.join("credentials")).expect("the credentials file"),
        credentials,
        "a restart does not replace the credentials"
    );

    // Wrong passphrase: refused before anything is decrypted.
    Server::refused(
        &data,
        &["--root", "passphrase"],
        &[("KINKO_ROOT_PASSPHRASE", "twelve-charz")],
        logs,
    )
    .assert_refused("a restart with a wrong passphrase", &["wrong passphrase"]);

    // Another provider: refused, naming the one the installation uses.
    Server::refused(&data, &["--root", "file"], &[], logs).assert_refused(
        "a restart with --root file",
        &["`passphrase`", "--root passphrase"],
    );
    assert!(
        !data.join("root.key").exists(),
        "a refused --root file start must not create a root key file"
    );

    // No passphrase at all: refused, saying where to put it.
    Server::refused(&data, &[], &[], logs).assert_refused(
        "a restart without a passphrase",
        &["passphrase", "KINKO_ROOT_PASSPHRASE"],
    );

    // After all the refusals, the right passphrase still works.
    let server = Server::start(&data, &[], &env, logs);
    assert_all_decrypt(&server.client(), &sealed, "after the refused starts").await;
    server.stop();
}

/// Creates `keys` keys with `per_key` ciphertexts each (every one with its own context), with
/// up to 8 requests in flight.
async fn seal_many(
    kms: &aws_sdk_kms::Client,
    tag: &str,
    keys: usize,
    per_key: usize,
) -> Vec<Sealed> {
    let mut tasks = tokio::task::JoinSet::new();
    let next = Arc::new(AtomicUsize::new(0));
    for _worker in 0..8 {
        let kms = kms.clone();
        let next = next.clone();
        let tag = tag.to_owned();
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= keys {
                    break out;
                }
                let key = create_key(&kms, &format!("{tag} key {n}")).await;
                for m in 0..per_key {
                    let plaintext = format!("{tag} plaintext {n}.{m}");
                    let n_text = n.to_string();
                    let m_text = m.to_string();
                    out.push(
                        encrypt(
                            &kms,
                            &key,
                            plaintext.as_bytes(),
                            &[("tag", &tag), ("key", &n_text), ("m", &m_text)],
                        )
                        .await,
                    );
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("a sealing task"));
    }
    assert_eq!(all.len(), keys * per_key);
    all
}

/// Decrypting with another context is refused: the contexts are really bound.
async fn assert_context_is_bound(kms: &aws_sdk_kms::Client, sealed: &Sealed, when: &str) {
    let mut tampered = sealed.clone();
    tampered
        .context
        .push(("extra".to_owned(), "pair".to_owned()));
    assert_eq!(
        try_decrypt(kms, &tampered).await,
        Err("InvalidCiphertextException".to_owned()),
        "{when}: a ciphertext must not decrypt under another encryption context"
    );
}

/// The mode bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// file → passphrase → pkcs11 → file, with every ciphertext made so far decrypting after each
/// hop, new encrypts working on each root, and the previous provider refused after each hop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_chain_through_every_provider_keeps_every_ciphertext() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let logs = tmp.path();
    let data = tmp.path().join("data");
    let data_s = path_str(&data);

    // ---- file ------------------------------------------------------------------------------
    let server = Server::start(&data, &["--root", "file"], &[], logs);
    let first_root = std::fs::read(data.join("root.key")).expect("the file root key");
    assert_eq!(first_root.len(), 32);
    assert_eq!(mode(&data.join("root.key")), 0o600, "root.key is private");
    let credentials = std::fs::read(data.join("credentials")).expect("the credentials file");
    let kms = server.client();
    let mut sealed = seal_many(&kms, "file", 3, 2).await;
    assert_all_decrypt(&kms, &sealed, "on the file root").await;
    server.stop();

    // ---- file → passphrase -----------------------------------------------------------------
    run(
        &[
            "root",
            "migrate",
            "--data-dir",
            data_s,
            "--to",
            "passphrase",
        ],
        &[("KINKO_NEW_ROOT_PASSPHRASE", PASSPHRASE)],
        logs,
    )
    .assert_success("root migrate --to passphrase");
    Server::refused(&data, &["--root", "file"], &[], logs).assert_refused(
        "serving with --root file after the migration to passphrase",
        &["`passphrase`", "--root passphrase"],
    );
    Server::refused(&data, &[], &[], logs).assert_refused(
        "serving without a passphrase after the migration to passphrase",
        &["KINKO_ROOT_PASSPHRASE"],
    );
    let pass_env = [("KINKO_ROOT_PASSPHRASE", PASSPHRASE)];
    Server::refused(
        &data,
        &["--root", "passphrase"],
        &[("KINKO_ROOT_PASSPHRASE", "not-the-passphrase")],
        logs,
    )
    .assert_refused("serving with another passphrase", &["wrong passphrase"]);
    let server = Server::start(&data, &["--root", "passphrase"], &pass_env, logs);
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after file → passphrase").await;
    assert_context_is_bound(&kms, &sealed[0], "after file → passphrase").await;
    let new = seal_many(&kms, "passphrase", 2, 2).await;
    assert_all_decrypt(&kms, &new, "new ciphertexts on the passphrase root").await;
    sealed.extend(new);
    server.stop();

    // ---- passphrase → pkcs11 ---------------------------------------------------------------
    let hsm_dir = tmp.path().join("hsm");
    let conf = softhsm_token(&hsm_dir, "kinko-chain", "1234");
    let conf_s = path_str(&conf);
    let pkcs11_flags = [
        "--pkcs11-module",
        common::SOFTHSM_MODULE,
        "--pkcs11-token",
        "kinko-chain",
    ];
    let hsm_env = [("SOFTHSM2_CONF", conf_s), ("KINKO_PKCS11_PIN", "1234")];
    let mut args = vec!["root", "migrate", "--data-dir", data_s, "--to", "pkcs11"];
    args.extend_from_slice(&pkcs11_flags);
    run(
        &args,
        &[
            hsm_env[0],
            hsm_env[1],
            ("KINKO_ROOT_PASSPHRASE", PASSPHRASE),
        ],
        logs,
    )
    .assert_success("root migrate --to pkcs11");
    Server::refused(&data, &["--root", "passphrase"], &pass_env, logs).assert_refused(
        "serving with --root passphrase after the migration to pkcs11",
        &["`pkcs11`", "--root pkcs11"],
    );
    let mut pkcs11_serve = vec!["--root", "pkcs11"];
    pkcs11_serve.extend_from_slice(&pkcs11_flags);
    Server::refused(
        &data,
        &pkcs11_serve,
        &[hsm_env[0], ("KINKO_PKCS11_PIN", "9999")],
        logs,
    )
    .assert_refused("serving with a wrong PIN", &["PKCS#11"]);
    let server = Server::start(&data, &pkcs11_serve, &hsm_env, logs);
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after passphrase → pkcs11").await;
    assert_context_is_bound(&kms, &sealed[4], "after passphrase → pkcs11").await;
    let new = seal_many(&kms, "pkcs11", 2, 2).await;
    assert_all_decrypt(&kms, &new, "new ciphertexts on the pkcs11 root").await;
    sealed.extend(new);
    server.stop();

    // ---- pkcs11 → file ---------------------------------------------------------------------
    let mut args = vec!["root", "migrate", "--data-dir", data_s, "--to", "file"];
    args.extend_from_slice(&pkcs11_flags);
    run(&args, &hsm_env, logs).assert_success("root migrate --to file");
    Server::refused(&data, &pkcs11_serve, &hsm_env, logs).assert_refused(
        "serving with --root pkcs11 after the migration to file",
        &["`file`", "--root file"],
    );
    // The new file root is a new key in a new file; the first one is left for old backups.
    let new_roots: Vec<_> = std::fs::read_dir(&data)
        .expect("list the data directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("root-") && n.ends_with(".key"))
        })
        .collect();
    assert_eq!(new_roots.len(), 1, "one new root key file: {new_roots:?}");
    let second_root = std::fs::read(&new_roots[0]).expect("the new root key");
    assert_eq!(second_root.len(), 32);
    assert_ne!(second_root, first_root, "the new file root is a new key");
    assert_eq!(
        mode(&new_roots[0]),
        0o600,
        "the new root key file is private"
    );
    assert_eq!(
        std::fs::read(data.join("root.key")).expect("the first root key"),
        first_root,
        "the first root key file is left as it was"
    );

    let server = Server::start(&data, &[], &[], logs);
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after pkcs11 → file").await;
    assert_context_is_bound(&kms, &sealed[8], "after pkcs11 → file").await;
    let new = seal_many(&kms, "file again", 1, 2).await;
    assert_all_decrypt(&kms, &new, "new ciphertexts on the second file root").await;
    server.stop();
    assert_eq!(
        std::fs::read(data.join("credentials")).expect("the credentials file"),
        credentials,
        "the same credentials work throughout and are never rewritten"
    );
}

/// A small xorshift generator: enough to vary kill delays; the seed is printed for replay.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        #[allow(clippy::disallowed_methods)] // a seed, printed for replay, not a time
        let seed = std::env::var("KINKO_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("kill delays seeded with KINKO_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    /// Uniform enough in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

/// `text` without ANSI colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The number after `name=` in a log line.
fn field(log: &str, name: &str) -> usize {
    let start = log
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name}= in:\n{log}"))
        + name.len()
        + 1;
    log[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("{name}= is not a number in:\n{log}"))
}

/// What a `serve --root file` probe says about a data directory during a migration to
/// passphrase.
#[derive(Debug, PartialEq, Eq)]
enum MigrationState {
    /// No target recorded yet: the file root still serves.
    NotBegun,
    /// The server refuses: a migration is unfinished.
    Unfinished,
    /// The installation is on the passphrase root.
    Done,
}

fn probe(data: &Path, logs: &Path) -> MigrationState {
    match Server::try_start(data, &["--root", "file"], &[], logs) {
        common::Start::Up(server) => {
            server.stop();
            MigrationState::NotBegun
        }
        common::Start::Exited(Outcome { status, stderr }) => {
            assert!(!status.success(), "a refused start exits non-zero");
            if stderr.contains("unfinished") {
                assert!(
                    stderr.contains("kinko root migrate"),
                    "the refusal says how to finish the migration:\n{stderr}"
                );
                MigrationState::Unfinished
            } else if stderr.contains("`passphrase`") {
                MigrationState::Done
            } else {
                panic!("unexpected refusal during the migration:\n{stderr}");
            }
        }
    }
}

/// Where a kill is timed from.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    /// From the spawn of `kinko root migrate` (may land before, during or after the Argon2id
    /// derivation and the recording of the target).
    Spawn,
    /// From its "rewrapping key material" log line (lands among the row rewraps).
    Rewrap,
}

/// A migration SIGKILLed again and again at random points, then rerun to completion, loses
/// nothing: every ciphertext made before decrypts under the new root, and the rows rewrapped by
/// the killed runs are not redone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_survives_sigkill_at_random_points() {
    // Enough rows that the rewrap outlasts the longest kill delay on a fast machine (500 rows
    // took under 250 ms on one, and the migration then finished before enough kills landed).
    const KEYS: usize = 1500;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let logs = tmp.path();
    let data = tmp.path().join("data");
    let data_s = path_str(&data);

    let server = Server::start(&data, &[], &[], logs);
    let kms = server.client();
    let sealed = seal_many(&kms, "sigkill", KEYS, 1).await;
    server.stop();

    let mut rng = Rng::new();
    let migrate_args = [
        "root",
        "migrate",
        "--data-dir",
        data_s,
        "--to",
        "passphrase",
    ];
    let migrate_env = [("KINKO_NEW_ROOT_PASSPHRASE", PASSPHRASE)];
    let plan = [
        Anchor::Spawn,
        Anchor::Spawn,
        Anchor::Rewrap,
        Anchor::Spawn,
        Anchor::Spawn,
        Anchor::Rewrap,
        Anchor::Spawn,
        Anchor::Rewrap,
    ];
    let mut history = Vec::new();
    let mut kills = 0;
    let mut unfinished_seen = 0;
    // The report of a run that finished before its kill, if one did.
    let mut finished_report = None;
    for anchor in plan {
        let (mut child, log) = spawn_logged(kinko(&migrate_args, &migrate_env), logs, "migrate");
        let spawned = Instant::now();
        let delay = match anchor {
            Anchor::Spawn => rng.between(5, 300),
            // Long enough that some rows commit even on a loaded machine; the whole rewrap of
            // KEYS rows takes over a second.
            Anchor::Rewrap => rng.between(20, 250),
        };
        if let Anchor::Rewrap = anchor {
            // Wait for the rewrap phase to begin (or the process to end).
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("rewrapping key material") {
                    break;
                }
                if child.try_wait().expect("poll migrate").is_some() || Instant::now() > deadline {
                    panic!("kinko root migrate never reached the rewrap phase:\n{text}");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(Duration::from_millis(delay));
        let finished = child.try_wait().expect("poll migrate");
        if let Some(status) = finished {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(status.success(), "kinko root migrate failed:\n{text}");
            history.push(format!("{anchor:?}+{delay}ms: finished before the kill"));
            finished_report = Some(strip_ansi(&text));
            break;
        }
        child.kill().expect("SIGKILL kinko root migrate");
        let status = child.wait().expect("reap kinko root migrate");
        let killed_after = spawned.elapsed();
        assert!(
            !status.success(),
            "a killed migration does not report success"
        );
        kills += 1;
        let state = probe(&data, logs);
        if state == MigrationState::Unfinished {
            unfinished_seen += 1;
        }
        history.push(format!(
            "{anchor:?}+{delay}ms (killed {killed_after:?} after spawn): {state:?}"
        ));
        assert_ne!(
            state,
            MigrationState::Done,
            "a killed run cannot have finished the migration: {history:#?}"
        );
    }
    eprintln!("kills: {history:#?}");
    assert!(
        kills >= 6,
        "at least 6 kills must land before the migration finishes (raise KEYS): {history:#?}"
    );
    assert!(
        unfinished_seen >= 1,
        "at least one kill must land mid-way, with the server refusing to start: {history:#?}"
    );

    // Finish it, unless the last run already did (a rerun would then find a passphrase root and
    // ask for its passphrase).
    let report = match finished_report {
        Some(report) => report,
        None => {
            let outcome = run(&migrate_args, &migrate_env, logs);
            outcome.assert_success("the migration rerun after the kills");
            strip_ansi(&outcome.stderr)
        }
    };
    let materials = field(&report, "materials");
    let access_keys = field(&report, "access_keys");
    let already_done = field(&report, "already_done");
    assert_eq!(
        materials + access_keys + already_done,
        KEYS + 1,
        "every key version and the one access key is counted exactly once:\n{report}"
    );
    assert!(
        already_done > 0,
        "rows rewrapped by the killed runs are kept, not redone:\n{report}"
    );
    assert_eq!(probe(&data, logs), MigrationState::Done);

    let server = Server::start(
        &data,
        &["--root", "passphrase"],
        &[("KINKO_ROOT_PASSPHRASE", PASSPHRASE)],
        logs,
    );
    let kms = server.client();
    assert_all_decrypt(&kms, &sealed, "after the killed and finished migration").await;
    let more = encrypt(&kms, &sealed[0].key_id, b"after the migration", &[]).await;
    assert_all_decrypt(&kms, &[more], "a new encrypt after the migration").await;
    server.stop();
}

/// GenerateDataKey under `key_id` (a key spec or a byte count); the returned [`Sealed`] holds
/// the data key in clear as its plaintext and the encrypted data key as its ciphertext.
async fn generate_data_key(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
    spec: Option<DataKeySpec>,
    bytes: Option<i32>,
    context: &[(&str, &str)],
) -> Sealed {
    let mut request = kms
        .generate_data_key()
        .key_id(key_id)
        .set_key_spec(spec.clone())
        .set_number_of_bytes(bytes);
    for (k, v) in context {
        request = request.encryption_context(*k, *v);
    }
    let out = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GenerateDataKey: {e:?}"));
    let plaintext = out.plaintext.expect("Plaintext").into_inner();
    let expected_len = match (spec, bytes) {
        (Some(DataKeySpec::Aes128), _) => 16,
        (Some(_), _) => 32,
        (None, Some(n)) => usize::try_from(n).expect("a positive byte count"),
        (None, None) => unreachable!("a spec or a byte count"),
    };
    assert_eq!(plaintext.len(), expected_len, "data key length");
    Sealed {
        key_id: key_id.to_owned(),
        context: context
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        plaintext,
        ciphertext: out.ciphertext_blob.expect("CiphertextBlob").into_inner(),
    }
}

/// 32 bytes from the operating system.
fn random_32() -> Vec<u8> {
    use std::io::Read;
    let mut bytes = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes
}

/// Asserts that `dir` holds no database, finished or half-restored.
fn assert_no_database(dir: &Path, when: &str) {
    if !dir.exists() {
        return;
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with("kinko.db"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{when}: database files were left in {}: {leftovers:?}",
        dir.display()
    );
}

/// Every file under `root` that contains any of the data keys, in clear, as hex, or as base64
/// (padded or not). Returns (file, data key index, encoding).
fn data_key_leaks(root: &Path, data_keys: &[Sealed]) -> Vec<(String, usize, &'static str)> {
    let mut found = Vec::new();
    for file in files_under(root) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for (i, key) in data_keys.iter().enumerate() {
            let b64 = base64(&key.plaintext);
            let hex = kinko_crypto::hex::encode(&key.plaintext);
            let needles: [(&'static str, &[u8]); 4] = [
                ("bytes", &key.plaintext),
                ("base64", b64.as_bytes()),
                ("unpadded base64", b64.trim_end_matches('=').as_bytes()),
                ("hex", hex.as_bytes()),
            ];
            for (encoding, needle) in needles {
                if contains(&bytes, needle) {
                    found.push((file.display().to_string(), i, encoding));
                }
            }
        }
    }
    found
}

/// `kinko backup` while the server runs and a client keeps encrypting; the backup is private
/// and never overwritten; restore refuses a missing or different root key and a non-empty
/// target, and otherwise yields an installation that decrypts everything made before the backup
/// with the original credentials. Nowhere on disk (data directories, backup, logs) is a data
/// key that GenerateDataKey returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_then_restore_and_no_data_key_on_disk() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let logs = tmp.path().to_owned();
    let data = tmp.path().join("data");
    let data_s = path_str(&data).to_owned();
    let backup = tmp.path().join("backup.db");
    let backup_s = path_str(&backup).to_owned();

    let server = Server::start(&data, &[], &[], &logs);
    let kms = server.client();
    let key = create_key(&kms, "backup").await;
    let mut before = seal_many(&kms, "backup", 3, 2).await;
    let mut data_keys = Vec::new();
    for (n, (spec, bytes)) in [
        (Some(DataKeySpec::Aes256), None),
        (Some(DataKeySpec::Aes128), None),
        (None, Some(64)),
        (None, Some(1024)),
        (Some(DataKeySpec::Aes256), None),
    ]
    .into_iter()
    .enumerate()
    {
        let n = n.to_string();
        data_keys.push(generate_data_key(&kms, &key, spec, bytes, &[("data-key", &n)]).await);
    }
    before.extend(data_keys.iter().cloned());

    // A client that keeps encrypting until told to stop; a failed request panics the task.
    let stop = Arc::new(AtomicBool::new(false));
    let made: Arc<Mutex<Vec<Sealed>>> = Arc::default();
    let background = tokio::spawn({
        let (kms, key, stop, made) = (kms.clone(), key.clone(), stop.clone(), made.clone());
        async move {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let plaintext = format!("background {n}");
                let n_text = n.to_string();
                let sealed = encrypt(&kms, &key, plaintext.as_bytes(), &[("bg", &n_text)]).await;
                made.lock().expect("the list").push(sealed);
                n += 1;
            }
        }
    });
    let made_count = || made.lock().expect("the list").len();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        async move {
            while made_count() < n {
                assert!(Instant::now() < deadline, "the background client stalled");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    wait_for(5).await;
    before.extend(made.lock().expect("the list").iter().cloned());
    let before_backup = made_count();

    let backup_run = {
        let (data_s, backup_s, logs) = (data_s.clone(), backup_s.clone(), logs.clone());
        tokio::task::spawn_blocking(move || {
            run(
                &["backup", "--data-dir", &data_s, "--out", &backup_s],
                &[],
                &logs,
            )
        })
    };
    let outcome = backup_run.await.expect("the backup task");
    outcome.assert_success("kinko backup while the server runs");
    let after_backup = made_count();
    eprintln!(
        "background encrypts: {} before the backup, {after_backup} when it finished",
        before_backup
    );
    assert!(
        after_backup > before_backup,
        "the server kept serving encrypts while the backup ran ({before_backup} → {after_backup})"
    );
    wait_for(after_backup + 5).await;
    stop.store(true, Ordering::SeqCst);
    background
        .await
        .expect("the background client never failed while the backup ran");

    assert_eq!(mode(&backup), 0o600, "the backup file is private");
    let backup_bytes = std::fs::read(&backup).expect("read the backup");
    assert!(!backup_bytes.is_empty(), "the backup holds the database");
    run(
        &["backup", "--data-dir", &data_s, "--out", &backup_s],
        &[],
        &logs,
    )
    .assert_refused("a second backup to the same file", &["exists"]);
    assert_eq!(
        std::fs::read(&backup).expect("read the backup"),
        backup_bytes,
        "the refused backup left the first one as it was"
    );

    // ---- restore -----------------------------------------------------------------------------
    let restored = tmp.path().join("restored");
    let restored_s = path_str(&restored).to_owned();
    let restore_args = ["restore", "--in", &backup_s, "--data-dir", &restored_s];
    run(&restore_args, &[], &logs).assert_refused(
        "a restore without the root key file",
        &["root.key", "missing"],
    );
    assert_no_database(&restored, "after the refused restore without root.key");

    // Another file root is refused too.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("create a directory");
    std::fs::write(other.join("root.key"), random_32()).expect("write another root key");
    run(
        &["restore", "--in", &backup_s, "--data-dir", path_str(&other)],
        &[],
        &logs,
    )
    .assert_refused("a restore under another root key", &["not the one"]);
    assert_no_database(&other, "after the refused restore under another root key");

    std::fs::create_dir_all(&restored).expect("create the restore directory");
    std::fs::copy(data.join("root.key"), restored.join("root.key")).expect("copy root.key");
    run(&restore_args, &[], &logs).assert_success("a restore with the original root key");
    assert!(restored.join("kinko.db").is_file(), "the restored database");
    run(&restore_args, &[], &logs).assert_refused(
        "a restore into a directory that has kinko.db",
        &["already holds a database"],
    );

    let copy = Server::start(&restored, &[], &[], &logs);
    let copy_kms = copy.client_with(&data.join("credentials"));
    assert_all_decrypt(
        &copy_kms,
        &before,
        "on the restored installation, with the original credentials",
    )
    .await;
    assert!(
        !restored.join("credentials").exists(),
        "a restored installation keeps its accounts: no new credentials are made"
    );
    let fresh = encrypt(&copy_kms, &key, b"on the copy", &[]).await;
    assert_all_decrypt(&copy_kms, &[fresh], "a new encrypt on the restored copy").await;

    // ---- no data key on disk -------------------------------------------------------------------
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
    assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0x00]), "//79AA==");
    // The scanner finds what is there: the secret access key is in the credentials file.
    let (_, secret) = common::read_credentials(&data.join("credentials"));
    let probe_key = Sealed {
        plaintext: secret.into_bytes(),
        ..data_keys[0].clone()
    };
    assert!(
        data_key_leaks(&data, std::slice::from_ref(&probe_key))
            .iter()
            .any(|(file, _, encoding)| file.ends_with("credentials") && *encoding == "bytes"),
        "the scanner works"
    );
    // While both servers run (WAL files included), then after they stop.
    let leaks = data_key_leaks(tmp.path(), &data_keys);
    assert!(
        leaks.is_empty(),
        "data keys found on disk while serving: {leaks:?}"
    );
    copy.stop();
    server.stop();
    let leaks = data_key_leaks(tmp.path(), &data_keys);
    assert!(leaks.is_empty(), "data keys found on disk: {leaks:?}");
}

/// A passphrase installation's backup restores only with its passphrase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_of_a_passphrase_backup_needs_the_passphrase() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let logs = tmp.path();
    let data = tmp.path().join("data");
    let env = [("KINKO_ROOT_PASSPHRASE", PASSPHRASE)];
    let server = Server::start(&data, &["--root", "passphrase"], &env, logs);
    let kms = server.client();
    let key = create_key(&kms, "passphrase backup").await;
    let sealed = vec![encrypt(&kms, &key, b"passphrase backup", &[("a", "b")]).await];
    server.stop();

    let backup = tmp.path().join("backup.db");
    run(
        &[
            "backup",
            "--data-dir",
            path_str(&data),
            "--out",
            path_str(&backup),
        ],
        &[],
        logs,
    )
    .assert_success("kinko backup of a stopped installation");
    assert_eq!(mode(&backup), 0o600, "the backup file is private");

    let restored = tmp.path().join("restored");
    let args = [
        "restore",
        "--in",
        path_str(&backup),
        "--data-dir",
        path_str(&restored),
    ];
    run(
        &args,
        &[("KINKO_ROOT_PASSPHRASE", "another-passphrase")],
        logs,
    )
    .assert_refused("a restore with a wrong passphrase", &["wrong passphrase"]);
    assert_no_database(
        &restored,
        "after the refused restore with a wrong passphrase",
    );
    run(&args, &[], logs)
        .assert_refused("a restore without a passphrase", &["KINKO_ROOT_PASSPHRASE"]);
    assert_no_database(&restored, "after the refused restore without a passphrase");

    run(&args, &env, logs).assert_success("a restore with the passphrase");
    let copy = Server::start(&restored, &["--root", "passphrase"], &env, logs);
    assert_all_decrypt(
        &copy.client_with(&data.join("credentials")),
        &sealed,
        "on the restored passphrase installation",
    )
    .await;
    copy.stop();
}
