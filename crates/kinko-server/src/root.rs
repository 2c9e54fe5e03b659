//! Root-of-trust providers and the record that says which one an installation uses.
//!
//! - `file`: a 32-byte key in a 0600 file in the data directory. The development default; it
//!   warns at every start.
//! - `passphrase`: a key derived with Argon2id from a passphrase; a stored verifier refuses a
//!   wrong passphrase before anything is decrypted.
//! - `pkcs11`: an AES-256 key generated inside an HSM token; wrap and unwrap happen inside it.
//!
//! The store's `root` setting records the provider, the root's id and what is needed to find it
//! again (file name, salt and verifier, token and key labels). A server started with another
//! provider, another passphrase or another root refuses to start and says why. While a root
//! migration is unfinished (`root.next` is set), the server refuses to start too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use kinko_core::Store;
use kinko_crypto::{
    Argon2Params, RootKey, SecretBytes, SoftwareRootKey, constant_time_eq, derive_root_key, hex,
    passphrase_verifier, random_array, random_secret,
};

/// Setting that holds the current root record.
pub const ROOT_SETTING: &str = "root";
/// Setting that holds the target of an unfinished root migration.
pub const NEXT_ROOT_SETTING: &str = "root.next";
/// File name of the `file` provider's key on first start.
pub const ROOT_KEY_FILE: &str = "root.key";
const DEFAULT_PKCS11_KEY_LABEL: &str = kinko_pkcs11::DEFAULT_KEY_LABEL;

/// A root-of-trust provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Key in a file.
    File,
    /// Key derived from a passphrase.
    Passphrase,
    /// Key inside a PKCS#11 token.
    Pkcs11,
}

impl Provider {
    /// Parses `file`, `passphrase` or `pkcs11`.
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "file" => Some(Provider::File),
            "passphrase" => Some(Provider::Passphrase),
            "pkcs11" => Some(Provider::Pkcs11),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::File => "file",
            Provider::Passphrase => "passphrase",
            Provider::Pkcs11 => "pkcs11",
        }
    }
}

/// What the operator supplied to open a root (from flags and environment).
#[derive(Debug, Default)]
pub struct RootOptions {
    /// The provider asked for; `None` means whatever the installation records (`file` on a new one).
    pub provider: Option<Provider>,
    /// The passphrase (for `passphrase`).
    pub passphrase: Option<SecretBytes>,
    /// PKCS#11 module path.
    pub pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    pub pkcs11_token: Option<String>,
    /// PKCS#11 user PIN.
    pub pkcs11_pin: Option<SecretBytes>,
}

/// The recorded description of a root: `key=value` pairs separated by `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record(BTreeMap<String, String>);

impl Record {
    fn parse(s: &str) -> anyhow::Result<Record> {
        let mut map = BTreeMap::new();
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| anyhow!("malformed root record: {s}"))?;
            map.insert(k.to_owned(), v.to_owned());
        }
        Ok(Record(map))
    }

    fn render(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    fn get(&self, k: &str) -> anyhow::Result<&str> {
        self.0
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("root record lacks `{k}`"))
    }

    fn provider(&self) -> anyhow::Result<Provider> {
        let p = self.get("provider")?;
        Provider::parse(p).ok_or_else(|| anyhow!("unknown root provider `{p}` in the store"))
    }
}

fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd-length hex in the root record");
    }
    hex::decode(s).ok_or_else(|| anyhow!("bad hex in the root record"))
}

