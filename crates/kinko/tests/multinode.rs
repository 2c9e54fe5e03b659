//! Several `kinko serve` nodes on one PostgreSQL database, end to end: three nodes on loopback
//! ports with their own data directories and `--node-id`s, one database of their own per test.
//!
//! - Three nodes started at once on the empty database agree on one account, one root of trust
//!   (the `passphrase` provider with one passphrase) and one audit signing key.
//! - A key disabled on node A is refused by B and C within one second (and re-enabled on B, is
//!   usable on A again within one second); an alias moved on A is followed by B within one second.
//! - Three nodes racing for one due rotation make exactly one new material version, recorded by
//!   one RotateKey service event.
//! - A node killed with SIGKILL under load loses no acknowledged write: every key it created and
//!   every ciphertext it returned is visible and decrypts through another node.
//! - `kinko audit verify` checks the chains of all three nodes in the shared database together.
//! - A multi-Region key replicated, disabled in one region, rotated and handed to another primary
//!   region on node A is followed, region by region, by node B.
//!
//! Needs PostgreSQL (`KINKO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`):
//! unreachable, each test fails when `CI` is set, and otherwise says it did NOT run.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;
#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
#[path = "common/pg.rs"]
mod pg;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::RotationType;
use common::{Sealed, Server, read_credentials, run, try_decrypt};
use sqlx::Connection;
use tempfile::TempDir;

/// The root of trust every node opens (the `passphrase` provider: nothing to copy between nodes).
const PASSPHRASE: &str = "three nodes, one root of trust";
/// How quickly another node's change must reach a node's cache.
const CONVERGENCE: Duration = Duration::from_secs(1);
/// How often the convergence checks ask.
const POLL: Duration = Duration::from_millis(50);

/// The tests here start three servers each; run them one at a time so that the one-second
/// deadlines measure Kinko, not a machine busy with another test's nodes.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Three nodes on one database, and what the test needs to talk to them.
struct Cluster {
    nodes: Vec<Option<Server>>,
    clients: Vec<Client>,
    db: pg::PgDatabase,
    dirs: TempDir,
    credentials: PathBuf,
}

impl Cluster {
    /// Starts `names.len()` nodes at once on a fresh database; `None` if PostgreSQL is absent.
    async fn start(test: &str, names: &[&str]) -> Option<Cluster> {
        let server = pg::server_url(test)?;
        let db = pg::PgDatabase::create(&server).await;
        let dirs = tempfile::tempdir().expect("create a temporary directory");
        let starting: Vec<_> = names
            .iter()
            .map(|name| {
                let data = dirs.path().join(name);
                let logs = dirs.path().to_owned();
                let url = db.url.clone();
                let name = (*name).to_owned();
                std::thread::spawn(move || {
                    Server::start(
                        &data,
                        &[
                            "--store",
                            &url,
                            "--node-id",
                            &name,
                            "--root",
                            "passphrase",
                            "--insecure-test-clock",
                            "--jobs-interval-seconds",
                            "1",
                            "--audit-digest-seconds",
                            "1",
                        ],
                        &[
                            ("KINKO_ROOT_PASSPHRASE", PASSPHRASE),
                            ("KINKO_INSECURE_TEST_MODE", "1"),
                        ],
                        &logs,
                    )
                })
            })
            .collect();
        let nodes: Vec<Server> = starting
            .into_iter()
            .map(|t| t.join().expect("a node started"))
            .collect();
        // Only the node whose claim of the default account won writes the credentials.
        let written: Vec<PathBuf> = nodes
            .iter()
            .map(|n| n.data_dir.join("credentials"))
            .filter(|p| p.exists())
            .collect();
        assert_eq!(
            written.len(),
            1,
            "exactly one of the nodes that started at once creates the account's access key: {written:?}"
        );
        let credentials = written[0].clone();
        let clients = nodes.iter().map(|n| n.client_with(&credentials)).collect();
        Some(Cluster {
            nodes: nodes.into_iter().map(Some).collect(),
            clients,
            db,
            dirs,
            credentials,
        })
    }

    fn node(&self, i: usize) -> &Server {
        self.nodes[i].as_ref().expect("a running node")
    }

    /// An SQL connection to the shared database (for counting what the nodes wrote).
    async fn sql(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.db.url)
            .await
            .expect("connect to the test database")
    }

    fn stop(mut self) {
        for node in self.nodes.iter_mut() {
            if let Some(node) = node.take() {
                node.stop();
            }
        }
    }
}

