//! Keys, their material versions and import parameters, on every backend.

use async_trait::async_trait;
use kinko_core::{
    AccountId, AuditAppend, ImportParameters, Key, KeyId, KeyStore, Material, MaterialId, Region,
    StoreError, Tag, UnixMillis,
};
use sqlx::AssertSqlSafe;

use super::columns::{import_columns, key_columns, material_columns};
use super::{Backend, Run, SqlStore, Stmt, Write, limit_i64};
use crate::rows;

/// Inserts a material row.
fn insert_material(material: &Material) -> Stmt<'_> {
    Stmt::new(
        "INSERT INTO key_materials (key_id, material_id, wrapped, created_at, root_id, \
         rotation_type, description, valid_to, expiration_model, pending_rotation, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(material.key_id.storage_text())
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
}

/// Writes a key's mutable fields if its stored version is `key.version - 1`. On PostgreSQL a
/// concurrent writer of the same key makes this wait for its commit; the condition is then
/// checked against it.
async fn write_key<B: Backend>(w: &mut Write<'_, B>, key: &Key) -> Result<(), StoreError> {
    let s = Stmt::new(
        "UPDATE keys SET description = $1, state = $2, deletion_date = $3, \
         pending_window_days = $4, current_material = $5, policy = $6, version = $7, \
         rotation_period_days = $8, next_rotation = $9, on_demand_rotations = $10, \
         valid_to = $11, expiration_model = $12, primary_region = $15 \
         WHERE id = $13 AND version = $14",
    )
    .bind(&key.description)
    .bind(key.state.as_str())
    .bind(key.deletion_date.map(|d| d.0))
    .bind(key.pending_window_days.map(i64::from))
    .bind(key.current_material.to_string())
    .bind(&*key.policy)
    .bind(key.version)
    .bind(key.rotation_period_days.map(i64::from))
    .bind(key.next_rotation.map(|d| d.0))
    .bind(i64::from(key.on_demand_rotations))
    .bind(key.valid_to.map(|d| d.0))
    .bind(key.expiration_model.map(|e| e.as_str()))
    .bind(key.id().storage_text())
    .bind(key.version - 1)
    .bind(key.primary_region.as_ref().map(Region::as_str));
    if w.execute(s).await? != 1 {
        return Err(StoreError::Conflict("key version"));
    }
    Ok(())
}

/// Inserts a key row.
async fn insert_key<B: Backend>(w: &mut Write<'_, B>, key: &Key) -> Result<(), StoreError> {
    let s = Stmt::new(
        "INSERT INTO keys (id, account, region, created_at, description, spec, usage, origin, \
             state, deletion_date, pending_window_days, current_material, policy, version, \
             rotation_period_days, next_rotation, on_demand_rotations, valid_to, expiration_model, \
             primary_region, key_manager) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21)",
    )
    .bind(key.id().storage_text())
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
    .bind(&*key.policy)
    .bind(key.version)
    .bind(key.rotation_period_days.map(i64::from))
    .bind(key.next_rotation.map(|d| d.0))
    .bind(i64::from(key.on_demand_rotations))
    .bind(key.valid_to.map(|d| d.0))
    .bind(key.expiration_model.map(|e| e.as_str()))
    .bind(key.primary_region.as_ref().map(Region::as_str))
    .bind(key.manager.as_str());
    w.insert(s, "key").await
}

