//! Every type that holds a secret and is reachable from Kinko's public APIs prints nothing of it
//! with `{:?}` or `{:#?}`: not the bytes as `Debug` renders a byte vector (compact or pretty),
//! not as hex, not as base64, not as text. Each says REDACTED (or otherwise shows it left the
//! value out), so that a `tracing` field or a panic message can never carry key material.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use kinko_core::{
    Caller, CreateKeyRequest, DataKeySize, EncryptionContext, KeyRef, KeySpec, KeyUsage, Origin,
    SystemClock,
};
use kinko_crypto::{DataProtectionKey, SecretBytes, SoftwareRootKey};
use kinko_server::{Config, Provider, RootOptions, Server};

use crate::harness::REGION;

/// 32 bytes that are printable text, so a leak shows up as text too.
const TEXT_KEY: &[u8; 32] = b"KINKOsecretBYTES0123456789abcdef";
/// 32 bytes that are not UTF-8 and not a run of one value.
const BINARY_KEY: [u8; 32] = [
    0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37, 0xc0, 0xff, 0xee, 0x42, 0x99, 0x01, 0xfe,
    0x7f, 0x80, 0x10, 0x20, 0x30, 0xa5, 0x5a, 0xca, 0xfe, 0xba, 0xbe, 0x0d, 0xf0, 0x0d, 0x60,
    0x61, 0x62,
];

/// Windows of this many consecutive secret bytes must not appear in any rendering.
const WINDOW: usize = 4;

/// Asserts that `shown` (a `Debug` rendering of `what`) reveals nothing of `secret` in any of
/// the usual encodings, and that it contains `marker` (what it prints instead).
fn assert_hides(what: &str, shown: &str, secret: &[u8], marker: &str) {
    assert!(
        secret.len() >= WINDOW,
        "test secrets must be at least {WINDOW} bytes"
    );
    assert!(
        shown.contains(marker),
        "{what}: expected {marker:?} in its Debug output, got {shown}"
    );
    // Whitespace-free, so that `{:#?}`'s one-number-per-line form is caught by the same check.
    let compact: String = shown.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = shown.to_ascii_lowercase();
    for window in secret.windows(WINDOW) {
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
        if let Ok(text) = std::str::from_utf8(window)
            && text.chars().all(|c| c.is_ascii_graphic())
        {
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
    assert_hides(&format!("{what} (pretty)"), &format!("{value:#?}"), secret, marker);
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
        format!("X({:?}) REDACTED", BINARY_KEY.escape_ascii().to_string()),
    ];
    for (i, leak) in leaks.iter().enumerate() {
        let secret: &[u8] = if i == 5 { &BINARY_KEY } else { secret };
        let caught = std::panic::catch_unwind(|| assert_hides("probe", leak, secret, "REDACTED"));
        assert!(caught.is_err(), "the checker missed leak #{i}: {leak}");
    }
    let missing_marker =
        std::panic::catch_unwind(|| assert_hides("probe", "X(..)", secret, "REDACTED"));
    assert!(missing_marker.is_err(), "the checker must require the marker");
    assert_hides("probe", "SecretBytes([REDACTED; 32])", secret, "REDACTED");
}

#[test]
fn secret_bytes_debug_is_redacted() {
    for secret in [TEXT_KEY.as_slice(), BINARY_KEY.as_slice()] {
        let s = SecretBytes::from_slice(secret);
        assert_debug_hides("SecretBytes", &s, secret, "REDACTED");
        assert_debug_hides(
            "SecretBytes::duplicate",
            &s.duplicate(),
            secret,
            "REDACTED",
        );
        // Inside containers, as they sit in structs and logs.
        assert_debug_hides("Some(SecretBytes)", &Some(s.duplicate()), secret, "REDACTED");
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
        assert_debug_hides(
            "Arc<DataProtectionKey>",
            &Arc::new(key),
            secret,
            "REDACTED",
        );
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
    // The derived key is the one above: a request signed with it verifies under the secret.
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
    let config = kinko_pkcs11::Pkcs11Config::new(
        "/m.so",
        "t",
        SecretBytes::from_slice(&BINARY_KEY),
    );
    assert_debug_hides("Pkcs11Config (binary PIN)", &config, &BINARY_KEY, "REDACTED");
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

/// The first start's access key (`Server::open_with_clock(..).new_access_key`), the server
/// itself (state, caches of unwrapped material, authenticator), and the service outputs that
/// carry data keys, plaintexts and unwrapped access-key secrets.
#[tokio::test]
async fn server_new_access_key_and_service_outputs_debug_hide_the_secrets() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let config = Config {
        data_dir: dir.path().join("data"),
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        region: REGION.into(),
        store: None,
    };
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

    // Use the service so that its caches hold unwrapped material, then look at everything.
    let kms = &server.state.kms;
    let caller = Caller {
        account: new_key.account.clone(),
        region: kinko_core::Region::parse(REGION).expect("a region"),
        principal_arn: new_key.principal_arn.clone(),
    };
    let key = kms
        .create_key(
            &caller,
            CreateKeyRequest {
                description: "debug test".to_owned(),
                spec: KeySpec::SymmetricDefault,
                usage: KeyUsage::EncryptDecrypt,
                origin: Origin::AwsKms,
                policy: None,
                tags: vec![],
                multi_region: false,
                custom_key_store: false,
            },
        )
        .await
        .expect("create a key");
    let key_ref = KeyRef::Id(key.id());
    let context = EncryptionContext(BTreeMap::from([("purpose".to_owned(), "debug".to_owned())]));

    let data_key = kms
        .generate_data_key(&caller, &key_ref, DataKeySize::Aes256, &context, true)
        .await
        .expect("GenerateDataKey");
    let plaintext = data_key
        .plaintext
        .as_ref()
        .expect("a data key in clear")
        .expose()
        .to_vec();
    assert_debug_hides("GenerateDataKeyOutput", &data_key, &plaintext, "REDACTED");

    let decrypted = kms
        .decrypt(
            &caller,
            &data_key.ciphertext,
            &context,
            Some(&key_ref),
            "SYMMETRIC_DEFAULT",
        )
        .await
        .expect("Decrypt");
    assert_eq!(decrypted.plaintext.expose(), plaintext.as_slice());
    assert_debug_hides("DecryptOutput", &decrypted, &plaintext, "REDACTED");

    let random = kms.generate_random(32).expect("GenerateRandom");
    let random_bytes = random.expose().to_vec();
    assert_debug_hides("GenerateRandom output", &random, &random_bytes, "REDACTED");

    let (record, unwrapped) = kms
        .access_key_secret(&new_key.id)
        .await
        .expect("look up the access key")
        .expect("the access key exists");
    assert_eq!(unwrapped.expose(), secret.as_slice());
    assert_debug_hides(
        "access_key_secret output",
        &(record, unwrapped),
        &secret,
        "REDACTED",
    );

    // The whole server: state, service, caches (holding the key's unwrapped material), root.
    for (what, shown) in [
        ("Server", format!("{server:?}")),
        ("Server (pretty)", format!("{server:#?}")),
        ("AppState", format!("{:?}", server.state)),
    ] {
        assert_hides(what, &shown, &secret, "REDACTED");
        assert_hides(what, &shown, &plaintext, "REDACTED");
    }
    // The file root key on disk never shows up in the server's Debug either.
    let root_key = std::fs::read(config.data_dir.join("root.key")).expect("read root.key");
    assert_hides(
        "Server (root key)",
        &format!("{server:#?}"),
        &root_key,
        "REDACTED",
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    server
        .serve(listener, std::future::ready(()))
        .await
        .expect("shut down cleanly");
}
