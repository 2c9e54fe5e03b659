//! The operations on asymmetric and HMAC keys: GetPublicKey, Sign/Verify, GenerateMac/VerifyMac,
//! RSA-OAEP Encrypt/Decrypt, GenerateDataKeyPair, DeriveSharedSecret and Encapsulate/Decapsulate.
//! Each checks the key's state, usage and algorithm against `kms-reference.md` §3 before any
//! material is touched.

use kinko_crypto::{CryptoError, OaepAlgorithm};

use crate::actions::Action;
use crate::material;
use crate::ops::{
    DataKeyPairOutput, DecryptOutput, EncapsulateOutput, MacOutput, PublicKeyOutput,
    SharedSecretOutput, SignOutput,
};
use crate::rules::{Need, check_encrypt_usage, check_state, check_usage, incompatible_algorithm};
use crate::{
    Caller, DataKeyPairSpec, EncapsulationAlgorithmSpec, EncryptionAlgorithmSpec,
    EncryptionContext, Error, Key, KeyAgreementAlgorithmSpec, KeyRef, KeyUsage, Kms,
    MacAlgorithmSpec, MaterialId, MessageType, SigningAlgorithmSpec,
};

impl Kms {
    /// GetPublicKey (aliases allowed): the DER SubjectPublicKeyInfo of an asymmetric key.
    pub async fn get_public_key(
        &self,
        caller: &Caller,
        key: &KeyRef,
    ) -> Result<PublicKeyOutput, Error> {
        let key = self.resolve(caller, key, Action::KmsGetPublicKey).await?;
        check_state(&key, Need::Crypto)?;
        if key.spec.asymmetric().is_none() {
            return Err(Error::UnsupportedOperation(format!(
                "{} key spec {} does not have a public key.",
                key.arn, key.spec
            )));
        }
        let (_, prepared) = self.current_material(&key).await?;
        let public_key = prepared.asymmetric()?.public_key_der().to_vec();
        Ok(PublicKeyOutput { key, public_key })
    }

    /// Sign.
    pub async fn sign(
        &self,
        caller: &Caller,
        key: &KeyRef,
        message: &[u8],
        message_type: MessageType,
        algorithm: SigningAlgorithmSpec,
    ) -> Result<SignOutput, Error> {
        let key = self
            .signing_key(caller, Action::KmsSign, key, algorithm)
            .await?;
        check_message(algorithm, message_type, message)?;
        let primitive = signing_primitive(algorithm, &key)?;
        let (_, prepared) = self.current_material(&key).await?;
        let signature = prepared
            .asymmetric()?
            .sign(primitive, message_type.kind(), message)
            .map_err(invalid_input)?;
        Ok(SignOutput {
            key_arn: key.arn.clone(),
            signature,
        })
    }

    /// Verify: `Ok` only for a valid signature; anything else is [`Error::InvalidSignature`].
    pub async fn verify(
        &self,
        caller: &Caller,
        key: &KeyRef,
        message: &[u8],
        message_type: MessageType,
        algorithm: SigningAlgorithmSpec,
        signature: &[u8],
    ) -> Result<SignOutput, Error> {
        let key = self
            .signing_key(caller, Action::KmsVerify, key, algorithm)
            .await?;
        check_message(algorithm, message_type, message)?;
        let primitive = signing_primitive(algorithm, &key)?;
        let (_, prepared) = self.current_material(&key).await?;
        if !prepared
            .asymmetric()?
            .verify(primitive, message_type.kind(), message, signature)
        {
            return Err(Error::InvalidSignature);
        }
        Ok(SignOutput {
            key_arn: key.arn.clone(),
            signature: Vec::new(),
        })
    }

    /// GenerateMac.
    pub async fn generate_mac(
        &self,
        caller: &Caller,
        key: &KeyRef,
        message: &[u8],
        algorithm: MacAlgorithmSpec,
    ) -> Result<MacOutput, Error> {
        let key = self
            .mac_key(caller, Action::KmsGenerateMac, key, algorithm)
            .await?;
        let (_, prepared) = self.current_material(&key).await?;
        let mac = prepared.mac()?.sign(message);
        Ok(MacOutput {
            key_arn: key.arn.clone(),
            mac,
        })
    }

