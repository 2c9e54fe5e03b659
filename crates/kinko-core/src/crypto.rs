//! The symmetric cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey (with
//! and without plaintext) and GenerateRandom. The asymmetric, HMAC and post-quantum ones are in
//! `asymmetric.rs`.

use kinko_crypto::{SecretBytes, random_secret};

use crate::actions::Action;
use crate::ops::{
    DataKeySize, DecryptOutput, EncryptOutput, GenerateDataKeyOutput, ReEncryptOutput,
};
use crate::rules::{Need, check_encrypt_usage, check_state, incorrect_key};
use crate::{
    Caller, EncryptionAlgorithmSpec, EncryptionContext, Error, KeyArn, KeyId, KeyRef, KeyUsage,
    Kms, MaterialId,
};

impl Kms {
    /// Encrypt with the key's current material.
    pub async fn encrypt(
        &self,
        caller: &Caller,
        key: &KeyRef,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<EncryptOutput, Error> {
        let key = self
            .resolve_with(caller, key, Action::KmsEncrypt, Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, algorithm, Action::KmsEncrypt)?;
        let (material_id, ciphertext) = self
            .encrypt_with(&key, algorithm, context, plaintext)
            .await?;
        Ok(EncryptOutput {
            ciphertext,
            key_arn: key.arn.clone(),
            material_id,
        })
    }

    /// A dry run of Decrypt, or of ReEncrypt's source half (`re_encrypt_from`), that leaves the
    /// ciphertext unread (`IGNORE_CIPHERTEXT`): the named key is authorized and checked as if it
    /// had made one. Its ARN.
    pub async fn check_decrypt(
        &self,
        caller: &Caller,
        key: &KeyRef,
        context: &EncryptionContext,
        algorithm: EncryptionAlgorithmSpec,
        re_encrypt_from: bool,
    ) -> Result<KeyArn, Error> {
        let action = if re_encrypt_from {
            Action::KmsReEncryptFrom
        } else {
            Action::KmsDecrypt
        };
        let key = self
            .resolve_with(caller, key, action, Some(context))
            .await?;
        if key.usage != KeyUsage::EncryptDecrypt {
            return Err(incorrect_key());
        }
        check_encrypt_usage(&key, algorithm, action)?;
        check_state(&key, Need::Crypto)?;
        Ok(key.arn.clone())
    }

    /// ReEncrypt's destination half, checked without encrypting (a dry run). Its ARN.
    pub async fn check_encrypt(
        &self,
        caller: &Caller,
        key: &KeyRef,
        context: &EncryptionContext,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<KeyArn, Error> {
        let key = self
            .resolve_with(caller, key, Action::KmsReEncryptTo, Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, algorithm, Action::KmsReEncryptTo)?;
        Ok(key.arn.clone())
    }

    /// Decrypt; `key` is optional for symmetric ciphertexts.
    pub async fn decrypt(
        &self,
        caller: &Caller,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key: Option<&KeyRef>,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<DecryptOutput, Error> {
        self.decrypt_as(
            caller,
            Action::KmsDecrypt,
            ciphertext,
            context,
            key,
            algorithm,
        )
        .await
    }

    /// Decrypt as `action` (`kms:Decrypt`, or `kms:ReEncryptFrom` for ReEncrypt's source).
    async fn decrypt_as(
        &self,
        caller: &Caller,
        action: Action,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key: Option<&KeyRef>,
        algorithm: EncryptionAlgorithmSpec,
    ) -> Result<DecryptOutput, Error> {
        let named = match key {
            Some(r) => Some(self.resolve_with(caller, r, action, Some(context)).await?),
            None => None,
        };
        if let Some(k) = &named {
            if k.usage != KeyUsage::EncryptDecrypt {
                return Err(incorrect_key());
            }
            check_encrypt_usage(k, algorithm, action)?;
            if let Some(oaep) = algorithm.oaep() {
                return self.decrypt_oaep(k, oaep, ciphertext, context).await;
            }
        } else if algorithm != EncryptionAlgorithmSpec::SymmetricDefault {
            return Err(Error::InvalidCiphertext);
        }
        let header =
            kinko_crypto::parse_header(ciphertext).map_err(|_| Error::InvalidCiphertext)?;
        let blob_key = KeyId::from_bytes(header.key_id);
        if named
            .as_ref()
            .is_some_and(|k| k.id().unscoped_id() != blob_key)
        {
            return Err(incorrect_key());
        }
        let key = match named {
            Some(k) => k,
            None => {
                let found = self
                    .key_in_account(&caller.account, &caller.region, &blob_key)
                    .await?
                    .ok_or(Error::InvalidCiphertext)?;
                self.authorize(caller, action, &found, Some(context))
                    .await?;
                found
            }
        };
        check_state(&key, Need::Crypto)?;
        let material_id = MaterialId(header.material_id);
        let prepared = self
            .material(&key, &material_id)
            .await?
            .ok_or(Error::InvalidCiphertext)?;
        let plaintext = prepared
            .symmetric()?
            .open(ciphertext, &context.aad())
            .map_err(|_| Error::InvalidCiphertext)?;
        Ok(DecryptOutput {
            plaintext,
            key_arn: key.arn.clone(),
            material_id: Some(material_id),
        })
    }

    /// ReEncrypt: decrypt under the source key and encrypt under the destination key, inside
    /// the service.
    #[allow(clippy::too_many_arguments)]
    pub async fn re_encrypt(
        &self,
        caller: &Caller,
        ciphertext: &[u8],
        source_context: &EncryptionContext,
        source_key: Option<&KeyRef>,
        source_algorithm: EncryptionAlgorithmSpec,
        destination_key: &KeyRef,
        destination_context: &EncryptionContext,
        destination_algorithm: EncryptionAlgorithmSpec,
    ) -> Result<ReEncryptOutput, Error> {
        let destination = self
            .resolve_with(
                caller,
                destination_key,
                Action::KmsReEncryptTo,
                Some(destination_context),
            )
            .await?;
        check_state(&destination, Need::Crypto)?;
        check_encrypt_usage(&destination, destination_algorithm, Action::KmsReEncryptTo)?;
        let source = self
            .decrypt_as(
                caller,
                Action::KmsReEncryptFrom,
                ciphertext,
                source_context,
                source_key,
                source_algorithm,
            )
            .await?;
        let (material_id, new_blob) = self
            .encrypt_with(
                &destination,
                destination_algorithm,
                destination_context,
                source.plaintext.expose(),
            )
            .await?;
        Ok(ReEncryptOutput {
            ciphertext: new_blob,
            source_key_arn: source.key_arn,
            destination_key_arn: destination.arn.clone(),
            source_material_id: source.material_id,
            destination_material_id: (destination_algorithm
                == EncryptionAlgorithmSpec::SymmetricDefault)
                .then_some(material_id),
        })
    }

    /// GenerateDataKey and GenerateDataKeyWithoutPlaintext.
    pub async fn generate_data_key(
        &self,
        caller: &Caller,
        key: &KeyRef,
        size: DataKeySize,
        context: &EncryptionContext,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyOutput, Error> {
        let action = if with_plaintext {
            Action::KmsGenerateDataKey
        } else {
            Action::KmsGenerateDataKeyWithoutPlaintext
        };
        let key = self
            .resolve_with(caller, key, action, Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, EncryptionAlgorithmSpec::SymmetricDefault, action)?;
        let data_key = random_secret(size.byte_len())?;
        let (material_id, prepared) = self.current_material(&key).await?;
        let ciphertext = prepared.symmetric()?.seal(
            key.arn.key_id.as_bytes(),
            &material_id.0,
            &context.aad(),
            data_key.expose(),
        )?;
        Ok(GenerateDataKeyOutput {
            plaintext: with_plaintext.then_some(data_key),
            ciphertext,
            key_arn: key.arn.clone(),
            material_id,
        })
    }

    /// GenerateRandom.
    pub async fn generate_random(
        &self,
        caller: &Caller,
        bytes: usize,
    ) -> Result<SecretBytes, Error> {
        self.authorize_in_account(caller, Action::KmsGenerateRandom, "*")
            .await?;
        Ok(random_secret(bytes)?)
    }
}
