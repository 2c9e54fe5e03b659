//! The audit trail end to end through the real `kinko` binary: a server run with the AWS SDK
//! (about forty requests of mixed kinds, failures included, a digest signed mid-way and one at
//! shutdown), then `kinko audit verify`, `query`, `tail` and `export` on it, and tampering with
//! copies of its database (through SQLite, as an attacker with file access would) that `verify`
//! must catch and name: a modified record, a modified column, a deleted event, a cut tail, a
//! forged inserted event, swapped events, a consistently rewritten suffix, a swapped public key,
//! and a changed export file. Finally, no record holds a plaintext, data key, ciphertext or
//! secret access key.
//!
//! The trail is built once per test process (`fixture`); every test works on its own copy.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use common::{
    Outcome, Server, audit_db, base64, contains, create_key, encrypt, kinko, run, spawn_logged,
};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The chain a default server writes.
const CHAIN: &str = "node-1";

/// What the fixture's server run did.
#[derive(Debug)]
struct Fixture {
    /// The data directory (never modified after the run).
    data: PathBuf,
    /// The key most requests used.
    key_a: String,
    /// The key data keys came from; disabled and re-enabled on the way.
    key_b: String,
    /// Successful Encrypt calls under `key_a`.
    encrypts_a: usize,
    /// Successful GenerateDataKey calls.
    data_keys: usize,
    /// Error codes the run provoked.
    failures: Vec<String>,
    /// The root principal's ARN.
    principal: String,
    /// Plaintexts, data keys, ciphertexts and the secret access key: none may reach the trail.
    secrets: Vec<(String, Vec<u8>)>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(build_fixture)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Runs a future on a fresh runtime (the tests themselves are synchronous).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// A directory for this test process under Cargo's per-target scratch space; directories of
/// earlier processes that are gone are removed.
fn process_dir() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("audit-fixture-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!("audit-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the fixture directory");
    dir
}

fn build_fixture() -> Fixture {
    let dir = process_dir();
    let data = dir.join("data");
    let server = Server::start(&data, &["--audit-digest-seconds", "1"], &[], &dir);
    let fixture = block_on(drive(&server, data.clone()));
    server.stop();
    fixture
}

/// About forty requests of mixed kinds, failures included, with a pause for a digest.
async fn drive(server: &Server, data: PathBuf) -> Fixture {
    let kms = server.client();
    let (access_key_id, secret) = common::read_credentials(&data.join("credentials"));
    let mut secrets = vec![("secret access key".to_owned(), secret.clone().into_bytes())];
    let mut failures = Vec::new();

    let key_a = create_key(&kms, "audit key a").await;
    let key_b = create_key(&kms, "audit key b").await;
    let described = kms
        .describe_key()
        .key_id(&key_a)
        .send()
        .await
        .expect("DescribeKey");
    let principal = {
        let arn = described
            .key_metadata
            .and_then(|m| m.arn)
            .expect("a key ARN");
        let account = arn
            .split(':')
            .nth(4)
            .expect("an account in the ARN")
            .to_owned();
        format!("arn:aws:iam::{account}:root")
    };
    kms.create_alias()
        .alias_name("alias/audit-a")
        .target_key_id(&key_a)
        .send()
        .await
        .expect("CreateAlias");
    kms.list_keys().send().await.expect("ListKeys");
    kms.tag_resource()
        .key_id(&key_b)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("team")
                .tag_value("audit")
                .build()
                .expect("a tag"),
        )
        .send()
        .await
        .expect("TagResource");

    let mut sealed = Vec::new();
    for i in 0..6 {
        let plaintext = format!("audit-plaintext-{i}-do-not-log-7d1f4c");
        let s = encrypt(
            &kms,
            &key_a,
            plaintext.as_bytes(),
            &[("purpose", "audit-test")],
        )
        .await;
        secrets.push((format!("plaintext {i}"), s.plaintext.clone()));
        secrets.push((format!("ciphertext {i}"), s.ciphertext.clone()));
        sealed.push(s);
    }
    for s in &sealed {
        let plaintext = common::try_decrypt(&kms, s).await.expect("Decrypt");
        assert_eq!(plaintext, s.plaintext);
    }
    let data_keys = 3;
    for i in 0..data_keys {
        let out = kms
            .generate_data_key()
            .key_id(&key_b)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .expect("GenerateDataKey");
        let plain = out.plaintext.expect("Plaintext").into_inner();
        let blob = out.ciphertext_blob.expect("CiphertextBlob").into_inner();
        secrets.push((format!("data key {i}"), plain));
        secrets.push((format!("data key ciphertext {i}"), blob));
    }
    kms.generate_data_key_without_plaintext()
        .key_id(&key_b)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKeyWithoutPlaintext");

