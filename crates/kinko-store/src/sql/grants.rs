//! Grants on keys, on every backend.

use async_trait::async_trait;
use kinko_core::{AccountId, AuditAppend, Grant, GrantStore, KeyId, Region, StoreError};

use super::columns::grant_columns;
use super::{Backend, Run, SqlStore, Stmt, limit_i64};
use crate::rows;

#[async_trait]
impl<B: Backend> GrantStore for SqlStore<B> {
    async fn create_grant(&self, grant: &Grant, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let values = rows::grant_values(grant)?;
        let mut w = self.0.write().await?;
        let mut s = Stmt::new(concat!(
            "INSERT INTO grants (",
            grant_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ));
        for v in values {
            s = s.bind(v);
        }
        w.insert(s.bind(grant.created_at.0), "grant").await?;
        w.commit(audit).await
    }

    async fn list_grants(&self, key: &KeyId) -> Result<Vec<Grant>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE key_id = $1 ORDER BY grant_id"
        ))
        .bind(key.storage_text());
        self.0.read_all(s, rows::grant).await
    }

    async fn list_retirable_grants(
        &self,
        account: &AccountId,
        region: &Region,
        retiring_principal: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE account = $1 AND region = $2 AND retiring_principal = $3 \
             AND grant_id > $4 ORDER BY grant_id LIMIT $5"
        ))
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(retiring_principal)
        .bind(after.unwrap_or_default())
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::grant).await
    }

    async fn delete_grant(
        &self,
        key: &KeyId,
        grant_id: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("DELETE FROM grants WHERE key_id = $1 AND grant_id = $2")
            .bind(key.storage_text())
            .bind(grant_id);
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }
}
