//! The storage contract. Backends (SQLite, PostgreSQL) implement one trait per domain (accounts,
//! keys, aliases, tags, grants, identity, audit, settings); [`Store`] is their union, and every
//! backend passes one shared test suite. Nothing here leans on a particular database: no SQL types,
//! no rowids, no backend-specific conflict semantics beyond [`StoreError::Conflict`].

use async_trait::async_trait;

use crate::audit::{AuditDigest, AuditDraft, AuditEvent, AuditFilter, ChainHead, KeyLastUsage};
use crate::identity::{IamRole, IamUser, InlinePolicy, PolicyOwner, Session};
use crate::secret_model::{Secret, SecretVersion};
use crate::{
    AccessKey, AccessKeyId, Account, AccountId, Alias, AliasName, Grant, ImportParameters, Key,
    KeyId, Material, MaterialId, Region, StoreError, Tag, UnixMillis,
};

/// An audit event that commits in the same transaction as the change it records.
#[derive(Debug, Clone, Copy)]
pub struct AuditAppend<'a> {
    /// The chain to append to (this node's).
    pub chain: &'a str,
    /// The event.
    pub draft: &'a AuditDraft,
}

/// Proof that this process runs the installation's scheduled jobs right now (see
/// [`SettingsStore::try_job_lock`]). Release it when the pass is over; dropping it releases it too, later.
#[async_trait]
pub trait JobLock: Send + std::fmt::Debug {
    /// Gives the lock back so that another node may run the next pass.
    async fn release(self: Box<Self>);
}

/// The lock of a store with one process at a time (SQLite): always granted, nothing to release.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalJobLock;

#[async_trait]
impl JobLock for LocalJobLock {
    async fn release(self: Box<Self>) {}
}

/// A cursor into the audit trail, newest first: (time, chain, seq) of the last item seen.
pub type AuditCursor = (i64, String, i64);

/// Persistence for every Kinko record: the union of the domain traits, so that callers hold one
/// `&dyn Store`. Each method is one transaction. Methods that change a key, alias, tag, grant or
/// identity take the audit event of that change and commit it in the same transaction: either
/// both are durable or neither is.
pub trait Store:
    AccountStore
    + KeyStore
    + AliasStore
    + TagStore
    + GrantStore
    + IdentityStore
    + AuditStore
    + SettingsStore
    + SecretStore
    + crate::ConsoleSessionStore
{
}

/// Whatever implements every domain trait is a [`Store`].
impl<T> Store for T where
    T: AccountStore
        + KeyStore
        + AliasStore
        + TagStore
        + GrantStore
        + IdentityStore
        + AuditStore
        + SettingsStore
        + SecretStore
        + crate::ConsoleSessionStore
        + ?Sized
{
}

