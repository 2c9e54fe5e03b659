//! Every type that holds a secret and is reachable from Kinko's public APIs prints nothing of it
//! with `{:?}` or `{:#?}`: not the bytes as `Debug` renders a byte vector (compact or pretty),
//! not as hex, not as base64, not as text. Each says REDACTED (or otherwise shows it left the
//! value out), so that a `tracing` field or a panic message can never carry key material.

use std::sync::Arc;

use base64::Engine;
use kinko_core::{
    AccountId, DecryptOutput, GenerateDataKeyOutput, KeyArn, KeyId, MaterialId, Region, SystemClock,
};
use kinko_crypto::{DataProtectionKey, SecretBytes, SoftwareRootKey};
use kinko_server::{Config, FileConfig, Provider, RootOptions, Server};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{HOST, JSON_1_1, REGION};

/// 32 bytes that are printable text, so a leak shows up as text too.
const TEXT_KEY: &[u8; 32] = b"KINKOsecretBYTES0123456789abcdef";
/// 32 bytes that are not UTF-8 and not a run of one value.
const BINARY_KEY: [u8; 32] = [
    0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37, 0xc0, 0xff, 0xee, 0x42, 0x99, 0x01, 0xfe, 0x7f,
    0x80, 0x10, 0x20, 0x30, 0xa5, 0x5a, 0xca, 0xfe, 0xba, 0xbe, 0x0d, 0xf0, 0x0d, 0x60, 0x61, 0x62,
];

/// Runs of this many consecutive secret bytes must not appear as numbers, hex or escapes.
const BYTE_WINDOW: usize = 4;
/// Runs of this many consecutive secret characters must not appear as text (shorter runs of a
/// random secret occur by chance in long renderings such as a key policy).
const TEXT_WINDOW: usize = 8;

