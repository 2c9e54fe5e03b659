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
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kinko_core::{Store, StoreError};
use kinko_crypto::{
    Argon2Params, CryptoError, RootKey, SecretBytes, SoftwareRootKey, constant_time_eq,
    derive_root_key, hex, passphrase_verifier, random_array, random_secret,
};
use kinko_pkcs11::Pkcs11Error;

use crate::files::{FileError, write_private};

/// Setting that holds the current root record.
pub const ROOT_SETTING: &str = "root";
/// Setting that holds the target of an unfinished root migration.
pub const NEXT_ROOT_SETTING: &str = "root.next";
/// File name of the `file` provider's key on first start.
pub const ROOT_KEY_FILE: &str = "root.key";
const DEFAULT_PKCS11_KEY_LABEL: &str = kinko_pkcs11::DEFAULT_KEY_LABEL;

/// Why a root of trust could not be opened, created or recorded. Messages name the provider,
/// the file, the root's id or the flag to pass; never a key, a passphrase or a PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootError {
    /// The store failed; `what` names the step (`reading settings`, `recording the root`, ...).
    #[error("{what}")]
    Store {
        /// The step.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The stored root record cannot be read back.
    #[error("malformed root record: {0}")]
    MalformedRecord(String),
    /// The stored root record lacks a field.
    #[error("root record lacks `{0}`")]
    RecordLacks(&'static str),
    /// A numeric field of the root record is not a number.
    #[error("root record {field}")]
    RecordNumber {
        /// The field (`m`, `t`, `p`).
        field: &'static str,
        /// The parser's error.
        #[source]
        source: std::num::ParseIntError,
    },
    /// A hex field of the root record is not hex.
    #[error("bad hex in the root record (`{0}`)")]
    RecordHex(&'static str),
    /// The record names a provider this build does not know.
    #[error("unknown root provider `{0}` in the store")]
    UnknownProvider(String),
    /// A migration was interrupted: the server refuses to start until it is finished.
    #[error(
        "a migration of this installation's root of trust to `{0}` is unfinished; run `kinko root migrate` again with the same target to finish it"
    )]
    MigrationUnfinished(String),
    /// `kinko serve --root X` on an installation recorded under another provider.
    #[error(
        "this data directory's keys are wrapped under the `{}` root of trust, but the server was started with `--root {}`; start it with `--root {}`",
        recorded.as_str(), asked.as_str(), recorded.as_str()
    )]
    ServeProviderMismatch {
        /// The installation's provider.
        recorded: Provider,
        /// The provider asked for.
        asked: Provider,
    },
    /// An offline command's `--root X` on an installation recorded under another provider.
    #[error(
        "this installation's keys are wrapped under the `{}` root of trust, not `{}`; use `--root {}`",
        recorded.as_str(), asked.as_str(), recorded.as_str()
    )]
    ProviderMismatch {
        /// The installation's provider.
        recorded: Provider,
        /// The provider asked for.
        asked: Provider,
    },
    /// `kinko root migrate --to X` while a migration to another provider is unfinished.
    #[error(
        "an unfinished migration targets `{}`, not `{}`; finish it first with `--to {}`",
        unfinished.as_str(), asked.as_str(), unfinished.as_str()
    )]
    OtherMigrationUnfinished {
        /// The recorded target's provider.
        unfinished: Provider,
        /// The provider asked for.
        asked: Provider,
    },
    /// The `file` provider's key file is gone.
    #[error(
        "the root key file {} is missing: the keys of this installation are wrapped under it (root {root_id})",
        path.display()
    )]
    KeyFileMissing {
        /// The file.
        path: PathBuf,
        /// The recorded root id.
        root_id: String,
    },
    /// The key file holds something else than a 32-byte key.
    #[error("{} is not a Kinko root key (expected 32 bytes, found {len})", path.display())]
    NotAKeyFile {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The installation's root is a passphrase and none was given.
    #[error(
        "this installation's root of trust is a passphrase: set KINKO_ROOT_PASSPHRASE, pass --passphrase-file, or run on a terminal to be asked"
    )]
    PassphraseNeeded,
    /// Creating a passphrase root without a passphrase.
    #[error(
        "the passphrase root of trust needs a passphrase: set KINKO_ROOT_PASSPHRASE, pass --passphrase-file, or run on a terminal to be asked"
    )]
    NewPassphraseNeeded,
    /// A new passphrase is too short.
    #[error("the passphrase must be at least 12 characters long")]
    PassphraseTooShort,
    /// The passphrase does not match the stored verifier.
    #[error(
        "wrong passphrase: it does not match this installation's root of trust (nothing was decrypted)"
    )]
    WrongPassphrase,
    /// A PKCS#11 root needs a flag or variable that was not given.
    #[error("the pkcs11 root of trust needs {0}")]
    Pkcs11Needs(&'static str),
    /// The token could not be opened or the key found or made.
    #[error("PKCS#11")]
    Pkcs11(#[source] Pkcs11Error),
    /// A primitive failed; `what` names the step.
    #[error("{what}")]
    Crypto {
        /// The step, such as `deriving the root key`.
        what: &'static str,
        /// The primitive's error.
        #[source]
        source: CryptoError,
    },
    /// The root at hand is not the one the installation's keys are wrapped under.
    #[error(
        "the {provider} root of trust available here ({found}) is not the one this installation's keys are wrapped under ({recorded})"
    )]
    NotThisRoot {
        /// The provider.
        provider: &'static str,
        /// The id of the root at hand.
        found: String,
        /// The recorded id.
        recorded: String,
    },
    /// An offline command on a data directory that was never served.
    #[error("{} holds no Kinko installation (no root record)", .0.display())]
    NoInstallation(PathBuf),
    /// `promote_next` without a migration.
    #[error("no migration in progress")]
    NoMigration,
}

