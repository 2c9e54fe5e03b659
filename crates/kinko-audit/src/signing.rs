//! The audit signing key: an Ed25519 key generated on first start, stored wrapped under the root
//! key, whose public half is recorded in the store and published as a PEM file. Digests of the
//! chain and exported digest files are signed with it; verification trusts its public half.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kinko_core::{BoxError, Store, StoreError, hex};
use kinko_crypto::hex::decode as unhex;
use kinko_crypto::{CryptoError, RootKey, SecretBytes, SigningKeyPair};

/// Settings that hold the audit signing key.
const SIGNING_KEY_SETTING: &str = "audit.signing_key";
/// Setting that records the audit public key (hex of the 32 raw bytes).
const PUBLIC_KEY_SETTING: &str = "audit.public_key";
/// File the public key is published to, in the data directory.
pub const PUBLIC_KEY_FILE: &str = "audit-public-key.pem";
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why the audit signing key could not be loaded, created, rewrapped or published. Never
/// carries key material: a key that does not unwrap says so, with the crypto error's kind only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The store could not be read or written; `what` names the step.
    #[error("{what}")]
    Store {
        /// The step, such as `reading settings`.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// Generating, wrapping or encoding the key failed.
    #[error("{what}")]
    Crypto {
        /// The step, such as `wrapping the audit signing key`.
        what: &'static str,
        /// The primitive's error.
        #[source]
        source: CryptoError,
    },
    /// The stored setting is not `<root id>:<hex>`.
    #[error("malformed audit signing key setting")]
    MalformedSetting,
    /// The stored key does not unwrap under the root at hand.
    #[error("the audit signing key does not unwrap under {under}")]
    DoesNotUnwrap {
        /// Which root: `this root of trust`, `the current root`.
        under: &'static str,
        /// The unwrap error (deliberately without detail).
        #[source]
        source: CryptoError,
    },
    /// The recorded audit public key is not hex.
    #[error("the audit public key the store records is not hex")]
    MalformedPublicKey,
    /// A file or directory could not be written.
    #[error("{what} {}", path.display())]
    Io {
        /// The step, such as `publishing the audit public key to`.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// An export needs a key, and the server never started on this store.
    #[error("this installation has no audit signing key yet: start the server once")]
    NoKeyYet,
    /// The unwrapped key is not the one whose public half the store records.
    #[error("the audit signing key does not match the audit public key the store records")]
    Mismatch,
    /// The root of trust could not be opened (its own message says why).
    #[error(transparent)]
    Root(BoxError),
}

impl SigningKeyError {
    fn store(what: &'static str) -> impl FnOnce(StoreError) -> SigningKeyError {
        move |source| SigningKeyError::Store { what, source }
    }

    fn crypto(what: &'static str) -> impl FnOnce(CryptoError) -> SigningKeyError {
        move |source| SigningKeyError::Crypto { what, source }
    }
}

/// Why a public key file or PEM text gave no Ed25519 public key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// No PEM armour.
    #[error("not a PEM public key (no BEGIN/END PUBLIC KEY lines)")]
    NotPem,
    /// The armour holds no base64.
    #[error("the PEM body is not base64")]
    NotBase64(#[source] base64::DecodeError),
    /// A SubjectPublicKeyInfo of another algorithm, or truncated.
    #[error("not an Ed25519 public key")]
    NotEd25519,
    /// The file could not be read.
    #[error("reading the public key {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold an Ed25519 public key.
    #[error("reading {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with its text.
        #[source]
        source: Box<PublicKeyError>,
    },
}

fn signing_key_aad() -> &'static [u8] {
    b"kinko/audit-signing-key/v1"
}

/// Loads the audit signing key (wrapped under the root key), creating it on first start, and
/// publishes its public key to `<data-dir>/audit-public-key.pem`.
pub async fn load_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    data_dir: &Path,
) -> Result<Arc<SigningKeyPair>, SigningKeyError> {
    let key = match store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .map_err(SigningKeyError::store("reading settings"))?
    {
        Some(value) => unwrap_signing_key(root, &value)?,
        None => {
            // Nodes starting at once on one empty database: the first key stored wins (insert-
            // or-ignore, then read back), and every node signs with it.
            let (key, pkcs8) = SigningKeyPair::generate()
                .map_err(SigningKeyError::crypto("generating the audit signing key"))?;
            let wrapped = root
                .wrap(&pkcs8, signing_key_aad())
                .map_err(SigningKeyError::crypto("wrapping the audit signing key"))?;
            let ours = format!("{}:{}", root.id(), hex(&wrapped));
            let stored = store
                .put_setting_if_absent(SIGNING_KEY_SETTING, &ours)
                .await
                .map_err(SigningKeyError::store("recording the audit signing key"))?;
            if stored == ours {
                store
                    .put_setting(PUBLIC_KEY_SETTING, &hex(&key.public_key()))
                    .await
                    .map_err(SigningKeyError::store("recording the audit public key"))?;
                key
            } else {
                unwrap_signing_key(root, &stored)?
            }
        }
    };
    publish_public_key(&key, data_dir)?;
    Ok(Arc::new(key))
}

/// The wrapped key of a `<root id>:<hex>` setting value.
fn wrapped_key(value: &str) -> Result<(&str, Vec<u8>), SigningKeyError> {
    let (root_id, wrapped) = value
        .rsplit_once(':')
        .ok_or(SigningKeyError::MalformedSetting)?;
    Ok((
        root_id,
        unhex(wrapped).ok_or(SigningKeyError::MalformedSetting)?,
    ))
}