/// Asserts that `shown` (a `Debug` rendering of `what`) reveals nothing of `secret` in any of
/// the usual encodings, and that it contains `marker` (what it prints instead).
fn assert_hides(what: &str, shown: &str, secret: &[u8], marker: &str) {
    assert!(
        secret.len() >= TEXT_WINDOW,
        "test secrets must be at least {TEXT_WINDOW} bytes"
    );
    assert!(
        shown.contains(marker),
        "{what}: expected {marker:?} in its Debug output, got {shown}"
    );
    // Whitespace-free, so that `{:#?}`'s one-number-per-line form is caught by the same check.
    let compact: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = shown.to_ascii_lowercase();
    for window in secret.windows(BYTE_WINDOW) {
        let decimal = window
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(",");
        assert!(
            !compact.contains(&decimal),
            "{what}: Debug shows secret bytes as numbers ({decimal}): {shown}"
        );
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !lower.contains(&hex),
            "{what}: Debug shows secret bytes as hex ({hex}): {shown}"
        );
        let escaped: String = window.iter().map(|b| format!("\\x{b:02x}")).collect();
        assert!(
            !lower.contains(&escaped),
            "{what}: Debug shows secret bytes escaped ({escaped}): {shown}"
        );
    }
    for window in secret.windows(TEXT_WINDOW) {
        if let Ok(text) = std::str::from_utf8(window) {
            assert!(
                !shown.contains(text),
                "{what}: Debug shows the secret as text ({text:?}): {shown}"
            );
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    // Any 8 characters from the middle of the base64 text (unaffected by alignment at the ends).
    if b64.len() >= 12 {
        let middle = &b64[2..10];
        assert!(
            !shown.contains(middle),
            "{what}: Debug shows the secret as base64 ({middle}): {shown}"
        );
    }
}

/// Both `{:?}` and `{:#?}` of `value` hide `secret` and contain `marker`.
fn assert_debug_hides(what: &str, value: &dyn std::fmt::Debug, secret: &[u8], marker: &str) {
    assert_hides(what, &format!("{value:?}"), secret, marker);
    assert_hides(
        &format!("{what} (pretty)"),
        &format!("{value:#?}"),
        secret,
        marker,
    );
}

/// HMAC-SHA256 built on `kinko_crypto::sha256` (RFC 2104), to know what a SigV4 key's bytes are.
fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&kinko_crypto::sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(data.iter().copied())
        .collect();
    let inner_hash = kinko_crypto::sha256(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner_hash.iter().copied())
        .collect();
    kinko_crypto::sha256(&outer)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The checker itself catches each encoding it claims to (so a pass means something).
#[test]
fn the_checker_catches_every_encoding() {
    let secret = TEXT_KEY.as_slice();
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let hex: String = secret.iter().map(|b| format!("{b:02X}")).collect();
    let leaks = [
        format!("X({secret:?}) REDACTED"),
        format!("X({secret:#?}) REDACTED"),
        format!("X({hex}) REDACTED"),
        format!("X({b64}) REDACTED"),
        format!("X({}) REDACTED", String::from_utf8_lossy(secret)),
        format!("X({}) REDACTED", BINARY_KEY.escape_ascii()),
    ];
    for (i, leak) in leaks.iter().enumerate() {
        let secret: &[u8] = if i == 5 { &BINARY_KEY } else { secret };
        let caught = std::panic::catch_unwind(|| assert_hides("probe", leak, secret, "REDACTED"));
        assert!(caught.is_err(), "the checker missed leak #{i}: {leak}");
    }
    let missing_marker =
        std::panic::catch_unwind(|| assert_hides("probe", "X(..)", secret, "REDACTED"));
    assert!(
        missing_marker.is_err(),
        "the checker must require the marker"
    );
    assert_hides("probe", "SecretBytes([REDACTED; 32])", secret, "REDACTED");
}

#[test]
fn secret_bytes_debug_is_redacted() {
    for secret in [TEXT_KEY.as_slice(), BINARY_KEY.as_slice()] {
        let s = SecretBytes::from_slice(secret);
        assert_debug_hides("SecretBytes", &s, secret, "REDACTED");
        assert_debug_hides("SecretBytes::duplicate", &s.duplicate(), secret, "REDACTED");
        // Inside containers, as they sit in structs and logs.
        assert_debug_hides(
            "Some(SecretBytes)",
            &Some(s.duplicate()),
            secret,
            "REDACTED",
        );
        assert_debug_hides(
            "Vec<SecretBytes>",
            &vec![s.duplicate(), SecretBytes::new(secret.to_vec())],
            secret,
            "REDACTED",
        );
    }
    // A short secret (a PIN) is hidden as well.
    let pin = b"4711-0815";
    assert_debug_hides(
        "SecretBytes(PIN)",
        &SecretBytes::from_slice(pin),
        pin,
        "REDACTED",
    );
}

#[test]
fn data_protection_key_debug_is_redacted() {
    for secret in [TEXT_KEY, &BINARY_KEY] {
        let key = DataProtectionKey::new(&SecretBytes::from_slice(secret))
            .expect("32 bytes make a data protection key");
        assert_debug_hides("DataProtectionKey", &key, secret, "REDACTED");
        assert_debug_hides("Arc<DataProtectionKey>", &Arc::new(key), secret, "REDACTED");
    }
}

#[test]
fn software_root_key_debug_is_redacted() {
    for secret in [TEXT_KEY, &BINARY_KEY] {
        for provider in ["file", "passphrase"] {
            let key = SoftwareRootKey::new(&SecretBytes::from_slice(secret), provider)
                .expect("32 bytes make a root key");
            assert_debug_hides("SoftwareRootKey", &key, secret, "REDACTED");
            let shared: Arc<dyn kinko_crypto::RootKey> = Arc::new(key);
            assert_debug_hides("Arc<dyn RootKey>", &shared, secret, "REDACTED");
        }
    }
}

#[test]
fn sigv4_signing_key_and_sign_params_debug_hide_the_secrets() {
    // AWS's published example (Signature Version 4, "Examples of how to derive a signing key").
    let secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let mut k = hmac_sha256(format!("AWS4{secret_access_key}").as_bytes(), b"20120215");
    k = hmac_sha256(&k, b"us-east-1");
    k = hmac_sha256(&k, b"iam");
    k = hmac_sha256(&k, b"aws4_request");
    assert_eq!(
        k.to_vec(),
        unhex("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"),
        "the test's HMAC reproduces AWS's example signing key"
    );

    let key = kinko_sigv4::SigningKey::derive(
        secret_access_key.as_bytes(),
        "20120215",
        "us-east-1",
        "iam",
    );
    assert_debug_hides("SigningKey", &key, &k, "..");
    assert_debug_hides("SigningKey", &key, secret_access_key.as_bytes(), "..");
    assert_debug_hides("SigningKey clone", &key.clone(), &k, "..");

    let params = kinko_sigv4::SignParams {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key,
        session_token: Some("SESSION-TOKEN-kinko-secret-value"),
        region: "us-east-1",
        service: "kms",
        now_epoch_secs: 1_767_225_600,
    };
    assert_debug_hides(
        "SignParams",
        &params,
        secret_access_key.as_bytes(),
        "AKIDEXAMPLE",
    );
    assert_debug_hides(
        "SignParams (session token)",
        &params,
        b"SESSION-TOKEN-kinko-secret-value",
        "..",
    );
}

#[test]
fn api_blobs_debug_show_only_the_length() {
    for secret in [TEXT_KEY, &BINARY_KEY] {
        let blob = kinko_api::Blob(secret.to_vec());
        assert_debug_hides("Blob", &blob, secret, "32 bytes");
        // The wire structs that carry plaintexts and data keys.
        let response = kinko_api::GenerateDataKeyResponse {
            plaintext: Some(kinko_api::Blob(secret.to_vec())),
            ciphertext_blob: Some(kinko_api::Blob(b"ciphertext".to_vec())),
            key_id: Some("arn:aws:kms:us-east-1:111122223333:key/k".to_owned()),
            ..Default::default()
        };
        assert_debug_hides("GenerateDataKeyResponse", &response, secret, "bytes");
        let decrypted = kinko_api::DecryptResponse {
            plaintext: Some(kinko_api::Blob(secret.to_vec())),
            ..Default::default()
        };
        assert_debug_hides("DecryptResponse", &decrypted, secret, "bytes");
        let random = kinko_api::GenerateRandomResponse {
            plaintext: Some(kinko_api::Blob(secret.to_vec())),
        };
        assert_debug_hides("GenerateRandomResponse", &random, secret, "bytes");
        let request = kinko_api::EncryptRequest {
            plaintext: Some(kinko_api::Blob(secret.to_vec())),
            ..Default::default()
        };
        assert_debug_hides("EncryptRequest", &request, secret, "bytes");
    }
}

#[test]
fn pkcs11_config_debug_hides_the_pin() {
    let pin = b"pin-4711-kinko-0815";
    let config = kinko_pkcs11::Pkcs11Config::new(
        "/usr/lib/softhsm/libsofthsm2.so",
        "kinko-token",
        SecretBytes::from_slice(pin),
    );
    assert_debug_hides("Pkcs11Config", &config, pin, "REDACTED");
    // It is not blanket-hidden: what is not secret is shown.
    let shown = format!("{config:?}");
    assert!(
        shown.contains("kinko-token") && shown.contains("libsofthsm2.so"),
        "{shown}"
    );
    // A binary PIN too.
    let config =
        kinko_pkcs11::Pkcs11Config::new("/m.so", "t", SecretBytes::from_slice(&BINARY_KEY));
    assert_debug_hides(
        "Pkcs11Config (binary PIN)",
        &config,
        &BINARY_KEY,
        "REDACTED",
    );
}

#[test]
fn root_options_debug_hides_passphrase_and_pin() {
    let passphrase = b"correct horse battery staple";
    let pin = b"pin-4711-kinko-0815";
    let options = RootOptions {
        provider: Some(Provider::Passphrase),
        passphrase: Some(SecretBytes::from_slice(passphrase)),
        pkcs11_module: Some("/usr/lib/softhsm/libsofthsm2.so".into()),
        pkcs11_token: Some("kinko-token".to_owned()),
        pkcs11_pin: Some(SecretBytes::from_slice(pin)),
    };
    assert_debug_hides("RootOptions (passphrase)", &options, passphrase, "REDACTED");
    assert_debug_hides("RootOptions (PIN)", &options, pin, "REDACTED");
}

/// The audit trail's Ed25519 signing key shows its public key and hides the private seed.
#[test]
fn audit_signing_key_debug_hides_the_private_key() {
    let (pair, pkcs8) = kinko_crypto::SigningKeyPair::generate().expect("an Ed25519 key");
    // In PKCS#8, the 32-byte seed follows OCTET STRING (0x04 0x22) wrapping OCTET STRING (0x04 0x20).
    let der = pkcs8.expose();
    let at = der
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x04, 0x20])
        .expect("an Ed25519 PKCS#8 document");
    let seed = &der[at + 4..at + 4 + 32];
    assert_debug_hides("SigningKeyPair", &pair, seed, "REDACTED");
    assert_debug_hides("its PKCS#8", &pkcs8, der, "REDACTED");
    let public: String = pair
        .public_key()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        format!("{pair:?}").contains(&public),
        "the public key is not secret and is shown"
    );
    let reloaded = kinko_crypto::SigningKeyPair::from_pkcs8(&pkcs8).expect("reload the key");
    assert_debug_hides("SigningKeyPair (reloaded)", &reloaded, seed, "REDACTED");
}

