//! Operator commands that work on a data directory rather than through the API: moving to another
//! root of trust, backing up and restoring, and copying a store to another (SQLite → PostgreSQL).
//! Key material stays wrapped throughout.

use std::path::Path;

use anyhow::{Context, bail};
use kinko_core::{AccountStore, IdentityStore, RewrapReport, count_by_root, rewrap_all};
use kinko_store::SqliteStore;

use crate::root::{self, Provider, RootOptions};
use crate::{Config, DATABASE_FILE, is_postgres_url, open_store};

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
) -> anyhow::Result<RewrapReport> {
    let store = open_store(config).await?;
    let next = store
        .get_setting(root::NEXT_ROOT_SETTING)
        .await
        .context("reading settings")?;
    if next.is_some()
        && next
            == store
                .get_setting(root::ROOT_SETTING)
                .await
                .context("reading settings")?
    {
        // Killed after the promotion but before the marker was cleared: nothing is left to do.
        root::finish_promotion(&*store).await?;
        tracing::info!("the migration had already finished; cleared its marker");
        store.close().await;
        return Ok(RewrapReport::default());
    }
    let from = root::open_current(&config.data_dir, &*store, current).await?;
    if root::recorded_provider(&*store).await? == Some(to) && to != Provider::File {
        bail!(
            "this installation already uses the `{}` root of trust",
            to.as_str()
        );
    }
    let next = root::open_or_create_next(&config.data_dir, &*store, to, target).await?;
    if next.id() == from.id() {
        bail!("the target root is the current root ({})", from.id());
    }
    tracing::info!(from = %from.id(), to = %next.id(), "rewrapping key material under the new root");
    let report = rewrap_all(&*store, from.as_ref(), next.as_ref())
        .await
        .context("rewrapping")?;
    kinko_audit::rewrap_signing_key(&*store, from.as_ref(), next.as_ref()).await?;
    let counts = count_by_root(&*store)
        .await
        .context("counting rows by root")?;
    if let Some((stray, n)) = counts.iter().find(|(id, _)| **id != next.id()) {
        bail!("{n} wrapped secrets are still under root {stray}; rerun the migration");
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
) -> anyhow::Result<(kinko_core::AccountId, std::path::PathBuf)> {
    let store = open_store(config).await?;
    let key = root::open_current(&config.data_dir, &*store, root).await?;
    let kms = kinko_core::Kms::new(
        store.shared(),
        key,
        std::sync::Arc::new(kinko_core::SystemClock),
    );
    let created = kms.create_account().await.context("creating the account");
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
    let written = crate::write_credentials(&path, &created);
    store.close().await;
    written?;
    Ok((created.account.clone(), path))
}

/// Writes a consistent copy of the installation's database to `out` while the server may be
/// running. Key material in it stays wrapped: restoring needs the same root of trust.
pub async fn backup(config: &Config, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists; choose a new file for the backup", out.display());
    }
    if config.store.as_deref().is_some_and(is_postgres_url) {
        bail!(
            "`kinko backup` copies the embedded SQLite store; back up a PostgreSQL store with PostgreSQL's own tools (pg_dump, base backups)"
        );
    }
    if config.store.is_none() && !config.data_dir.join(DATABASE_FILE).exists() {
        bail!("{} holds no Kinko database", config.data_dir.display());
    }
    let store = open_store(config).await?;
    let Some(sqlite) = store.sqlite() else {
        bail!("`kinko backup` copies the embedded SQLite store only");
    };
    // The backup holds wrapped secrets: create it private, then let SQLite fill the empty file.
    root::write_private(out, b"")?;
    if let Err(e) = sqlite.backup_to(out).await {
        let _ = std::fs::remove_file(out);
        return Err(anyhow::Error::new(e).context("writing the backup"));
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
) -> anyhow::Result<()> {
    if config.store.is_some() {
        bail!("restore writes the embedded SQLite store; leave --store unset");
    }
    let final_path = config.data_dir.join(DATABASE_FILE);
    if final_path.exists() {
        bail!(
            "{} already holds a database; restore into an empty data directory",
            config.data_dir.display()
        );
    }
    if !backup_file.is_file() {
        bail!("{} is not a backup file", backup_file.display());
    }
    crate::create_private_dir(&config.data_dir)?;
    let staging = config.data_dir.join(format!("{DATABASE_FILE}.restoring"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
    }
    std::fs::copy(backup_file, &staging)
        .with_context(|| format!("copying {}", backup_file.display()))?;
    let checked = async {
        let store = SqliteStore::open(&staging)
            .await
            .context("opening the backup")?;
        let result = check_root(&config.data_dir, &store, options).await;
        store.close().await;
        result
    }
    .await;
    if let Err(e) = checked {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
        }
        return Err(e.context("restore refused"));
    }
    // Journal files left by an earlier database would continue a chain the backup does not hold.
    for journal in SqliteStore::journal_files(&final_path) {
        match std::fs::remove_file(&journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("removing {}", journal.display()))
                );
            }
        }
    }
    std::fs::rename(&staging, &final_path).context("moving the restored database into place")?;
    Ok(())
}

/// The root here must open under the backup's root record, and every access-key and STS session
/// secret in the backup must be wrapped under it.
async fn check_root(
    data_dir: &Path,
    store: &SqliteStore,
    options: &RootOptions,
) -> anyhow::Result<()> {
    let root = root::open_current(data_dir, store, options).await?;
    for key in store
        .list_access_keys()
        .await
        .context("reading access keys")?
    {
        if key.root_id != root.id() {
            bail!(
                "the backup's secrets are wrapped under root {}, not under {}",
                key.root_id,
                root.id()
            );
        }
    }
    for session in store
        .list_sessions()
        .await
        .context("reading STS sessions")?
    {
        if session.root_id != root.id() {
            bail!(
                "the backup's session secrets are wrapped under root {}, not under {}",
                session.root_id,
                root.id()
            );
        }
    }
    Ok(())
}

/// Copies every table of the stopped installation's store at `from` into the empty store at `to`
/// (`sqlite://PATH`, `postgres://...`), then checks row counts and audit chain heads; see
/// [`kinko_store::copy`]. The copy must be served with the same root of trust as the original.
pub async fn copy_store(from: &str, to: &str) -> anyhow::Result<kinko_store::copy::CopyReport> {
    kinko_store::copy::copy(from, to)
        .await
        .context("kinko store copy")
}
