//! The SQLite backend: one database file in the data directory, WAL journal, `synchronous=FULL`
//! so that an acknowledged write survives a power cut.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use kinko_core::{
    AccessKey, AccessKeyId, Account, AccountId, Alias, AliasName, AuditAppend, AuditCursor,
    AuditDigest, AuditDraft, AuditEvent, AuditFilter, ChainHead, Grant, ImportParameters, Key,
    KeyId, KeyLastUsage, Material, MaterialId, Region, Store, StoreError, Tag, UnixMillis,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::{migrate, rows};
use std::collections::HashMap;
use std::sync::Arc;

use crate::sqlite_audit::{self, Head, append_in_tx};
use crate::sqlite_journal::Journal;

/// [`Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Audit chain heads as last committed by this store. Every audit append holds this async
    /// lock from before its write transaction begins until its head is recorded here, so the
    /// cache is never stale and appends need not read the head back from SQLite. (SQLite
    /// serializes writers anyway; this is the one lock Kinko holds across an `.await`.)
    heads: Arc<tokio::sync::Mutex<HashMap<String, Head>>>,
    /// Where the group-commit writer's batches become durable (see `sqlite_journal`); `None` for
    /// an in-memory database and while another process owns the journal.
    journal: Option<Arc<Journal>>,
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn write_error(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => unavailable(e),
    }
}

/// An audited write transaction of the identity tables (see `identity_sql.rs`).
pub(crate) struct IdTx<'a> {
    heads: tokio::sync::MutexGuard<'a, HashMap<String, Head>>,
    tx: Transaction<'static, Sqlite>,
}

impl IdTx<'_> {
    fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

crate::identity_sql::identity_impl!(SqliteStore);

impl SqliteStore {
    async fn id_begin(&self) -> Result<IdTx<'_>, StoreError> {
        let (heads, tx) = self.begin_audited().await?;
        Ok(IdTx { heads, tx })
    }

    async fn id_finish(&self, t: IdTx<'_>, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        self.finish_audited(t.heads, t.tx, audit).await
    }

    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options).await?.with_journal(path).await
    }

    /// Opens the database named by a `sqlite://` URL.
    pub async fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(unavailable)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename().to_path_buf();
        let store = Self::connect(options).await?;
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(store);
        }
        store.with_journal(&file).await
    }

    /// Opens the audit journal of the database at `path`, applying what it holds that the
    /// database does not (after a crash).
    async fn with_journal(mut self, path: &Path) -> Result<SqliteStore, StoreError> {
        self.journal = Journal::open(path, &self.pool).await?.map(Arc::new);
        Ok(self)
    }

    /// The audit journal's files beside the database at `db` (see `sqlite_journal`): a restore
    /// that puts another database in place removes them.
    pub fn journal_files(db: &Path) -> [std::path::PathBuf; 2] {
        crate::sqlite_journal::journal_paths(db)
    }

    /// Writes the journal's pending batches to the database.
    async fn fold(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(journal) => journal.fold(&self.pool).await,
            None => Ok(()),
        }
    }

    async fn connect(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        // Migrate through a pool of one connection that is closed afterwards: connections that
        // prepared statements against the old schema must never serve queries on the new one
        // (a cached `SELECT *` would read the old column count).
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        SqliteStore {
            pool: migrator.clone(),
            heads: Arc::default(),
            journal: None,
        }
        .migrate()
        .await?;
        migrator.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(2)
            // An embedded file cannot drop a connection the way a network can: skip the ping
            // that would cost every transaction a round trip to SQLite's worker thread.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        Ok(SqliteStore {
            pool,
            heads: Arc::default(),
            journal: None,
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(unavailable)?;
        migrate::run::<Sqlite>(&mut conn, migrate::SQLITE).await
    }

    /// Writes a consistent copy of the whole database to `path` (SQLite's `VACUUM INTO`), while
    /// other connections, including a running server's, keep reading and writing.
    pub async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Unavailable("backup path is not UTF-8".into()))?;
        self.fold().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Takes the audit-head lock, folds the journal (so the change's event follows every event
    /// before it in the database), then takes SQLite's write lock: the order every audited write
    /// uses.
    async fn begin_audited(
        &self,
    ) -> Result<
        (
            tokio::sync::MutexGuard<'_, HashMap<String, Head>>,
            Transaction<'static, Sqlite>,
        ),
        StoreError,
    > {
        let heads = self.heads.lock().await;
        self.fold().await?;
        let tx = self.write_tx().await?;
        Ok((heads, tx))
    }

    /// Appends the change's event, commits, and records the chain's new head.
    async fn finish_audited(
        &self,
        mut heads: tokio::sync::MutexGuard<'_, HashMap<String, Head>>,
        mut tx: Transaction<'static, Sqlite>,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let cached = heads.get(audit.chain).copied();
        let (_, head) = append_in_tx(
            &mut tx,
            audit.chain,
            std::slice::from_ref(audit.draft),
            cached,
        )
        .await?;
        match tx.commit().await {
            Ok(()) => {
                heads.insert(audit.chain.to_owned(), head);
                Ok(())
            }
            Err(e) => {
                heads.remove(audit.chain);
                Err(unavailable(e))
            }
        }
    }

    /// A write transaction that takes SQLite's write lock up front, so that reading the audit
    /// chain head and appending to it cannot race another writer.
    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)
    }

    /// Folds and retires the audit journal, then closes the pool (flushing the WAL on the last
    /// connection). A journal that cannot be folded stays on disk for the next open.
    pub async fn close(&self) {
        if let Some(journal) = &self.journal
            && journal.fold(&self.pool).await.is_ok()
        {
            journal.retire();
        }
        self.pool.close().await;
    }
}