    /// VerifyMac: `Ok` only for a valid MAC (compared in constant time); anything else is
    /// [`Error::InvalidMac`].
    pub async fn verify_mac(
        &self,
        caller: &Caller,
        key: &KeyRef,
        message: &[u8],
        algorithm: MacAlgorithmSpec,
        mac: &[u8],
    ) -> Result<MacOutput, Error> {
        let key = self
            .mac_key(caller, Action::KmsVerifyMac, key, algorithm)
            .await?;
        let (_, prepared) = self.current_material(&key).await?;
        if !prepared.mac()?.verify(message, mac) {
            return Err(Error::InvalidMac);
        }
        Ok(MacOutput {
            key_arn: key.arn.clone(),
            mac: Vec::new(),
        })
    }

    /// GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a new key pair whose
    /// private half is encrypted under a symmetric KMS key (a blob Decrypt opens).
    pub async fn generate_data_key_pair(
        &self,
        caller: &Caller,
        key: &KeyRef,
        pair_spec: DataKeyPairSpec,
        context: &EncryptionContext,
        with_plaintext: bool,
    ) -> Result<DataKeyPairOutput, Error> {
        let action = if with_plaintext {
            Action::KmsGenerateDataKeyPair
        } else {
            Action::KmsGenerateDataKeyPairWithoutPlaintext
        };
        let key = self
            .resolve_with(caller, key, action, Some(context))
            .await?;
        check_state(&key, Need::Crypto)?;
        check_encrypt_usage(&key, EncryptionAlgorithmSpec::SymmetricDefault, action)?;
        let Some(spec) = pair_spec.key_spec().asymmetric() else {
            return Err(material::unsupported_spec(pair_spec.key_spec()));
        };
        let (private_key, public_key) =
            kinko_crypto::generate_data_key_pair(spec).map_err(|e| match e {
                CryptoError::InvalidInput(_) => Error::UnsupportedOperation(format!(
                    "Data key pairs of spec {pair_spec} are not supported by Kinko yet."
                )),
                other => other.into(),
            })?;
        let (material_id, prepared) = self.current_material(&key).await?;
        let private_ciphertext = prepared.symmetric()?.seal(
            key.arn.key_id.as_bytes(),
            &material_id.0,
            &context.aad(),
            private_key.expose(),
        )?;
        Ok(DataKeyPairOutput {
            private_plaintext: with_plaintext.then_some(private_key),
            private_ciphertext,
            public_key,
            key_arn: key.arn.clone(),
            material_id,
        })
    }

    /// DeriveSharedSecret: ECDH between the key's private half and the peer's public key.
    pub async fn derive_shared_secret(
        &self,
        caller: &Caller,
        key: &KeyRef,
        algorithm: KeyAgreementAlgorithmSpec,
        peer_public_key: &[u8],
    ) -> Result<SharedSecretOutput, Error> {
        let key = self
            .usable_key(
                caller,
                Action::KmsDeriveSharedSecret,
                key,
                KeyUsage::KeyAgreement,
                algorithm.as_str(),
                |k| {
                    k.spec
                        .key_agreement_algorithms(k.usage)
                        .contains(&algorithm)
                },
            )
            .await?;
        let (_, prepared) = self.current_material(&key).await?;
        let shared_secret = prepared
            .asymmetric()?
            .derive_shared_secret(peer_public_key)
            .map_err(|e| match e {
                CryptoError::InvalidInput(_) => Error::Validation(format!(
                    "PublicKey must be a DER-encoded SubjectPublicKeyInfo of a point on the curve of {} ({}).",
                    key.arn, key.spec
                )),
                other => other.into(),
            })?;
        Ok(SharedSecretOutput { key, shared_secret })
    }

