//! The `pkcs11` root of trust against a real PKCS#11 module (SoftHSM2) with throwaway tokens:
//! wrap/unwrap and tampering, persistence across opens, the key's attributes read back from the
//! token, operator-facing errors, concurrency, and that no PIN or key byte is ever printed.

mod support;

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use kinko_crypto::{CryptoError, RootKey, SecretBytes, SoftwareRootKey};
use kinko_pkcs11::{DEFAULT_MAX_SESSIONS, Pkcs11Config, Pkcs11Error, Pkcs11RootKey};

/// Main token: most tests, each with its own key label.
const MAIN: &str = "kinko-test-main";
/// A user PIN distinctive enough that finding it in output means it leaked.
const MAIN_PIN: &str = "pin-7f3a91-kinko";
/// Nobody creates a key here.
const EMPTY: &str = "kinko-test-empty";
const EMPTY_PIN: &str = "1234";
/// Only the wrong-PIN test uses this token, so no other test's login hides the wrong PIN.
const LOCKED: &str = "kinko-test-pin";
const LOCKED_PIN: &str = "1234";

const AAD: &[u8] = b"arn:aws:kms:eu-west-1:111122223333:key/k|m-1|SYMMETRIC_DEFAULT";

fn hsm() -> &'static support::Hsm {
    static HSM: OnceLock<Result<support::Hsm, String>> = OnceLock::new();
    let hsm = HSM.get_or_init(|| {
        let hsm = support::init(
            "softhsm-tests",
            &[(MAIN, MAIN_PIN), (EMPTY, EMPTY_PIN), (LOCKED, LOCKED_PIN)],
        )?;
        // SoftHSM's C_Initialize is not thread-safe (it checks and sets its "initialised" flag
        // without a lock), so the module is initialised here, once, through the provider, before
        // any test can reach it; the raw sessions below then get CKR_CRYPTOKI_ALREADY_INITIALIZED.
        let warm = Pkcs11Config::new(
            &hsm.module,
            EMPTY,
            SecretBytes::from_slice(EMPTY_PIN.as_bytes()),
        );
        match Pkcs11RootKey::open(&warm, false) {
            Err(Pkcs11Error::KeyNotFound { .. }) => Ok(hsm),
            other => Err(format!("initialising the module: {other:?}")),
        }
    });
    match hsm {
        Ok(hsm) => hsm,
        Err(e) => panic!("SoftHSM2 set-up failed: {e}"),
    }
}

/// Sets SoftHSM2 up once, then holds the token lock for the rest of the calling test.
///
/// SoftHSM2's file object store is not safe when several sessions of one process create token
/// objects at once: `C_GenerateKey` fails now and then with `CKR_GENERAL_ERROR`
/// (softhsm/SoftHSMv2#573, still seen with 2.6). Kinko creates its root key once, at start, on
/// one thread, so only these tests (which run in parallel) meet it; they take turns. Tests that
/// need concurrency (`concurrent_wrap_unwrap_from_eight_threads`) start their threads inside.
fn exclusive() -> MutexGuard<'static, ()> {
    static TOKEN: Mutex<()> = Mutex::new(());
    hsm();
    TOKEN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn config(token: &str, pin: &str, key_label: &str) -> Pkcs11Config {
    let mut config = Pkcs11Config::new(
        &hsm().module,
        token,
        SecretBytes::from_slice(pin.as_bytes()),
    );
    config.key_label = key_label.to_owned();
    config
}

fn open(key_label: &str, create: bool) -> Pkcs11RootKey {
    Pkcs11RootKey::open(&config(MAIN, MAIN_PIN, key_label), create)
        .unwrap_or_else(|e| panic!("open {key_label}: {e}"))
}

fn material(byte: u8) -> SecretBytes {
    SecretBytes::new((0..32u8).map(|i| i ^ byte).collect())
}