/// Inserts a material row.
async fn insert_material(
    tx: &mut Transaction<'static, Sqlite>,
    material: &Material,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO key_materials (key_id, material_id, wrapped, created_at, root_id, rotation_type, \
         description, valid_to, expiration_model, pending_rotation, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(material.key_id.to_string())
    .bind(material.id.to_string())
    .bind(&material.wrapped)
    .bind(material.created_at.0)
    .bind(&material.root_id)
    .bind(material.rotation_type.map(|r| r.as_str()))
    .bind(&material.description)
    .bind(material.valid_to.map(|v| v.0))
    .bind(material.expiration_model.map(|e| e.as_str()))
    .bind(material.pending_rotation)
    .bind(material.fingerprint.as_deref())
    .execute(&mut **tx)
    .await
    .map_err(|e| write_error(e, "key material"))?;
    Ok(())
}

/// Writes a key's mutable fields if its stored version is `key.version - 1`.
async fn write_key(tx: &mut Transaction<'static, Sqlite>, key: &Key) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE keys SET description = $1, state = $2, deletion_date = $3, pending_window_days = $4, \
         current_material = $5, policy = $6, version = $7, rotation_period_days = $8, \
         next_rotation = $9, on_demand_rotations = $10, valid_to = $11, expiration_model = $12 \
         WHERE id = $13 AND version = $14",
    )
    .bind(&key.description)
    .bind(key.state.as_str())
    .bind(key.deletion_date.map(|d| d.0))
    .bind(key.pending_window_days.map(i64::from))
    .bind(key.current_material.to_string())
    .bind(&key.policy)
    .bind(key.version)
    .bind(key.rotation_period_days.map(i64::from))
    .bind(key.next_rotation.map(|d| d.0))
    .bind(i64::from(key.on_demand_rotations))
    .bind(key.valid_to.map(|d| d.0))
    .bind(key.expiration_model.map(|e| e.as_str()))
    .bind(key.id().to_string())
    .bind(key.version - 1)
    .execute(&mut **tx)
    .await
    .map_err(unavailable)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict("key version"));
    }
    Ok(())
}

