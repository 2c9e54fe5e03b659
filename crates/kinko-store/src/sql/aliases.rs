//! Aliases, on every backend.

use async_trait::async_trait;
use kinko_core::{AccountId, Alias, AliasName, AliasStore, AuditAppend, KeyId, Region, StoreError};

use super::columns::alias_columns;
use super::{Backend, Run, SqlStore, Stmt, count, limit_i64};
use crate::rows;

#[async_trait]
impl<B: Backend> AliasStore for SqlStore<B> {
    async fn create_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(concat!(
            "INSERT INTO aliases (",
            alias_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str())
        .bind(alias.target.storage_text())
        .bind(alias.created_at.0)
        .bind(alias.updated_at.0);
        w.insert(s, "alias").await?;
        w.commit(audit).await
    }

    async fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            alias_columns!(),
            " FROM aliases WHERE account = $1 AND region = $2 AND name = $3"
        ))
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(name.as_str());
        self.0.read_one(s, rows::alias).await
    }

    async fn update_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "UPDATE aliases SET target = $1, updated_at = $2 \
             WHERE account = $3 AND region = $4 AND name = $5",
        )
        .bind(alias.target.storage_text())
        .bind(alias.updated_at.0)
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str());
        if w.execute(s).await? != 1 {
            return Err(StoreError::Conflict("alias"));
        }
        w.commit(audit).await
    }

    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3")
            .bind(account.as_str())
            .bind(region.as_str())
            .bind(name.as_str());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            alias_columns!(),
            " FROM aliases WHERE account = $1 AND region = $2 AND ($3 = '' OR target = $3) \
             AND name > $4 ORDER BY name LIMIT $5"
        ))
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(target.map(|t| t.storage_text()).unwrap_or_default())
        .bind(after.map(AliasName::as_str).unwrap_or_default())
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::alias).await
    }

    async fn count_aliases(&self, target: &KeyId) -> Result<usize, StoreError> {
        let s = Stmt::new("SELECT COUNT(*) AS n FROM aliases WHERE target = $1")
            .bind(target.storage_text());
        let n = self.0.read_one(s, |r| count(r, "aliases")).await?;
        Ok(n.unwrap_or(0))
    }
}
