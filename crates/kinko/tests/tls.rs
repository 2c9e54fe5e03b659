//! The Rust SDK (aws-sdk-kms on rustls) over HTTPS against the real binary, with the certificate
//! `kinko tls init` made: it trusts only the printed CA, creates a key, encrypts and decrypts; a
//! client that does not trust that CA gets no answer.

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
mod common;

use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use common::{
    START_TIMEOUT, free_loopback_addr, kinko, read_credentials, run, spawn_logged,
    wait_with_timeout,
};

fn https_client(endpoint: &str, id: &str, secret: &str, trusted_ca: Option<Vec<u8>>) -> Client {
    let mut trust = TrustStore::empty().with_native_roots(false);
    if let Some(pem) = trusted_ca {
        trust = trust.with_pem_certificate(pem);
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("a TLS context"),
        )
        .build_https();
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(id, secret, None, None, "kinko"))
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    Client::from_conf(conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_over_https_with_a_tls_init_certificate() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let data = tmp.path().join("data");
    let data_text = data.to_str().expect("UTF-8 path");
    let init = run(&["tls", "init", "--data-dir", data_text], &[], tmp.path());
    init.assert_success("kinko tls init");
    let tls = data.join("tls");
    let cert = tls.join("server.pem");
    let key = tls.join("server-key.pem");
    let addr = free_loopback_addr().to_string();
    let args = [
        "serve",
        "--data-dir",
        data_text,
        "--listen",
        &addr,
        "--tls-cert",
        cert.to_str().expect("UTF-8 path"),
        "--tls-key",
        key.to_str().expect("UTF-8 path"),
    ];
    let (mut child, log) = spawn_logged(kinko(&args, &[]), tmp.path(), "serve");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Kinko is listening") {
            assert!(text.contains(&format!("https://{addr}")), "{text}");
            break;
        }
        if let Some(status) = child.try_wait().expect("poll the server") {
            panic!("kinko serve exited with {status}:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "kinko serve did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let (id, secret) = read_credentials(&data.join("credentials"));
    let endpoint = format!("https://{addr}");
    let ca = std::fs::read(tls.join("ca.pem")).expect("read ca.pem");

    let kms = https_client(&endpoint, &id, &secret, Some(ca));
    let key_id = kms
        .create_key()
        .description("over https")
        .send()
        .await
        .expect("CreateKey over HTTPS")
        .key_metadata
        .expect("metadata")
        .key_id;
    let sealed = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(Blob::new(b"rust sdk over tls".to_vec()))
        .send()
        .await
        .expect("Encrypt over HTTPS")
        .ciphertext_blob
        .expect("a ciphertext");
    let opened = kms
        .decrypt()
        .ciphertext_blob(sealed)
        .send()
        .await
        .expect("Decrypt over HTTPS");
    assert_eq!(
        opened.plaintext.expect("plaintext").as_ref(),
        b"rust sdk over tls"
    );

    let untrusting = https_client(&endpoint, &id, &secret, None);
    let refused = untrusting.list_keys().send().await;
    assert!(refused.is_err(), "a client without the CA was answered");

    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(30), "kinko serve");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