/// The service outputs that carry data keys and plaintexts.
#[test]
fn service_outputs_debug_hide_plaintexts() {
    let arn = KeyArn {
        region: Region::parse(REGION).expect("a region"),
        account: AccountId::parse("111122223333").expect("an account"),
        key_id: KeyId::from_bytes([7; 16]),
    };
    for secret in [TEXT_KEY, &BINARY_KEY] {
        let generated = GenerateDataKeyOutput {
            plaintext: Some(SecretBytes::from_slice(secret)),
            ciphertext: b"ciphertext".to_vec(),
            key_arn: arn.clone(),
            material_id: MaterialId([9; 32]),
        };
        assert_debug_hides("GenerateDataKeyOutput", &generated, secret, "REDACTED");
        let decrypted = DecryptOutput {
            plaintext: SecretBytes::from_slice(secret),
            key_arn: arn.clone(),
            material_id: Some(MaterialId([9; 32])),
        };
        assert_debug_hides("DecryptOutput", &decrypted, secret, "REDACTED");
    }
}

/// Sends one signed KMS request through `router`; returns the JSON reply.
async fn call(router: &axum::Router, op: &str, body: Value, id: &str, secret: &str) -> Value {
    let bytes = serde_json::to_vec(&body).expect("serialize the request");
    let target = format!("TrentService.{op}");
    let headers = [
        ("host", HOST),
        ("content-type", JSON_1_1),
        ("x-amz-target", target.as_str()),
    ];
    #[allow(clippy::disallowed_methods)] // signed with the wall clock, as a real client signs
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let params = kinko_sigv4::SignParams {
        access_key_id: id,
        secret_access_key: secret,
        session_token: None,
        region: REGION,
        service: "kms",
        now_epoch_secs: i64::try_from(now).expect("a plausible time"),
    };
    let mut builder = http::Request::builder().method("POST").uri("/");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    for (name, value) in kinko_sigv4::sign("POST", "/", "", &headers, &bytes, &params) {
        builder = builder.header(name, value);
    }
    let request = builder
        .header("content-length", bytes.len())
        .body(axum::body::Body::from(bytes))
        .expect("a request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router never fails");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read the body");
    let json: Value = serde_json::from_slice(&body).expect("a JSON reply");
    assert_eq!(status, http::StatusCode::OK, "{op}: {json}");
    json
}

