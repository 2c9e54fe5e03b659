//! The backends the contract suite runs on. Each [`fresh`] call yields one empty database per
//! backend; a test owns it and it disappears with the test.
//!
//! SQLite always runs. A PostgreSQL arm (gated on `KINKO_TEST_POSTGRES_URL`, one fresh database
//! per test) belongs here when that backend lands; no scenario changes.

use std::path::PathBuf;
use std::sync::Arc;

use kinko_core::Store;
use kinko_store::SqliteStore;
use tempfile::TempDir;

/// One empty database of one backend.
#[derive(Debug)]
pub enum Backend {
    /// `kinko.db` in its own temporary directory.
    Sqlite(TempDir),
}

/// A fresh, empty database of every backend.
pub fn fresh() -> Vec<Backend> {
    vec![Backend::Sqlite(
        tempfile::tempdir().expect("create a temporary directory"),
    )]
}

/// An open store and what it takes to close it cleanly.
#[derive(Debug)]
pub struct Opened {
    /// The store, as the core sees it.
    pub store: Arc<dyn Store>,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Sqlite(SqliteStore),
}

impl Backend {
    /// A short name for failure output.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Opens (the first time: creates and migrates) this backend's database.
    pub async fn open(&self) -> Opened {
        match self {
            Backend::Sqlite(dir) => {
                let store = SqliteStore::open(&dir.path().join("kinko.db"))
                    .await
                    .expect("open the SQLite store");
                Opened {
                    store: Arc::new(store.clone()),
                    handle: Handle::Sqlite(store),
                }
            }
        }
    }

    /// Every file in which the backend keeps data (for SQLite: `kinko.db`, `kinko.db-wal`,
    /// `kinko.db-shm` and anything else it put in its directory).
    pub fn raw_files(&self) -> Vec<PathBuf> {
        match self {
            Backend::Sqlite(dir) => std::fs::read_dir(dir.path())
                .expect("list the database directory")
                .map(|entry| entry.expect("read a directory entry").path())
                .filter(|p| p.is_file())
                .collect(),
        }
    }
}

impl Opened {
    /// Closes the store: every acknowledged write must be on disk afterwards.
    pub async fn close(self) {
        drop(self.store);
        match self.handle {
            Handle::Sqlite(store) => store.close().await,
        }
    }
}
