//! The store's half of "key material is wrapped before it is written": the store persists
//! exactly the bytes it is handed and nothing derived from elsewhere. The core hands it only
//! root-key ciphertext, so what is stored holds only ciphertext (SQLite: the database files;
//! PostgreSQL: the stored values, see [`Backend::raw_contents`]).

use kinko_core::{Material, UnixMillis};
use kinko_crypto::{RootKey, SecretBytes, SoftwareRootKey};

use crate::backends::Backend;
use crate::fixtures::{audit, create_account, key, us_east_1};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where in the backend's raw contents `needle` is, byte for byte.
async fn files_holding(backend: &Backend, needle: &[u8]) -> Vec<String> {
    backend
        .raw_contents()
        .await
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, needle))
        .map(|(place, _)| place)
        .collect()
}

/// Stores a key whose material is the root-key wrapping of a known secret, then scans what the
/// backend stored: the wrapped bytes are there verbatim, the secret is not; before and after
/// the store is closed (when SQLite has moved the WAL into the main file).
pub async fn stored_material_is_exactly_the_wrapped_bytes(backend: &Backend) {
    let root = SoftwareRootKey::new(&SecretBytes::new(vec![0x5a; 32]), "file").expect("a root key");
    // A recognisable, non-random secret: if any layer wrote it in clear, the scan would find it.
    let secret = SecretBytes::new(b"KINKO-TEST-MATERIAL-PLAINTEXT-32".to_vec());
    let wrapped = root.wrap(&secret, b"kinko/test-aad").expect("wrap");
    assert!(
        !contains(&wrapped, secret.expose()),
        "the wrapping hides the secret"
    );

    let db = backend.open().await;
    let acct = create_account(&*db.store, 1).await;
    let k = key(&acct, &us_east_1(), 1);
    let m = Material::generated(
        k.id(),
        k.current_material,
        wrapped.clone(),
        "test-root".to_owned(),
        UnixMillis(1),
        None,
    );
    db.store
        .create_key(&k, &m, &[], audit())
        .await
        .expect("create the key");
    assert_eq!(
        db.store
            .get_material(&k.id(), &m.id)
            .await
            .expect("get")
            .map(|m| m.wrapped),
        Some(wrapped.clone()),
        "the store returns exactly the bytes it was given"
    );

    assert!(
        !files_holding(backend, &wrapped).await.is_empty(),
        "the wrapped bytes are written verbatim while open"
    );
    assert_eq!(
        files_holding(backend, secret.expose()).await,
        Vec::<String>::new(),
        "no file holds the secret"
    );

    db.close().await;
    assert!(
        !files_holding(backend, &wrapped).await.is_empty(),
        "the wrapped bytes are written verbatim after close"
    );
    assert_eq!(
        files_holding(backend, secret.expose()).await,
        Vec::<String>::new(),
        "no file holds the secret"
    );
    let unwrapped = root
        .unwrap(&wrapped, b"kinko/test-aad")
        .expect("the stored bytes unwrap");
    assert_eq!(unwrapped.expose(), secret.expose());
}
