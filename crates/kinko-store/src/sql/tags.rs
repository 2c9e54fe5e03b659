//! Tags of keys, on every backend.

use async_trait::async_trait;
use kinko_core::{AuditAppend, KeyId, StoreError, Tag, TagStore};
use sqlx::AssertSqlSafe;

use super::keys::insert_tags;
use super::{Backend, Run, SqlStore, Stmt, count, limit_i64};
use crate::rows;

#[async_trait]
impl<B: Backend> TagStore for SqlStore<B> {
    async fn put_tags(
        &self,
        key: &KeyId,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        insert_tags(&mut w, key, tags).await?;
        w.commit(audit).await
    }

    async fn delete_tags(
        &self,
        key: &KeyId,
        tag_keys: &[String],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        if !tag_keys.is_empty() {
            // One statement: `tag_key IN ($2, $3, ...)`, one placeholder per tag key.
            let placeholders: Vec<String> =
                (2..tag_keys.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM tags WHERE key_id = $1 AND tag_key IN ({})",
                placeholders.join(", ")
            );
            let mut s = Stmt::new(AssertSqlSafe(sql)).bind(key.storage_text());
            for k in tag_keys {
                s = s.bind(k);
            }
            w.execute(s).await?;
        }
        w.commit(audit).await
    }

    async fn list_tags(
        &self,
        key: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>, StoreError> {
        let s = Stmt::new(
            "SELECT tag_key, tag_value FROM tags WHERE key_id = $1 AND tag_key > $2 \
             ORDER BY tag_key LIMIT $3",
        )
        .bind(key.storage_text())
        .bind(after.unwrap_or_default())
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::tag).await
    }

    async fn count_tags(&self, key: &KeyId) -> Result<usize, StoreError> {
        let s =
            Stmt::new("SELECT COUNT(*) AS n FROM tags WHERE key_id = $1").bind(key.storage_text());
        let n = self.0.read_one(s, |r| count(r, "tags")).await?;
        Ok(n.unwrap_or(0))
    }
}