/// Inserts or overwrites tags of a key in `w`.
pub(super) async fn insert_tags<B: Backend>(
    w: &mut Write<'_, B>,
    key: &KeyId,
    tags: &[Tag],
) -> Result<(), StoreError> {
    for t in tags {
        let s = Stmt::new(
            "INSERT INTO tags (key_id, tag_key, tag_value) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        )
        .bind(key.storage_text())
        .bind(&t.key)
        .bind(&t.value);
        w.insert(s, "tag").await?;
    }
    Ok(())
}

#[async_trait]
impl<B: Backend> KeyStore for SqlStore<B> {
    async fn create_key(
        &self,
        key: &Key,
        material: &Material,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        insert_key(&mut w, key).await?;
        w.insert(insert_material(material), "key material").await?;
        insert_tags(&mut w, &key.id(), tags).await?;
        w.commit(audit).await
    }

    async fn get_key(
        &self,
        account: &AccountId,
        region: &Region,
        id: &KeyId,
    ) -> Result<Option<Key>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE id = $1 AND account = $2 AND region = $3"
        ))
        .bind(id.in_region(region).storage_text())
        .bind(account.as_str())
        .bind(region.as_str());
        self.0.read_one(s, rows::key).await
    }

    async fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE account = $1 AND region = $2 AND id > $3 ORDER BY id LIMIT $4"
        ))
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(
            after
                .map(|k| k.in_region(region).storage_text())
                .unwrap_or_default(),
        )
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::key).await
    }

    async fn update_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        write_key(&mut w, key).await?;
        w.commit(audit).await
    }

    async fn add_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        // The key first: a stale version is a Conflict before the material is even tried.
        write_key(&mut w, key).await?;
        w.insert(insert_material(material), "key material").await?;
        w.commit(audit).await
    }

    async fn put_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        write_key(&mut w, key).await?;
        let s = Stmt::new(
            "UPDATE key_materials SET wrapped = $1, root_id = $2, created_at = $3, \
             description = $4, valid_to = $5, expiration_model = $6, pending_rotation = $7, \
             rotation_type = $8, fingerprint = $9 WHERE key_id = $10 AND material_id = $11",
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
        .bind(material.key_id.storage_text())
        .bind(material.id.to_string());
        if w.execute(s).await? != 1 {
            return Err(StoreError::Conflict("key material"));
        }
        w.commit(audit).await
    }

    async fn delete_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let id = key.id().storage_text();
        // Locks the key where the backend needs it: a second deleter (another node) waits here,
        // then finds it gone.
        let still = Stmt::new(AssertSqlSafe(format!(
            "SELECT id FROM keys WHERE id = $1 AND version = $2 AND state = 'PendingDeletion'{}",
            B::LOCK_ROW
        )))
        .bind(id.as_str())
        .bind(key.version);
        if w.fetch_optional(still).await?.is_none() {
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
            w.execute(Stmt::new(statement).bind(id.as_str())).await?;
        }
        w.commit(audit).await
    }

    async fn keys_due(&self, now: UnixMillis, limit: usize) -> Result<Vec<Key>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE (state = 'PendingDeletion' AND deletion_date <= $1) \
             OR (state = 'Enabled' AND next_rotation <= $1) \
             OR (state IN ('Enabled', 'Disabled') AND valid_to <= $1) \
             ORDER BY id LIMIT $2"
        ))
        .bind(now.0)
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::key).await
    }

    async fn put_import_parameters(&self, params: &ImportParameters) -> Result<(), StoreError> {
        let s = Stmt::new(concat!(
            "INSERT INTO import_parameters (",
            import_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&params.token_id)
        .bind(params.key_id.storage_text())
        .bind(&params.wrapping_algorithm)
        .bind(&params.wrapping_key_spec)
        .bind(&params.wrapped_private_key)
        .bind(&params.root_id)
        .bind(params.created_at.0)
        .bind(params.expires_at.0);
        self.0.insert(s, "import parameters").await
    }

    async fn get_import_parameters(
        &self,
        token_id: &str,
    ) -> Result<Option<ImportParameters>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            import_columns!(),
            " FROM import_parameters WHERE token_id = $1"
        ))
        .bind(token_id);
        self.0.read_one(s, rows::import_parameters).await
    }

    async fn get_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
    ) -> Result<Option<Material>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            material_columns!(),
            " FROM key_materials WHERE key_id = $1 AND material_id = $2"
        ))
        .bind(key.storage_text())
        .bind(id.to_string());
        self.0.read_one(s, rows::material).await
    }

    async fn list_all_keys(
        &self,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.map(|k| k.storage_text()).unwrap_or_default())
        .bind(limit_i64(limit));
        self.0.read_all(s, rows::key).await
    }

    async fn list_materials(&self, key: &KeyId) -> Result<Vec<Material>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            material_columns!(),
            " FROM key_materials WHERE key_id = $1 ORDER BY created_at, material_id"
        ))
        .bind(key.storage_text());
        self.0.read_all(s, rows::material).await
    }

    async fn list_key_regions(
        &self,
        account: &AccountId,
        id: &KeyId,
    ) -> Result<Vec<Key>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE account = $1 AND id LIKE $2 ORDER BY id"
        ))
        .bind(account.as_str())
        .bind(format!("{}%", id.storage_prefix()));
        self.0.read_all(s, rows::key).await
    }

    async fn create_replica(
        &self,
        primary: &Key,
        key: &Key,
        materials: &[Material],
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        write_key(&mut w, primary).await?;
        insert_key(&mut w, key).await?;
        for m in materials {
            w.insert(insert_material(m), "key material").await?;
        }
        insert_tags(&mut w, &key.id(), tags).await?;
        w.commit(audit).await
    }

    async fn update_keys(
        &self,
        keys: &[(Key, Option<Material>)],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        for (key, material) in keys {
            write_key(&mut w, key).await?;
            if let Some(m) = material {
                w.insert(insert_material(m), "key material").await?;
            }
        }
        w.commit(audit).await
    }

    async fn rewrap_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        let s = Stmt::new(
            "UPDATE key_materials SET wrapped = $1, root_id = $2 \
             WHERE key_id = $3 AND material_id = $4 AND root_id = $5",
        )
        .bind(wrapped)
        .bind(root_id)
        .bind(key.storage_text())
        .bind(id.to_string())
        .bind(old_root_id);
        Ok(self.0.execute(s).await? == 1)
    }
}