    /// Encapsulate: ML-KEM encapsulation to the key's public half.
    pub async fn encapsulate(
        &self,
        caller: &Caller,
        key: &KeyRef,
        algorithm: EncapsulationAlgorithmSpec,
    ) -> Result<EncapsulateOutput, Error> {
        let key = self
            .kem_key(caller, Action::KmsEncapsulate, key, algorithm)
            .await?;
        let (_, prepared) = self.current_material(&key).await?;
        let (ciphertext, shared_secret) = prepared.asymmetric()?.encapsulate()?;
        Ok(EncapsulateOutput {
            key_arn: key.arn.clone(),
            ciphertext,
            shared_secret,
        })
    }

    /// Decapsulate with implicit rejection: only a ciphertext of the wrong length fails.
    pub async fn decapsulate(
        &self,
        caller: &Caller,
        key: &KeyRef,
        algorithm: EncapsulationAlgorithmSpec,
        ciphertext: &[u8],
    ) -> Result<EncapsulateOutput, Error> {
        let key = self
            .kem_key(caller, Action::KmsDecapsulate, key, algorithm)
            .await?;
        let (_, prepared) = self.current_material(&key).await?;
        let shared_secret = prepared
            .asymmetric()?
            .decapsulate(ciphertext)
            .map_err(|_| Error::InvalidCiphertext)?;
        Ok(EncapsulateOutput {
            key_arn: key.arn.clone(),
            ciphertext: Vec::new(),
            shared_secret,
        })
    }

    /// Resolves a key for an operation of `usage` with `algorithm`: usable state, that usage,
    /// and an algorithm the key's spec offers (`fits`).
    async fn usable_key(
        &self,
        caller: &Caller,
        action: Action,
        key: &KeyRef,
        usage: KeyUsage,
        algorithm: &str,
        fits: impl Fn(&Key) -> bool,
    ) -> Result<std::sync::Arc<Key>, Error> {
        let key = self.resolve(caller, key, action).await?;
        check_state(&key, Need::Crypto)?;
        check_usage(&key, usage, action)?;
        if !fits(&key) {
            return Err(incompatible_algorithm(algorithm, &key));
        }
        Ok(key)
    }

    async fn signing_key(
        &self,
        caller: &Caller,
        action: Action,
        key: &KeyRef,
        algorithm: SigningAlgorithmSpec,
    ) -> Result<std::sync::Arc<Key>, Error> {
        self.usable_key(
            caller,
            action,
            key,
            KeyUsage::SignVerify,
            algorithm.as_str(),
            |k| k.spec.signing_algorithms(k.usage).contains(&algorithm),
        )
        .await
    }

    async fn mac_key(
        &self,
        caller: &Caller,
        action: Action,
        key: &KeyRef,
        algorithm: MacAlgorithmSpec,
    ) -> Result<std::sync::Arc<Key>, Error> {
        self.usable_key(
            caller,
            action,
            key,
            KeyUsage::GenerateVerifyMac,
            algorithm.as_str(),
            |k| k.spec.mac_algorithms(k.usage).contains(&algorithm),
        )
        .await
    }

    async fn kem_key(
        &self,
        caller: &Caller,
        action: Action,
        key: &KeyRef,
        algorithm: EncapsulationAlgorithmSpec,
    ) -> Result<std::sync::Arc<Key>, Error> {
        self.usable_key(
            caller,
            action,
            key,
            KeyUsage::EncapsulateDecapsulate,
            algorithm.as_str(),
            |k| {
                k.spec
                    .encapsulation_algorithms(k.usage)
                    .contains(&algorithm)
            },
        )
        .await
    }

