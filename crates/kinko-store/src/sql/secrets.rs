//! Secrets Manager's secrets and their versions, on every backend.

use async_trait::async_trait;
use kinko_core::{
    AccountId, AuditAppend, Region, Secret, SecretStore, SecretVersion, StoreError, UnixMillis,
};

use super::{Backend, Run, SqlStore, Stmt, Write, limit_i64};
use crate::rows;

macro_rules! secret_columns {
    () => {
        "arn, account, region, name, description, kms_key_id, created_at, last_changed_at, \
         deletion_date, tags, version, resource_policy, rotation"
    };
}

macro_rules! secret_version_columns {
    () => {
        "secret_arn, version_id, created_at, stages, key_arn, wrapped_key, sealed, is_binary"
    };
}

/// Inserts or replaces a version.
async fn put_version<B: Backend>(
    w: &mut Write<'_, B>,
    v: &SecretVersion,
) -> Result<(), StoreError> {
    let s = Stmt::new(concat!(
        "INSERT INTO secret_versions (",
        secret_version_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (secret_arn, version_id) DO UPDATE \
         SET stages = excluded.stages, key_arn = excluded.key_arn, \
         wrapped_key = excluded.wrapped_key, sealed = excluded.sealed"
    ))
    .bind(&v.secret_arn)
    .bind(&v.version_id)
    .bind(v.created_at.0)
    .bind(v.stages.join(","))
    .bind(&v.key_arn)
    .bind(&v.wrapped_key)
    .bind(&v.sealed)
    .bind(v.is_binary);
    w.insert(s, "secret version").await
}

#[async_trait]
impl<B: Backend> SecretStore for SqlStore<B> {
    async fn create_secret(
        &self,
        secret: &Secret,
        version: Option<&SecretVersion>,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(concat!(
            "INSERT INTO secrets (",
            secret_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&secret.arn)
        .bind(secret.account.as_str())
        .bind(secret.region.as_str())
        .bind(&secret.name)
        .bind(&secret.description)
        .bind(secret.kms_key_id.as_deref())
        .bind(secret.created_at.0)
        .bind(secret.last_changed_at.0)
        .bind(secret.deletion_date.map(|d| d.0))
        .bind(rows::encode_secret_tags(&secret.tags))
        .bind(secret.version)
        .bind(secret.resource_policy.as_deref())
        .bind(secret.rotation.as_ref().map(rows::encode_rotation));
        w.insert(s, "secret").await?;
        if let Some(v) = version {
            put_version(&mut w, v).await?;
        }
        w.commit(audit).await
    }

    async fn get_secret_by_name(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<Option<Secret>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_columns!(),
            " FROM secrets WHERE account = $1 AND region = $2 AND name = $3"
        ))
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(name);
        self.0.read_one(s, rows::secret).await
    }

    async fn get_secret(&self, arn: &str) -> Result<Option<Secret>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_columns!(),
            " FROM secrets WHERE arn = $1"
        ))
        .bind(arn);
        self.0.read_one(s, rows::secret).await
    }

    async fn list_secrets(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<Secret>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_columns!(),
            " FROM secrets WHERE account = $1 AND region = $2 ORDER BY name"
        ))
        .bind(account.as_str())
        .bind(region.as_str());
        self.0.read_all(s, rows::secret).await
    }

    async fn secret_versions(&self, arn: &str) -> Result<Vec<SecretVersion>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_version_columns!(),
            " FROM secret_versions WHERE secret_arn = $1 ORDER BY created_at, version_id"
        ))
        .bind(arn);
        self.0.read_all(s, rows::secret_version).await
    }

    async fn update_secret(
        &self,
        secret: &Secret,
        versions: &[SecretVersion],
        drop_versions: &[String],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "UPDATE secrets SET description = $1, kms_key_id = $2, last_changed_at = $3, \
             deletion_date = $4, tags = $5, version = $6, resource_policy = $9, \
             rotation = $10 WHERE arn = $7 AND version = $8",
        )
        .bind(&secret.description)
        .bind(secret.kms_key_id.as_deref())
        .bind(secret.last_changed_at.0)
        .bind(secret.deletion_date.map(|d| d.0))
        .bind(rows::encode_secret_tags(&secret.tags))
        .bind(secret.version)
        .bind(&secret.arn)
        .bind(secret.version - 1)
        .bind(secret.resource_policy.as_deref())
        .bind(secret.rotation.as_ref().map(rows::encode_rotation));
        if w.execute(s).await? != 1 {
            return Err(StoreError::Conflict("secret version"));
        }
        for v in versions {
            put_version(&mut w, v).await?;
        }
        for id in drop_versions {
            let s =
                Stmt::new("DELETE FROM secret_versions WHERE secret_arn = $1 AND version_id = $2")
                    .bind(&secret.arn)
                    .bind(id);
            w.execute(s).await?;
        }
        w.commit(audit).await
    }

    async fn delete_secret(
        &self,
        secret: &Secret,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("DELETE FROM secret_versions WHERE secret_arn = $1").bind(&secret.arn);
        w.execute(s).await?;
        let s = Stmt::new("DELETE FROM secrets WHERE arn = $1 AND version = $2")
            .bind(&secret.arn)
            .bind(secret.version);
        if w.execute(s).await? != 1 {
            return Err(StoreError::Conflict("secret version"));
        }
        w.commit(audit).await
    }

    async fn secrets_due(&self, now: UnixMillis, limit: usize) -> Result<Vec<Secret>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_columns!(),
            " FROM secrets WHERE deletion_date IS NOT NULL AND deletion_date <= $1 \
             ORDER BY deletion_date LIMIT $2"
        ))
        .bind(now.0)
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::secret).await
    }

    async fn secrets_rotating(&self, limit: usize) -> Result<Vec<Secret>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            secret_columns!(),
            " FROM secrets WHERE rotation IS NOT NULL AND deletion_date IS NULL \
             ORDER BY arn LIMIT $1"
        ))
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::secret).await
    }
}