async fn insert_tags(
    tx: &mut Transaction<'_, Sqlite>,
    key: &KeyId,
    tags: &[Tag],
) -> Result<(), StoreError> {
    for t in tags {
        sqlx::query(
            "INSERT INTO tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        )
        .bind(key.to_string())
        .bind(&t.key)
        .bind(&t.value)
        .execute(&mut **tx)
        .await
        .map_err(|e| write_error(e, "tag"))?;
    }
    Ok(())
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for SqliteStore {
    // ----- identity: the shared SQL in `identity_sql.rs` ------------------------------------

    async fn create_iam_user(
        &self,
        user: &kinko_core::IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        self.id_create_user(user, audit).await
    }

    async fn get_iam_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<kinko_core::IamUser>, StoreError> {
        self.id_get_user(account, name).await
    }

    async fn list_iam_users(
        &self,
        account: &AccountId,
    ) -> Result<Vec<kinko_core::IamUser>, StoreError> {
        self.id_list_users(account).await
    }

    async fn update_iam_user(
        &self,
        user: &kinko_core::IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_update_user(user, audit).await
    }

    async fn delete_iam_user(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_delete_user(account, name, audit).await
    }

    async fn create_iam_role(
        &self,
        role: &kinko_core::IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        self.id_create_role(role, audit).await
    }

    async fn get_iam_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<kinko_core::IamRole>, StoreError> {
        self.id_get_role(account, name).await
    }

    async fn list_iam_roles(
        &self,
        account: &AccountId,
    ) -> Result<Vec<kinko_core::IamRole>, StoreError> {
        self.id_list_roles(account).await
    }

    async fn update_iam_role(
        &self,
        role: &kinko_core::IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_update_role(role, audit).await
    }

    async fn delete_iam_role(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_delete_role(account, name, audit).await
    }

    async fn put_inline_policy(
        &self,
        policy: &kinko_core::InlinePolicy,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        self.id_put_policy(policy, audit).await
    }

    async fn get_inline_policy(
        &self,
        account: &AccountId,
        owner: &kinko_core::PolicyOwner,
        name: &str,
    ) -> Result<Option<kinko_core::InlinePolicy>, StoreError> {
        self.id_get_policy(account, owner, name).await
    }

    async fn list_inline_policies(
        &self,
        account: &AccountId,
        owner: &kinko_core::PolicyOwner,
    ) -> Result<Vec<kinko_core::InlinePolicy>, StoreError> {
        self.id_list_policies(account, owner).await
    }

    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &kinko_core::PolicyOwner,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_delete_policy(account, owner, name, audit).await
    }

    async fn create_access_key_audited(
        &self,
        key: &AccessKey,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        self.id_create_access_key(key, audit).await
    }

    async fn list_principal_access_keys(
        &self,
        principal_arn: &str,
    ) -> Result<Vec<AccessKey>, StoreError> {
        self.id_list_principal_keys(principal_arn).await
    }

    async fn set_access_key_active(
        &self,
        id: &AccessKeyId,
        active: bool,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_set_key_active(id, active, audit).await
    }

    async fn delete_access_key(
        &self,
        id: &AccessKeyId,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        self.id_delete_access_key(id, audit).await
    }

    async fn create_session(
        &self,
        session: &kinko_core::Session,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        self.id_create_session(session, audit).await
    }

    async fn get_session(
        &self,
        id: &AccessKeyId,
    ) -> Result<Option<kinko_core::Session>, StoreError> {
        self.id_get_session(id).await
    }

    async fn list_sessions(&self) -> Result<Vec<kinko_core::Session>, StoreError> {
        self.id_list_sessions().await
    }

    async fn rewrap_session(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        self.id_rewrap_session(id, old_root_id, wrapped, root_id)
            .await
    }

    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.id_delete_expired_sessions(now).await
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO accounts (id, created_at) VALUES ($1, $2)")
            .bind(account.id.as_str())
            .bind(account.created_at.0)
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "account"))?;
        Ok(())
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT id, created_at FROM accounts ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::account).collect()
    }

    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_keys (id, account, principal_arn, wrapped_secret, active, created_at, root_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key.id.as_str())
        .bind(key.account.as_str())
        .bind(&key.principal_arn)
        .bind(&key.wrapped_secret)
        .bind(key.active)
        .bind(key.created_at.0)
        .bind(&key.root_id)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, "access key"))?;
        Ok(())
    }

    async fn get_access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError> {
        let row = sqlx::query("SELECT * FROM access_keys WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(rows::access_key).transpose()
    }

    async fn create_key(
        &self,
        key: &Key,
        material: &Material,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        sqlx::query(
            "INSERT INTO keys (id, account, region, created_at, description, spec, usage, origin, state, \
             deletion_date, pending_window_days, current_material, policy, version, \
             rotation_period_days, next_rotation, on_demand_rotations, valid_to, expiration_model) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(key.id().to_string())
        .bind(key.arn.account.as_str())
        .bind(key.arn.region.as_str())
        .bind(key.created_at.0)
        .bind(&key.description)
        .bind(key.spec.as_str())
        .bind(key.usage.as_str())
        .bind(key.origin.as_str())
        .bind(key.state.as_str())
        .bind(key.deletion_date.map(|d| d.0))
        .bind(key.pending_window_days.map(i64::from))
        .bind(key.current_material.to_string())
        .bind(&key.policy)
        .bind(key.version)
        .bind(key.rotation_period_days.map(i64::from))
        .bind(key.next_rotation.map(|d| d.0))
        .bind(i64::from(key.on_demand_rotations))
        .bind(key.valid_to.map(|d| d.0))
        .bind(key.expiration_model.map(|e| e.as_str()))
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(e, "key"))?;
        insert_material(&mut tx, material).await?;
        insert_tags(&mut tx, &key.id(), tags).await?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn get_key(
        &self,
        account: &AccountId,
        region: &Region,
        id: &KeyId,
    ) -> Result<Option<Key>, StoreError> {
        let row = sqlx::query("SELECT * FROM keys WHERE id = $1 AND account = $2 AND region = $3")
            .bind(id.to_string())
            .bind(account.as_str())
            .bind(region.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(rows::key).transpose()
    }

    async fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        let rows = sqlx::query("SELECT * FROM keys WHERE account = $1 AND region = $2 AND id > $3 ORDER BY id LIMIT $4")
            .bind(account.as_str())
            .bind(region.as_str())
            .bind(after.map(|k| k.to_string()).unwrap_or_default())
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::key).collect()
    }

    async fn update_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        write_key(&mut tx, key).await?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn add_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        insert_material(&mut tx, material).await?;
        write_key(&mut tx, key).await?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn put_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        let done = sqlx::query(
            "UPDATE key_materials SET wrapped = $1, root_id = $2, created_at = $3, description = $4, \
             valid_to = $5, expiration_model = $6, pending_rotation = $7, rotation_type = $8, \
             fingerprint = $9 WHERE key_id = $10 AND material_id = $11",
        )
        .bind(&material.wrapped)
        .bind(&material.root_id)
        .bind(material.created_at.0)
        .bind(&material.description)
        .bind(material.valid_to.map(|v| v.0))
        .bind(material.expiration_model.map(|e| e.as_str()))
        .bind(material.pending_rotation)
        .bind(material.rotation_type.map(|r| r.as_str()))
        .bind(material.fingerprint.as_deref())
        .bind(material.key_id.to_string())
        .bind(material.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("key material"));
        }
        write_key(&mut tx, key).await?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn delete_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        let id = key.id().to_string();
        let still = sqlx::query(
            "SELECT 1 FROM keys WHERE id = $1 AND version = $2 AND state = 'PendingDeletion'",
        )
        .bind(&id)
        .bind(key.version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        if still.is_none() {
            return Err(StoreError::Conflict("key version"));
        }
        for statement in [
            "DELETE FROM aliases WHERE target = $1",
            "DELETE FROM tags WHERE key_id = $1",
            "DELETE FROM grants WHERE key_id = $1",
            "DELETE FROM import_parameters WHERE key_id = $1",
            "DELETE FROM key_materials WHERE key_id = $1",
            "DELETE FROM keys WHERE id = $1",
        ] {
            sqlx::query(statement)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        self.finish_audited(heads, tx, audit).await
    }

    async fn keys_due(&self, now: UnixMillis, limit: usize) -> Result<Vec<Key>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM keys WHERE (state = 'PendingDeletion' AND deletion_date <= $1) \
             OR (state = 'Enabled' AND next_rotation <= $1) \
             OR (state IN ('Enabled', 'Disabled') AND valid_to <= $1) \
             ORDER BY id LIMIT $2",
        )
        .bind(now.0)
        .bind(limit_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(rows::key).collect()
    }

    async fn put_import_parameters(&self, params: &ImportParameters) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO import_parameters (token_id, key_id, wrapping_algorithm, wrapping_key_spec, \
             wrapped_private_key, root_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&params.token_id)
        .bind(params.key_id.to_string())
        .bind(&params.wrapping_algorithm)
        .bind(&params.wrapping_key_spec)
        .bind(&params.wrapped_private_key)
        .bind(&params.root_id)
        .bind(params.created_at.0)
        .bind(params.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, "import parameters"))?;
        Ok(())
    }

    async fn get_import_parameters(
        &self,
        token_id: &str,
    ) -> Result<Option<ImportParameters>, StoreError> {
        let row = sqlx::query("SELECT * FROM import_parameters WHERE token_id = $1")
            .bind(token_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(rows::import_parameters).transpose()
    }

    async fn get_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
    ) -> Result<Option<Material>, StoreError> {
        let row = sqlx::query("SELECT * FROM key_materials WHERE key_id = $1 AND material_id = $2")
            .bind(key.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(rows::material).transpose()
    }

    async fn create_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        sqlx::query(
            "INSERT INTO aliases (account, region, name, target, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str())
        .bind(alias.target.to_string())
        .bind(alias.created_at.0)
        .bind(alias.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(e, "alias"))?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM aliases WHERE account = $1 AND region = $2 AND name = $3")
                .bind(account.as_str())
                .bind(region.as_str())
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        row.as_ref().map(rows::alias).transpose()
    }

    async fn update_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        let done = sqlx::query(
            "UPDATE aliases SET target = $1, updated_at = $2 WHERE account = $3 AND region = $4 AND name = $5",
        )
        .bind(alias.target.to_string())
        .bind(alias.updated_at.0)
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("alias"));
        }
        self.finish_audited(heads, tx, audit).await
    }

    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        let done =
            sqlx::query("DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3")
                .bind(account.as_str())
                .bind(region.as_str())
                .bind(name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.finish_audited(heads, tx, audit).await?;
        Ok(true)
    }

    async fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM aliases WHERE account = $1 AND region = $2 AND ($3 = '' OR target = $3) AND name > $4 \
             ORDER BY name LIMIT $5",
        )
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(target.map(|t| t.to_string()).unwrap_or_default())
        .bind(after.map(|a| a.as_str().to_owned()).unwrap_or_default())
        .bind(limit_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(rows::alias).collect()
    }

    async fn count_aliases(&self, target: &KeyId) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aliases WHERE target = $1")
            .bind(target.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn put_tags(
        &self,
        key: &KeyId,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        insert_tags(&mut tx, key, tags).await?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn delete_tags(
        &self,
        key: &KeyId,
        tag_keys: &[String],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        for k in tag_keys {
            sqlx::query("DELETE FROM tags WHERE key_id = $1 AND tag_key = $2")
                .bind(key.to_string())
                .bind(k)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        self.finish_audited(heads, tx, audit).await
    }

    async fn list_tags(
        &self,
        key: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>, StoreError> {
        let rows = sqlx::query("SELECT tag_key, tag_value FROM tags WHERE key_id = $1 AND tag_key > $2 ORDER BY tag_key LIMIT $3")
            .bind(key.to_string())
            .bind(after.unwrap_or_default())
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::tag).collect()
    }

    async fn count_tags(&self, key: &KeyId) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE key_id = $1")
            .bind(key.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn create_grant(&self, grant: &Grant, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let values = rows::grant_values(grant)?;
        let (heads, mut tx) = self.begin_audited().await?;
        let mut query = sqlx::query(rows::GRANT_INSERT);
        for v in values {
            query = query.bind(v);
        }
        query
            .bind(grant.created_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "grant"))?;
        self.finish_audited(heads, tx, audit).await
    }

    async fn list_grants(&self, key: &KeyId) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(rows::GRANTS_OF_KEY)
            .bind(key.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::grant).collect()
    }

    async fn list_retirable_grants(
        &self,
        account: &AccountId,
        region: &Region,
        retiring_principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(rows::RETIRABLE_GRANTS)
            .bind(account.as_str())
            .bind(region.as_str())
            .bind(retiring_principal)
            .bind(after.unwrap_or_default())
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::grant).collect()
    }

    async fn delete_grant(
        &self,
        key: &KeyId,
        grant_id: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let (heads, mut tx) = self.begin_audited().await?;
        let done = sqlx::query("DELETE FROM grants WHERE key_id = $1 AND grant_id = $2")
            .bind(key.to_string())
            .bind(grant_id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.finish_audited(heads, tx, audit).await?;
        Ok(true)
    }

    async fn list_all_keys(
        &self,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        let rows = sqlx::query("SELECT * FROM keys WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.map(|k| k.to_string()).unwrap_or_default())
            .bind(limit_i64(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::key).collect()
    }

    async fn list_materials(&self, key: &KeyId) -> Result<Vec<Material>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM key_materials WHERE key_id = $1 ORDER BY created_at, material_id",
        )
        .bind(key.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.iter().map(rows::material).collect()
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        let rows = sqlx::query("SELECT * FROM access_keys ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.iter().map(rows::access_key).collect()
    }

    async fn rewrap_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE key_materials SET wrapped = $1, root_id = $2 WHERE key_id = $3 AND material_id = $4 AND root_id = $5",
        )
        .bind(wrapped)
        .bind(root_id)
        .bind(key.to_string())
        .bind(id.to_string())
        .bind(old_root_id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn rewrap_access_key(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE access_keys SET wrapped_secret = $1, root_id = $2 WHERE id = $3 AND root_id = $4")
                .bind(wrapped)
                .bind(root_id)
                .bind(id.as_str())
                .bind(old_root_id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_setting(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }

    // try_job_lock: the default. One process at a time opens the file (the server holds it),
    // so the lock is always granted.

    async fn append_audit(
        &self,
        chain: &str,
        drafts: &[AuditDraft],
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let mut heads = self.heads.lock().await;
        let head = match heads.get(chain) {
            Some(h) => *h,
            None => sqlite_audit::read_head(&self.pool, chain).await?,
        };
        let (events, new_head) = kinko_core::chain_events(chain, head, drafts);
        if let Some(journal) = &self.journal {
            // A failed append changes nothing: the head stays, and the retry rewrites the spot.
            journal.append(chain, head, &events, new_head).await?;
            heads.insert(chain.to_owned(), new_head);
            drop(heads);
            if journal.should_schedule_fold() {
                let store = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(crate::sqlite_journal::FOLD_DELAY).await;
                    // A failure leaves the batches pending; the next reader's fold reports it.
                    let _ = store.fold().await;
                });
            }
            return Ok(events);
        }
        // One autocommit statement: the batch row, and through its triggers the chain head and
        // the usage counts, atomically, with one fsync.
        match sqlite_audit::insert_batch(&self.pool, chain, head, &events, new_head).await {
            Ok(()) => {
                heads.insert(chain.to_owned(), new_head);
                Ok(events)
            }
            Err(e) => {
                heads.remove(chain);
                Err(e)
            }
        }
    }

    async fn audit_chains(&self) -> Result<Vec<ChainHead>, StoreError> {
        self.fold().await?;
        sqlite_audit::chains(&self.pool).await
    }

    async fn audit_events(
        &self,
        chain: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.fold().await?;
        sqlite_audit::events(&self.pool, chain, after_seq, limit).await
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.fold().await?;
        sqlite_audit::query(&self.pool, filter, before, limit).await
    }

    async fn put_digest(&self, digest: &AuditDigest) -> Result<(), StoreError> {
        sqlite_audit::put_digest(&self.pool, digest).await
    }

    async fn list_digests(&self, chain: &str) -> Result<Vec<AuditDigest>, StoreError> {
        self.fold().await?;
        sqlite_audit::digests(&self.pool, chain).await
    }

    async fn prune_audit(&self, anchor: &AuditDigest) -> Result<u64, StoreError> {
        self.fold().await?;
        let mut tx = self.write_tx().await?;
        let n = sqlite_audit::prune(&mut tx, anchor).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(n)
    }

    async fn key_last_usage(&self, key: &KeyId) -> Result<Option<KeyLastUsage>, StoreError> {
        self.fold().await?;
        sqlite_audit::last_usage(&self.pool, key).await
    }

    async fn key_usage_counts(&self, key: &KeyId) -> Result<Vec<(String, u64)>, StoreError> {
        self.fold().await?;
        sqlite_audit::usage_counts(&self.pool, key).await
    }

    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