    // Failures.
    let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or("<no code>").to_owned();
    let missing = kms
        .describe_key()
        .key_id("11111111-2222-3333-4444-555555555555")
        .send()
        .await
        .expect_err("DescribeKey of a missing key");
    failures.push(code(&missing));
    let garbage = kms
        .decrypt()
        .ciphertext_blob(Blob::new(vec![7u8; 80]))
        .send()
        .await
        .expect_err("Decrypt of garbage");
    failures.push(code(&garbage));
    kms.disable_key()
        .key_id(&key_b)
        .send()
        .await
        .expect("DisableKey");
    let disabled = kms
        .encrypt()
        .key_id(&key_b)
        .plaintext(Blob::new(b"never".to_vec()))
        .send()
        .await
        .expect_err("Encrypt under a disabled key");
    failures.push(code(&disabled));
    kms.enable_key()
        .key_id(&key_b)
        .send()
        .await
        .expect("EnableKey");
    let wrong_secret = common::client(&server.endpoint(), &access_key_id, &"x".repeat(40));
    let bad_signature = wrong_secret
        .list_keys()
        .send()
        .await
        .expect_err("a request signed with the wrong secret");
    failures.push(code(&bad_signature));
    let stranger = common::client(&server.endpoint(), "AKIAAAAAAAAAAAAAAAAA", &"y".repeat(40));
    let unknown = stranger
        .list_keys()
        .send()
        .await
        .expect_err("a request with an unknown access key");
    failures.push(code(&unknown));

    // Let the sealer sign a digest of everything so far, then add more.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut encrypts_a = sealed.len();
    for i in 0..3 {
        encrypt(&kms, &key_a, format!("later-{i}").as_bytes(), &[]).await;
        encrypts_a += 1;
    }
    for _ in 0..3 {
        kms.describe_key()
            .key_id("alias/audit-a")
            .send()
            .await
            .expect("DescribeKey by alias");
    }
    kms.list_resource_tags()
        .key_id(&key_b)
        .send()
        .await
        .expect("ListResourceTags");
    kms.list_aliases().send().await.expect("ListAliases");

    Fixture {
        data,
        key_a,
        key_b,
        encrypts_a,
        data_keys,
        failures,
        principal,
        secrets,
    }
}

/// A copy of the fixture's data directory in `dir`.
fn copy_of_fixture(dir: &Path) -> PathBuf {
    let target = dir.join("data");
    copy_dir(&fixture().data, &target);
    target
}

/// Copies a directory tree. Tests running in parallel read the fixture's database, and SQLite
/// (in WAL mode) creates and removes `kinko.db-wal` and `kinko.db-shm` as they come and go: a
/// file that vanishes between listing and copying is skipped.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("list the data directory") {
        let entry = entry.expect("a directory entry");
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            match std::fs::copy(&path, to.join(entry.file_name())) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("copy {}: {e}", path.display()),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Talking to the database directly, as an attacker with the files would. Events are stored in
// batches (see `common::audit_db`): a tampering test `explode`s the trail into a per-event table
// `audit_events`, edits it with SQL, and `implode`s it back before running `verify`.

async fn open_db(data: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(data.join("kinko.db"));
    SqlitePool::connect_with(options)
        .await
        .expect("open the SQLite file")
}

/// One stored event.
#[derive(Debug, Clone)]
struct Row_ {
    seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    event_id: String,
    event_name: String,
    error_code: Option<String>,
    record: Vec<u8>,
}

/// The chain's events, decoded from the stored batches, in seq order.
async fn rows(db: &SqlitePool) -> Vec<Row_> {
    audit_db::stored_events(db)
        .await
        .into_iter()
        .filter(|e| e.chain == CHAIN)
        .map(|e| Row_ {
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
            event_id: e.event_id,
            event_name: e.event_name,
            error_code: e.error_code,
            record: e.record,
        })
        .collect()
}

/// Non-anchor digests' `last_seq`, ascending.
async fn digest_ends(db: &SqlitePool) -> Vec<i64> {
    sqlx::query(
        "SELECT last_seq FROM audit_digests WHERE chain = $1 AND NOT prune_anchor ORDER BY last_seq",
    )
    .bind(CHAIN)
    .fetch_all(db)
    .await
    .expect("read digests")
    .iter()
    .map(|r| r.get("last_seq"))
    .collect()
}

async fn exec(db: &SqlitePool, sql: &'static str, binds: &[i64]) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(db).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn set_head(db: &SqlitePool, seq: i64, hash: &[u8]) {
    sqlx::query("UPDATE audit_chains SET last_seq = $1, last_hash = $2 WHERE chain = $3")
        .bind(seq)
        .bind(hash)
        .bind(CHAIN)
        .execute(db)
        .await
        .expect("update the chain head");
}

/// The chain hash, written out independently of the product: SHA-256(prev ‖ len(chain) as u32
/// BE ‖ chain ‖ seq as i64 BE ‖ record).
fn chain_hash(prev: &[u8], seq: i64, record: &[u8]) -> Vec<u8> {
    let mut input = prev.to_vec();
    input.extend_from_slice(&u32::try_from(CHAIN.len()).expect("short").to_be_bytes());
    input.extend_from_slice(CHAIN.as_bytes());
    input.extend_from_slice(&seq.to_be_bytes());
    input.extend_from_slice(record);
    kinko_crypto::sha256(&input).to_vec()
}

