//! Accounts and access keys, on every backend.

use async_trait::async_trait;
use kinko_core::{AccessKey, AccessKeyId, Account, AccountStore, AuditAppend, StoreError};

use super::columns::access_key_columns;
use super::{Backend, Run, SqlStore, Stmt};
use crate::rows;

const ACCESS_KEY_INSERT: &str = "INSERT INTO access_keys (id, account, principal_arn, \
     wrapped_secret, active, created_at, root_id) VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn insert_access_key(key: &AccessKey) -> Stmt<'_> {
    Stmt::new(ACCESS_KEY_INSERT)
        .bind(key.id.as_str())
        .bind(key.account.as_str())
        .bind(&key.principal_arn)
        .bind(&key.wrapped_secret)
        .bind(key.active)
        .bind(key.created_at.0)
        .bind(&key.root_id)
}

#[async_trait]
impl<B: Backend> AccountStore for SqlStore<B> {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let s = Stmt::new("INSERT INTO accounts (id, created_at) VALUES ($1, $2)")
            .bind(account.id.as_str())
            .bind(account.created_at.0);
        self.0.insert(s, "account").await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let s = Stmt::new("SELECT id, created_at FROM accounts ORDER BY created_at, id");
        self.0.read_all(s, rows::account).await
    }

    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        self.0.insert(insert_access_key(key), "access key").await
    }

    async fn get_access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            access_key_columns!(),
            " FROM access_keys WHERE id = $1"
        ))
        .bind(id.as_str());
        self.0.read_one(s, rows::access_key).await
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            access_key_columns!(),
            " FROM access_keys ORDER BY id"
        ));
        self.0.read_all(s, rows::access_key).await
    }

    async fn rewrap_access_key(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        let s = Stmt::new(
            "UPDATE access_keys SET wrapped_secret = $1, root_id = $2 \
             WHERE id = $3 AND root_id = $4",
        )
        .bind(wrapped)
        .bind(root_id)
        .bind(id.as_str())
        .bind(old_root_id);
        Ok(self.0.execute(s).await? == 1)
    }

    async fn create_access_key_audited(
        &self,
        key: &AccessKey,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        w.insert(insert_access_key(key), "access key").await?;
        w.commit(audit).await
    }

    async fn list_principal_access_keys(
        &self,
        principal_arn: &str,
    ) -> Result<Vec<AccessKey>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            access_key_columns!(),
            " FROM access_keys WHERE principal_arn = $1 ORDER BY created_at, id"
        ))
        .bind(principal_arn);
        self.0.read_all(s, rows::access_key).await
    }

    async fn set_access_key_active(
        &self,
        id: &AccessKeyId,
        active: bool,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("UPDATE access_keys SET active = $1 WHERE id = $2")
            .bind(active)
            .bind(id.as_str());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn delete_access_key(
        &self,
        id: &AccessKeyId,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("DELETE FROM access_keys WHERE id = $1").bind(id.as_str());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }
}
