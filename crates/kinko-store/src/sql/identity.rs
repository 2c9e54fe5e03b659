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

/// The lookups of a named IAM table (users, roles): one row by name, and an account's rows.
struct Lookups {
    /// `$1` the account, `$2` the name's lowercase key.
    get: &'static str,
    /// `$1` the account; ordered by name.
    list: &'static str,
}

/// [`Lookups`] of `$table`, whose columns the macro `$columns` lists.
macro_rules! lookups {
    ($columns:ident, $table:literal) => {
        Lookups {
            get: concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " WHERE account = $1 AND name_key = $2"
            ),
            list: concat!(
                "SELECT ",
                $columns!(),
                " FROM ",
                $table,
                " WHERE account = $1 ORDER BY name_key"
            ),
        }
    };
}

const USERS: Lookups = lookups!(user_columns, "iam_users");
const ROLES: Lookups = lookups!(role_columns, "iam_roles");

/// A statement on one user or role: `$1` the account, `$2` the name's lowercase key.
fn by_name<'a>(sql: &'static str, account: &'a AccountId, name: &str) -> Stmt<'a> {
    Stmt::new(sql)
        .bind(account.as_str())
        .bind(name.to_ascii_lowercase())
}

/// A statement on the inline policies of one owner: `$1` the account, `$2` the owner's kind,
/// `$3` its name's lowercase key.
fn by_owner<'a>(sql: &'static str, account: &'a AccountId, owner: &PolicyOwner) -> Stmt<'a> {
    Stmt::new(sql)
        .bind(account.as_str())
        .bind(owner.kind.as_str())
        .bind(owner.name.to_ascii_lowercase())
}

/// An audited insert: a uniqueness violation is a conflict on `what`; commits with `audit`.
async fn insert_audited<'a, B: Backend>(
    backend: &'a B,
    s: Stmt<'_>,
    what: &'static str,
    audit: AuditAppend<'a>,
) -> Result<(), StoreError> {
    let mut w = backend.write().await?;
    w.insert(s, what).await?;
    w.commit(audit).await
}

/// An audited update or delete: commits with `audit` if it changed a row, else rolls back
/// without it; returns whether it changed one.
async fn change_audited<'a, B: Backend>(
    backend: &'a B,
    s: Stmt<'_>,
    audit: AuditAppend<'a>,
) -> Result<bool, StoreError> {
    let mut w = backend.write().await?;
    let changed = w.execute(s).await? > 0;
    w.commit_if(changed, audit).await
}

#[async_trait]
impl<B: Backend> IdentityStore for SqlStore<B> {
    async fn create_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
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
        insert_audited(&self.0, s, "user", audit).await
    }

    async fn get_iam_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamUser>, StoreError> {
        let s = by_name(USERS.get, account, name);
        self.0.read_one(s, rows::iam_user).await
    }

    async fn list_iam_users(&self, account: &AccountId) -> Result<Vec<IamUser>, StoreError> {
        let s = Stmt::new(USERS.list).bind(account.as_str());
        self.0.read_all(s, rows::iam_user).await
    }

    async fn update_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let s = Stmt::new("UPDATE iam_users SET tags = $1 WHERE account = $2 AND name_key = $3")
            .bind(rows::encode_iam_tags(&user.tags))
            .bind(user.account.as_str())
            .bind(user.name.to_ascii_lowercase());
        change_audited(&self.0, s, audit).await
    }

    async fn delete_iam_user(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        // Only without access keys and policies, checked in the deleting statement, so that a
        // key or policy added meanwhile is never left without its user.
        let s = by_name(
            "DELETE FROM iam_users WHERE account = $1 AND name_key = $2 \
             AND NOT EXISTS (SELECT 1 FROM access_keys \
             WHERE access_keys.principal_arn = iam_users.arn) \
             AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
             WHERE p.account = $1 AND p.owner_kind = 'user' AND p.owner_key = $2)",
            account,
            name,
        );
        change_audited(&self.0, s, audit).await
    }

    async fn create_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
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
        insert_audited(&self.0, s, "role", audit).await
    }

    async fn get_iam_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamRole>, StoreError> {
        let s = by_name(ROLES.get, account, name);
        self.0.read_one(s, rows::iam_role).await
    }

    async fn list_iam_roles(&self, account: &AccountId) -> Result<Vec<IamRole>, StoreError> {
        let s = Stmt::new(ROLES.list).bind(account.as_str());
        self.0.read_all(s, rows::iam_role).await
    }

    async fn update_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
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
        change_audited(&self.0, s, audit).await
    }

    async fn delete_iam_role(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let s = by_name(
            "DELETE FROM iam_roles WHERE account = $1 AND name_key = $2 \
             AND NOT EXISTS (SELECT 1 FROM iam_inline_policies p \
             WHERE p.account = $1 AND p.owner_kind = 'role' AND p.owner_key = $2)",
            account,
            name,
        );
        change_audited(&self.0, s, audit).await
    }

    async fn put_inline_policy(
        &self,
        policy: &InlinePolicy,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
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
        insert_audited(&self.0, s, "policy", audit).await
    }

    async fn get_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<Option<InlinePolicy>, StoreError> {
        let s = by_owner(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM iam_inline_policies \
                 WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4"
            ),
            account,
            owner,
        )
        .bind(name);
        self.0.read_one(s, rows::inline_policy).await
    }

    async fn list_inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<InlinePolicy>, StoreError> {
        let s = by_owner(
            concat!(
                "SELECT ",
                policy_columns!(),
                " FROM iam_inline_policies \
                 WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 ORDER BY name"
            ),
            account,
            owner,
        );
        self.0.read_all(s, rows::inline_policy).await
    }

    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError> {
        let s = by_owner(
            "DELETE FROM iam_inline_policies \
             WHERE account = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4",
            account,
            owner,
        )
        .bind(name);
        change_audited(&self.0, s, audit).await
    }

    async fn create_session(
        &self,
        session: &Session,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError> {
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
        insert_audited(&self.0, s, "session", audit).await
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