/// Accounts and access keys (long-term credentials of the root and of IAM users).
#[async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    /// Inserts an account.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// All accounts, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Inserts an access key.
    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// Looks up an access key by id.
    async fn get_access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError>;

    /// Every access key of the installation.
    async fn list_access_keys(&self) -> Result<Vec<AccessKey>, StoreError>;

    /// Replaces an access key's wrapped secret if it is still wrapped under `old_root_id`.
    async fn rewrap_access_key(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError>;

    /// Inserts an access key together with the audit event of its creation (IAM
    /// CreateAccessKey; [`AccountStore::create_access_key`] is first start's, unaudited).
    async fn create_access_key_audited(
        &self,
        key: &AccessKey,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Access keys of one principal, oldest first.
    async fn list_principal_access_keys(
        &self,
        principal_arn: &str,
    ) -> Result<Vec<AccessKey>, StoreError>;
    /// Activates or deactivates an access key; returns whether it exists.
    async fn set_access_key_active(
        &self,
        id: &AccessKeyId,
        active: bool,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Deletes an access key; returns whether it existed.
    async fn delete_access_key(
        &self,
        id: &AccessKeyId,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
}

/// Keys with their material versions and import parameters.
#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Inserts a key with its first material version and its tags, atomically.
    async fn create_key(
        &self,
        key: &Key,
        material: &Material,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Reads a key of `account` in `region`.
    async fn get_key(
        &self,
        account: &AccountId,
        region: &Region,
        id: &KeyId,
    ) -> Result<Option<Key>, StoreError>;
    /// Keys of `account` in `region` ordered by id, strictly after `after`, at most `limit`.
    async fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError>;
    /// Replaces a key's mutable fields if its stored `version` is `key.version - 1`;
    /// otherwise [`StoreError::Conflict`].
    async fn update_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError>;
    /// Adds a material version and updates the key (same version rule as
    /// [`KeyStore::update_key`]), atomically: rotation, and imported material for a rotation.
    async fn add_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Replaces an existing material version's wrapping and import fields and updates the key
    /// (same version rule as [`KeyStore::update_key`]), atomically: import, reimport, deletion of
    /// imported material.
    async fn put_material(
        &self,
        key: &Key,
        material: &Material,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Deletes a key with its material, aliases, tags, grants and import parameters if its stored
    /// `version` is `key.version` and it is still PendingDeletion; otherwise
    /// [`StoreError::Conflict`] (another node or an earlier run got there first).
    async fn delete_key(&self, key: &Key, audit: AuditAppend<'_>) -> Result<(), StoreError>;
    /// Keys with scheduled work due at `now`: deletion dates passed, automatic rotations due
    /// (Enabled keys), imported material expired. At most `limit`, oldest due first.
    async fn keys_due(&self, now: UnixMillis, limit: usize) -> Result<Vec<Key>, StoreError>;
    /// Stores import parameters.
    async fn put_import_parameters(&self, params: &ImportParameters) -> Result<(), StoreError>;
    /// Reads import parameters by token id.
    async fn get_import_parameters(
        &self,
        token_id: &str,
    ) -> Result<Option<ImportParameters>, StoreError>;
    /// Reads one material version of a key.
    async fn get_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
    ) -> Result<Option<Material>, StoreError>;

    /// Every key of every account and region, ordered by id, strictly after `after` (for
    /// installation-wide work: root migration, scheduled jobs).
    async fn list_all_keys(
        &self,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError>;
    /// Every material version of a key.
    async fn list_materials(&self, key: &KeyId) -> Result<Vec<Material>, StoreError>;

    /// Every region's key of the multi-Region key `id` in `account` (`id`'s own scope is
    /// ignored), ordered by storage id.
    async fn list_key_regions(
        &self,
        account: &AccountId,
        id: &KeyId,
    ) -> Result<Vec<Key>, StoreError>;
    /// Inserts a multi-Region replica key with every material version of its primary (wrapped
    /// for the replica) and its tags, and writes `primary` (same version rule as
    /// [`KeyStore::update_key`], so that a rotation of the primary racing this copy conflicts
    /// instead of missing the replica), atomically (ReplicateKey); [`StoreError::Conflict`] if
    /// the region has that key already or the primary changed.
    async fn create_replica(
        &self,
        primary: &Key,
        key: &Key,
        materials: &[Material],
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Updates several keys (each with the version rule of [`KeyStore::update_key`]) and adds
    /// a material version to each key it is given for, in one transaction: the regions of a
    /// multi-Region key changing together (UpdatePrimaryRegion, rotation).
    async fn update_keys(
        &self,
        keys: &[(Key, Option<Material>)],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;

    /// Replaces a material's wrapping if it is still wrapped under `old_root_id`; returns
    /// whether it was (so a rerun after an interruption skips what is done).
    async fn rewrap_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError>;
}

/// Aliases: names pointing at keys, unique per account and region.
#[async_trait]
pub trait AliasStore: Send + Sync + std::fmt::Debug {
    /// Inserts an alias; [`StoreError::Conflict`] if the name is taken.
    async fn create_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError>;
    /// Reads an alias.
    async fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError>;
    /// Points an existing alias at another key.
    async fn update_alias(&self, alias: &Alias, audit: AuditAppend<'_>) -> Result<(), StoreError>;
    /// Deletes an alias; returns whether it existed.
    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Aliases ordered by name, optionally only those of one key, strictly after `after`.
    async fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError>;
    /// Number of aliases pointing at a key.
    async fn count_aliases(&self, target: &KeyId) -> Result<usize, StoreError>;
}

/// Tags of keys.
#[async_trait]
pub trait TagStore: Send + Sync + std::fmt::Debug {
    /// Inserts or overwrites tags of a key.
    async fn put_tags(
        &self,
        key: &KeyId,
        tags: &[Tag],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Removes tags by key; missing ones are ignored.
    async fn delete_tags(
        &self,
        key: &KeyId,
        tag_keys: &[String],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Tags of a key ordered by tag key, strictly after `after`, at most `limit`.
    async fn list_tags(
        &self,
        key: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>, StoreError>;
    /// Number of tags on a key.
    async fn count_tags(&self, key: &KeyId) -> Result<usize, StoreError>;
}

/// Grants on keys.
#[async_trait]
pub trait GrantStore: Send + Sync + std::fmt::Debug {
    /// Inserts a grant; [`StoreError::Conflict`] if its id is taken.
    async fn create_grant(&self, grant: &Grant, audit: AuditAppend<'_>) -> Result<(), StoreError>;
    /// Every grant of a key, ordered by grant id.
    async fn list_grants(&self, key: &KeyId) -> Result<Vec<Grant>, StoreError>;
    /// Grants on keys of `account` in `region` whose retiring principal (of the same kind: an
    /// AWS principal or a service) is `retiring_principal`, ordered by grant id, strictly after
    /// `after`, at most `limit`.
    async fn list_retirable_grants(
        &self,
        account: &AccountId,
        region: &Region,
        retiring_principal: &crate::GrantPrincipal,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError>;
    /// Deletes a grant of a key (retire, revoke); returns whether it existed. The audit event
    /// is committed only if it did.
    async fn delete_grant(
        &self,
        key: &KeyId,
        grant_id: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
}

/// IAM users, roles, inline policies and STS sessions. Names of users and roles are unique per
/// account regardless of case, as in IAM. Every change commits its audit event in the same
/// transaction.
#[async_trait]
pub trait IdentityStore: Send + Sync + std::fmt::Debug {
    /// Inserts a user; [`StoreError::Conflict`] if the account has one of that name.
    async fn create_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Reads a user by name (case-insensitive).
    async fn get_iam_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamUser>, StoreError>;
    /// Users of an account ordered by name (case-insensitive).
    async fn list_iam_users(&self, account: &AccountId) -> Result<Vec<IamUser>, StoreError>;
    /// Replaces a user's tags; returns whether the user exists.
    async fn update_iam_user(
        &self,
        user: &IamUser,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Deletes a user that has no access keys and no inline policies (checked in the same
    /// statement); returns whether it was deleted.
    async fn delete_iam_user(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Inserts a role; [`StoreError::Conflict`] if the account has one of that name.
    async fn create_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Reads a role by name (case-insensitive).
    async fn get_iam_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<IamRole>, StoreError>;
    /// Roles of an account ordered by name (case-insensitive).
    async fn list_iam_roles(&self, account: &AccountId) -> Result<Vec<IamRole>, StoreError>;
    /// Replaces a role's tags, description, trust policy and maximum session duration;
    /// returns whether the role exists.
    async fn update_iam_role(
        &self,
        role: &IamRole,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Deletes a role that has no inline policies (checked in the same statement); returns
    /// whether it was deleted.
    async fn delete_iam_role(
        &self,
        account: &AccountId,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;
    /// Inserts or replaces an inline policy.
    async fn put_inline_policy(
        &self,
        policy: &InlinePolicy,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Reads an inline policy.
    async fn get_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<Option<InlinePolicy>, StoreError>;
    /// Inline policies of a user or role, ordered by name.
    async fn list_inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<InlinePolicy>, StoreError>;
    /// Deletes an inline policy; returns whether it existed.
    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
        audit: AuditAppend<'_>,
    ) -> Result<bool, StoreError>;

    /// Inserts temporary credentials.
    async fn create_session(
        &self,
        session: &Session,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Reads temporary credentials by access key id.
    async fn get_session(&self, id: &AccessKeyId) -> Result<Option<Session>, StoreError>;
    /// Every stored session (root migration).
    async fn list_sessions(&self) -> Result<Vec<Session>, StoreError>;
    /// Replaces a session's wrapped secret if it is still wrapped under `old_root_id`.
    async fn rewrap_session(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: UnixMillis) -> Result<u64, StoreError>;
}

/// The audit trail: hash chains, signed digests, pruning and key usage.
#[async_trait]
pub trait AuditStore: Send + Sync + std::fmt::Debug {
    /// Appends events to the end of `chain` in one transaction (group commit); returns them with
    /// their chain positions.
    async fn append_audit(
        &self,
        chain: &str,
        drafts: &[AuditDraft],
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// Every chain's head.
    async fn audit_chains(&self) -> Result<Vec<ChainHead>, StoreError>;
    /// Events of `chain` with `seq > after_seq`, in chain order, at most `limit`.
    async fn audit_events(
        &self,
        chain: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// Events matching `filter`, newest first, strictly older than `before`, at most `limit`.
    async fn query_audit(
        &self,
        filter: &AuditFilter,
        before: Option<&AuditCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    /// Stores a signed digest.
    async fn put_digest(&self, digest: &AuditDigest) -> Result<(), StoreError>;
    /// Digests of `chain`, oldest first.
    async fn list_digests(&self, chain: &str) -> Result<Vec<AuditDigest>, StoreError>;
    /// Deletes the events of `chain` up to `anchor.last_seq` and stores `anchor`, the signed
    /// digest that marks where the chain now starts, in one transaction. Returns how many went.
    async fn prune_audit(&self, anchor: &AuditDigest) -> Result<u64, StoreError>;
    /// The last successful cryptographic use of a key.
    async fn key_last_usage(&self, key: &KeyId) -> Result<Option<KeyLastUsage>, StoreError>;
    /// Successful uses of a key per operation.
    async fn key_usage_counts(&self, key: &KeyId) -> Result<Vec<(String, u64)>, StoreError>;
    /// Events per hour since `from`, as (start of the hour, events), for `account`: read from
    /// the store's indexes without decoding an event. SQLite counts the group-commit batches
    /// holding an event of the account (exact on a one-account installation; on several, a batch
    /// shared with another account counts whole).
    async fn audit_hourly_counts(
        &self,
        account: &AccountId,
        from: UnixMillis,
    ) -> Result<Vec<(i64, u64)>, StoreError>;
}

/// Settings of the installation and the lock of its scheduled jobs.
#[async_trait]
pub trait SettingsStore: Send + Sync + std::fmt::Debug {
    /// Reads a setting of the installation (e.g. which root-of-trust provider it uses).
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Writes a setting of the installation.
    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Removes a setting; missing is fine.
    async fn delete_setting(&self, name: &str) -> Result<(), StoreError>;
    /// Writes a setting unless it exists, and returns the value stored now: `value` if this
    /// call wrote it, else the one that was there (written first by another node starting at
    /// the same time). First-start records are created this way, so racing nodes agree.
    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError>;

    /// The installation-wide lock of scheduled jobs: `Some` if this caller now runs them, `None`
    /// if another node does. A store that one process at a time opens grants it always
    /// ([`LocalJobLock`]); a shared one (PostgreSQL) takes an advisory lock.
    async fn try_job_lock(&self) -> Result<Option<Box<dyn JobLock>>, StoreError> {
        Ok(Some(Box::new(LocalJobLock)))
    }
}

/// Secrets and their versions.
#[async_trait]
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// Inserts a secret and its first version (if any), atomically; a secret of the same name
    /// in the account and region is [`StoreError::Conflict`].
    async fn create_secret(
        &self,
        secret: &Secret,
        version: Option<&SecretVersion>,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// The secret named `name` in `account` and `region`.
    async fn get_secret_by_name(
        &self,
        account: &AccountId,
        region: &Region,
        name: &str,
    ) -> Result<Option<Secret>, StoreError>;
    /// The secret with this ARN.
    async fn get_secret(&self, arn: &str) -> Result<Option<Secret>, StoreError>;
    /// Every secret of `account` in `region`, ordered by name.
    async fn list_secrets(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Vec<Secret>, StoreError>;
    /// Every version of a secret, oldest first.
    async fn secret_versions(&self, arn: &str) -> Result<Vec<SecretVersion>, StoreError>;
    /// Writes the secret if its stored `version` is `secret.version - 1` (else
    /// [`StoreError::Conflict`]), inserts or replaces `versions`, and deletes versions of the
    /// secret named in `drop_versions`, atomically.
    async fn update_secret(
        &self,
        secret: &Secret,
        versions: &[SecretVersion],
        drop_versions: &[String],
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Deletes a secret with its versions if its stored `version` is `secret.version`.
    async fn delete_secret(
        &self,
        secret: &Secret,
        audit: AuditAppend<'_>,
    ) -> Result<(), StoreError>;
    /// Secrets whose deletion date has passed at `now`, at most `limit`.
    async fn secrets_due(&self, now: UnixMillis, limit: usize) -> Result<Vec<Secret>, StoreError>;
    /// Secrets with a rotation configured and not pending deletion, at most `limit` (the
    /// scheduler picks the due ones).
    async fn secrets_rotating(&self, limit: usize) -> Result<Vec<Secret>, StoreError>;
}