fn code<E: ProvideErrorMetadata + std::fmt::Debug>(e: &aws_sdk_kms::error::SdkError<E>) -> String {
    e.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .map_or_else(|| format!("{e:?}"), str::to_owned)
}

async fn create_key(kms: &Client) -> String {
    kms.create_key()
        .description("multinode")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey: {e:?}"))
        .key_metadata
        .expect("KeyMetadata")
        .key_id
}

/// Encrypt under `key`; the error code on failure.
async fn try_encrypt(kms: &Client, key: &str) -> Result<Vec<u8>, String> {
    kms.encrypt()
        .key_id(key)
        .plaintext(Blob::new(b"hello".to_vec()))
        .send()
        .await
        .map(|o| o.ciphertext_blob.expect("CiphertextBlob").into_inner())
        .map_err(|e| code(&e))
}

/// Polls `check` every [`POLL`] until it holds; returns how long that took, or panics after
/// [`CONVERGENCE`] (plus one poll for the request in flight).
async fn converges<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            let took = started.elapsed();
            assert!(
                took <= CONVERGENCE,
                "{what} took {took:?}, more than {CONVERGENCE:?}"
            );
            return took;
        }
        assert!(
            started.elapsed() <= CONVERGENCE,
            "{what} did not happen within {CONVERGENCE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// `POST /insecure/clock {"AdvanceSeconds": seconds}` on `addr`; returns the response body.
fn advance_clock(addr: SocketAddr, seconds: i64) -> String {
    let body = format!("{{\"AdvanceSeconds\": {seconds}}}");
    let mut stream = TcpStream::connect(addr).expect("connect to the node");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("set a read timeout");
    let request = format!(
        "POST /insecure/clock HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "POST /insecure/clock failed: {response}"
    );
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// `kinko audit verify` over the shared database, from `data_dir` (for its published key).
fn verify_audit(cluster: &Cluster, data_dir: &Path, chains: &[&str]) {
    let data = data_dir.to_str().expect("a UTF-8 path");
    let outcome = run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data,
            "--store",
            &cluster.db.url,
        ],
        &[],
        cluster.dirs.path(),
    );
    outcome.assert_success("kinko audit verify over the shared database");
    assert!(
        outcome.stderr.contains("audit trail intact"),
        "{}",
        outcome.stderr
    );
    for chain in chains {
        assert!(
            outcome.stderr.contains(chain),
            "the verification does not mention chain {chain}:\n{}",
            outcome.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_one_database() {
    let _serial = SERIAL.lock().await;
    let Some(cluster) = Cluster::start(
        "three_nodes_share_one_database",
        &["node-a", "node-b", "node-c"],
    )
    .await
    else {
        return;
    };
    let [a, b, c] = [
        &cluster.clients[0],
        &cluster.clients[1],
        &cluster.clients[2],
    ];

    // One account, one root and one audit key, whoever won each race.
    let mut sql = cluster.sql().await;
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&mut sql)
        .await
        .expect("count accounts");
    assert_eq!(accounts, 1, "nodes started at once made one account");
    let published: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_to_string(cluster.node(i).data_dir.join("audit-public-key.pem"))
                .expect("every node publishes the audit public key")
        })
        .collect();
    assert!(
        published.iter().all(|p| *p == published[0]),
        "every node signs with the one audit key"
    );
    let (id, _) = read_credentials(&cluster.credentials);
    assert!(id.starts_with("AKIA"));

    // (a) Disable on A: refused by B and C within one second; enable on B: usable on A again.
    let mut latencies = Vec::new();
    for round in 0..5 {
        let key = create_key(a).await;
        for (name, node) in [("B", b), ("C", c)] {
            try_encrypt(node, &key).await.unwrap_or_else(|e| {
                panic!("round {round}: Encrypt on {name} (warms its cache): {e}")
            });
        }
        a.disable_key()
            .key_id(&key)
            .send()
            .await
            .expect("DisableKey on A");
        for (name, node) in [("B", b), ("C", c)] {
            let took =
                converges(
                    &format!("round {round}: DisableKey on A refused by {name}"),
                    || {
                        let (node, key) = (node.clone(), key.clone());
                        async move {
                            try_encrypt(&node, &key).await == Err("DisabledException".to_owned())
                        }
                    },
                )
                .await;
            latencies.push(took);
        }
        b.enable_key()
            .key_id(&key)
            .send()
            .await
            .expect("EnableKey on B");
        let took = converges(
            &format!("round {round}: EnableKey on B accepted by A"),
            || {
                let (node, key) = (a.clone(), key.clone());
                async move { try_encrypt(&node, &key).await.is_ok() }
            },
        )
        .await;
        latencies.push(took);
    }
    latencies.sort();
    eprintln!(
        "multinode: cache convergence over {} checks: median {:?}, max {:?} (polling every {POLL:?})",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // An alias moved on A is followed by B.
    let (first, second) = (create_key(a).await, create_key(a).await);
    a.create_alias()
        .alias_name("alias/moving")
        .target_key_id(&first)
        .send()
        .await
        .expect("CreateAlias");
    let blob = try_encrypt(b, "alias/moving")
        .await
        .expect("Encrypt by alias on B");
    assert!(try_decrypt_names(b, &blob, &first).await);
    a.update_alias()
        .alias_name("alias/moving")
        .target_key_id(&second)
        .send()
        .await
        .expect("UpdateAlias on A");
    converges("UpdateAlias on A followed by B", || {
        let (b, second) = (b.clone(), second.clone());
        async move {
            match try_encrypt(&b, "alias/moving").await {
                Ok(blob) => try_decrypt_names(&b, &blob, &second).await,
                Err(_) => false,
            }
        }
    })
    .await;

    // A grant created on A shows on B, whose cache held the key's (empty) grant list; a grant
    // revoked on B goes from A's.
    let key = create_key(a).await;
    let grant_ids = |node: &Client, key: &str| {
        let (node, key) = (node.clone(), key.to_owned());
        async move {
            node.list_grants()
                .key_id(key)
                .send()
                .await
                .expect("ListGrants")
                .grants
                .unwrap_or_default()
                .into_iter()
                .filter_map(|g| g.grant_id)
                .collect::<Vec<_>>()
        }
    };
    assert!(grant_ids(b, &key).await.is_empty());
    let grant_id = a
        .create_grant()
        .key_id(&key)
        .grantee_principal(format!(
            "arn:aws:iam::{}:user/multinode",
            &key_account(a, &key).await
        ))
        .operations(aws_sdk_kms::types::GrantOperation::Encrypt)
        .send()
        .await
        .expect("CreateGrant on A")
        .grant_id
        .expect("a grant id");
    assert_eq!(grant_ids(a, &key).await, vec![grant_id.clone()]);
    converges("CreateGrant on A seen by B", || {
        let (grant_id, fut) = (grant_id.clone(), grant_ids(b, &key));
        async move { fut.await == vec![grant_id] }
    })
    .await;
    b.revoke_grant()
        .key_id(&key)
        .grant_id(&grant_id)
        .send()
        .await
        .expect("RevokeGrant on B");
    converges("RevokeGrant on B seen by A", || {
        let fut = grant_ids(a, &key);
        async move { fut.await.is_empty() }
    })
    .await;

    // (b) Three nodes race for one due rotation: one new material version, one service event.
    let key = create_key(a).await;
    a.enable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .expect("EnableKeyRotation");
    let racers: Vec<_> = (0..3)
        .map(|i| {
            let addr = cluster.node(i).addr;
            std::thread::spawn(move || advance_clock(addr, 366 * 86_400))
        })
        .collect();
    for racer in racers {
        racer.join().expect("a clock advance");
    }
    // Let every node's own scheduler run a few more passes with the moved clock.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (name, node) in [("A", a), ("B", b), ("C", c)] {
        let rotations = node
            .list_key_rotations()
            .key_id(&key)
            .send()
            .await
            .expect("ListKeyRotations")
            .rotations
            .unwrap_or_default();
        assert_eq!(
            rotations.len(),
            1,
            "one rotation as seen from {name}: {rotations:?}"
        );
        assert_eq!(rotations[0].rotation_type, Some(RotationType::Automatic));
    }
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM key_materials WHERE key_id = $1")
        .bind(&key)
        .fetch_one(&mut sql)
        .await
        .expect("count material versions");
    assert_eq!(versions, 2, "the first material and one rotation");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE event_name = 'RotateKey' AND key_id = $1 \
         AND convert_from(record, 'UTF8') LIKE '%AwsServiceEvent%'",
    )
    .bind(&key)
    .fetch_one(&mut sql)
    .await
    .expect("count RotateKey service events");
    assert_eq!(events, 1, "one RotateKey service event in the trail");
    drop(sql);

    // Every node is current after the rotation: encrypting on C uses the new material.
    let blob = try_encrypt(c, &key)
        .await
        .expect("Encrypt on C after the rotation");
    assert!(try_decrypt_names(a, &blob, &key).await);

    // (d) The three chains verify together.
    tokio::time::sleep(Duration::from_millis(1500)).await; // a digest from every node
    verify_audit(
        &cluster,
        &cluster.node(1).data_dir,
        &["node-a", "node-b", "node-c"],
    );
    cluster.stop();
}

