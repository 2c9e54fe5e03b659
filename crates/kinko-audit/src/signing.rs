//! The audit signing key: an Ed25519 key generated on first start, stored wrapped under the root
//! key, whose public half is recorded in the store and published as a PEM file. Digests of the
//! chain and exported digest files are signed with it; verification trusts its public half.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use kinko_core::{Store, hex};
use kinko_crypto::{RootKey, SecretBytes, SigningKeyPair};

use crate::hex::unhex;

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

fn signing_key_aad() -> &'static [u8] {
    b"kinko/audit-signing-key/v1"
}

/// Loads the audit signing key (wrapped under the root key), creating it on first start, and
/// publishes its public key to `<data-dir>/audit-public-key.pem`.
pub async fn load_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    data_dir: &Path,
) -> anyhow::Result<Arc<SigningKeyPair>> {
    let key = match store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .context("reading settings")?
    {
        Some(value) => unwrap_signing_key(root, &value)?,
        None => {
            // Nodes starting at once on one empty database: the first key stored wins (insert-
            // or-ignore, then read back), and every node signs with it.
            let (key, pkcs8) = SigningKeyPair::generate().map_err(|e| anyhow!("{e}"))?;
            let wrapped = root
                .wrap(&pkcs8, signing_key_aad())
                .map_err(|e| anyhow!("{e}"))?;
            let ours = format!("{}:{}", root.id(), hex(&wrapped));
            let stored = store
                .put_setting_if_absent(SIGNING_KEY_SETTING, &ours)
                .await
                .context("recording the audit signing key")?;
            if stored == ours {
                store
                    .put_setting(PUBLIC_KEY_SETTING, &hex(&key.public_key()))
                    .await
                    .context("recording the audit public key")?;
                key
            } else {
                unwrap_signing_key(root, &stored)?
            }
        }
    };
    publish_public_key(&key, data_dir)?;
    Ok(Arc::new(key))
}

fn unwrap_signing_key(root: &dyn RootKey, value: &str) -> anyhow::Result<SigningKeyPair> {
    let (_root_id, wrapped) = value
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("malformed audit signing key setting"))?;
    let wrapped = unhex(wrapped)?;
    let pkcs8 = root
        .unwrap(&wrapped, signing_key_aad())
        .map_err(|_| anyhow!("the audit signing key does not unwrap under this root of trust"))?;
    SigningKeyPair::from_pkcs8(&pkcs8).map_err(|e| anyhow!("audit signing key: {e}"))
}

async fn store_signing_key(
    store: &dyn Store,
    root: &dyn RootKey,
    pkcs8: &SecretBytes,
) -> anyhow::Result<()> {
    let wrapped = root
        .wrap(pkcs8, signing_key_aad())
        .map_err(|e| anyhow!("{e}"))?;
    store
        .put_setting(
            SIGNING_KEY_SETTING,
            &format!("{}:{}", root.id(), hex(&wrapped)),
        )
        .await
        .context("recording the audit signing key")
}

/// Rewraps the audit signing key from `from` to `to` (root migration).
pub async fn rewrap_signing_key(
    store: &dyn Store,
    from: &dyn RootKey,
    to: &dyn RootKey,
) -> anyhow::Result<()> {
    let Some(value) = store
        .get_setting(SIGNING_KEY_SETTING)
        .await
        .context("reading settings")?
    else {
        return Ok(());
    };
    let (root_id, wrapped) = value
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("malformed audit signing key setting"))?;
    if root_id == to.id() {
        return Ok(());
    }
    let pkcs8 = from
        .unwrap(&unhex(wrapped)?, signing_key_aad())
        .map_err(|_| anyhow!("the audit signing key does not unwrap under the current root"))?;
    store_signing_key(store, to, &pkcs8).await
}

fn publish_public_key(key: &SigningKeyPair, data_dir: &Path) -> anyhow::Result<()> {
    use base64::Engine;
    let spki = key.public_key_spki().map_err(|e| anyhow!("{e}"))?;
    let body = base64::engine::general_purpose::STANDARD.encode(spki);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    std::fs::write(data_dir.join(PUBLIC_KEY_FILE), pem).context("publishing the audit public key")
}

/// The audit public key the store records (32 raw bytes), if the server has started once.
pub(crate) async fn recorded_public_key(store: &dyn Store) -> anyhow::Result<Option<Vec<u8>>> {
    store
        .get_setting(PUBLIC_KEY_SETTING)
        .await
        .context("reading settings")?
        .map(|h| unhex(&h))
        .transpose()
}

/// Loads the installation's audit signing key to sign an export, unwrapping it with the root of
/// trust `open_root` yields (awaited only once the store is known to hold a key). Never creates
/// a key; publishes the public key into `publish_dir` (the export directory), not into the data
/// directory.
pub(crate) async fn load_signing_key_for_export(
    store: &dyn Store,
    open_root: impl Future<Output = anyhow::Result<Arc<dyn RootKey>>>,
    publish_dir: &Path,
) -> anyhow::Result<Arc<SigningKeyPair>> {
    let recorded = store
        .get_setting(PUBLIC_KEY_SETTING)
        .await
        .context("reading settings")?
        .ok_or_else(|| {
            anyhow!("this installation has no audit signing key yet: start the server once")
        })?;
    let root = open_root.await?;
    std::fs::create_dir_all(publish_dir)
        .with_context(|| format!("creating {}", publish_dir.display()))?;
    let key = load_signing_key(store, root.as_ref(), publish_dir).await?;
    if hex(&key.public_key()) != recorded {
        bail!("the audit signing key does not match the audit public key the store records");
    }
    Ok(key)
}

/// The 32-byte Ed25519 key of a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_from_pem(text: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let body = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(body, _)| body)
        .ok_or_else(|| anyhow!("not a PEM public key (no BEGIN/END PUBLIC KEY lines)"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .context("the PEM body is not base64")?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => Ok(key.to_vec()),
        _ => bail!("not an Ed25519 public key"),
    }
}

/// [`public_key_from_pem`] of a file.
pub(crate) fn read_pem_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the public key {}", path.display()))?;
    public_key_from_pem(&text).with_context(|| format!("reading {}", path.display()))
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
