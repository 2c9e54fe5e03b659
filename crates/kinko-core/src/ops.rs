//! Inputs and outputs of the operations on `Kms` that carry more than one value, and the
//! audit callback every audited change takes.

use kinko_crypto::SecretBytes;

use std::sync::Arc;

use crate::{
    AuditDraft, Key, KeyArn, KeySpec, KeyState, KeyUsage, MaterialId, Origin, Tag, UnixMillis,
};

/// Builds the audit event of a successful change from the key it changed. The server supplies
/// it, because only the server knows the CloudTrail record's fields.
pub type AuditFn<'a> = &'a (dyn Fn(&Key) -> AuditDraft + Send + Sync);

/// CreateKey, validated.
#[derive(Debug, Clone)]
pub struct CreateKeyRequest {
    /// Description (0–8192 chars).
    pub description: String,
    /// Key spec.
    pub spec: KeySpec,
    /// Key usage (already defaulted for the spec).
    pub usage: KeyUsage,
    /// Origin.
    pub origin: Origin,
    /// The key policy; `None` attaches the default policy.
    pub policy: Option<String>,
    /// Initial tags.
    pub tags: Vec<Tag>,
    /// Multi-Region key requested.
    pub multi_region: bool,
    /// A custom key store was named.
    pub custom_key_store: bool,
    /// `BypassPolicyLockoutSafetyCheck`: accept a policy that would lock the caller out.
    pub bypass_policy_lockout_safety_check: bool,
}

/// How many bytes of data key GenerateDataKey makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeySize {
    /// `KeySpec: AES_128`.
    Aes128,
    /// `KeySpec: AES_256`.
    Aes256,
    /// `NumberOfBytes: n`, 1–1024.
    Bytes(u16),
}

impl DataKeySize {
    /// Length in bytes.
    pub fn byte_len(self) -> usize {
        match self {
            DataKeySize::Aes128 => 16,
            DataKeySize::Aes256 => 32,
            DataKeySize::Bytes(n) => usize::from(n),
        }
    }
}

/// One page of a list operation.
#[derive(Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Marker of the next page, if there is one.
    pub next_marker: Option<String>,
}

/// Encrypt's result.
#[derive(Debug)]
pub struct EncryptOutput {
    /// Ciphertext blob.
    pub ciphertext: Vec<u8>,
    /// The key that encrypted.
    pub key_arn: KeyArn,
    /// The material version used.
    pub material_id: MaterialId,
}

/// Decrypt's result.
#[derive(Debug)]
pub struct DecryptOutput {
    /// The plaintext (returned by design).
    pub plaintext: SecretBytes,
    /// The key that decrypted.
    pub key_arn: KeyArn,
    /// The material version used (symmetric keys only, as AWS reports it).
    pub material_id: Option<MaterialId>,
}

/// ReEncrypt's result.
#[derive(Debug)]
pub struct ReEncryptOutput {
    /// New ciphertext.
    pub ciphertext: Vec<u8>,
    /// Key that decrypted.
    pub source_key_arn: KeyArn,
    /// Key that encrypted.
    pub destination_key_arn: KeyArn,
    /// Material version that decrypted (symmetric source keys only).
    pub source_material_id: Option<MaterialId>,
    /// Material version that encrypted (symmetric destination keys only).
    pub destination_material_id: Option<MaterialId>,
}

/// GenerateDataKey's result.
#[derive(Debug)]
pub struct GenerateDataKeyOutput {
    /// The data key in clear, `None` for the WithoutPlaintext variant.
    pub plaintext: Option<SecretBytes>,
    /// The data key encrypted under the KMS key.
    pub ciphertext: Vec<u8>,
    /// The KMS key.
    pub key_arn: KeyArn,
    /// Material version used.
    pub material_id: MaterialId,
}

/// ScheduleKeyDeletion's result.
#[derive(Debug)]
pub struct ScheduleDeletionOutput {
    /// The key.
    pub key_arn: KeyArn,
    /// When it will be deleted; `None` for a multi-Region primary waiting for its replicas'
    /// deletion (its date is not known yet).
    pub deletion_date: Option<UnixMillis>,
    /// Its state now (PendingDeletion, or PendingReplicaDeletion).
    pub state: KeyState,
    /// The waiting period.
    pub pending_window_days: u32,
}

/// Sign's result.
#[derive(Debug)]
pub struct SignOutput {
    /// The key that signed.
    pub key_arn: KeyArn,
    /// The signature (DER for ECDSA).
    pub signature: Vec<u8>,
}

/// GenerateMac's result.
#[derive(Debug)]
pub struct MacOutput {
    /// The HMAC key.
    pub key_arn: KeyArn,
    /// The MAC.
    pub mac: Vec<u8>,
}

/// GetPublicKey's result.
#[derive(Debug)]
pub struct PublicKeyOutput {
    /// The key.
    pub key: Arc<Key>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
}

/// GenerateDataKeyPair's result.
#[derive(Debug)]
pub struct DataKeyPairOutput {
    /// The PKCS#8 private key in clear, `None` for the WithoutPlaintext variant.
    pub private_plaintext: Option<SecretBytes>,
    /// The private key encrypted under the KMS key (a symmetric ciphertext blob).
    pub private_ciphertext: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The KMS key.
    pub key_arn: KeyArn,
    /// Material version used.
    pub material_id: MaterialId,
}

/// DeriveSharedSecret's result.
#[derive(Debug)]
pub struct SharedSecretOutput {
    /// The key.
    pub key: Arc<Key>,
    /// The raw ECDH shared secret.
    pub shared_secret: SecretBytes,
}

/// Encapsulate's result.
#[derive(Debug)]
pub struct EncapsulateOutput {
    /// The key.
    pub key_arn: KeyArn,
    /// The ML-KEM ciphertext.
    pub ciphertext: Vec<u8>,
    /// The 32-byte shared secret.
    pub shared_secret: SecretBytes,
}