/// The account of `key`, from its ARN.
async fn key_account(kms: &Client, key: &str) -> String {
    let arn = kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .and_then(|m| m.arn)
        .expect("an ARN");
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

/// Decrypts `blob` on `kms` and says whether it was made under `key`.
async fn try_decrypt_names(kms: &Client, blob: &[u8], key: &str) -> bool {
    match kms
        .decrypt()
        .ciphertext_blob(Blob::new(blob.to_vec()))
        .send()
        .await
    {
        Ok(out) => out
            .key_id
            .is_some_and(|arn| arn.ends_with(&format!("key/{key}"))),
        Err(e) => panic!("Decrypt: {}", code(&e)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_no_acknowledged_write() {
    let _serial = SERIAL.lock().await;
    let Some(mut cluster) = Cluster::start(
        "a_node_killed_under_load_loses_no_acknowledged_write",
        &["node-a", "node-b", "node-c"],
    )
    .await
    else {
        return;
    };
    let a = cluster.clients[0].clone();
    let b = cluster.clients[1].clone();

    // Writers against A: CreateKey, then Encrypt under it, over and over.
    let keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let sealed = Arc::new(Mutex::new(Vec::<Sealed>::new()));
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (a, keys, sealed) = (a.clone(), keys.clone(), sealed.clone());
            tokio::spawn(async move {
                let mut failures = 0;
                for i in 0.. {
                    let created = a
                        .create_key()
                        .description(format!("load {w}/{i}"))
                        .send()
                        .await;
                    let key = match created {
                        Ok(out) => out.key_metadata.expect("KeyMetadata").key_id,
                        Err(_) => {
                            failures += 1;
                            if failures > 3 {
                                return;
                            }
                            continue;
                        }
                    };
                    keys.lock().expect("keys").push(key.clone());
                    let plaintext = format!("writer {w} item {i}").into_bytes();
                    let context = vec![("writer".to_owned(), w.to_string())];
                    let out = a
                        .encrypt()
                        .key_id(&key)
                        .plaintext(Blob::new(plaintext.clone()))
                        .encryption_context("writer", w.to_string())
                        .send()
                        .await;
                    match out {
                        Ok(out) => sealed.lock().expect("sealed").push(Sealed {
                            key_id: key,
                            context,
                            plaintext,
                            ciphertext: out.ciphertext_blob.expect("CiphertextBlob").into_inner(),
                        }),
                        Err(_) => {
                            failures += 1;
                            if failures > 3 {
                                return;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    // Kill A mid-run, once it has acknowledged a fair number of writes.
    let started = Instant::now();
    while sealed.lock().expect("sealed").len() < 40 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let victim = cluster.nodes[0].take().expect("node A");
    drop(victim); // SIGKILL: `Server`'s Drop kills the process.
    for writer in writers {
        writer.await.expect("a writer task");
    }
    let keys = keys.lock().expect("keys").clone();
    let sealed = sealed.lock().expect("sealed").clone();
    assert!(
        sealed.len() >= 40,
        "A acknowledged only {} encryptions",
        sealed.len()
    );
    eprintln!(
        "multinode: node A killed after acknowledging {} CreateKey and {} Encrypt",
        keys.len(),
        sealed.len()
    );

    // Everything A acknowledged is there, read through B.
    for key in &keys {
        b.describe_key()
            .key_id(key)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("key {key} acknowledged by A is missing on B: {}", code(&e))
            });
    }
    for (i, s) in sealed.iter().enumerate() {
        match try_decrypt(&b, s).await {
            Ok(plaintext) => assert_eq!(plaintext, s.plaintext, "ciphertext #{i}"),
            Err(e) => panic!("ciphertext #{i} returned by A does not decrypt on B: {e}"),
        }
    }

    // And through C, which has served nothing else (so that it has a chain of its own too).
    let c = cluster.clients[2].clone();
    for s in sealed.iter().step_by(10) {
        assert_eq!(
            try_decrypt(&c, s).await.expect("decrypts on C"),
            s.plaintext
        );
    }

    // The killed node's chain is intact (its unsealed tail included) and verifies with the others.
    verify_audit(
        &cluster,
        &cluster.node(1).data_dir,
        &["node-a", "node-b", "node-c"],
    );
    cluster.stop();
}

/// `kms` signing for `region` instead.
fn in_region(kms: &Client, region: &'static str) -> Client {
    let conf = kms
        .config()
        .to_builder()
        .region(aws_sdk_kms::config::Region::new(region))
        .build();
    Client::from_conf(conf)
}

/// The key's `CurrentKeyMaterialId` and `MultiRegionKeyType` as `kms` describes it.
async fn material_and_role(kms: &Client, key: &str) -> (String, String) {
    let md = kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeKey: {e:?}"))
        .key_metadata
        .expect("KeyMetadata");
    let role = md
        .multi_region_configuration()
        .and_then(|c| c.multi_region_key_type())
        .map_or_else(String::new, |t| t.as_str().to_owned());
    (md.current_key_material_id.unwrap_or_default(), role)
}

/// A multi-Region key on two nodes: a replica made on A is usable on B at once; disabling the
/// replica on A reaches B's cache of that region's key within one second and leaves the primary
/// usable; a rotation and an UpdatePrimaryRegion on A reach both regions' keys on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_region_keys_across_nodes() {
    let _serial = SERIAL.lock().await;
    let Some(cluster) =
        Cluster::start("multi_region_keys_across_nodes", &["node-a", "node-b"]).await
    else {
        return;
    };
    let (a_east, b_east) = (&cluster.clients[0], &cluster.clients[1]);
    let (a_west, b_west) = (
        in_region(a_east, "us-west-2"),
        in_region(b_east, "us-west-2"),
    );
    let key = a_east
        .create_key()
        .multi_region(true)
        .send()
        .await
        .expect("CreateKey MultiRegion on A")
        .key_metadata
        .expect("KeyMetadata")
        .key_id;
    assert!(key.starts_with("mrk-"), "{key}");
    let east_blob = try_encrypt(b_east, &key)
        .await
        .expect("Encrypt on B (east)");
    assert_eq!(
        try_encrypt(&b_west, &key).await,
        Err("NotFoundException".to_owned()),
        "no replica in the west yet"
    );
    a_east
        .replicate_key()
        .key_id(&key)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("ReplicateKey on A");
    // B has never seen the west key: it reads it from the store (and the ciphertext of the
    // east opens there).
    converges("the replica made on A is usable on B", || {
        let (node, key) = (b_west.clone(), key.clone());
        async move { try_encrypt(&node, &key).await.is_ok() }
    })
    .await;
    let opened = b_west
        .decrypt()
        .ciphertext_blob(Blob::new(east_blob))
        .send()
        .await
        .expect("Decrypt on B (west) of the east's ciphertext");
    assert_eq!(opened.plaintext.expect("Plaintext").into_inner(), b"hello");

    // Disabling the west key on A reaches B's cache of that key, not of the east's.
    a_west
        .disable_key()
        .key_id(&key)
        .send()
        .await
        .expect("DisableKey on A (west)");
    converges("DisableKey of the replica on A refused by B (west)", || {
        let (node, key) = (b_west.clone(), key.clone());
        async move { try_encrypt(&node, &key).await == Err("DisabledException".to_owned()) }
    })
    .await;
    try_encrypt(b_east, &key)
        .await
        .expect("the primary stays usable on B");
    a_west
        .enable_key()
        .key_id(&key)
        .send()
        .await
        .expect("EnableKey on A (west)");

    // A rotation of the primary on A reaches both regions' keys on B.
    let (before, _) = material_and_role(&b_west, &key).await;
    a_east
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .expect("RotateKeyOnDemand on A");
    let (rotated, _) = material_and_role(a_east, &key).await;
    assert_ne!(rotated, before);
    for (name, node) in [("east", b_east.clone()), ("west", b_west.clone())] {
        converges(&format!("the rotation reaches B ({name})"), || {
            let (node, key, rotated) = (node.clone(), key.clone(), rotated.clone());
            async move { material_and_role(&node, &key).await.0 == rotated }
        })
        .await;
    }

    // UpdatePrimaryRegion on A swaps the roles B reports.
    a_east
        .update_primary_region()
        .key_id(&key)
        .primary_region("us-west-2")
        .send()
        .await
        .expect("UpdatePrimaryRegion on A");
    for (name, node, role) in [
        ("east", b_east.clone(), "REPLICA"),
        ("west", b_west.clone(), "PRIMARY"),
    ] {
        converges(&format!("B ({name}) reports {role}"), || {
            let (node, key) = (node.clone(), key.clone());
            async move { material_and_role(&node, &key).await.1 == role }
        })
        .await;
    }
    cluster.stop();
}