/// Opens the installation's root for serving: checks the recorded provider and id, creates the
/// root on a new installation, refuses to start during an unfinished migration.
pub async fn open_root(
    data_dir: &Path,
    store: &dyn Store,
    options: &RootOptions,
) -> anyhow::Result<Arc<dyn RootKey>> {
    finish_promotion(store).await?;
    if let Some(next) = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .context("reading settings")?
    {
        let target = Record::parse(&next)?;
        bail!(
            "a migration of this installation's root of trust to `{}` is unfinished; run `kinko root migrate` again with the same target to finish it",
            target.get("provider").unwrap_or("?")
        );
    }
    match store
        .get_setting(ROOT_SETTING)
        .await
        .context("reading settings")?
    {
        Some(recorded) => {
            let record = Record::parse(&recorded)?;
            let provider = record.provider()?;
            if let Some(asked) = options.provider
                && asked != provider
            {
                bail!(
                    "this data directory's keys are wrapped under the `{}` root of trust, but the server was started with `--root {}`; start it with `--root {}`",
                    provider.as_str(),
                    asked.as_str(),
                    provider.as_str()
                );
            }
            open_recorded(data_dir, &record, options)
        }
        None => {
            let provider = options.provider.unwrap_or(Provider::File);
            let (root, record) = create(data_dir, provider, options)?;
            let ours = record.render();
            // Nodes starting at once on one empty database: the first record wins, and the
            // others open the root it describes (insert-or-ignore, then read back).
            let recorded = store
                .put_setting_if_absent(ROOT_SETTING, &ours)
                .await
                .context("recording the root")?;
            if recorded == ours {
                return Ok(root);
            }
            let winner = Record::parse(&recorded)?;
            tracing::info!(
                provider = winner.get("provider").unwrap_or("?"),
                "another node created this installation's root of trust at the same time; using it"
            );
            if let Some(file) = record.0.get("file") {
                // The key file made for the losing record wraps nothing.
                let _ = std::fs::remove_file(data_dir.join(file));
            }
            open_recorded(data_dir, &winner, options)
        }
    }
}

/// Opens the root a record describes, and checks it is the same root (by id).
fn open_recorded(
    data_dir: &Path,
    record: &Record,
    options: &RootOptions,
) -> anyhow::Result<Arc<dyn RootKey>> {
    let root: Arc<dyn RootKey> = match record.provider()? {
        Provider::File => {
            let path = data_dir.join(record.get("file")?);
            if !path.exists() {
                bail!(
                    "the root key file {} is missing: the keys of this installation are wrapped under it (root {})",
                    path.display(),
                    record.get("id")?
                );
            }
            Arc::new(load_file_root(&path)?)
        }
        Provider::Passphrase => {
            let passphrase = options.passphrase.as_ref().ok_or_else(|| {
                anyhow!("this installation's root of trust is a passphrase: set KINKO_ROOT_PASSPHRASE, pass --passphrase-file, or run on a terminal to be asked")
            })?;
            let params = Argon2Params {
                memory_kib: record.get("m")?.parse().context("root record m")?,
                iterations: record.get("t")?.parse().context("root record t")?,
                parallelism: record.get("p")?.parse().context("root record p")?,
            };
            let key = derive_root_key(passphrase.expose(), &unhex(record.get("salt")?)?, params)
                .map_err(|e| anyhow!("deriving the root key: {e}"))?;
            if !constant_time_eq(&passphrase_verifier(&key), &unhex(record.get("verifier")?)?) {
                bail!(
                    "wrong passphrase: it does not match this installation's root of trust (nothing was decrypted)"
                );
            }
            Arc::new(SoftwareRootKey::new(&key, "passphrase").map_err(|e| anyhow!("{e}"))?)
        }
        Provider::Pkcs11 => Arc::new(open_pkcs11(
            options,
            record.get("token")?,
            record.get("key")?,
            false,
        )?),
    };
    let recorded_id = record.get("id")?;
    if root.id() != recorded_id {
        bail!(
            "the {} root of trust available here ({}) is not the one this installation's keys are wrapped under ({recorded_id})",
            root.provider(),
            root.id()
        );
    }
    warn_if_file(root.as_ref());
    Ok(root)
}

