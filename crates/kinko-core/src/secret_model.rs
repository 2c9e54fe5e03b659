//! Secrets Manager's records: a [`Secret`] and its [`SecretVersion`]s. A version never holds its
//! value in clear: only the value sealed under a data key, and that data key wrapped by KMS
//! under the secret's key with the encryption context `{"SecretARN", "SecretVersionId"}`.

use kinko_crypto::SecretBytes;

use crate::{AccountId, Region, Tag, UnixMillis};

/// The label of a secret's current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label of the version that was current before.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// The label of a version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";

/// A secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`.
    pub arn: String,
    /// Owning account.
    pub account: AccountId,
    /// Region.
    pub region: Region,
    /// The name, unique in the account and region.
    pub name: String,
    /// Description, 0–2048 characters.
    pub description: String,
    /// The KmsKeyId the owner gave; `None`: the account's `alias/aws/secretsmanager`.
    pub kms_key_id: Option<String>,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Last change (value, description, key, tags, labels).
    pub last_changed_at: UnixMillis,
    /// When the secret is deleted; `Some` while it is pending deletion.
    pub deletion_date: Option<UnixMillis>,
    /// Tags, in the order given.
    pub tags: Vec<Tag>,
    /// The resource policy (PutResourcePolicy), as given.
    pub resource_policy: Option<String>,
    /// Its rotation (RotateSecret), once configured.
    pub rotation: Option<SecretRotation>,
    /// Optimistic-concurrency version, bumped by every update.
    pub version: i64,
}

/// A secret's rotation: the function that rotates it, its schedule and how it last went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRotation {
    /// Whether rotation is on (CancelRotateSecret turns it off).
    pub enabled: bool,
    /// The rotation function's Lambda ARN, mapped to a URL by the server's configuration.
    pub lambda_arn: String,
    /// RotationRules.AutomaticallyAfterDays, when given so.
    pub after_days: Option<i64>,
    /// RotationRules.ScheduleExpression (`rate(N days)`, `rate(N hours)`, `cron(…)`), when
    /// given so.
    pub schedule: Option<String>,
    /// RotationRules.Duration (`Nh`), the rotation window, when given.
    pub duration: Option<String>,
    /// The interval between rotations, in milliseconds (for a `cron()` schedule, the smallest
    /// gap between two of its rotations).
    pub interval_ms: i64,
    /// When a rotation last succeeded.
    pub last_rotated: Option<UnixMillis>,
    /// When the scheduler starts the next rotation.
    pub next_rotation: Option<UnixMillis>,
    /// Why the last rotation failed (no secret value, only the step and the HTTP outcome);
    /// cleared by a successful one.
    pub last_failure: Option<String>,
}

/// One version of a secret's value, sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// The secret's ARN.
    pub secret_arn: String,
    /// Its id (the ClientRequestToken that made it).
    pub version_id: String,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Staging labels (AWSCURRENT, AWSPREVIOUS, AWSPENDING or the owner's).
    pub stages: Vec<String>,
    /// The KMS key that wrapped the data key.
    pub key_arn: String,
    /// The data key, wrapped by KMS.
    pub wrapped_key: Vec<u8>,
    /// The value sealed under the data key.
    pub sealed: Vec<u8>,
    /// SecretBinary (else SecretString).
    pub is_binary: bool,
}

impl std::fmt::Debug for SecretVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretVersion")
            .field("secret_arn", &self.secret_arn)
            .field("version_id", &self.version_id)
            .field("stages", &self.stages)
            .field("key_arn", &self.key_arn)
            .finish_non_exhaustive()
    }
}

impl SecretVersion {
    /// Whether it carries `label`.
    pub fn has(&self, label: &str) -> bool {
        self.stages.iter().any(|s| s == label)
    }
}

/// A secret's value in clear: only ever in memory, zeroized on drop, `Debug` redacted.
#[derive(Debug)]
pub enum SecretValue {
    /// SecretString (UTF-8).
    String(SecretBytes),
    /// SecretBinary.
    Binary(SecretBytes),
}

impl SecretValue {
    /// The bytes.
    pub fn bytes(&self) -> &SecretBytes {
        match self {
            SecretValue::String(b) | SecretValue::Binary(b) => b,
        }
    }

    /// Whether it is SecretBinary.
    pub fn is_binary(&self) -> bool {
        matches!(self, SecretValue::Binary(_))
    }
}
