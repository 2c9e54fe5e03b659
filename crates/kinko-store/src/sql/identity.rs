//! IAM users, roles, inline policies and STS sessions, on every backend. Names of users and roles
//! are stored with a lowercase key, so that they are unique per account regardless of case. A
//! change that finds nothing to change rolls back without its audit event (the caller records
//! the failure instead).

use async_trait::async_trait;
use kinko_core::{
    AccessKeyId, AccountId, AuditAppend, IamRole, IamUser, IdentityStore, InlinePolicy,
    PolicyOwner, Session, StoreError, UnixMillis,
};

use super::columns::{policy_columns, role_columns, session_columns, user_columns};
use super::{Backend, Run, SqlStore, Stmt};
use crate::rows;

#[async_trait]
impl<B: Backend> IdentityStore for SqlStore<B> {
    async fn create_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
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
        .bind(rows::encode_iam_tags(&user.tags));
        w.insert(s, "user").await?;
        w.commit(audit).await
    }

    async fn get_iam_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamUser>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            user_columns!(),
            " FROM iam_users WHERE account = $1 AND name_key = $2"
        ))
        .bind(account.as_str())
        .bind(name.to_ascii_lowercase());
        self.0.read_one(s, rows::iam_user).await
    }

    async fn list_iam_users(&self, account: &AccountId) -> Result<Vec<IamUser>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            user_columns!(),
            " FROM iam_users WHERE account = $1 ORDER BY name_key"
        ))
        .bind(account.as_str());
        self.0.read_all(s, rows::iam_user).await
    }

    async fn update_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new("UPDATE iam_users SET tags = $1 WHERE account = $2 AND name_key = $3")
            .bind(rows::encode_iam_tags(&user.tags))
            .bind(user.account.as_str())
            .bind(user.name.to_ascii_lowercase());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn delete_iam_user(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        // Only without access keys and policies, checked in the deleting statement, so that a
        // key or policy added meanwhile is never left without its user.
        let s = Stmt::new(
            "DELETE FROM iam_users WHERE account = $1 AND name_key = $2 \
             AND NOT EXISTS (SELECT 1 FROM access_keys \
             WHERE access_keys.principal_arn = iam_users.arn) \
             AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
             WHERE p.account = $1 AND p.owner_kind = 'user' AND p.owner_key = $2)",
        )
        .bind(account.as_str())
        .bind(name.to_ascii_lowercase());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn create_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
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
        .bind(rows::encode_iam_tags(&role.tags));
        w.insert(s, "role").await?;
        w.commit(audit).await
    }

    async fn get_iam_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamRole>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            role_columns!(),
            " FROM iam_roles WHERE account = $1 AND name_key = $2"
        ))
        .bind(account.as_str())
        .bind(name.to_ascii_lowercase());
        self.0.read_one(s, rows::iam_role).await
    }

    async fn list_iam_roles(&self, account: &AccountId) -> Result<Vec<IamRole>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            role_columns!(),
            " FROM iam_roles WHERE account = $1 ORDER BY name_key"
        ))
        .bind(account.as_str());
        self.0.read_all(s, rows::iam_role).await
    }

    async fn update_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "UPDATE iam_roles SET tags = $1, description = $2, trust_policy = $3, \
             max_session_duration = $4 WHERE account = $5 AND name_key = $6",
        )
        .bind(rows::encode_iam_tags(&role.tags))
        .bind(&role.description)
        .bind(&role.trust_policy)
        .bind(i64::from(role.max_session_duration))
        .bind(role.account.as_str())
        .bind(role.name.to_ascii_lowercase());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn delete_iam_role(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "DELETE FROM iam_roles WHERE account = $1 AND name_key = $2 \
             AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
             WHERE p.account = $1 AND p.owner_kind = 'role' AND p.owner_key = $2)",
        )
        .bind(account.as_str())
        .bind(name.to_ascii_lowercase());
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn put_inline_policy(
        &self,
        policy: &InlinePolicy,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "INSERT INTO iam_inline_policies (account, owner_kind, owner_key, owner_name, name, \
             document) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (account, owner_kind, owner_key, name) \
             DO UPDATE SET document = excluded.document",
        )
        .bind(policy.account.as_str())
        .bind(policy.owner.kind.as_str())
        .bind(policy.owner.name.to_ascii_lowercase())
        .bind(&policy.owner.name)
        .bind(&policy.name)
        .bind(&policy.document);
        w.insert(s, "policy").await?;
        w.commit(audit).await
    }

    async fn get_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<Option<InlinePolicy>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM iam_inline_policies \
             WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4"
        ))
        .bind(account.as_str())
        .bind(owner.kind.as_str())
        .bind(owner.name.to_ascii_lowercase())
        .bind(name);
        self.0.read_one(s, rows::inline_policy).await
    }

    async fn list_inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<InlinePolicy>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            policy_columns!(),
            " FROM iam_inline_policies \
             WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 ORDER BY name"
        ))
        .bind(account.as_str())
        .bind(owner.kind.as_str())
        .bind(owner.name.to_ascii_lowercase());
        self.0.read_all(s, rows::inline_policy).await
    }

    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(
            "DELETE FROM iam_inline_policies \
             WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4",
        )
        .bind(account.as_str())
        .bind(owner.kind.as_str())
        .bind(owner.name.to_ascii_lowercase())
        .bind(name);
        let changed = w.execute(s).await? > 0;
        w.commit_if(changed, audit).await
    }

    async fn create_session(
        &self,
        session: &Session,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
        let mut w = self.0.write().await?;
        let s = Stmt::new(concat!(
            "INSERT INTO sts_sessions (",
            session_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(session.access_key_id.as_str())
        .bind(session.account.as_str())
        .bind(&session.principal_arn)
        .bind(&session.role_arn)
        .bind(&session.wrapped_secret)
        .bind(&session.root_id)
        .bind(&session.token_hash[..])
        .bind(session.created_at.0)
        .bind(session.expires_at.0)
        .bind(&session.role_id);
        w.insert(s, "session").await?;
        w.commit(audit).await
    }

    async fn get_session(&self, id: &AccessKeyId) -> Result<Option<Session>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sts_sessions WHERE access_key_id = $1"
        ))
        .bind(id.as_str());
        self.0.read_one(s, rows::session).await
    }

    async fn list_sessions(&self) -> Result<Vec<Session>, StoreError> {
        let s = Stmt::new(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sts_sessions ORDER BY access_key_id"
        ));
        self.0.read_all(s, rows::session).await
    }

    async fn rewrap_session(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError> {
        let s = Stmt::new(
            "UPDATE sts_sessions SET wrapped_secret = $1, root_id = $2 \
             WHERE access_key_id = $3 AND root_id = $4",
        )
        .bind(wrapped)
        .bind(root_id)
        .bind(id.as_str())
        .bind(old_root_id);
        Ok(self.0.execute(s).await? == 1)
    }

    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError> {
        self.0
            .execute(Stmt::new("DELETE FROM sts_sessions WHERE expires_at < $1").bind(now.0))
            .await
    }
}