#[test]
fn wrap_round_trip_binds_aad_and_rejects_tampering() {
    let _token = exclusive();
    let root = open("kinko-rt", true);
    assert_eq!(root.provider(), "pkcs11");
    let material = material(0xA5);
    let wrapped = root
        .wrap(&material, AAD)
        .unwrap_or_else(|e| panic!("wrap: {e}"));
    assert_eq!(wrapped.len(), 1 + 12 + 32 + 16);
    assert_eq!(wrapped.first(), Some(&0x02));
    assert!(
        !wrapped.windows(32).any(|w| w == material.expose()),
        "material appears in clear"
    );
    let again = root.wrap(&material, AAD).unwrap_or_default();
    assert_ne!(wrapped, again, "two wraps share an IV");

    let back = root.unwrap(&wrapped, AAD).map(|s| s.expose().to_vec());
    assert_eq!(back.as_deref(), Ok(material.expose()));

    let fails = |bytes: &[u8], aad: &[u8]| root.unwrap(bytes, aad).map(|_| ());
    assert_eq!(fails(&wrapped, b"other"), Err(CryptoError::Decrypt));
    assert_eq!(fails(&wrapped, b""), Err(CryptoError::Decrypt));
    for i in 0..wrapped.len() {
        let mut bad = wrapped.clone();
        if let Some(b) = bad.get_mut(i) {
            *b ^= 0x01;
        }
        assert_eq!(
            fails(&bad, AAD),
            Err(CryptoError::Decrypt),
            "flipped byte {i}"
        );
    }
    for len in 0..wrapped.len() {
        let cut = wrapped.get(..len).unwrap_or_default();
        assert_eq!(
            fails(cut, AAD),
            Err(CryptoError::Decrypt),
            "truncated to {len}"
        );
    }
    let mut longer = wrapped.clone();
    longer.push(0);
    assert_eq!(fails(&longer, AAD), Err(CryptoError::Decrypt));

    // The software root's format (0x01) is not ours, even when the bytes are well formed.
    let software = SoftwareRootKey::new(&SecretBytes::new(vec![9; 32]), "file")
        .unwrap_or_else(|e| panic!("software root: {e}"));
    let foreign = software.wrap(&material, AAD).unwrap_or_default();
    assert_eq!(fails(&foreign, AAD), Err(CryptoError::Decrypt));

    // Empty material wraps too (tag only).
    let empty = root
        .wrap(&SecretBytes::new(Vec::new()), AAD)
        .unwrap_or_default();
    assert_eq!(empty.len(), 1 + 12 + 16);
    assert_eq!(root.unwrap(&empty, AAD).map(|s| s.len()), Ok(0));
}

#[test]
fn second_open_finds_the_same_key() {
    let _token = exclusive();
    let first = open("kinko-reopen", true);
    let wrapped = first.wrap(&material(1), AAD).unwrap_or_default();
    let id = first.root_id();
    assert!(
        id.starts_with(&format!("pkcs11:{MAIN}/kinko-reopen/")),
        "root id {id}"
    );
    let suffix = id.rsplit('/').next().unwrap_or_default();
    assert_eq!(suffix.len(), 32, "CKA_ID hex in {id}");
    assert_eq!(first.id(), id, "RootKey::id is the root id");

    let second = open("kinko-reopen", false);
    assert_eq!(second.root_id(), id);
    let back = second.unwrap(&wrapped, AAD).map(|s| s.expose().to_vec());
    assert_eq!(back.as_deref(), Ok(material(1).expose()));

    // Opening with create_if_missing=true again reuses the key rather than adding a second one.
    let third = open("kinko-reopen", true);
    assert_eq!(third.root_id(), id);
    drop((first, second));
    assert!(
        third.unwrap(&wrapped, AAD).is_ok(),
        "still usable after others dropped"
    );

    // A different key on the same token is a different root and cannot open the first's bytes.
    let other = open("kinko-reopen-other", true);
    assert_ne!(other.root_id(), id);
    assert_eq!(
        other.unwrap(&wrapped, AAD).map(|_| ()),
        Err(CryptoError::Decrypt)
    );
}

#[test]
fn missing_key_without_create_is_key_not_found() {
    let _token = exclusive();
    let err = Pkcs11RootKey::open(&config(EMPTY, EMPTY_PIN, "kinko-root-v1"), false)
        .map(|_| ())
        .err();
    match &err {
        Some(Pkcs11Error::KeyNotFound { token, label }) => {
            assert_eq!((token.as_str(), label.as_str()), (EMPTY, "kinko-root-v1"));
        }
        other => panic!("expected KeyNotFound, got {other:?}"),
    }
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains(EMPTY) && message.contains("kinko-root-v1"),
        "{message}"
    );
}

