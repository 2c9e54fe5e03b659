//! The web console's sessions as the store keeps them (schema step 17), so that a session
//! survives a restart and is honoured by every node of a shared store. The store never sees a
//! session id or a CSRF token: only their SHA-256.

use async_trait::async_trait;

use crate::StoreError;

/// One console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    /// SHA-256 of the session id (the cookie's value), hex.
    pub id_hash: String,
    /// The signed-in principal's account.
    pub account_id: String,
    /// The region its calls are made in.
    pub region: String,
    /// The signed-in principal's ARN.
    pub principal_arn: String,
    /// The access key id it signed in with (the audit's `accessKeyId`; not secret).
    pub access_key_id: String,
    /// SHA-256 of the session's CSRF token, hex.
    pub csrf_hash: String,
    /// Sign-in time, Unix milliseconds.
    pub created_ms: i64,
    /// When the session ends unless used before, Unix milliseconds.
    pub idle_expires_ms: i64,
    /// When the session ends however active (sign-in plus the absolute limit, or a role
    /// session's credential expiry if sooner), Unix milliseconds.
    pub absolute_expires_ms: i64,
    /// A role session's credential expiry; `None` for a long-term access key.
    pub credentials_expire_ms: Option<i64>,
}

/// Console sessions.
#[async_trait]
pub trait ConsoleSessionStore: Send + Sync + std::fmt::Debug {
    /// Stores a new session.
    async fn put_console_session(&self, session: &ConsoleSessionRecord) -> Result<(), StoreError>;
    /// The session whose id hashes to `id_hash`.
    async fn get_console_session(
        &self,
        id_hash: &str,
    ) -> Result<Option<ConsoleSessionRecord>, StoreError>;
    /// Moves a session's idle expiry (never past its absolute expiry).
    async fn touch_console_session(
        &self,
        id_hash: &str,
        idle_expires_ms: i64,
    ) -> Result<(), StoreError>;
    /// Removes a session; missing is fine.
    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Removes every session ended at `now_ms` (idle or absolute expiry passed); returns how many.
    async fn delete_expired_console_sessions(&self, now_ms: i64) -> Result<u64, StoreError>;
}
