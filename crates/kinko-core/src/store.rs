//! The storage contract. Backends (SQLite now, PostgreSQL next) implement [`Store`] and pass one
//! shared test suite. Nothing here leans on a particular database: no SQL types, no rowids, no
//! backend-specific conflict semantics beyond [`StoreError::Conflict`].

use async_trait::async_trait;

use crate::{
    AccessKey, AccessKeyId, Account, AccountId, Alias, AliasName, Key, KeyId, Material, MaterialId,
    Region, Tag,
};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or the call failed for a reason that may go away.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule or optimistic-concurrency check was violated (names what).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// A stored record could not be read back into a domain value.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// Persistence for every Kinko record. Each method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Inserts an account.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// All accounts, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Inserts an access key.
    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// Looks up an access key by id.
    async fn get_access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError>;

    /// Inserts a key with its first material version and its tags, atomically.
    async fn create_key(
        &self,
        key: &Key,
        material: &Material,
        tags: &[Tag],
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
    async fn update_key(&self, key: &Key) -> Result<(), StoreError>;
    /// Reads one material version of a key.
    async fn get_material(
        &self,
        key: &KeyId,
        id: &MaterialId,
    ) -> Result<Option<Material>, StoreError>;

    /// Inserts an alias; [`StoreError::Conflict`] if the name is taken.
    async fn create_alias(&self, alias: &Alias) -> Result<(), StoreError>;
    /// Reads an alias.
    async fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError>;
    /// Points an existing alias at another key.
    async fn update_alias(&self, alias: &Alias) -> Result<(), StoreError>;
    /// Deletes an alias; returns whether it existed.
    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
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

    /// Inserts or overwrites tags of a key.
    async fn put_tags(&self, key: &KeyId, tags: &[Tag]) -> Result<(), StoreError>;
    /// Removes tags by key; missing ones are ignored.
    async fn delete_tags(&self, key: &KeyId, tag_keys: &[String]) -> Result<(), StoreError>;
    /// Tags of a key ordered by tag key, strictly after `after`, at most `limit`.
    async fn list_tags(
        &self,
        key: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>, StoreError>;
    /// Number of tags on a key.
    async fn count_tags(&self, key: &KeyId) -> Result<usize, StoreError>;

    /// Every key of every account and region, ordered by id, strictly after `after` (for
    /// installation-wide work: root migration, scheduled jobs).
    async fn list_all_keys(
        &self,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError>;
    /// Every material version of a key.
    async fn list_materials(&self, key: &KeyId) -> Result<Vec<Material>, StoreError>;
    /// Every access key of the installation.
    async fn list_access_keys(&self) -> Result<Vec<AccessKey>, StoreError>;
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
    /// Replaces an access key's wrapped secret if it is still wrapped under `old_root_id`.
    async fn rewrap_access_key(
        &self,
        id: &AccessKeyId,
        old_root_id: &str,
        wrapped: &[u8],
        root_id: &str,
    ) -> Result<bool, StoreError>;

    /// Reads a setting of the installation (e.g. which root-of-trust provider it uses).
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Writes a setting of the installation.
    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Removes a setting; missing is fine.
    async fn delete_setting(&self, name: &str) -> Result<(), StoreError>;
}