#[test]
fn wrong_pin_is_a_login_error_that_does_not_show_the_pin() {
    let _token = exclusive();
    let wrong = "wrong-pin-5551-kinko";
    let err = Pkcs11RootKey::open(&config(LOCKED, wrong, "kinko-root-v1"), true)
        .map(|_| ())
        .err();
    let Some(err) = err else {
        panic!("a wrong PIN was accepted");
    };
    assert!(matches!(err, Pkcs11Error::Login(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong), "PIN leaked: {shown}");
    assert!(!shown.contains(LOCKED_PIN), "real PIN leaked: {shown}");
    assert!(
        shown.contains("incorrect") && shown.contains(LOCKED),
        "{shown}"
    );
}

#[test]
fn unknown_token_label_is_token_not_found() {
    let _token = exclusive();
    let err = Pkcs11RootKey::open(&config("no-such-token", MAIN_PIN, "kinko-root-v1"), true)
        .map(|_| ())
        .err();
    match &err {
        Some(Pkcs11Error::TokenNotFound(label)) => assert_eq!(label, "no-such-token"),
        other => panic!("expected TokenNotFound, got {other:?}"),
    }
}

#[test]
fn missing_module_is_a_module_load_error() {
    let _token = exclusive();
    let mut config = config(MAIN, MAIN_PIN, "kinko-root-v1");
    config.module = "/nonexistent/libpkcs11-missing.so".into();
    let err = Pkcs11RootKey::open(&config, true).map(|_| ()).err();
    match &err {
        Some(Pkcs11Error::ModuleLoad { module, .. }) => {
            assert_eq!(module, &config.module);
        }
        other => panic!("expected ModuleLoad, got {other:?}"),
    }
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("/nonexistent/libpkcs11-missing.so"),
        "{message}"
    );
}

/// A raw cryptoki session on `token`, beside (not through) the provider. The module is already
/// initialised in this process, so `C_Initialize` may answer `CKR_CRYPTOKI_ALREADY_INITIALIZED`;
/// this context is never finalised.
fn raw_session(token: &str, pin: &str) -> Session {
    let ctx = Pkcs11::new(&hsm().module).unwrap_or_else(|e| panic!("load module: {e}"));
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slots = ctx
        .get_slots_with_initialized_token()
        .unwrap_or_else(|e| panic!("slots: {e}"));
    let slot = slots
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token))
        .unwrap_or_else(|| panic!("token {token} not found"));
    let session = ctx
        .open_rw_session(slot)
        .unwrap_or_else(|e| panic!("open session: {e}"));
    match session.login(UserType::User, Some(&AuthPin::from(pin))) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("login: {e}"),
    }
    session
}

#[test]
fn root_key_is_sensitive_non_extractable_and_unreadable() {
    let _token = exclusive();
    let root = open("kinko-attrs", true);
    let session = raw_session(MAIN, MAIN_PIN);
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(b"kinko-attrs".to_vec()),
        ])
        .unwrap_or_else(|e| panic!("find: {e}"));
    let [key] = found.as_slice() else {
        panic!("expected one key, found {}", found.len());
    };
    let attributes = session
        .get_attributes(
            *key,
            &[
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::Wrap,
            ],
        )
        .unwrap_or_else(|e| panic!("attributes: {e}"));
    let mut seen = 0;
    for attribute in &attributes {
        seen += 1;
        match attribute {
            Attribute::KeyType(t) => assert_eq!(*t, KeyType::AES),
            Attribute::ValueLen(l) => assert_eq!(u64::from(*l), 32),
            Attribute::Token(b)
            | Attribute::Private(b)
            | Attribute::Sensitive(b)
            | Attribute::AlwaysSensitive(b)
            | Attribute::NeverExtractable(b)
            | Attribute::Encrypt(b)
            | Attribute::Decrypt(b) => assert!(*b, "{attribute:?}"),
            Attribute::Extractable(b) | Attribute::Wrap(b) => assert!(!*b, "{attribute:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, 11, "{attributes:?}");

    // CKA_VALUE cannot be read: the token reports it sensitive and cryptoki returns nothing.
    let value = session
        .get_attributes(*key, &[AttributeType::Value])
        .unwrap_or_else(|e| panic!("get CKA_VALUE: {e}"));
    assert!(
        !value.iter().any(|a| matches!(a, Attribute::Value(_))),
        "CKA_VALUE was returned"
    );
    let info = session
        .get_attribute_info(*key, &[AttributeType::Value])
        .unwrap_or_else(|e| panic!("attribute info: {e}"));
    assert!(
        matches!(info.as_slice(), [AttributeInfo::Sensitive]),
        "{info:?}"
    );
    // Nor can it be made extractable after the fact.
    assert!(
        session
            .update_attributes(*key, &[Attribute::Extractable(true)])
            .is_err(),
        "CKA_EXTRACTABLE could be switched back on"
    );
    assert!(
        root.unwrap(&root.wrap(&material(3), AAD).unwrap_or_default(), AAD)
            .is_ok()
    );
}

#[test]
fn an_extractable_key_is_refused() {
    let _token = exclusive();
    let session = raw_session(MAIN, MAIN_PIN);
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Label(b"kinko-weak".to_vec()),
            ],
        )
        .unwrap_or_else(|e| panic!("generate weak key: {e}"));
    let err = Pkcs11RootKey::open(&config(MAIN, MAIN_PIN, "kinko-weak"), true)
        .map(|_| ())
        .err();
    assert!(
        matches!(err, Some(Pkcs11Error::UnsuitableKey { .. })),
        "{err:?}"
    );
}