    /// Encrypts under `key` (state and usage already checked) with `algorithm`: Kinko's
    /// symmetric format with the current material, or RSA-OAEP with the public half.
    #[doc(hidden)] // also the Encrypt micro-bench's `crypto` step (kinko-server)
    pub async fn encrypt_with(
        &self,
        key: &Key,
        algorithm: EncryptionAlgorithmSpec,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<(MaterialId, Vec<u8>), Error> {
        let (material_id, prepared) = self.current_material(key).await?;
        let Some(oaep) = algorithm.oaep() else {
            let blob = prepared.symmetric()?.seal(
                key.arn.key_id.as_bytes(),
                &material_id.0,
                &context.aad(),
                plaintext,
            )?;
            return Ok((material_id, blob));
        };
        refuse_context(context)?;
        let private = prepared.asymmetric()?;
        let max = private
            .max_oaep_plaintext(oaep)
            .ok_or_else(|| incompatible_algorithm(algorithm.as_str(), key))?;
        if plaintext.len() > max {
            return Err(Error::Validation(format!(
                "Plaintext is {} bytes; {algorithm} with key spec {} encrypts at most {max} bytes.",
                plaintext.len(),
                key.spec
            )));
        }
        Ok((material_id, private.encrypt_oaep(oaep, plaintext)?))
    }

    /// RSA-OAEP decryption with a named key (usage and algorithm already checked).
    pub(crate) async fn decrypt_oaep(
        &self,
        key: &std::sync::Arc<Key>,
        oaep: OaepAlgorithm,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<DecryptOutput, Error> {
        check_state(key, Need::Crypto)?;
        refuse_context(context)?;
        let (_, prepared) = self.current_material(key).await?;
        let plaintext = prepared
            .asymmetric()?
            .decrypt_oaep(oaep, ciphertext)
            .map_err(|_| Error::InvalidCiphertext)?;
        Ok(DecryptOutput {
            plaintext,
            key_arn: key.arn.clone(),
            material_id: None,
        })
    }
}

/// Encryption context is for symmetric encryption keys only.
fn refuse_context(context: &EncryptionContext) -> Result<(), Error> {
    if context.0.is_empty() {
        return Ok(());
    }
    Err(Error::Validation(
        "EncryptionContext is supported only on operations with symmetric encryption KMS keys."
            .into(),
    ))
}

/// Checks the message against the algorithm and message type (`kms-reference.md` §3).
fn check_message(
    algorithm: SigningAlgorithmSpec,
    message_type: MessageType,
    message: &[u8],
) -> Result<(), Error> {
    use SigningAlgorithmSpec as G;
    match message_type {
        MessageType::Raw if algorithm == G::Ed25519PhSha512 => Err(Error::Validation(format!(
            "Signing algorithm {algorithm} requires MessageType DIGEST (a 64-byte SHA-512 digest)."
        ))),
        MessageType::Raw => Ok(()),
        MessageType::Digest => match algorithm.digest_len() {
            None => Err(Error::Validation(format!(
                "MessageType DIGEST is not supported with signing algorithm {algorithm}."
            ))),
            Some(n) if n != message.len() => Err(Error::Validation(format!(
                "Digest is invalid length for algorithm {algorithm}: expected {n} bytes, got {}.",
                message.len()
            ))),
            Some(_) => Ok(()),
        },
        MessageType::ExternalMu if algorithm != G::MlDsaShake256 => {
            Err(Error::Validation(format!(
                "MessageType EXTERNAL_MU is supported only with ML_DSA_SHAKE_256, not {algorithm}."
            )))
        }
        MessageType::ExternalMu if message.len() != 64 => Err(Error::Validation(format!(
            "An EXTERNAL_MU message must be 64 bytes, got {}.",
            message.len()
        ))),
        MessageType::ExternalMu => Ok(()),
    }
}

fn signing_primitive(
    algorithm: SigningAlgorithmSpec,
    key: &Key,
) -> Result<kinko_crypto::SigningAlgorithm, Error> {
    algorithm
        .primitive()
        .ok_or_else(|| incompatible_algorithm(algorithm.as_str(), key))
}

/// A primitive refusing an input the checks above let through is a Kinko bug, but it is the
/// caller's input that triggered it: answer as a validation error rather than an internal one.
fn invalid_input(e: CryptoError) -> Error {
    match e {
        CryptoError::InvalidInput(what) => Error::Validation(format!("Invalid input: {what}.")),
        other => other.into(),
    }
}