/// The first start's access key (`Server::open_with_clock(..).new_access_key`), and the whole
/// server (state, service, caches holding unwrapped material, authenticator with its cached
/// signing keys, root key) after it has handed out a data key.
#[tokio::test]
async fn server_and_its_new_access_key_debug_hide_the_secrets() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let data_dir = dir.path().join("data");
    let config = Config::resolve(
        FileConfig::default(),
        Some(data_dir.clone()),
        Some("127.0.0.1:0".to_owned()),
        Some(REGION.to_owned()),
        None,
    )
    .expect("a configuration");
    let server = Server::open_with_clock(&config, &RootOptions::default(), Arc::new(SystemClock))
        .await
        .expect("open the server");
    let new_key = server
        .new_access_key
        .as_ref()
        .expect("the first start creates an access key");
    let secret = new_key.secret.expose().to_vec();
    assert_eq!(secret.len(), 40, "a secret access key is 40 characters");
    assert_debug_hides("NewAccessKey", new_key, &secret, "REDACTED");
    let shown = format!("{new_key:?}");
    assert!(
        shown.contains(new_key.id.as_str()),
        "the access key id is not secret and is shown: {shown}"
    );
    let id = new_key.id.to_string();
    let secret_text = String::from_utf8(secret.clone()).expect("the secret is text");

    // Use the server so that its caches hold unwrapped material and a signing key.
    let router = kinko_server::router(server.state.clone());
    let created = call(&router, "CreateKey", json!({}), &id, &secret_text).await;
    let key_id = created
        .pointer("/KeyMetadata/KeyId")
        .and_then(Value::as_str)
        .expect("a key id")
        .to_owned();
    let generated = call(
        &router,
        "GenerateDataKey",
        json!({"KeyId": key_id, "KeySpec": "AES_256"}),
        &id,
        &secret_text,
    )
    .await;
    let plaintext = base64::engine::general_purpose::STANDARD
        .decode(
            generated
                .get("Plaintext")
                .and_then(Value::as_str)
                .expect("a Plaintext"),
        )
        .expect("base64");
    assert_eq!(plaintext.len(), 32);

    let root_key = std::fs::read(data_dir.join("root.key")).expect("read root.key");
    for (what, shown) in [
        ("Server", format!("{server:?}")),
        ("Server (pretty)", format!("{server:#?}")),
        ("AppState", format!("{:?}", server.state)),
        ("AppState (pretty)", format!("{:#?}", server.state)),
    ] {
        assert_hides(&format!("{what}, access key"), &shown, &secret, "REDACTED");
        assert_hides(&format!("{what}, data key"), &shown, &plaintext, "REDACTED");
        assert_hides(&format!("{what}, root key"), &shown, &root_key, "REDACTED");
    }

    drop(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    server
        .serve(listener, std::future::ready(()))
        .await
        .expect("shut down cleanly");
}

#[test]
fn new_session_debug_hides_the_secret_and_the_token() {
    let session = kinko_core::NewSession {
        access_key_id: kinko_core::AccessKeyId::parse("ASIAKINKOTESTAAAAAA2").expect("an id"),
        secret: SecretBytes::from_slice(TEXT_KEY),
        session_token: SecretBytes::from_slice(b"TOKENsecretTOKENsecretTOKEN12345"),
        expires_at: kinko_core::UnixMillis(0),
        assumed_role_arn: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
        assumed_role_id: "AROAEXAMPLE:s".into(),
    };
    assert_debug_hides("NewSession", &session, TEXT_KEY, "REDACTED");
    assert_debug_hides(
        "NewSession",
        &session,
        b"TOKENsecretTOKENsecretTOKEN12345",
        "REDACTED",
    );
}