impl RootError {
    fn store(what: &'static str) -> impl FnOnce(StoreError) -> RootError {
        move |source| RootError::Store { what, source }
    }

    fn crypto(what: &'static str) -> impl FnOnce(CryptoError) -> RootError {
        move |source| RootError::Crypto { what, source }
    }
}

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
    fn parse(s: &str) -> Result<Record, RootError> {
        let mut map = BTreeMap::new();
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| RootError::MalformedRecord(s.to_owned()))?;
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

    fn get(&self, k: &'static str) -> Result<&str, RootError> {
        self.0
            .get(k)
            .map(String::as_str)
            .ok_or(RootError::RecordLacks(k))
    }

    fn provider(&self) -> Result<Provider, RootError> {
        let p = self.get("provider")?;
        Provider::parse(p).ok_or_else(|| RootError::UnknownProvider(p.to_owned()))
    }

    /// The bytes of a hex field.
    fn bytes(&self, k: &'static str) -> Result<Vec<u8>, RootError> {
        hex::decode(self.get(k)?).ok_or(RootError::RecordHex(k))
    }

    /// A numeric field.
    fn number(&self, k: &'static str) -> Result<u32, RootError> {
        self.get(k)?
            .parse()
            .map_err(|source| RootError::RecordNumber { field: k, source })
    }
}

