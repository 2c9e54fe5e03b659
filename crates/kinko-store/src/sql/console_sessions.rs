//! The web console's sessions (schema step 17), on every backend: one row per session, keyed by
//! the SHA-256 of its id; no id and no CSRF token are stored.

use async_trait::async_trait;
use kinko_core::{ConsoleSessionRecord, ConsoleSessionStore, StoreError};

use super::{Backend, Run, SqlStore, Stmt};
use crate::rows::Columns;

const TABLE: &str = "console_sessions";

fn record(r: &impl Columns) -> Result<ConsoleSessionRecord, StoreError> {
    Ok(ConsoleSessionRecord {
        id_hash: r.text(TABLE, "id_hash")?,
        account_id: r.text(TABLE, "account_id")?,
        region: r.text(TABLE, "region")?,
        principal_arn: r.text(TABLE, "principal_arn")?,
        access_key_id: r.text(TABLE, "access_key_id")?,
        csrf_hash: r.text(TABLE, "csrf_hash")?,
        created_ms: r.int(TABLE, "created_at")?,
        idle_expires_ms: r.int(TABLE, "idle_expires_at")?,
        absolute_expires_ms: r.int(TABLE, "absolute_expires_at")?,
        credentials_expire_ms: r.opt_int(TABLE, "credentials_expire_at")?,
    })
}

#[async_trait]
impl<B: Backend> ConsoleSessionStore for SqlStore<B> {
    async fn put_console_session(&self, s: &ConsoleSessionRecord) -> Result<(), StoreError> {
        let stmt = Stmt::new(
            "INSERT INTO console_sessions (id_hash, account_id, region, principal_arn, \
             access_key_id, csrf_hash, created_at, idle_expires_at, absolute_expires_at, \
             credentials_expire_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&s.id_hash)
        .bind(&s.account_id)
        .bind(&s.region)
        .bind(&s.principal_arn)
        .bind(&s.access_key_id)
        .bind(&s.csrf_hash)
        .bind(s.created_ms)
        .bind(s.idle_expires_ms)
        .bind(s.absolute_expires_ms)
        .bind(s.credentials_expire_ms);
        self.0.insert(stmt, "console session").await
    }

    async fn get_console_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        let s = Stmt::new(
            "SELECT id_hash, account_id, region, principal_arn, access_key_id, csrf_hash, \
             created_at, idle_expires_at, absolute_expires_at, credentials_expire_at \
             FROM console_sessions WHERE id_hash = $1",
        )
        .bind(id_hash);
        self.0.read_one(s, record).await
    }

    async fn touch_console_session(
        &self,
        id_hash: &str,
        idle_expires_ms: i64,
    ) -> Result<(), StoreError> {
        let s = Stmt::new(
            "UPDATE console_sessions SET idle_expires_at = \
             CASE WHEN $2 < absolute_expires_at THEN $2 ELSE absolute_expires_at END \
             WHERE id_hash = $1 AND idle_expires_at < $2",
        )
        .bind(id_hash)
        .bind(idle_expires_ms);
        self.0.execute(s).await.map(drop)
    }

    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let s = Stmt::new("DELETE FROM console_sessions WHERE id_hash = $1").bind(id_hash);
        self.0.execute(s).await.map(drop)
    }

    async fn delete_expired_console_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        let s = Stmt::new(
            "DELETE FROM console_sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
        )
        .bind(now_ms);
        self.0.execute(s).await
    }
}