/// Creates a new root of `provider` and the record describing it.
fn create(
    data_dir: &Path,
    provider: Provider,
    options: &RootOptions,
) -> anyhow::Result<(Arc<dyn RootKey>, Record)> {
    let mut record = BTreeMap::new();
    record.insert("provider".to_owned(), provider.as_str().to_owned());
    let root: Arc<dyn RootKey> = match provider {
        Provider::File => {
            let name = if data_dir.join(ROOT_KEY_FILE).exists() {
                // A migration to a new file root must not reuse the current file.
                format!(
                    "root-{}.key",
                    hex::encode(&random_array::<6>().map_err(|e| anyhow!("{e}"))?)
                )
            } else {
                ROOT_KEY_FILE.to_owned()
            };
            let key = random_secret(32).map_err(|e| anyhow!("generating the root key: {e}"))?;
            write_private(&data_dir.join(&name), key.expose())?;
            record.insert("file".to_owned(), name);
            Arc::new(SoftwareRootKey::new(&key, "file").map_err(|e| anyhow!("{e}"))?)
        }
        Provider::Passphrase => {
            let passphrase = options.passphrase.as_ref().ok_or_else(|| {
                anyhow!("the passphrase root of trust needs a passphrase: set KINKO_ROOT_PASSPHRASE, pass --passphrase-file, or run on a terminal to be asked")
            })?;
            if String::from_utf8_lossy(passphrase.expose()).chars().count() < 12 {
                bail!("the passphrase must be at least 12 characters long");
            }
            let salt = random_array::<16>().map_err(|e| anyhow!("{e}"))?;
            let params = Argon2Params::RECOMMENDED;
            let key =
                derive_root_key(passphrase.expose(), &salt, params).map_err(|e| anyhow!("{e}"))?;
            record.insert("salt".to_owned(), hex::encode(&salt));
            record.insert(
                "verifier".to_owned(),
                hex::encode(&passphrase_verifier(&key)),
            );
            record.insert("m".to_owned(), params.memory_kib.to_string());
            record.insert("t".to_owned(), params.iterations.to_string());
            record.insert("p".to_owned(), params.parallelism.to_string());
            Arc::new(SoftwareRootKey::new(&key, "passphrase").map_err(|e| anyhow!("{e}"))?)
        }
        Provider::Pkcs11 => {
            let token = options
                .pkcs11_token
                .clone()
                .ok_or_else(|| anyhow!("the pkcs11 root of trust needs --pkcs11-token LABEL"))?;
            record.insert("token".to_owned(), token.clone());
            record.insert("key".to_owned(), DEFAULT_PKCS11_KEY_LABEL.to_owned());
            Arc::new(open_pkcs11(
                options,
                &token,
                DEFAULT_PKCS11_KEY_LABEL,
                true,
            )?)
        }
    };
    record.insert("id".to_owned(), root.id());
    warn_if_file(root.as_ref());
    Ok((root, Record(record)))
}

fn open_pkcs11(
    options: &RootOptions,
    token: &str,
    key_label: &str,
    create_if_missing: bool,
) -> anyhow::Result<kinko_pkcs11::Pkcs11RootKey> {
    let module = options
        .pkcs11_module
        .clone()
        .ok_or_else(|| anyhow!("the pkcs11 root of trust needs --pkcs11-module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so)"))?;
    let pin = options.pkcs11_pin.as_ref().ok_or_else(|| {
        anyhow!("the pkcs11 root of trust needs the token's user PIN in KINKO_PKCS11_PIN")
    })?;
    let mut config = kinko_pkcs11::Pkcs11Config::new(module, token, pin.duplicate());
    key_label.clone_into(&mut config.key_label);
    kinko_pkcs11::Pkcs11RootKey::open(&config, create_if_missing)
        .map_err(|e| anyhow!("PKCS#11: {e}"))
}

fn warn_if_file(root: &dyn RootKey) {
    if root.provider() == "file" {
        tracing::warn!(
            "root of trust: `file` provider. The root key sits in a file next to the data; this is for development, not production"
        );
    }
}