/// A seq in the middle of the chain holding a successful `operation`.
fn middle_event<'a>(rows: &'a [Row_], operation: &str) -> &'a Row_ {
    let candidates: Vec<&Row_> = rows
        .iter()
        .filter(|r| r.event_name == operation && r.error_code.is_none())
        .collect();
    assert!(
        candidates.len() >= 2,
        "the fixture has too few {operation} events"
    );
    let r = candidates[candidates.len() / 2];
    assert!(
        r.seq > 1 && r.seq < rows.len() as i64 - 3,
        "{operation} at seq {} is not in the middle",
        r.seq
    );
    r
}

// ------------------------------------------------------------------------------------------
// Running `kinko audit`.

fn audit_verify(data: &Path, extra: &[&str], logs: &Path) -> Outcome {
    let mut args = vec!["audit", "verify", "--data-dir", path_str(data)];
    args.extend_from_slice(extra);
    run(&args, &[], logs)
}

/// Runs `kinko args` and returns (success, stdout lines, stderr).
fn output(args: &[&str]) -> (bool, Vec<String>, String) {
    let out = kinko(args, &[])
        .output()
        .unwrap_or_else(|e| panic!("run kinko {args:?}: {e}"));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    (
        out.status.success(),
        stdout.lines().map(str::to_owned).collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kinko audit query --data-dir data extra...`: the printed records.
fn query(data: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["audit", "query", "--data-dir", path_str(data)];
    args.extend_from_slice(extra);
    let (ok, lines, stderr) = output(&args);
    assert!(ok, "kinko {args:?} failed:\n{stderr}");
    lines
}

/// The string value of `"name":"..."` in a canonical (compact) JSON line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{name}\":\""))? + name.len() + 4;
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

/// The break `verify` printed: (kind, seq, the whole line).
fn parse_break(stderr: &str) -> (String, i64, String) {
    let line = stderr
        .lines()
        .find(|l| l.contains("audit trail broken at chain "))
        .unwrap_or_else(|| panic!("no 'audit trail broken' line in:\n{stderr}"))
        .to_owned();
    let after_chain = line
        .split_once(&format!("at chain {CHAIN} seq "))
        .unwrap_or_else(|| panic!("no chain/seq in {line:?}"))
        .1;
    let digits: String = after_chain
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let seq = digits
        .parse()
        .unwrap_or_else(|_| panic!("no seq in {line:?}"));
    let rest = &after_chain[digits.len()..];
    let rest = match rest.strip_prefix(" (event ") {
        Some(r) => &r[r.find("): ").expect("end of the event id") + 1..],
        None => rest,
    };
    let kind = rest
        .strip_prefix(": ")
        .and_then(|r| r.split_once(": "))
        .map(|(k, _)| k.to_owned())
        .unwrap_or_else(|| panic!("no kind in {line:?}"));
    (kind, seq, line)
}

/// `verify` failed with exit code 1 and named `kind` at `seq`; returns the line.
fn assert_broken(outcome: &Outcome, kind: &str, seq: i64) -> String {
    assert_eq!(
        outcome.status.code(),
        Some(1),
        "verify should exit 1:\n{}",
        outcome.stderr
    );
    let (got_kind, got_seq, line) = parse_break(&outcome.stderr);
    assert_eq!(got_kind, kind, "wrong kind in {line:?}");
    assert_eq!(got_seq, seq, "wrong seq in {line:?}");
    line
}

// ------------------------------------------------------------------------------------------
// The intact trail.

#[test]
fn intact_trail_verifies_and_graceful_shutdown_sealed_it() {
    let f = fixture();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let outcome = audit_verify(&f.data, &[], tmp.path());
    outcome.assert_success("audit verify of an untouched trail");
    let (rows, ends, head) = block_on(async {
        let db = open_db(&f.data).await;
        let head: i64 = sqlx::query("SELECT last_seq FROM audit_chains WHERE chain = $1")
            .bind(CHAIN)
            .fetch_one(&db)
            .await
            .expect("the chain head")
            .get("last_seq");
        (rows(&db).await, digest_ends(&db).await, head)
    });
    assert!(rows.len() >= 35, "only {} events were recorded", rows.len());
    assert_eq!(head, rows.len() as i64, "the head is not the last event");
    assert!(
        ends.len() >= 2,
        "expected a digest mid-way and one at shutdown, got {ends:?}"
    );
    assert_eq!(
        ends.last().copied(),
        Some(head),
        "shutdown did not seal the whole chain"
    );
    assert!(
        outcome
            .stderr
            .contains(&format!("chain {CHAIN}: {} events checked", rows.len())),
        "the summary does not count every event:\n{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("0 events not yet sealed"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn query_finds_events_by_key_operation_result_principal_and_time() {
    let f = fixture();
    let data = &f.data;
    let all_db = block_on(async { rows(&open_db(data).await).await });

    // Everything, newest first, in the store's order.
    let all = query(data, &[]);
    assert_eq!(all.len(), all_db.len(), "query without filters");
    let mut expected: Vec<&Row_> = all_db.iter().collect();
    expected.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let encrypt_ids: Vec<&str> = expected
        .iter()
        .filter(|r| r.event_name == "Encrypt")
        .map(|r| r.event_id.as_str())
        .collect();
    let by_op = query(data, &["--operation", "Encrypt"]);
    let got: Vec<&str> = by_op
        .iter()
        .map(|l| field(l, "eventID").expect("an eventID"))
        .collect();
    assert_eq!(got, encrypt_ids, "Encrypt records, newest first");

    let arn_a = format!(":key/{}\"", f.key_a);
    let by_key = query(data, &["--key", &f.key_a]);
    assert!(by_key.len() >= f.encrypts_a + 6 + 2, "{by_key:#?}");
    for line in &by_key {
        assert!(line.contains(&arn_a), "not about key a: {line}");
    }
    let ok_encrypts = query(
        data,
        &[
            "--key",
            &f.key_a,
            "--operation",
            "Encrypt",
            "--result",
            "success",
        ],
    );
    assert_eq!(ok_encrypts.len(), f.encrypts_a, "{ok_encrypts:#?}");
    let data_keys = query(data, &["--operation", "GenerateDataKey"]);
    assert_eq!(data_keys.len(), f.data_keys);
    assert!(
        data_keys
            .iter()
            .all(|l| field(l, "eventName") == Some("GenerateDataKey"))
    );

    let failures = query(data, &["--result", "failure"]);
    let codes: BTreeSet<&str> = failures
        .iter()
        .map(|l| field(l, "errorCode").unwrap_or_else(|| panic!("no errorCode: {l}")))
        .collect();
    for code in &f.failures {
        assert!(codes.contains(code.as_str()), "{code} not among {codes:?}");
    }
    assert_eq!(failures.len(), f.failures.len(), "{failures:#?}");
    let successes = query(data, &["--result", "success"]);
    assert_eq!(successes.len() + failures.len(), all.len());
    assert!(successes.iter().all(|l| !l.contains("\"errorCode\"")));

    let mine = query(data, &["--principal", &f.principal]);
    assert!(
        mine.len() + 2 >= all.len(),
        "{} of {}",
        mine.len(),
        all.len()
    );
    assert!(
        mine.iter()
            .all(|l| l.contains(&format!("\"arn\":\"{}\"", f.principal)))
    );
    assert!(
        query(
            data,
            &["--principal", "arn:aws:iam::000000000000:user/nobody"]
        )
        .is_empty()
    );

    assert_eq!(query(data, &["--limit", "2"]).len(), 2);
    #[allow(clippy::disallowed_methods)] // the server under test stamps events with the wall clock
    let tomorrow = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
        + 86_400;
    assert!(query(data, &["--from", &tomorrow.to_string()]).is_empty());
    assert!(query(data, &["--to", "2000-01-01T00:00:00Z"]).is_empty());
    assert_eq!(
        query(
            data,
            &[
                "--from",
                "2000-01-01T00:00:00Z",
                "--to",
                &tomorrow.to_string()
            ]
        )
        .len(),
        all.len()
    );
    let (ok, _, stderr) = output(&[
        "audit",
        "query",
        "--data-dir",
        path_str(data),
        "--key",
        "alias/audit-a",
    ]);
    assert!(!ok && stderr.contains("key id or key ARN"), "{stderr}");

    // tail: the last N, oldest first.
    let (ok, tail, stderr) = output(&[
        "audit",
        "tail",
        "--data-dir",
        path_str(data),
        "--limit",
        "5",
    ]);
    assert!(ok, "{stderr}");
    let last_five: Vec<&str> = all_db[all_db.len() - 5..]
        .iter()
        .map(|r| r.event_id.as_str())
        .collect();
    let got: Vec<&str> = tail
        .iter()
        .map(|l| field(l, "eventID").expect("an eventID"))
        .collect();
    assert_eq!(got, last_five);
}

#[test]
fn tail_follows_and_verify_passes_while_the_server_runs() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let server = Server::start(&data, &["--audit-digest-seconds", "1"], &[], tmp.path());
    let (mut tail, log) = spawn_logged(
        kinko(
            &[
                "audit",
                "tail",
                "--data-dir",
                path_str(&data),
                "--follow",
                "--operation",
                "CreateKey",
                "--limit",
                "5",
            ],
            &[("KINKO_LOG", "error")],
        ),
        tmp.path(),
        "tail",
    );
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |needle: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !read().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "tail --follow never printed {what}:\n{}",
                read()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let f = fixture();
    wait_for(&f.key_b, "the fixture's keys");
    let kms = server.client();
    let new_key = block_on(async {
        let key = create_key(&kms, "created while tailing").await;
        // Traffic while verify runs below.
        for i in 0..20 {
            encrypt(&kms, &key, format!("busy-{i}").as_bytes(), &[]).await;
        }
        key
    });
    wait_for(&new_key, "the key created while it ran");
    let busy = std::thread::spawn({
        let kms = server.client();
        let key = new_key.clone();
        move || {
            block_on(async {
                for i in 0..40 {
                    encrypt(&kms, &key, format!("more-{i}").as_bytes(), &[]).await;
                }
            });
        }
    });
    let during = audit_verify(&data, &[], tmp.path());
    busy.join().expect("the request thread");
    let _ = tail.kill();
    let _ = tail.wait();
    during.assert_success("audit verify while the server appends");
    let printed: Vec<String> = read()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(str::to_owned)
        .collect();
    let keys: Vec<&str> = printed
        .iter()
        .filter(|l| field(l, "eventName") == Some("CreateKey"))
        .map(|l| l.as_str())
        .collect();
    assert_eq!(keys.len(), 3, "CreateKey records printed: {printed:#?}");
    assert!(keys[0].contains(&f.key_a) && keys[1].contains(&f.key_b));
    assert!(keys[2].contains(&new_key));
    assert_eq!(
        printed.len(),
        3,
        "tail printed other operations: {printed:#?}"
    );
    server.stop();
    audit_verify(&data, &[], tmp.path()).assert_success("audit verify after the second run");
}

// ------------------------------------------------------------------------------------------
// Tampering with the database.

/// The control for the tests below: exploding and imploding the trail without an edit leaves one
/// batch per event that verifies, so every break they see comes from their edit.
#[test]
fn exploded_and_imploded_trail_still_verifies() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let (before, after, batches) = block_on(async {
        let db = open_db(&data).await;
        let before = audit_db::stored_events(&db).await;
        audit_db::explode(&db).await;
        audit_db::implode(&db).await;
        let after = audit_db::stored_events(&db).await;
        let batches: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_batches")
            .fetch_one(&db)
            .await
            .expect("count the batches")
            .get("n");
        db.close().await;
        (before, after, batches)
    });
    assert_eq!(before, after, "explode and implode changed an event");
    assert_eq!(batches, after.len() as i64, "not one batch per event");
    audit_verify(&data, &[], tmp.path()).assert_success("audit verify after explode and implode");
}

#[test]
fn modified_record_is_caught() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let seq = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let target = middle_event(&rows, "Encrypt");
        let forged = String::from_utf8(target.record.clone())
            .expect("UTF-8 record")
            .replace("\"eventName\":\"Encrypt\"", "\"eventName\":\"Decrypt\"");
        sqlx::query("UPDATE audit_events SET record = $1 WHERE chain = $2 AND seq = $3")
            .bind(forged.into_bytes())
            .bind(CHAIN)
            .bind(target.seq)
            .execute(&db)
            .await
            .expect("forge the record");
        audit_db::implode(&db).await;
        db.close().await;
        target.seq
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "modified", seq);
    assert!(line.contains("hash does not match"), "{line}");

    // The same edit with the event's own hash recomputed: the next event's link still names the
    // old version.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let (seq, id) = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let target = middle_event(&rows, "Encrypt");
        let forged = String::from_utf8(target.record.clone())
            .expect("UTF-8 record")
            .replace("\"eventName\":\"Encrypt\"", "\"eventName\":\"Decrypt\"")
            .into_bytes();
        let hash = chain_hash(&target.prev_hash, target.seq, &forged);
        sqlx::query(
            "UPDATE audit_events SET record = $1, hash = $2, event_name = 'Decrypt' \
             WHERE chain = $3 AND seq = $4",
        )
        .bind(forged)
        .bind(hash)
        .bind(CHAIN)
        .bind(target.seq)
        .execute(&db)
        .await
        .expect("forge the record and its hash");
        audit_db::implode(&db).await;
        db.close().await;
        (target.seq, target.event_id.clone())
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "modified", seq);
    assert!(line.contains(&id), "{line}");
}

#[test]
fn modified_column_is_caught() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let seq = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let target = middle_event(&rows, "Decrypt");
        exec(
            &db,
            "UPDATE audit_events SET error_code = 'AccessDeniedException' WHERE seq = $1",
            &[target.seq],
        )
        .await;
        audit_db::implode(&db).await;
        db.close().await;
        target.seq
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "modified", seq);
    assert!(
        line.contains("column error_code disagrees with the record"),
        "{line}"
    );
}

#[test]
fn deleted_event_in_the_middle_is_caught() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let seq = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let target = middle_event(&rows, "Decrypt");
        exec(
            &db,
            "DELETE FROM audit_events WHERE seq = $1",
            &[target.seq],
        )
        .await;
        audit_db::implode(&db).await;
        db.close().await;
        target.seq
    });
    assert_broken(&audit_verify(&data, &[], tmp.path()), "deleted", seq);
}

#[test]
fn cut_tail_with_a_fixed_head_is_caught_by_the_digest() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let keep = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let keep = rows[rows.len() - 4].clone();
        exec(&db, "DELETE FROM audit_events WHERE seq > $1", &[keep.seq]).await;
        set_head(&db, keep.seq, &keep.hash).await;
        audit_db::implode(&db).await;
        db.close().await;
        keep.seq
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "deleted", keep + 1);
    assert!(line.contains("deleted from its end"), "{line}");

    // A missing head row (events still there) is a deletion too.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let last = block_on(async {
        let db = open_db(&data).await;
        let last = rows(&db).await.len() as i64;
        exec(&db, "DELETE FROM audit_chains", &[]).await;
        db.close().await;
        last
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "deleted", last);
    assert!(line.contains("chain head is missing"), "{line}");
}

#[test]
fn forged_inserted_event_is_caught() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let (seq, forged_id) = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let at = middle_event(&rows, "Encrypt").seq;
        let before = rows
            .iter()
            .find(|r| r.seq == at - 1)
            .expect("the event before");
        let template = rows.iter().find(|r| r.seq == at).expect("the template");
        let forged_id = "0badf00d-0000-4000-8000-000000000001";
        let record = String::from_utf8(template.record.clone())
            .expect("UTF-8 record")
            .replace(&template.event_id, forged_id)
            .into_bytes();
        let hash = chain_hash(&before.hash, at, &record);
        let n = rows.len() as i64;
        // Make room: shift every later event up by one (through negative seqs, as the primary
        // key forbids a moment with two events at one seq).
        exec(
            &db,
            "UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= $1",
            &[at],
        )
        .await;
        exec(&db, "UPDATE audit_events SET seq = -seq WHERE seq < 0", &[]).await;
        sqlx::query(
            "INSERT INTO audit_events (chain, seq, prev_hash, hash, event_id, request_id, event_time, \
             event_source, event_name, read_only, account, principal_arn, access_key_id, key_id, \
             error_code, record) \
             SELECT chain, $1, $2, $3, $4, request_id, event_time, event_source, event_name, \
             read_only, account, principal_arn, access_key_id, key_id, error_code, $5 \
             FROM audit_events WHERE seq = $6",
        )
        .bind(at)
        .bind(&before.hash)
        .bind(hash)
        .bind(forged_id)
        .bind(record)
        .bind(at + 1)
        .execute(&db)
        .await
        .expect("insert the forged event");
        let last_hash = rows.last().expect("events").hash.clone();
        set_head(&db, n + 1, &last_hash).await;
        audit_db::implode(&db).await;
        db.close().await;
        (at, forged_id)
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "inserted", seq);
    assert!(line.contains(forged_id), "{line}");
}

#[test]
fn swapped_events_are_caught_as_reordered() {
    for distance in [1, 4] {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let data = copy_of_fixture(tmp.path());
        let a = block_on(async {
            let db = open_db(&data).await;
            audit_db::explode(&db).await;
            let rows = rows(&db).await;
            let a = middle_event(&rows, "Decrypt").seq;
            let b = a + distance;
            exec(&db, "UPDATE audit_events SET seq = -1 WHERE seq = $1", &[a]).await;
            exec(
                &db,
                "UPDATE audit_events SET seq = $1 WHERE seq = $2",
                &[a, b],
            )
            .await;
            exec(&db, "UPDATE audit_events SET seq = $1 WHERE seq = -1", &[b]).await;
            audit_db::implode(&db).await;
            db.close().await;
            a
        });
        let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "reordered", a);
        assert!(
            line.contains("comes after it"),
            "distance {distance}: {line}"
        );
    }
}

#[test]
fn consistently_rewritten_suffix_is_caught_by_the_digest() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let sealed_at = block_on(async {
        let db = open_db(&data).await;
        audit_db::explode(&db).await;
        let rows = rows(&db).await;
        let ends = digest_ends(&db).await;
        let target = middle_event(&rows, "Encrypt").seq;
        let mut prev = rows
            .iter()
            .find(|r| r.seq == target - 1)
            .expect("the event before")
            .hash
            .clone();
        for r in rows.iter().filter(|r| r.seq >= target) {
            let record = if r.seq == target {
                String::from_utf8(r.record.clone())
                    .expect("UTF-8 record")
                    .replace("\"eventName\":\"Encrypt\"", "\"eventName\":\"Decrypt\"")
                    .into_bytes()
            } else {
                r.record.clone()
            };
            let name = if r.seq == target {
                "Decrypt"
            } else {
                r.event_name.as_str()
            };
            let hash = chain_hash(&prev, r.seq, &record);
            sqlx::query(
                "UPDATE audit_events SET prev_hash = $1, hash = $2, record = $3, event_name = $4 \
                 WHERE chain = $5 AND seq = $6",
            )
            .bind(&prev)
            .bind(&hash)
            .bind(record)
            .bind(name)
            .bind(CHAIN)
            .bind(r.seq)
            .execute(&db)
            .await
            .expect("rewrite an event");
            prev = hash;
        }
        set_head(&db, rows.len() as i64, &prev).await;
        audit_db::implode(&db).await;
        db.close().await;
        *ends
            .iter()
            .find(|e| **e >= target)
            .expect("a digest covering the edit")
    });
    let line = assert_broken(&audit_verify(&data, &[], tmp.path()), "modified", sealed_at);
    assert!(
        line.contains(&format!(
            "events up to seq {sealed_at} were rewritten after they were sealed"
        )),
        "{line}"
    );
}

/// An Ed25519 public key PEM that is not the installation's.
fn other_public_key_pem() -> (String, Vec<u8>) {
    let (key, _) = kinko_crypto::SigningKeyPair::generate().expect("a key");
    let spki = key.public_key_spki().expect("SPKI");
    (
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64(&spki)
        ),
        key.public_key(),
    )
}

#[test]
fn replaced_public_key_is_refused() {
    // The published file swapped for another key.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = copy_of_fixture(tmp.path());
    let (pem, raw) = other_public_key_pem();
    std::fs::write(data.join("audit-public-key.pem"), &pem).expect("replace the key file");
    let outcome = audit_verify(&data, &[], tmp.path());
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("audit-public-key.pem")
            && outcome.stderr.contains("does not match"),
        "{}",
        outcome.stderr
    );

    // Trusting another key explicitly: the store disagrees with it.
    let other = tmp.path().join("other.pem");
    std::fs::write(&other, &pem).expect("write another key");
    let outcome = audit_verify(
        &fixture().data,
        &["--public-key", path_str(&other)],
        tmp.path(),
    );
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("other.pem"), "{}", outcome.stderr);

    // Both the file and the store's record swapped: the digests were not signed by that key.
    block_on(async {
        let db = open_db(&data).await;
        let hex = kinko_crypto::hex::encode(&raw);
        sqlx::query("UPDATE settings SET value = $1 WHERE name = 'audit.public_key'")
            .bind(hex)
            .execute(&db)
            .await
            .expect("replace the recorded key");
        db.close().await;
    });
    let outcome = audit_verify(&data, &[], tmp.path());
    let first_digest = block_on(async { digest_ends(&open_db(&data).await).await[0] });
    let line = assert_broken(&outcome, "bad-signature", first_digest);
    assert!(line.contains("does not verify"), "{line}");
}

// ------------------------------------------------------------------------------------------
// Export.

#[test]
fn export_verifies_and_a_changed_file_is_named() {
    let f = fixture();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("export");
    let exported = run(
        &[
            "audit",
            "export",
            "--data-dir",
            path_str(&f.data),
            "--out",
            path_str(&out),
        ],
        &[],
        tmp.path(),
    );
    exported.assert_success("audit export");
    let files = common::files_under(&out);
    let logs: Vec<&PathBuf> = files
        .iter()
        .filter(|p| path_str(p).contains("/CloudTrail/") && path_str(p).ends_with(".json.gz"))
        .collect();
    let digests: Vec<&PathBuf> = files
        .iter()
        .filter(|p| path_str(p).contains("/CloudTrail-Digest/"))
        .collect();
    assert!(!logs.is_empty() && !digests.is_empty(), "{files:#?}");
    for p in &logs {
        let name = p.file_name().and_then(|n| n.to_str()).expect("a name");
        assert!(
            name.contains("_CloudTrail_us-east-1_") && name.contains(&format!("_{CHAIN}-")),
            "unexpected log file name {name}"
        );
    }
    let key = f.data.join("audit-public-key.pem");
    let verified = audit_verify_export(&out, &key, tmp.path());
    verified.assert_success("audit verify --export");
    let total = block_on(async { rows(&open_db(&f.data).await).await.len() });
    assert!(
        verified
            .stderr
            .contains(&format!("chain {CHAIN}: {total} events checked")),
        "{}",
        verified.stderr
    );

    // Without a key to trust, verify refuses to guess.
    let no_key = run(
        &["audit", "verify", "--export", path_str(&out)],
        &[],
        tmp.path(),
    );
    no_key.assert_refused("verify --export without --public-key", &["--public-key"]);
    // A key that did not sign it.
    let (pem, _) = other_public_key_pem();
    let other = tmp.path().join("other.pem");
    std::fs::write(&other, pem).expect("write another key");
    let outcome = audit_verify_export(&out, &other, tmp.path());
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("bad-signature"),
        "{}",
        outcome.stderr
    );

    // A filtered export verifies too.
    let filtered = tmp.path().join("filtered");
    run(
        &[
            "audit",
            "export",
            "--data-dir",
            path_str(&f.data),
            "--out",
            path_str(&filtered),
            "--operation",
            "Encrypt",
        ],
        &[],
        tmp.path(),
    )
    .assert_success("filtered audit export");
    audit_verify_export(&filtered, &key, tmp.path()).assert_success("verify a filtered export");

    // A log file re-written with an edited record, and validly re-gzipped.
    let gunzip = |p: &Path| {
        let plain = Command::new("gzip")
            .arg("-dc")
            .arg(p)
            .output()
            .expect("run gzip -dc");
        assert!(plain.status.success(), "gzip -dc {}", p.display());
        String::from_utf8(plain.stdout).expect("UTF-8 JSON")
    };
    let (victim, text) = logs
        .iter()
        .map(|p| (*p, gunzip(p)))
        .find(|(_, text)| text.contains("\"eventName\":\"CreateKey\""))
        .expect("a log file with a CreateKey record");
    let edited = text.replacen(
        "\"eventName\":\"CreateKey\"",
        "\"eventName\":\"ListKeys\"",
        1,
    );
    let edited_path = tmp.path().join("edited.json");
    std::fs::write(&edited_path, edited).expect("write the edited JSON");
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(&edited_path)
        .output()
        .expect("run gzip -c");
    assert!(gz.status.success());
    std::fs::write(victim, gz.stdout).expect("replace the log file");
    let outcome = audit_verify_export(&out, &key, tmp.path());
    let name = victim.file_name().and_then(|n| n.to_str()).expect("a name");
    assert_eq!(outcome.status.code(), Some(1), "{}", outcome.stderr);
    let (kind, _, line) = parse_break(&outcome.stderr);
    assert_eq!(kind, "modified", "{line}");
    assert!(
        line.contains(name),
        "the break does not name {name}: {line}"
    );

    // A log file removed.
    std::fs::remove_file(victim).expect("remove the log file");
    let outcome = audit_verify_export(&out, &key, tmp.path());
    let (kind, _, line) = parse_break(&outcome.stderr);
    assert_eq!(kind, "deleted", "{line}");
    assert!(line.contains(name), "{line}");
}

fn audit_verify_export(dir: &Path, key: &Path, logs: &Path) -> Outcome {
    run(
        &[
            "audit",
            "verify",
            "--export",
            path_str(dir),
            "--public-key",
            path_str(key),
        ],
        &[],
        logs,
    )
}

// ------------------------------------------------------------------------------------------
// Secrets.

#[test]
fn audit_records_hold_no_secrets() {
    let f = fixture();
    let printed = query(&f.data, &[]).join("\n").into_bytes();
    assert!(
        printed.len() > 10_000,
        "the query printed too little to be meaningful"
    );
    let mut stored = Vec::new();
    for file in common::files_under(&f.data) {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("kinko.db") {
            // A -wal or -shm file of a parallel test's reader may vanish (see `copy_dir`).
            match std::fs::read(&file) {
                Ok(bytes) => stored.extend(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("read {}: {e}", file.display()),
            }
        }
    }
    assert!(
        contains(&stored, f.key_a.as_bytes()),
        "the database scan sees nothing"
    );
    // Events are stored in batches; a batch larger than a page is split over overflow pages,
    // where a needle could straddle a page boundary and escape the file scan. The batches as
    // SQLite returns them are scanned whole too.
    let batches: Vec<Vec<u8>> = block_on(async {
        let db = open_db(&f.data).await;
        let batches = sqlx::query("SELECT events FROM audit_batches")
            .fetch_all(&db)
            .await
            .expect("read the audit batches")
            .iter()
            .map(|r| r.get("events"))
            .collect();
        db.close().await;
        batches
    });
    assert!(
        batches.iter().any(|b| contains(b, f.key_a.as_bytes())),
        "the batch scan sees nothing"
    );
    assert!(contains(&printed, f.key_b.as_bytes()));
    assert!(f.secrets.len() >= 1 + 12 + 6, "too few secrets to look for");
    for (what, secret) in &f.secrets {
        let encoded = base64(secret);
        let hex = kinko_crypto::hex::encode(secret);
        for (form, needle) in [
            ("bytes", secret.as_slice()),
            ("base64", encoded.as_bytes()),
            ("hex", hex.as_bytes()),
        ] {
            assert!(
                !contains(&printed, needle),
                "`audit query` output holds the {what} ({form})"
            );
            assert!(
                !contains(&stored, needle),
                "the database file holds the {what} ({form})"
            );
            assert!(
                !batches.iter().any(|b| contains(b, needle)),
                "an audit batch holds the {what} ({form})"
            );
        }
    }
}

/// The fixture's failures really failed, with the codes the trail is then queried for.
#[test]
fn fixture_provoked_the_failures_it_claims() {
    let f = fixture();
    assert_eq!(f.failures.len(), 5, "{:?}", f.failures);
    for code in [
        "NotFoundException",
        "InvalidCiphertextException",
        "DisabledException",
    ] {
        assert!(f.failures.iter().any(|c| c == code), "{:?}", f.failures);
    }
    assert!(
        f.failures.iter().all(|c| c != "<no code>"),
        "{:?}",
        f.failures
    );
}

// ------------------------------------------------------------------------------------------
// A crash.

/// A server killed with SIGKILL while it serves loses no acknowledged event. Group commits become
/// durable in the SQLite store's audit journal and reach the database later, in folds; the kill
/// lands while requests are in flight, so the last acknowledged batches are in the journal only,
/// and the next opening of the store (here `kinko audit query`) applies them. Every Encrypt that
/// returned has exactly one event, and the trail verifies.
#[test]
fn sigkill_loses_no_acknowledged_event() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[], &[], tmp.path());
    let kms = server.client();
    let key = block_on(create_key(&kms, "killed mid-traffic"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let kms = server.client();
            let key = key.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                block_on(async {
                    let mut acknowledged = Vec::new();
                    for i in 0.. {
                        if stop.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let n = format!("{client}-{i}");
                        let sent = kms
                            .encrypt()
                            .key_id(&key)
                            .plaintext(Blob::new(b"killed".to_vec()))
                            .encryption_context("n", &n)
                            .send()
                            .await;
                        match sent {
                            Ok(_) => acknowledged.push(n),
                            Err(_) => break, // The server is gone.
                        }
                    }
                    acknowledged
                })
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    drop(server); // SIGKILL while the clients are sending.
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client thread"))
        .collect();
    assert!(
        acknowledged.len() >= 20,
        "only {} Encrypt calls were acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        data.join("kinko.db-audit-a").exists(),
        "the killed server left no audit journal"
    );

    let lines = query(&data, &["--operation", "Encrypt"]);
    let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line).expect("a JSON record");
        if let Some(n) = record["requestParameters"]["encryptionContext"]["n"].as_str() {
            *seen.entry(n.to_owned()).or_default() += 1;
        }
    }
    for n in &acknowledged {
        assert_eq!(
            seen.get(n),
            Some(&1),
            "acknowledged Encrypt {n} has {:?} events after the kill ({} acknowledged, {} recorded)",
            seen.get(n),
            acknowledged.len(),
            lines.len()
        );
    }
    audit_verify(&data, &[], tmp.path()).assert_success("audit verify after the kill");
}
