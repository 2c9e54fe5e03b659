//! The identity tables (IAM users, roles, inline policies, user access keys, STS sessions),
//! written once for both backends: the SQL is the same on SQLite and PostgreSQL, so
//! [`identity_impl!`] expands the same method bodies into each backend's inherent impl. A
//! backend provides `id_begin` (an audited write transaction), `id_finish` (append the event,
//! commit) and `IdTx::conn`, plus the `unavailable`/`write_error` helpers every backend has.
//! Columns are named, never `SELECT *`. A change that finds nothing to change rolls back without
//! its audit event (the caller records the failure instead).

macro_rules! identity_impl {
    ($store:ty) => {
        impl $store {
            pub(crate) async fn id_create_user(
                &self,
                user: &kinko_core::IamUser,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<(), kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                sqlx::query(
                    "INSERT INTO iam_users (account, name_key, name, path, id, arn, created_at, tags) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(user.account.as_str())
                .bind(user.name.to_ascii_lowercase())
                .bind(&user.name)
                .bind(&user.path)
                .bind(&user.id)
                .bind(&user.arn)
                .bind(user.created_at.0)
                .bind(crate::rows::encode_iam_tags(&user.tags))
                .execute(t.conn())
                .await
                .map_err(|e| write_error(e, "user"))?;
                self.id_finish(t, audit).await
            }

            pub(crate) async fn id_get_user(
                &self,
                account: &kinko_core::AccountId,
                name: &str,
            ) -> Result<Option<kinko_core::IamUser>, kinko_core::StoreError> {
                let row = sqlx::query(
                    "SELECT account, name, path, id, arn, created_at, tags FROM iam_users \
                     WHERE account = $1 AND name_key = $2",
                )
                .bind(account.as_str())
                .bind(name.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(crate::rows::iam_user).transpose()
            }

            pub(crate) async fn id_list_users(
                &self,
                account: &kinko_core::AccountId,
            ) -> Result<Vec<kinko_core::IamUser>, kinko_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT account, name, path, id, arn, created_at, tags FROM iam_users \
                     WHERE account = $1 ORDER BY name_key",
                )
                .bind(account.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(crate::rows::iam_user).collect()
            }

            pub(crate) async fn id_update_user(
                &self,
                user: &kinko_core::IamUser,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query(
                    "UPDATE iam_users SET tags = $1 WHERE account = $2 AND name_key = $3",
                )
                .bind(crate::rows::encode_iam_tags(&user.tags))
                .bind(user.account.as_str())
                .bind(user.name.to_ascii_lowercase())
                .execute(t.conn())
                .await
                .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_delete_user(
                &self,
                account: &kinko_core::AccountId,
                name: &str,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                // Only without access keys and policies, checked in the deleting statement, so
                // that a key or policy added meanwhile is never left without its user.
                let done = sqlx::query(
                    "DELETE FROM iam_users WHERE account = $1 AND name_key = $2 \
                     AND NOT EXISTS (SELECT 1 FROM access_keys WHERE access_keys.principal_arn = iam_users.arn) \
                     AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
                     WHERE p.account = $1 AND p.owner_kind = 'user' AND p.owner_key = $2)",
                )
                        .bind(account.as_str())
                        .bind(name.to_ascii_lowercase())
                        .execute(t.conn())
                        .await
                        .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_create_role(
                &self,
                role: &kinko_core::IamRole,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<(), kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                sqlx::query(
                    "INSERT INTO iam_roles (account, name_key, name, path, id, arn, trust_policy, \
                     description, max_session_duration, created_at, tags) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(role.account.as_str())
                .bind(role.name.to_ascii_lowercase())
                .bind(&role.name)
                .bind(&role.path)
                .bind(&role.id)
                .bind(&role.arn)
                .bind(&role.trust_policy)
                .bind(&role.description)
                .bind(i64::from(role.max_session_duration))
                .bind(role.created_at.0)
                .bind(crate::rows::encode_iam_tags(&role.tags))
                .execute(t.conn())
                .await
                .map_err(|e| write_error(e, "role"))?;
                self.id_finish(t, audit).await
            }

            pub(crate) async fn id_get_role(
                &self,
                account: &kinko_core::AccountId,
                name: &str,
            ) -> Result<Option<kinko_core::IamRole>, kinko_core::StoreError> {
                let row = sqlx::query(
                    "SELECT account, name, path, id, arn, trust_policy, description, \
                     max_session_duration, created_at, tags FROM iam_roles \
                     WHERE account = $1 AND name_key = $2",
                )
                .bind(account.as_str())
                .bind(name.to_ascii_lowercase())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(crate::rows::iam_role).transpose()
            }

            pub(crate) async fn id_list_roles(
                &self,
                account: &kinko_core::AccountId,
            ) -> Result<Vec<kinko_core::IamRole>, kinko_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT account, name, path, id, arn, trust_policy, description, \
                     max_session_duration, created_at, tags FROM iam_roles \
                     WHERE account = $1 ORDER BY name_key",
                )
                .bind(account.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(crate::rows::iam_role).collect()
            }

            pub(crate) async fn id_update_role(
                &self,
                role: &kinko_core::IamRole,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query(
                    "UPDATE iam_roles SET tags = $1, description = $2, trust_policy = $3, \
                     max_session_duration = $4 WHERE account = $5 AND name_key = $6",
                )
                .bind(crate::rows::encode_iam_tags(&role.tags))
                .bind(&role.description)
                .bind(&role.trust_policy)
                .bind(i64::from(role.max_session_duration))
                .bind(role.account.as_str())
                .bind(role.name.to_ascii_lowercase())
                .execute(t.conn())
                .await
                .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_delete_role(
                &self,
                account: &kinko_core::AccountId,
                name: &str,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query(
                    "DELETE FROM iam_roles WHERE account = $1 AND name_key = $2 \
                     AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
                     WHERE p.account = $1 AND p.owner_kind = 'role' AND p.owner_key = $2)",
                )
                        .bind(account.as_str())
                        .bind(name.to_ascii_lowercase())
                        .execute(t.conn())
                        .await
                        .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_put_policy(
                &self,
                policy: &kinko_core::InlinePolicy,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<(), kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                sqlx::query(
                    "INSERT INTO iam_inline_policies (account, owner_kind, owner_key, owner_name, name, document) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (account, owner_kind, owner_key, name) DO UPDATE SET document = excluded.document",
                )
                .bind(policy.account.as_str())
                .bind(policy.owner.kind.as_str())
                .bind(policy.owner.name.to_ascii_lowercase())
                .bind(&policy.owner.name)
                .bind(&policy.name)
                .bind(&policy.document)
                .execute(t.conn())
                .await
                .map_err(|e| write_error(e, "policy"))?;
                self.id_finish(t, audit).await
            }

            pub(crate) async fn id_get_policy(
                &self,
                account: &kinko_core::AccountId,
                owner: &kinko_core::PolicyOwner,
                name: &str,
            ) -> Result<Option<kinko_core::InlinePolicy>, kinko_core::StoreError> {
                let row = sqlx::query(
                    "SELECT account, owner_kind, owner_name, name, document FROM iam_inline_policies \
                     WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4",
                )
                .bind(account.as_str())
                .bind(owner.kind.as_str())
                .bind(owner.name.to_ascii_lowercase())
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(crate::rows::inline_policy).transpose()
            }

            pub(crate) async fn id_list_policies(
                &self,
                account: &kinko_core::AccountId,
                owner: &kinko_core::PolicyOwner,
            ) -> Result<Vec<kinko_core::InlinePolicy>, kinko_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT account, owner_kind, owner_name, name, document FROM iam_inline_policies \
                     WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 ORDER BY name",
                )
                .bind(account.as_str())
                .bind(owner.kind.as_str())
                .bind(owner.name.to_ascii_lowercase())
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(crate::rows::inline_policy).collect()
            }

            pub(crate) async fn id_delete_policy(
                &self,
                account: &kinko_core::AccountId,
                owner: &kinko_core::PolicyOwner,
                name: &str,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query(
                    "DELETE FROM iam_inline_policies \
                     WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4",
                )
                .bind(account.as_str())
                .bind(owner.kind.as_str())
                .bind(owner.name.to_ascii_lowercase())
                .bind(name)
                .execute(t.conn())
                .await
                .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_create_access_key(
                &self,
                key: &kinko_core::AccessKey,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<(), kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                sqlx::query(
                    "INSERT INTO access_keys (id, account, principal_arn, wrapped_secret, active, created_at, root_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(key.id.as_str())
                .bind(key.account.as_str())
                .bind(&key.principal_arn)
                .bind(&key.wrapped_secret)
                .bind(key.active)
                .bind(key.created_at.0)
                .bind(&key.root_id)
                .execute(t.conn())
                .await
                .map_err(|e| write_error(e, "access key"))?;
                self.id_finish(t, audit).await
            }

            pub(crate) async fn id_list_principal_keys(
                &self,
                principal_arn: &str,
            ) -> Result<Vec<kinko_core::AccessKey>, kinko_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, account, principal_arn, wrapped_secret, active, created_at, root_id \
                     FROM access_keys WHERE principal_arn = $1 ORDER BY created_at, id",
                )
                .bind(principal_arn)
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(crate::rows::access_key).collect()
            }

            pub(crate) async fn id_set_key_active(
                &self,
                id: &kinko_core::AccessKeyId,
                active: bool,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query("UPDATE access_keys SET active = $1 WHERE id = $2")
                    .bind(active)
                    .bind(id.as_str())
                    .execute(t.conn())
                    .await
                    .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_delete_access_key(
                &self,
                id: &kinko_core::AccessKeyId,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<bool, kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                let done = sqlx::query("DELETE FROM access_keys WHERE id = $1")
                    .bind(id.as_str())
                    .execute(t.conn())
                    .await
                    .map_err(unavailable)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                self.id_finish(t, audit).await.map(|()| true)
            }

            pub(crate) async fn id_create_session(
                &self,
                session: &kinko_core::Session,
                audit: kinko_core::AuditAppend<'_>,
            ) -> Result<(), kinko_core::StoreError> {
                let mut t = self.id_begin().await?;
                sqlx::query(
                    "INSERT INTO sts_sessions (access_key_id, account, principal_arn, role_arn, \
                     wrapped_secret, root_id, token_hash, created_at, expires_at, role_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(session.access_key_id.as_str())
                .bind(session.account.as_str())
                .bind(&session.principal_arn)
                .bind(&session.role_arn)
                .bind(&session.wrapped_secret)
                .bind(&session.root_id)
                .bind(session.token_hash.to_vec())
                .bind(session.created_at.0)
                .bind(session.expires_at.0)
                .bind(&session.role_id)
                .execute(t.conn())
                .await
                .map_err(|e| write_error(e, "session"))?;
                self.id_finish(t, audit).await
            }

            pub(crate) async fn id_get_session(
                &self,
                id: &kinko_core::AccessKeyId,
            ) -> Result<Option<kinko_core::Session>, kinko_core::StoreError> {
                let row = sqlx::query(
                    "SELECT access_key_id, account, principal_arn, role_arn, wrapped_secret, root_id, \
                     token_hash, created_at, expires_at, role_id FROM sts_sessions WHERE access_key_id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
                row.as_ref().map(crate::rows::session).transpose()
            }

            pub(crate) async fn id_list_sessions(
                &self,
            ) -> Result<Vec<kinko_core::Session>, kinko_core::StoreError> {
                let rows = sqlx::query(
                    "SELECT access_key_id, account, principal_arn, role_arn, wrapped_secret, root_id, \
                     token_hash, created_at, expires_at, role_id FROM sts_sessions ORDER BY access_key_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?;
                rows.iter().map(crate::rows::session).collect()
            }

            pub(crate) async fn id_rewrap_session(
                &self,
                id: &kinko_core::AccessKeyId,
                old_root_id: &str,
                wrapped: &[u8],
                root_id: &str,
            ) -> Result<bool, kinko_core::StoreError> {
                let done = sqlx::query(
                    "UPDATE sts_sessions SET wrapped_secret = $1, root_id = $2 \
                     WHERE access_key_id = $3 AND root_id = $4",
                )
                .bind(wrapped)
                .bind(root_id)
                .bind(id.as_str())
                .bind(old_root_id)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
                Ok(done.rows_affected() == 1)
            }

            pub(crate) async fn id_delete_expired_sessions(
                &self,
                now: kinko_core::UnixMillis,
            ) -> Result<u64, kinko_core::StoreError> {
                let done = sqlx::query("DELETE FROM sts_sessions WHERE expires_at < $1")
                    .bind(now.0)
                    .execute(&self.pool)
                    .await
                    .map_err(unavailable)?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use identity_impl;