fn load_file_root(path: &Path) -> anyhow::Result<SoftwareRootKey> {
    let bytes = SecretBytes::new(
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    );
    if bytes.len() != 32 {
        bail!(
            "{} is not a Kinko root key (expected 32 bytes, found {})",
            path.display(),
            bytes.len()
        );
    }
    SoftwareRootKey::new(&bytes, "file").map_err(|e| anyhow!("{e}"))
}

/// The migration target of `options`: reuses the recorded target of an interrupted migration,
/// or creates a new root and records it as `root.next`.
pub async fn open_or_create_next(
    data_dir: &Path,
    store: &dyn Store,
    provider: Provider,
    options: &RootOptions,
) -> anyhow::Result<Arc<dyn RootKey>> {
    if let Some(next) = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .context("reading settings")?
    {
        let record = Record::parse(&next)?;
        if record.provider()? != provider {
            bail!(
                "an unfinished migration targets `{}`, not `{}`; finish it first with `--to {}`",
                record.get("provider")?,
                provider.as_str(),
                record.get("provider")?
            );
        }
        return open_recorded(data_dir, &record, options);
    }
    let (root, record) = create(data_dir, provider, options)?;
    store
        .put_setting(NEXT_ROOT_SETTING, &record.render())
        .await
        .context("recording the migration target")?;
    Ok(root)
}

/// Opens the current root for a migration (the server must not be running on another root).
pub async fn open_current(
    data_dir: &Path,
    store: &dyn Store,
    options: &RootOptions,
) -> anyhow::Result<Arc<dyn RootKey>> {
    finish_promotion(store).await?;
    let recorded = store
        .get_setting(ROOT_SETTING)
        .await
        .context("reading settings")?
        .ok_or_else(|| {
            anyhow!(
                "{} holds no Kinko installation (no root record)",
                data_dir.display()
            )
        })?;
    let record = Record::parse(&recorded)?;
    let provider = record.provider()?;
    if let Some(asked) = options.provider
        && asked != provider
    {
        bail!(
            "this installation's keys are wrapped under the `{}` root of trust, not `{}`; use `--root {}`",
            provider.as_str(),
            asked.as_str(),
            provider.as_str()
        );
    }
    open_recorded(data_dir, &record, options)
}

/// A migration killed between promoting `root.next` and clearing it left `root == root.next`:
/// it is finished; clear the marker.
pub async fn finish_promotion(store: &dyn Store) -> anyhow::Result<()> {
    let next = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .context("reading settings")?;
    let current = store
        .get_setting(ROOT_SETTING)
        .await
        .context("reading settings")?;
    if next.is_some() && next == current {
        store
            .delete_setting(NEXT_ROOT_SETTING)
            .await
            .context("clearing the migration marker")?;
    }
    Ok(())
}

/// Makes the migration target the installation's root (one setting write, then the marker goes;
/// [`finish_promotion`] completes a promotion interrupted between the two).
pub async fn promote_next(store: &dyn Store) -> anyhow::Result<()> {
    let next = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .context("reading settings")?
        .ok_or_else(|| anyhow!("no migration in progress"))?;
    store
        .put_setting(ROOT_SETTING, &next)
        .await
        .context("recording the new root")?;
    store
        .delete_setting(NEXT_ROOT_SETTING)
        .await
        .context("clearing the migration marker")?;
    Ok(())
}

/// The provider recorded by the installation (for messages).
pub async fn recorded_provider(store: &dyn Store) -> anyhow::Result<Option<Provider>> {
    match store
        .get_setting(ROOT_SETTING)
        .await
        .context("reading settings")?
    {
        Some(r) => Ok(Some(Record::parse(&r)?.provider()?)),
        None => Ok(None),
    }
}

/// Creates `path` with mode 0600 and writes `bytes`; fails if the file exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}
