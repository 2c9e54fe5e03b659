//! Settings of the installation and the job lock, on every backend.

use async_trait::async_trait;
use kinko_core::{JobLock, SettingsStore, StoreError};

use super::{Backend, Run, SqlStore, Stmt};
use crate::rows::Columns;

#[async_trait]
impl<B: Backend> SettingsStore for SqlStore<B> {
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let s = Stmt::new("SELECT value FROM settings WHERE name = $1").bind(name);
        self.0.read_one(s, |r| r.text("settings", "value")).await
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let s = Stmt::new(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value);
        self.0.execute(s).await.map(drop)
    }

    async fn delete_setting(&self, name: &str) -> Result<(), StoreError> {
        let s = Stmt::new("DELETE FROM settings WHERE name = $1").bind(name);
        self.0.execute(s).await.map(drop)
    }

    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError> {
        // On PostgreSQL a concurrent insert of the same name makes this wait for its commit and
        // then do nothing; the read that follows (a new statement at READ COMMITTED) sees the
        // winner.
        let s = Stmt::new(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value);
        self.0.execute(s).await?;
        match self.get_setting(name).await? {
            Some(stored) => Ok(stored),
            None => Err(StoreError::unavailable(format!(
                "setting {name} vanished after it was written"
            ))),
        }
    }

    async fn try_job_lock(&self) -> Result<Option<Box<dyn JobLock>>, StoreError> {
        self.0.try_job_lock().await
    }
}
