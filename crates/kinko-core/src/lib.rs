//! `kinko-core` is Kinko's domain: identifiers, keys and their state machine, aliases, tags,
//! accounts, and one method per KMS operation on [`Kms`]. It defines the contracts the outside
//! world plugs into: [`Store`] (persistence), [`Clock`] (time) and `kinko_crypto::RootKey`.
//!
//! Invariants:
//! - No HTTP, JSON or SQL here: requests arrive as validated domain values, results leave as
//!   domain values, and the server converts both at its edge.
//! - Key material leaves this crate only inside a `SecretBytes` that the API returns by design
//!   (data keys, decrypted plaintexts).
//! - Every decryption failure is the same [`Error::InvalidCiphertext`].

mod audit;
mod bootstrap;
mod cache;
mod clock;
mod error;
mod ids;
mod model;
mod ops;
mod rewrap;
mod service;
mod store;

pub use audit::{
    AuditDigest, AuditDraft, AuditEvent, AuditFilter, CRYPTOGRAPHIC_OPERATIONS, ChainHead,
    KeyLastUsage, chain_hash, hex,
};
pub use bootstrap::NewAccessKey;
pub use clock::{Clock, SystemClock, UnixMillis};
pub use error::Error;
pub use ids::{AccessKeyId, AccountId, AliasName, KeyArn, KeyId, KeyRef, MaterialId, Region};
pub use model::{
    AccessKey, Account, Alias, Caller, DEFAULT_POLICY_NAME, EncryptionContext, Key, KeyManager,
    KeySpec, KeyState, KeyUsage, Material, Origin, Tag, default_key_policy,
};
pub use ops::{
    CreateKeyRequest, DataKeySize, DecryptOutput, EncryptOutput, GenerateDataKeyOutput, Page,
    ReEncryptOutput, ScheduleDeletionOutput,
};
pub use rewrap::{RewrapReport, count_by_root, rewrap_all};
pub use service::{AuditFn, Kms};
pub use store::{AuditAppend, AuditCursor, Store, StoreError};
