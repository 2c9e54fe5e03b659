//! `kinko-core` is Kinko's domain: identifiers, keys and their state machine, aliases, tags,
//! accounts, IAM identities (users, roles, inline policies, STS sessions: `identity.rs`),
//! grants, and one method per KMS, IAM and STS operation on [`Kms`] (`kms.rs`), in one file per
//! operation family, over shared rules (`rules.rs`) and key resolution (`resolve.rs`). It defines the contracts the outside
//! world plugs into: [`Store`] (persistence), [`Clock`] (time) and `kinko_crypto::RootKey`.
//!
//! Invariants:
//! - No HTTP, JSON or SQL here: requests arrive as validated domain values, results leave as
//!   domain values, and the server converts both at its edge.
//! - Key material leaves this crate only inside a `SecretBytes` that the API returns by design
//!   (data keys, decrypted plaintexts).
//! - Every decryption failure is the same [`Error::InvalidCiphertext`].

mod aad;
mod accounts;
mod actions;
mod algorithms;
mod aliases;
mod asymmetric;
mod audit;
mod authz;
mod bootstrap;
mod cache;
mod cache_stats;
mod clock;
mod console_store;
mod crypto;
mod error;
mod grant;
mod grants;
mod iam_entity;
mod iam_policies;
mod iam_roles;
mod iam_users;
mod identity;
mod ids;
mod import;
mod intern;
mod key_policy;
mod keys;
mod kms;
mod lifecycle;
mod managed;
mod material;
mod model;
mod multi_region;
mod observe;
mod ops;
mod policy_cache;
mod principal;
mod principals;
mod resolve;
mod resource_policy;
mod rewrap;
mod rules;
mod secret_model;
mod secret_policy;
mod secret_rotation;
mod secret_schedule;
mod secrets;
mod secrets_admin;
mod secrets_seal;
mod store;
mod store_error;
mod sts;
mod tags;
mod via;

pub use actions::Action;
pub use algorithms::{
    DataKeyPairSpec, EncapsulationAlgorithmSpec, EncryptionAlgorithmSpec, ImportType,
    KeyAgreementAlgorithmSpec, MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
    WrappingAlgorithmSpec, WrappingKeySpec,
};
pub use audit::{
    AuditDigest, AuditDraft, AuditEvent, AuditFilter, CRYPTOGRAPHIC_OPERATIONS, ChainHead,
    ChainPosition, KeyLastUsage, chain_events, chain_hash, hex, user_name,
};
pub use authz::{DenialReason, Verdict};
pub use bootstrap::NewAccessKey;
pub use cache_stats::{CacheStats, HitsAndMisses};
pub use clock::{Clock, SystemClock, UnixMillis};
pub use console_store::{ConsoleSessionRecord, ConsoleSessionStore};
pub use error::{Error, InternalCause};
pub use grant::{
    Grant, GrantConstraints, GrantOperation, GrantPrincipal, MAX_GRANTS_PER_KEY, check_grant_id,
    check_principal, check_service_principal, check_source_arn, grant_token, parse_grant_token,
};
pub use grants::{CreateGrantOutput, CreateGrantRequest, GrantAuditFn, RetireTarget};
pub use iam_entity::Member;
pub use iam_roles::NewRole;
pub use identity::{
    DEFAULT_SESSION_SECONDS, IDENTITY_TTL_MS, IamRole, IamUser, Identity, IdentityKind,
    InlinePolicy, MAX_ACCESS_KEYS_PER_USER, MAX_IAM_TAGS, MAX_ROLE_SESSION_SECONDS,
    MIN_SESSION_SECONDS, NewSession, PolicyOwner, PolicyOwnerKind, Session, SessionCheck,
};
pub use ids::{AccessKeyId, AccountId, AliasName, KeyArn, KeyId, KeyRef, MaterialId, Region};
pub use import::{ImportParametersOutput, ImportRequest};
pub use kms::Kms;
pub use lifecycle::{JobReport, RotationStatus, ServiceAuditFn, ServiceEvent};
pub use managed::{managed_alias, managed_key_description, managed_key_policy};
pub use model::{
    AccessKey, Account, Alias, Caller, DEFAULT_POLICY_NAME, DEFAULT_ROTATION_PERIOD_DAYS,
    EncryptionContext, ExpirationModel, ImportParameters, Key, KeyManager, KeySpec, KeyState,
    KeyUsage, MAX_ON_DEMAND_ROTATIONS, MAX_ROTATION_PERIOD_DAYS, MIN_ROTATION_PERIOD_DAYS,
    Material, Origin, RequestFacts, RotationType, Tag, default_key_policy,
};
pub use multi_region::{ReplicateKeyOutput, ReplicateKeyRequest};
pub use ops::{
    AuditFn, CreateKeyRequest, DataKeyPairOutput, DataKeySize, DecryptOutput, EncapsulateOutput,
    EncryptOutput, GenerateDataKeyOutput, MacOutput, Page, PublicKeyOutput, ReEncryptOutput,
    ScheduleDeletionOutput, SharedSecretOutput, SignOutput,
};
pub use principal::Principal;
pub use resource_policy::PolicyCheck;
pub use rewrap::{RewrapReport, count_by_root, rewrap_all};
pub use secret_model::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Secret, SecretRotation, SecretValue, SecretVersion,
};
pub use secret_rotation::{RotationRequest, rotation_interval};
pub use secrets::{
    CreateSecretRequest, MAX_SECRET_TAGS, MAX_SECRET_VALUE_BYTES, SecretRead, SecretWrite,
};
pub use secrets_admin::{BatchItem, PasswordRules, SecretFilter, SecretPage};
pub use secrets_seal::SecretsAudit;
pub use store::{
    AccountStore, AliasStore, AuditAppend, AuditCursor, AuditStore, GrantStore, IdentityStore,
    JobLock, KeyStore, LocalJobLock, SecretStore, SettingsStore, Store, TagStore,
};
pub use store_error::{BoxError, StoreError};
pub use via::{ViaCall, ViaLog, ViaService};
