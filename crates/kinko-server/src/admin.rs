//! Operator commands that work on a data directory rather than through the API: moving to another
//! root of trust, backing up and restoring, and copying a store to another (SQLite → PostgreSQL).
//! Key material stays wrapped throughout.

use std::path::{Path, PathBuf};

use kinko_audit::SigningKeyError;
use kinko_core::{
    AccountStore, IdentityStore, RewrapReport, StoreError, count_by_root, rewrap_all,
};
use kinko_store::SqliteStore;
use kinko_store::copy::CopyError;

use crate::files::{CredentialsError, FileError, write_private};
use crate::root::{self, Provider, RootError, RootOptions};
use crate::{Config, DATABASE_FILE, StoreOpenError, is_postgres_url, open_store};

/// Why an operator command (root migration, account creation, backup, restore, store copy)
/// failed or refused. Refusals say what to do instead; nothing here holds key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The installation's store could not be opened.
    #[error(transparent)]
    Open(#[from] StoreOpenError),
    /// The store failed; `what` names the step.
    #[error("{what}")]
    Store {
        /// The step, such as `reading settings`.
        what: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The service failed; `what` names the step (`rewrapping`, `creating the account`, ...).
    #[error("{what}")]
    Core {
        /// The step.
        what: &'static str,
        /// The service's error.
        #[source]
        source: kinko_core::Error,
    },
    /// A root of trust could not be opened or created.
    #[error(transparent)]
    Root(#[from] RootError),
    /// The audit signing key could not be rewrapped.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// A file could not be created, copied, moved or removed.
    #[error(transparent)]
    File(#[from] FileError),
    /// The new account's credentials file could not be written.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// `kinko root migrate --to X` where X is the installation's provider already.
    #[error("this installation already uses the `{0}` root of trust")]
    AlreadyUses(&'static str),
    /// The migration target opened as the current root.
    #[error("the target root is the current root ({0})")]
    SameRoot(String),
    /// Rows are left under another root after the rewrap pass.
    #[error("{count} wrapped secrets are still under root {root_id}; rerun the migration")]
    Stray {
        /// The root they are under.
        root_id: String,
        /// How many.
        count: usize,
    },
    /// The backup file exists.
    #[error("{} exists; choose a new file for the backup", .0.display())]
    BackupExists(PathBuf),
    /// `kinko backup` on a PostgreSQL store.
    #[error(
        "`kinko backup` copies the embedded SQLite store; back up a PostgreSQL store with PostgreSQL's own tools (pg_dump, base backups)"
    )]
    BackupPostgres,
    /// `kinko backup` on another backend than the embedded SQLite store.
    #[error("`kinko backup` copies the embedded SQLite store only")]
    BackupNotSqlite,
    /// SQLite's online backup failed (the partial file is removed).
    #[error("writing the backup")]
    Backup(#[source] StoreError),
    /// `kinko restore --store ...`.
    #[error("restore writes the embedded SQLite store; leave --store unset")]
    RestoreStoreSet,
    /// The data directory holds a database already.
    #[error("{} already holds a database; restore into an empty data directory", .0.display())]
    RestoreNotEmpty(PathBuf),
    /// The backup file is not a file.
    #[error("{} is not a backup file", .0.display())]
    NotABackup(PathBuf),
    /// The backup's secrets are wrapped under another root than the one at hand.
    #[error("the backup's {what} are wrapped under root {theirs}, not under {ours}")]
    OtherRoot {
        /// `secrets` or `session secrets`.
        what: &'static str,
        /// The root the backup's rows are under.
        theirs: String,
        /// The root at hand.
        ours: String,
    },
    /// The backup did not pass the checks; nothing was restored.
    #[error("restore refused")]
    RestoreRefused(#[source] Box<AdminError>),
    /// `kinko store copy` failed or refused.
    #[error("kinko store copy")]
    Copy(#[source] CopyError),
}

impl AdminError {
    fn store(what: &'static str) -> impl FnOnce(StoreError) -> AdminError {
        move |source| AdminError::Store { what, source }
    }

    fn core(what: &'static str) -> impl FnOnce(kinko_core::Error) -> AdminError {
        move |source| AdminError::Core { what, source }
    }
}

/// Rewraps every key version and access-key secret from the installation's current root to a
/// new root of `to`. Safe to interrupt at any point (even SIGKILL): rerun it with the same
/// target and it finishes the job; until then the server refuses to start.
///
/// `current` opens the current root (passphrase, PIN); `target` describes the new one.
pub async fn migrate_root(
    config: &Config,
    current: &RootOptions,
    to: Provider,
    target: &RootOptions,
) -> Result<RewrapReport, AdminError> {
    let store = open_store(config).await?;
    let next = store
        .get_setting(root::NEXT_ROOT_SETTING)
        .await
        .map_err(AdminError::store("reading settings"))?;
    if next.is_some()
        && next
            == store
                .get_setting(root::ROOT_SETTING)
                .await
                .map_err(AdminError::store("reading settings"))?
    {
        // Killed after the promotion but before the marker was cleared: nothing is left to do.
        root::finish_promotion(&*store).await?;
        tracing::info!("the migration had already finished; cleared its marker");
        store.close().await;
        return Ok(RewrapReport::default());
    }
    let from = root::open_current(&config.data_dir, &*store, current).await?;
    if root::recorded_provider(&*store).await? == Some(to) && to != Provider::File {
        return Err(AdminError::AlreadyUses(to.as_str()));
    }
    let next = root::open_or_create_next(&config.data_dir, &*store, to, target).await?;
    if next.id() == from.id() {
        return Err(AdminError::SameRoot(from.id()));
    }
    tracing::info!(from = %from.id(), to = %next.id(), "rewrapping key material under the new root");
    let report = rewrap_all(&*store, from.as_ref(), next.as_ref())
        .await
        .map_err(AdminError::core("rewrapping"))?;
    kinko_audit::rewrap_signing_key(&*store, from.as_ref(), next.as_ref()).await?;
    let counts = count_by_root(&*store)
        .await
        .map_err(AdminError::core("counting rows by root"))?;
    if let Some((stray, n)) = counts.iter().find(|(id, _)| **id != next.id()) {
        return Err(AdminError::Stray {
            root_id: stray.clone(),
            count: *n,
        });
    }
    root::promote_next(&*store).await?;
    store.close().await;
    Ok(report)
}

/// Creates a new account with its administrator (root) access key, on an installation that
/// exists (started at least once), and writes the key to `out` (default
/// `<data-dir>/credentials-<account>`) as an AWS shared-credentials file (profile `default`,
/// mode 0600). Returns the account and the file. Works while the server runs.
pub async fn create_account(
    config: &Config,
    root: &RootOptions,
    out: Option<&Path>,
) -> Result<(kinko_core::AccountId, PathBuf), AdminError> {
    let store = open_store(config).await?;
    let key = root::open_current(&config.data_dir, &*store, root).await?;
    let kms = kinko_core::Kms::new(
        store.shared(),
        key,
        std::sync::Arc::new(kinko_core::SystemClock),
    );
    let created = kms
        .create_account()
        .await
        .map_err(AdminError::core("creating the account"));
    let created = match created {
        Ok(c) => c,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let path = out.map_or_else(
        || {
            config
                .data_dir
                .join(format!("credentials-{}", created.account))
        },
        Path::to_path_buf,
    );
    let written = crate::files::write_credentials(&path, &created);
    store.close().await;
    written?;
    Ok((created.account.clone(), path))
}

/// Writes a consistent copy of the installation's database to `out` while the server may be
/// running. Key material in it stays wrapped: restoring needs the same root of trust.
pub async fn backup(config: &Config, out: &Path) -> Result<(), AdminError> {
    if out.exists() {
        return Err(AdminError::BackupExists(out.to_owned()));
    }
    if config.store.as_deref().is_some_and(is_postgres_url) {
        return Err(AdminError::BackupPostgres);
    }
    if config.store.is_none() && !config.data_dir.join(DATABASE_FILE).exists() {
        return Err(StoreOpenError::NoDatabase(config.data_dir.clone()).into());
    }
    let store = open_store(config).await?;
    let Some(sqlite) = store.sqlite() else {
        return Err(AdminError::BackupNotSqlite);
    };
    // The backup holds wrapped secrets: create it private, then let SQLite fill the empty file.
    write_private(out, b"")?;
    if let Err(e) = sqlite.backup_to(out).await {
        let _ = std::fs::remove_file(out);
        return Err(AdminError::Backup(e));
    }
    store.close().await;
    Ok(())
}

/// Restores a backup into an empty data directory, after checking that the root of trust
/// available here is the one the backup's key material is wrapped under.
pub async fn restore(
    backup_file: &Path,
    config: &Config,
    options: &RootOptions,
) -> Result<(), AdminError> {
    if config.store.is_some() {
        return Err(AdminError::RestoreStoreSet);
    }
    let final_path = config.data_dir.join(DATABASE_FILE);
    if final_path.exists() {
        return Err(AdminError::RestoreNotEmpty(config.data_dir.clone()));
    }
    if !backup_file.is_file() {
        return Err(AdminError::NotABackup(backup_file.to_owned()));
    }
    crate::files::create_private_dir(&config.data_dir)?;
    let staging = config.data_dir.join(format!("{DATABASE_FILE}.restoring"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
    }
    std::fs::copy(backup_file, &staging).map_err(FileError::at("copying", backup_file))?;
    let checked = async {
        let store = SqliteStore::open(&staging)
            .await
            .map_err(AdminError::store("opening the backup"))?;
        let result = check_root(&config.data_dir, &store, options).await;
        store.close().await;
        result
    }
    .await;
    if let Err(e) = checked {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
        }
        return Err(AdminError::RestoreRefused(Box::new(e)));
    }
    // Journal files left by an earlier database would continue a chain the backup does not hold.
    for journal in SqliteStore::journal_files(&final_path) {
        match std::fs::remove_file(&journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FileError::at("removing", &journal)(e).into()),
        }
    }
    std::fs::rename(&staging, &final_path).map_err(FileError::at(
        "moving the restored database into place at",
        &final_path,
    ))?;
    Ok(())
}

/// The root here must open under the backup's root record, and every access-key and STS session
/// secret in the backup must be wrapped under it.
async fn check_root(
    data_dir: &Path,
    store: &SqliteStore,
    options: &RootOptions,
) -> Result<(), AdminError> {
    let root = root::open_current(data_dir, store, options).await?;
    for key in store
        .list_access_keys()
        .await
        .map_err(AdminError::store("reading access keys"))?
    {
        if key.root_id != root.id() {
            return Err(AdminError::OtherRoot {
                what: "secrets",
                theirs: key.root_id,
                ours: root.id(),
            });
        }
    }
    for session in store
        .list_sessions()
        .await
        .map_err(AdminError::store("reading STS sessions"))?
    {
        if session.root_id != root.id() {
            return Err(AdminError::OtherRoot {
                what: "session secrets",
                theirs: session.root_id,
                ours: root.id(),
            });
        }
    }
    Ok(())
}

/// Copies every table of the stopped installation's store at `from` into the empty store at `to`
/// (`sqlite://PATH`, `postgres://...`), then checks row counts and audit chain heads; see
/// [`kinko_store::copy`]. The copy must be served with the same root of trust as the original.
pub async fn copy_store(from: &str, to: &str) -> Result<kinko_store::copy::CopyReport, AdminError> {
    kinko_store::copy::copy(from, to)
        .await
        .map_err(AdminError::Copy)
}