/// Opens the installation's root for serving: checks the recorded provider and id, creates the
/// root on a new installation, refuses to start during an unfinished migration.
pub async fn open_root(
    data_dir: &Path,
    store: &dyn Store,
    options: &RootOptions,
) -> Result<Arc<dyn RootKey>, RootError> {
    finish_promotion(store).await?;
    if let Some(next) = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
    {
        let target = Record::parse(&next)?;
        return Err(RootError::MigrationUnfinished(
            target.get("provider").unwrap_or("?").to_owned(),
        ));
    }
    match store
        .get_setting(ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
    {
        Some(recorded) => {
            let record = Record::parse(&recorded)?;
            let provider = record.provider()?;
            if let Some(asked) = options.provider
                && asked != provider
            {
                return Err(RootError::ServeProviderMismatch {
                    recorded: provider,
                    asked,
                });
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
                .map_err(RootError::store("recording the root"))?;
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
) -> Result<Arc<dyn RootKey>, RootError> {
    let root: Arc<dyn RootKey> = match record.provider()? {
        Provider::File => {
            let path = data_dir.join(record.get("file")?);
            if !path.exists() {
                return Err(RootError::KeyFileMissing {
                    path,
                    root_id: record.get("id")?.to_owned(),
                });
            }
            Arc::new(load_file_root(&path)?)
        }
        Provider::Passphrase => {
            let passphrase = options
                .passphrase
                .as_ref()
                .ok_or(RootError::PassphraseNeeded)?;
            let params = Argon2Params {
                memory_kib: record.number("m")?,
                iterations: record.number("t")?,
                parallelism: record.number("p")?,
            };
            let key = derive_root_key(passphrase.expose(), &record.bytes("salt")?, params)
                .map_err(RootError::crypto("deriving the root key"))?;
            if !constant_time_eq(&passphrase_verifier(&key), &record.bytes("verifier")?) {
                return Err(RootError::WrongPassphrase);
            }
            Arc::new(
                SoftwareRootKey::new(&key, "passphrase")
                    .map_err(RootError::crypto("opening the passphrase root"))?,
            )
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
        return Err(RootError::NotThisRoot {
            provider: root.provider(),
            found: root.id(),
            recorded: recorded_id.to_owned(),
        });
    }
    warn_if_file(root.as_ref());
    Ok(root)
}

/// Creates a new root of `provider` and the record describing it.
fn create(
    data_dir: &Path,
    provider: Provider,
    options: &RootOptions,
) -> Result<(Arc<dyn RootKey>, Record), RootError> {
    let mut record = BTreeMap::new();
    record.insert("provider".to_owned(), provider.as_str().to_owned());
    let root: Arc<dyn RootKey> = match provider {
        Provider::File => {
            let name = if data_dir.join(ROOT_KEY_FILE).exists() {
                // A migration to a new file root must not reuse the current file.
                format!(
                    "root-{}.key",
                    hex::encode(
                        &random_array::<6>()
                            .map_err(RootError::crypto("naming the new root key file"))?,
                    )
                )
            } else {
                ROOT_KEY_FILE.to_owned()
            };
            let key = random_secret(32).map_err(RootError::crypto("generating the root key"))?;
            write_private(&data_dir.join(&name), key.expose())?;
            record.insert("file".to_owned(), name);
            Arc::new(
                SoftwareRootKey::new(&key, "file")
                    .map_err(RootError::crypto("opening the file root"))?,
            )
        }
        Provider::Passphrase => {
            let passphrase = options
                .passphrase
                .as_ref()
                .ok_or(RootError::NewPassphraseNeeded)?;
            if String::from_utf8_lossy(passphrase.expose()).chars().count() < 12 {
                return Err(RootError::PassphraseTooShort);
            }
            let salt = random_array::<16>()
                .map_err(RootError::crypto("generating the root key's salt"))?;
            let params = Argon2Params::RECOMMENDED;
            let key = derive_root_key(passphrase.expose(), &salt, params)
                .map_err(RootError::crypto("deriving the root key"))?;
            record.insert("salt".to_owned(), hex::encode(&salt));
            record.insert(
                "verifier".to_owned(),
                hex::encode(&passphrase_verifier(&key)),
            );
            record.insert("m".to_owned(), params.memory_kib.to_string());
            record.insert("t".to_owned(), params.iterations.to_string());
            record.insert("p".to_owned(), params.parallelism.to_string());
            Arc::new(
                SoftwareRootKey::new(&key, "passphrase")
                    .map_err(RootError::crypto("opening the passphrase root"))?,
            )
        }
        Provider::Pkcs11 => {
            let token = options
                .pkcs11_token
                .clone()
                .ok_or(RootError::Pkcs11Needs("--pkcs11-token LABEL"))?;
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
) -> Result<kinko_pkcs11::Pkcs11RootKey, RootError> {
    let module = options.pkcs11_module.clone().ok_or(RootError::Pkcs11Needs(
        "--pkcs11-module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so)",
    ))?;
    let pin = options.pkcs11_pin.as_ref().ok_or(RootError::Pkcs11Needs(
        "the token's user PIN in KINKO_PKCS11_PIN",
    ))?;
    let mut config = kinko_pkcs11::Pkcs11Config::new(module, token, pin.duplicate());
    key_label.clone_into(&mut config.key_label);
    kinko_pkcs11::Pkcs11RootKey::open(&config, create_if_missing).map_err(RootError::Pkcs11)
}

fn warn_if_file(root: &dyn RootKey) {
    if root.provider() == "file" {
        tracing::warn!(
            "root of trust: `file` provider. The root key sits in a file next to the data; this is for development, not production"
        );
    }
}

fn load_file_root(path: &Path) -> Result<SoftwareRootKey, RootError> {
    let bytes = SecretBytes::new(std::fs::read(path).map_err(FileError::at("reading", path))?);
    if bytes.len() != 32 {
        return Err(RootError::NotAKeyFile {
            path: path.to_owned(),
            len: bytes.len(),
        });
    }
    SoftwareRootKey::new(&bytes, "file").map_err(RootError::crypto("opening the file root"))
}

/// The migration target of `options`: reuses the recorded target of an interrupted migration,
/// or creates a new root and records it as `root.next`.
pub async fn open_or_create_next(
    data_dir: &Path,
    store: &dyn Store,
    provider: Provider,
    options: &RootOptions,
) -> Result<Arc<dyn RootKey>, RootError> {
    if let Some(next) = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
    {
        let record = Record::parse(&next)?;
        let unfinished = record.provider()?;
        if unfinished != provider {
            return Err(RootError::OtherMigrationUnfinished {
                unfinished,
                asked: provider,
            });
        }
        return open_recorded(data_dir, &record, options);
    }
    let (root, record) = create(data_dir, provider, options)?;
    store
        .put_setting(NEXT_ROOT_SETTING, &record.render())
        .await
        .map_err(RootError::store("recording the migration target"))?;
    Ok(root)
}

/// Opens the current root for a migration (the server must not be running on another root).
pub async fn open_current(
    data_dir: &Path,
    store: &dyn Store,
    options: &RootOptions,
) -> Result<Arc<dyn RootKey>, RootError> {
    finish_promotion(store).await?;
    let recorded = store
        .get_setting(ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
        .ok_or_else(|| RootError::NoInstallation(data_dir.to_owned()))?;
    let record = Record::parse(&recorded)?;
    let provider = record.provider()?;
    if let Some(asked) = options.provider
        && asked != provider
    {
        return Err(RootError::ProviderMismatch {
            recorded: provider,
            asked,
        });
    }
    open_recorded(data_dir, &record, options)
}

/// A migration killed between promoting `root.next` and clearing it left `root == root.next`:
/// it is finished; clear the marker.
pub async fn finish_promotion(store: &dyn Store) -> Result<(), RootError> {
    let next = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?;
    let current = store
        .get_setting(ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?;
    if next.is_some() && next == current {
        store
            .delete_setting(NEXT_ROOT_SETTING)
            .await
            .map_err(RootError::store("clearing the migration marker"))?;
    }
    Ok(())
}

/// Makes the migration target the installation's root (one setting write, then the marker goes;
/// [`finish_promotion`] completes a promotion interrupted between the two).
pub async fn promote_next(store: &dyn Store) -> Result<(), RootError> {
    let next = store
        .get_setting(NEXT_ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
        .ok_or(RootError::NoMigration)?;
    store
        .put_setting(ROOT_SETTING, &next)
        .await
        .map_err(RootError::store("recording the new root"))?;
    store
        .delete_setting(NEXT_ROOT_SETTING)
        .await
        .map_err(RootError::store("clearing the migration marker"))?;
    Ok(())
}

/// The provider recorded by the installation (for messages).
pub async fn recorded_provider(store: &dyn Store) -> Result<Option<Provider>, RootError> {
    match store
        .get_setting(ROOT_SETTING)
        .await
        .map_err(RootError::store("reading settings"))?
    {
        Some(r) => Ok(Some(Record::parse(&r)?.provider()?)),
        None => Ok(None),
    }
}