#[test]
fn a_foreign_key_without_cka_id_is_identified_by_a_check_value() {
    let _token = exclusive();
    let session = raw_session(MAIN, MAIN_PIN);
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Label(b"kinko-foreign".to_vec()),
            ],
        )
        .unwrap_or_else(|e| panic!("generate foreign key: {e}"));
    let first = open("kinko-foreign", false);
    let id = first.root_id();
    let prefix = format!("pkcs11:{MAIN}/kinko-foreign/kcv-");
    assert!(id.starts_with(&prefix), "{id}");
    assert_eq!(id.len(), prefix.len() + 32, "{id}");
    let wrapped = first.wrap(&material(7), AAD).unwrap_or_default();
    drop(first);
    let again = open("kinko-foreign", false);
    assert_eq!(again.root_id(), id, "check value is stable across opens");
    assert!(again.unwrap(&wrapped, AAD).is_ok());
}

#[test]
fn concurrent_wrap_unwrap_from_eight_threads() {
    let _token = exclusive();
    let root = open("kinko-concurrent", true);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u8)
            .map(|t| {
                let root = &root;
                scope.spawn(move || {
                    for i in 0..200u16 {
                        let aad = format!("thread-{t}|item-{i}");
                        let bytes: Vec<u8> = (0..32u8).map(|j| j ^ t ^ (i as u8)).collect();
                        let secret = SecretBytes::from_slice(&bytes);
                        let wrapped = root.wrap(&secret, aad.as_bytes())?;
                        let back = root.unwrap(&wrapped, aad.as_bytes())?;
                        if back.expose() != bytes.as_slice() {
                            return Err(CryptoError::InvalidInput("round trip changed bytes"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            match handle.join() {
                Ok(result) => assert_eq!(result, Ok(()), "thread {t}"),
                Err(_) => panic!("thread {t} panicked"),
            }
        }
    });
    let open = root.open_sessions();
    assert!(
        (1..=DEFAULT_MAX_SESSIONS).contains(&open),
        "{open} sessions open"
    );
}

#[test]
fn one_session_serves_many_threads() {
    let _token = exclusive();
    let root = Pkcs11RootKey::open_with_sessions(&config(MAIN, MAIN_PIN, "kinko-single"), true, 1)
        .unwrap_or_else(|e| panic!("open: {e}"));
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let root = &root;
            scope.spawn(move || {
                for _ in 0..50 {
                    let wrapped = root.wrap(&material(t), AAD).unwrap_or_default();
                    let back = root.unwrap(&wrapped, AAD).map(|s| s.expose().to_vec());
                    assert_eq!(back.as_deref(), Ok(material(t).expose()));
                }
            });
        }
    });
    assert_eq!(root.open_sessions(), 1);
}

#[test]
fn debug_output_shows_neither_pin_nor_key_bytes() {
    let _token = exclusive();
    let config = config(MAIN, MAIN_PIN, "kinko-debug");
    let root = Pkcs11RootKey::open(&config, true).unwrap_or_else(|e| panic!("open: {e}"));
    let secret = material(0x5C);
    let unwrapped = root
        .unwrap(&root.wrap(&secret, AAD).unwrap_or_default(), AAD)
        .unwrap_or_else(|e| panic!("unwrap: {e}"));
    let shown = format!("{root:?} {root:#?} {config:?} {config:#?} {unwrapped:?}");
    assert!(!shown.contains(MAIN_PIN), "PIN leaked: {shown}");
    assert!(
        !shown.contains(&format!("{:?}", MAIN_PIN.as_bytes())),
        "{shown}"
    );
    for needle in [
        format!("{:?}", secret.expose()),
        kinko_crypto::hex::encode(secret.expose()),
    ] {
        assert!(!shown.contains(&needle), "material leaked: {shown}");
    }
    assert!(shown.contains("REDACTED"), "{shown}");
    assert!(
        shown.contains(MAIN) && shown.contains("kinko-debug"),
        "{shown}"
    );
}
