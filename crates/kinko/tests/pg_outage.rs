//! PostgreSQL going away and coming back under a running `kinko serve`.
//!
//! A small TCP proxy (tokio, on a thread of its own) sits between Kinko and PostgreSQL. Cutting it
//! closes every proxied connection and refuses new ones, as a database that crashed or restarted
//! would. While it is cut, every request that needs the database — CreateKey, DescribeKey of an
//! unknown key, and Encrypt even on a cached key (its audit record must be durable before the
//! answer) — fails within a bounded time with HTTP 5xx and `DependencyTimeoutException` or
//! `KMSInternalException`, never with a client error or a hang. Nothing is half-written: the
//! CreateKey that failed does not appear afterwards. Once the proxy is restored, requests succeed
//! again without a restart, and the audit trail still verifies.
//!
//! Needs PostgreSQL (`KINKO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`):
//! unreachable, the test fails when `CI` is set, and otherwise says it did NOT run.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;
#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
#[path = "common/pg.rs"]
mod pg;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use common::{Server, assert_all_decrypt, encrypt, read_credentials, run};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The longest a request may take to fail while the database is away (the store's pool gives up
/// acquiring a connection after a few seconds; this leaves room for a debug build).
const FAIL_WITHIN: Duration = Duration::from_secs(20);
/// How long Kinko may take to serve again once the database is back.
const RECOVER_WITHIN: Duration = Duration::from_secs(30);

/// A TCP proxy to `upstream` that can be cut (every connection closed, new ones refused) and
/// restored.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Bumped at every cut: connection tasks watch it and drop their sockets.
    epoch: watch::Sender<u64>,
    _thread: std::thread::JoinHandle<()>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy's port");
        std_listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = std_listener.local_addr().expect("the proxy's address");
        let cut = Arc::new(AtomicBool::new(false));
        let (epoch, _) = watch::channel(0u64);
        let (cut2, epoch2) = (cut.clone(), epoch.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("the proxy's runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if cut2.load(Ordering::SeqCst) {
                        drop(client); // The database is "down": close at once.
                        continue;
                    }
                    let upstream = upstream.clone();
                    let mut epoch = epoch2.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = epoch.changed() => {}
                        }
                        // Both sockets drop here: the connection is gone for Kinko.
                    });
                }
            });
        });
        Proxy {
            addr,
            cut,
            epoch,
            _thread: thread,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// An SDK client that never retries (each failure is seen as is) and gives up after a minute.
fn one_shot_client(server: &Server) -> Client {
    let (id, secret) = read_credentials(&server.data_dir.join("credentials"));
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(id, secret, None, None, "kinko"))
        .endpoint_url(server.endpoint())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Client::from_conf(conf)
}

/// What a request that must fail while the database is away returned: (HTTP status, code).
fn outage_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    what: &str,
    result: Result<R, aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>>,
    took: Duration,
) {
    let err = match result {
        Ok(out) => panic!("{what} succeeded while PostgreSQL was unreachable: {out:?}"),
        Err(e) => e,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    assert!(
        status.is_some_and(|s| (500..600).contains(&s)),
        "{what}: expected an HTTP 5xx, got {status:?} ({err:?})"
    );
    assert!(
        matches!(
            code.as_deref(),
            Some("DependencyTimeoutException" | "KMSInternalException")
        ),
        "{what}: expected DependencyTimeoutException or KMSInternalException, got {code:?}"
    );
    assert!(
        took <= FAIL_WITHIN,
        "{what} took {took:?} to fail (limit {FAIL_WITHIN:?})"
    );
    eprintln!("{what}: HTTP {status:?} {code:?} after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_retryably_and_recovers_without_restart() {
    let Some(server_url) = pg::server_url("pg_outage") else {
        return;
    };
    let db = pg::PgDatabase::create(&server_url).await;
    let (host, port) = pg::host_port(&server_url);
    let proxy = Proxy::start(format!("{host}:{port}"));
    let proxied = pg::rewrite(&server_url, Some(&proxy.addr.to_string()), &db.name);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("data");
    let logs = tmp.path();

    let server = Server::start(&data, &["--store", &proxied], &[], logs);
    let kms = one_shot_client(&server);
    let cached = kms
        .create_key()
        .description("used before the outage")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("KeyMetadata")
        .key_id;
    let sealed = vec![encrypt(&kms, &cached, b"before the outage", &[]).await];

    // ---- The database goes away -----------------------------------------------------------------
    proxy.cut();
    let started = Instant::now();
    let result = kms.create_key().description("must not exist").send().await;
    outage_error("CreateKey", result, started.elapsed());

    let started = Instant::now();
    let result = kms
        .describe_key()
        .key_id("0a1b2c3d-0000-4000-8000-000000000001")
        .send()
        .await;
    outage_error("DescribeKey of an uncached key", result, started.elapsed());

    let started = Instant::now();
    let result = kms
        .encrypt()
        .key_id("0a1b2c3d-0000-4000-8000-000000000002")
        .plaintext(Blob::new(b"x".as_slice()))
        .send()
        .await;
    outage_error("Encrypt on an uncached key", result, started.elapsed());

    // A cached key needs no read, but its audit record must be durable before the answer.
    let started = Instant::now();
    let result = kms
        .encrypt()
        .key_id(&cached)
        .plaintext(Blob::new(b"during the outage".as_slice()))
        .send()
        .await;
    outage_error("Encrypt on a cached key", result, started.elapsed());

    // ---- It comes back: no restart --------------------------------------------------------------
    proxy.restore();
    let deadline = Instant::now() + RECOVER_WITHIN;
    let after = loop {
        match kms
            .create_key()
            .description("after the outage")
            .send()
            .await
        {
            Ok(out) => break out.key_metadata.expect("KeyMetadata").key_id,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "Kinko did not recover within {RECOVER_WITHIN:?} after PostgreSQL came back: {:?}",
                    e.code()
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    assert_all_decrypt(&kms, &sealed, "after the outage").await;
    encrypt(&kms, &cached, b"after the outage", &[]).await;

    // Nothing half-written: exactly the two keys that were acknowledged exist.
    let listed = kms.list_keys().send().await.expect("ListKeys");
    let mut ids: Vec<String> = listed
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(str::to_owned))
        .collect();
    ids.sort();
    let mut expected = vec![cached.clone(), after.clone()];
    expected.sort();
    assert_eq!(ids, expected, "the CreateKey that failed left a key behind");
    server.stop();

    let data_text = data.to_str().expect("a UTF-8 path");
    run(
        &[
            "audit",
            "verify",
            "--data-dir",
            data_text,
            "--store",
            &db.url,
        ],
        &[],
        logs,
    )
    .assert_success("kinko audit verify after the outage");
}