fn unwrap_signing_key(root: &dyn RootKey, value: &str) -> Result<SigningKeyPair, SigningKeyError> {
    let (_root_id, wrapped) = wrapped_key(value)?;
    let pkcs8 = root.unwrap(&wrapped, signing_key_aad()).map_err(|source| {
        SigningKeyError::DoesNotUnwrap {
            under: "this root of trust",
            source,
        }
    })?;
    SigningKeyPair::from_pkcs8(&pkcs8)
        .map_err(SigningKeyError::crypto("decoding the audit signing key"))
}

async fn store_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    pkcs8: &SecretBytes,
) -> Result<(), SigningKeyError> {
    let wrapped = root
        .wrap(pkcs8, signing_key_aad())
        .map_err(SigningKeyError::crypto("wrapping the audit signing key"))?;
    store
        .put_setting(
            SIGNING_KEY_SETTING,
            &format!("{}:{}", root.id(), hex(&wrapped)),
        )
        .await
        .map_err(SigningKeyError::store("recording the audit signing key"))
}

/// Rewraps the audit signing key from `from` to `to` (root migration).
pub async fn rewrap_signing_key(
    store: &dyn Store,
    from: &dyn RootKey,
    to: &dyn RootKey,
) -> Result<(), SigningKeyError> {
    let Some(value) = store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .map_err(SigningKeyError::store("reading settings"))?
    else {
        return Ok(());
    };
    let (root_id, wrapped) = wrapped_key(&value)?;
    if root_id == to.id() {
        return Ok(());
    }
    let pkcs8 = from.unwrap(&wrapped, signing_key_aad()).map_err(|source| {
        SigningKeyError::DoesNotUnwrap {
            under: "the current root",
            source,
        }
    })?;
    store_signing_key(store, to, &pkcs8).await
}

fn publish_public_key(key: &SigningKeyPair, data_dir: &Path) -> Result<(), SigningKeyError> {
    use base64::Engine;
    let spki = key
        .public_key_spki()
        .map_err(SigningKeyError::crypto("encoding the audit public key"))?;
    let body = base64::engine::general_purpose::STANDARD.encode(spki);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    let path = data_dir.join(PUBLIC_KEY_FILE);
    std::fs::write(&path, pem).map_err(|source| SigningKeyError::Io {
        what: "publishing the audit public key to",
        path,
        source,
    })
}

/// The audit public key the store records (32 raw bytes), if the server has started once.
pub(crate) async fn recorded_public_key(
    store: &dyn Store,
) -> Result<Option<Vec<u8>>, SigningKeyError> {
    store
        .get_setting(PUBLIC_KEY_SETTING)
        .await
        .map_err(SigningKeyError::store("reading settings"))?
        .map(|h| unhex(&h).ok_or(SigningKeyError::MalformedPublicKey))
        .transpose()
}

/// Loads the installation's audit signing key to sign an export, unwrapping it with the root of
/// trust `open_root` yields (awaited only once the store is known to hold a key). Never creates
/// a key; publishes the public key into `publish_dir` (the export directory), not into the data
/// directory.
pub(crate) async fn load_signing_key_for_export<E: Into<BoxError>>(
    store: &dyn Store,
    open_root: impl Future<Output = Result<Arc<dyn RootKey>, E>>,
    publish_dir: &Path,
) -> Result<Arc<SigningKeyPair>, SigningKeyError> {
    let recorded = store
        .get_setting(PUBLIC_KEY_SETTING)
        .await
        .map_err(SigningKeyError::store("reading settings"))?
        .ok_or(SigningKeyError::NoKeyYet)?;
    let root = open_root
        .await
        .map_err(|e| SigningKeyError::Root(e.into()))?;
    std::fs::create_dir_all(publish_dir).map_err(|source| SigningKeyError::Io {
        what: "creating",
        path: publish_dir.to_owned(),
        source,
    })?;
    let key = load_signing_key(store, root.as_ref(), publish_dir).await?;
    if hex(&key.public_key()) != recorded {
        return Err(SigningKeyError::Mismatch);
    }
    Ok(key)
}

/// The 32-byte Ed25519 key of a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_from_pem(text: &str) -> Result<Vec<u8>, PublicKeyError> {
    use base64::Engine;
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let body = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(body, _)| body)
        .ok_or(PublicKeyError::NotPem)?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(PublicKeyError::NotBase64)?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => Ok(key.to_vec()),
        _ => Err(PublicKeyError::NotEd25519),
    }
}

/// [`public_key_from_pem`] of a file.
pub(crate) fn read_pem_file(path: &Path) -> Result<Vec<u8>, PublicKeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PublicKeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    public_key_from_pem(&text).map_err(|e| PublicKeyError::File {
        path: path.to_owned(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_rejects_other_keys() {
        use base64::Engine;
        let Ok((key, _)) = kinko_crypto::SigningKeyPair::generate() else {
            panic!("keygen")
        };
        let spki = key.public_key_spki().unwrap_or_default();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        );
        assert_eq!(public_key_from_pem(&pem).ok(), Some(key.public_key()));
        assert!(public_key_from_pem("nonsense").is_err());
        let truncated = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki[..40])
        );
        assert!(public_key_from_pem(&truncated).is_err());
    }
}
