//! The storage contract of Secrets Manager's secrets: [`SecretStore`], part of
//! [`crate::Store`]. Every change commits with its audit record.

use async_trait::async_trait;

use crate::secret_model::{Secret, SecretVersion};
use crate::{AccountId, AuditAppend, Region, StoreError, UnixMillis};

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
}
