//! How Secrets Manager protects a version's value: a fresh 256-bit data key from
//! GenerateDataKey on the secret's KMS key, made as the caller through the service
//! (`via.rs`), with the encryption context `{"SecretARN": <arn>, "SecretVersionId": <id>}`;
//! the value sealed under that data key (AES-256-GCM, Kinko's ciphertext format with zero ids:
//! the data key is the only key). The store keeps the sealed value and the wrapped data key,
//! never the value or the data key. Opening is Decrypt of the wrapped data key, as the caller
//! through the service, under the same context.
//!
//! A KMS refusal reaches the caller as `AccessDeniedException` ("Access to KMS is not
//! allowed"); a key that cannot serve as `EncryptionFailure` / `DecryptionFailure`.

use std::collections::BTreeMap;

use kinko_crypto::{DataProtectionKey, KEY_ID_LEN, MATERIAL_ID_LEN, SecretBytes};

use crate::lifecycle::ServiceAuditFn;
use crate::secret_model::{Secret, SecretValue, SecretVersion};
use crate::via::{ViaLog, ViaService};
use crate::{AuditDraft, Caller, EncryptionContext, Error, KeyRef, Kms, UnixMillis};

/// What a Secrets Manager operation that changes a secret needs from the server: the record of
/// the change, the record of each KMS call made for the caller, and the records of an AWS
/// managed key made on first use.
pub struct SecretsAudit<'a> {
    /// The record of the change, from the secret after it.
    pub change: &'a (dyn Fn(&Secret) -> AuditDraft + Send + Sync),
    /// Each KMS call made on the caller's behalf.
    pub via: ViaLog<'a>,
    /// The AWS managed key's creation.
    pub events: ServiceAuditFn<'a>,
}

impl std::fmt::Debug for SecretsAudit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsAudit")
    }
}

/// The encryption context of a version.
pub(crate) fn version_context(arn: &str, version_id: &str) -> EncryptionContext {
    EncryptionContext(BTreeMap::from([
        ("SecretARN".to_owned(), arn.to_owned()),
        ("SecretVersionId".to_owned(), version_id.to_owned()),
    ]))
}

const ZERO_KEY_ID: [u8; KEY_ID_LEN] = [0; KEY_ID_LEN];
const ZERO_MATERIAL_ID: [u8; MATERIAL_ID_LEN] = [0; MATERIAL_ID_LEN];

/// A KMS error as Secrets Manager reports it.
fn kms_refusal(e: Error, sealing: bool) -> Error {
    match e {
        Error::AccessDenied(_) => Error::AccessDenied("Access to KMS is not allowed".into()),
        Error::NotFound(m)
        | Error::InvalidArn(m)
        | Error::Disabled(m)
        | Error::InvalidState(m)
        | Error::InvalidKeyUsage(m)
        | Error::IncorrectKey(m)
        | Error::Validation(m) => {
            let m = format!("Access to KMS is not allowed: {m}");
            if sealing {
                Error::EncryptionFailure(m)
            } else {
                Error::DecryptionFailure(m)
            }
        }
        Error::InvalidCiphertext => Error::DecryptionFailure(
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
                .into(),
        ),
        other => other,
    }
}

impl Kms {
    /// The KMS key a secret's new versions are sealed under: the one its owner named, or the
    /// account's AWS managed key (made now on first use).
    pub(crate) async fn secret_key(
        &self,
        caller: &Caller,
        kms_key_id: Option<&str>,
        audit: &SecretsAudit<'_>,
    ) -> Result<(KeyRef, String), Error> {
        match kms_key_id {
            Some(id) => {
                // Naming the AWS managed key by its alias (or alias ARN) makes it on first use too,
                // as on AWS; the reference is then resolved as given.
                let managed = crate::managed_alias(ViaService::SecretsManager);
                if id == managed.as_str() || id.ends_with(&format!(":{}", managed.as_str())) {
                    self.managed_key(caller, ViaService::SecretsManager, audit.events)
                        .await?;
                }
                Ok((KeyRef::parse(id)?, id.to_owned()))
            }
            None => {
                let key = self
                    .managed_key(caller, ViaService::SecretsManager, audit.events)
                    .await?;
                Ok((KeyRef::Arn(key.arn.clone()), key.arn.to_string()))
            }
        }
    }

    /// Seals `value` as version `version_id` of the secret `arn` under `key`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn seal_secret(
        &self,
        caller: &Caller,
        key: &(KeyRef, String),
        arn: &str,
        version_id: &str,
        value: &SecretValue,
        stages: Vec<String>,
        created_at: UnixMillis,
        audit: &SecretsAudit<'_>,
    ) -> Result<SecretVersion, Error> {
        let context = version_context(arn, version_id);
        let data_key = self
            .generate_data_key_via(
                caller,
                ViaService::SecretsManager,
                &key.0,
                &key.1,
                &context,
                audit.via,
            )
            .await
            .map_err(|e| kms_refusal(e, true))?;
        let plaintext = data_key
            .plaintext
            .ok_or_else(|| Error::Internal("GenerateDataKey returned no plaintext".into()))?;
        let sealed = DataProtectionKey::new(&plaintext)
            .and_then(|k| {
                k.seal(
                    &ZERO_KEY_ID,
                    &ZERO_MATERIAL_ID,
                    &context.aad(),
                    value.bytes().expose(),
                )
            })
            .map_err(|e| Error::failed("sealing a secret value", e))?;
        Ok(SecretVersion {
            secret_arn: arn.to_owned(),
            version_id: version_id.to_owned(),
            created_at,
            stages,
            key_arn: data_key.key_arn.to_string(),
            wrapped_key: data_key.ciphertext,
            sealed,
            is_binary: value.is_binary(),
        })
    }

    /// Opens a version's value, as `caller` through the service.
    pub(crate) async fn open_secret(
        &self,
        caller: &Caller,
        version: &SecretVersion,
        via: ViaLog<'_>,
    ) -> Result<SecretValue, Error> {
        let context = version_context(&version.secret_arn, &version.version_id);
        let data_key = self
            .decrypt_via(
                caller,
                ViaService::SecretsManager,
                &version.wrapped_key,
                &context,
                via,
            )
            .await
            .map_err(|e| kms_refusal(e, false))?;
        let bytes: SecretBytes = DataProtectionKey::new(&data_key.plaintext)
            .and_then(|k| k.open(&version.sealed, &context.aad()))
            .map_err(|e| Error::failed("opening a secret value", e))?;
        Ok(if version.is_binary {
            SecretValue::Binary(bytes)
        } else {
            SecretValue::String(bytes)
        })
    }
}
