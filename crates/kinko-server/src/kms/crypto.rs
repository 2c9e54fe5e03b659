//! Symmetric cryptography: encrypting, decrypting and re-encrypting, data keys and random bytes.
//! The hot path: the body was parsed once, into the typed request (`op::serve`); handlers wipe
//! the plaintext they serialized.

use kinko_api::{self as wire, Blob, ErrorCode};
use kinko_core::DataKeySize;

use super::op::{Call, Descriptor, KmsRequest, Reply, SYMMETRIC_DEFAULT, handler, wipe_blob};
use crate::convert as c;
use crate::errors::ApiError;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("Encrypt", handler!(encrypt)).recording(SYMMETRIC_DEFAULT),
    Descriptor::reads("Decrypt", handler!(decrypt)).recording(SYMMETRIC_DEFAULT),
    Descriptor::reads("ReEncrypt", handler!(re_encrypt)),
    Descriptor::reads("GenerateDataKey", handler!(generate_data_key)),
    Descriptor::reads(
        "GenerateDataKeyWithoutPlaintext",
        handler!(generate_data_key_without_plaintext),
    ),
    Descriptor::reads("GenerateRandom", handler!(generate_random)),
];

impl KmsRequest for wire::EncryptRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            encryption_algorithm: self.encryption_algorithm.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::DecryptRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            encryption_algorithm: self.encryption_algorithm.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ReEncryptRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            source_key_id: self.source_key_id.as_deref(),
            destination_key_id: self.destination_key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::GenerateDataKeyRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            key_spec: self.key_spec.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::GenerateRandomRequest {}

/// `Encrypt`.
pub(super) async fn encrypt(cx: Call<'_>, r: wire::EncryptRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let plaintext = c::required(r.plaintext, "plaintext")?;
    c::blob_len(&plaintext, "plaintext", 1, 4096)?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let algorithm =
        c::encryption_algorithm(r.encryption_algorithm.as_deref(), "encryptionAlgorithm")?;
    let plaintext = kinko_crypto::SecretBytes::new(plaintext.0);
    let out = cx
        .kms
        .encrypt(
            &cx.caller,
            &key_ref,
            plaintext.expose(),
            &c::context(r.encryption_context, "encryptionContext")?,
            algorithm,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    encode(&wire::EncryptResponse {
        ciphertext_blob: Some(Blob(out.ciphertext)),
        key_id: Some(out.key_arn.to_string()),
        encryption_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// `Decrypt`.
pub(super) async fn decrypt(cx: Call<'_>, r: wire::DecryptRequest) -> Reply {
    let blob = c::ciphertext_blob(r.ciphertext_blob, r.dry_run, r.dry_run_modifiers.as_ref())?;
    let key_ref = c::opt_key_ref(r.key_id.as_deref(), "keyId")?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let algorithm =
        c::encryption_algorithm(r.encryption_algorithm.as_deref(), "encryptionAlgorithm")?;
    c::unsupported_recipient(r.recipient.as_ref())?;
    let context = c::context(r.encryption_context, "encryptionContext")?;
    let blob = match blob {
        Some(blob) => blob,
        None => {
            // A dry run that ignores the ciphertext checks the key it names instead.
            let key_ref = c::required(key_ref, "keyId")?;
            let arn = cx
                .kms
                .check_decrypt(&cx.caller, &key_ref, &context, algorithm, false)
                .await
                .map_err(cx.core())?;
            cx.seen.key = Some(arn);
            return Err(cx.core()(kinko_core::Error::DryRun));
        }
    };
    let out = cx
        .kms
        .decrypt(&cx.caller, &blob.0, &context, key_ref.as_ref(), algorithm)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    let response = wire::DecryptResponse {
        key_id: Some(out.key_arn.to_string()),
        plaintext: Some(Blob(out.plaintext.expose().to_vec())),
        encryption_algorithm: Some(algorithm.as_str().to_owned()),
        key_material_id: out.material_id.map(|m| m.to_string()),
    };
    let encoded = encode(&response);
    wipe_blob(response.plaintext);
    encoded
}

/// `ReEncrypt`.
pub(super) async fn re_encrypt(cx: Call<'_>, r: wire::ReEncryptRequest) -> Reply {
    let blob = c::ciphertext_blob(r.ciphertext_blob, r.dry_run, r.dry_run_modifiers.as_ref())?;
    let destination = c::key_ref(
        &c::required(r.destination_key_id, "destinationKeyId")?,
        "destinationKeyId",
    )?;
    let source = c::opt_key_ref(r.source_key_id.as_deref(), "sourceKeyId")?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let src_alg = c::encryption_algorithm(
        r.source_encryption_algorithm.as_deref(),
        "sourceEncryptionAlgorithm",
    )?;
    let dst_alg = c::encryption_algorithm(
        r.destination_encryption_algorithm.as_deref(),
        "destinationEncryptionAlgorithm",
    )?;
    let source_context = c::context(r.source_encryption_context, "sourceEncryptionContext")?;
    let destination_context = c::context(
        r.destination_encryption_context,
        "destinationEncryptionContext",
    )?;
    let blob = match blob {
        Some(blob) => blob,
        None => {
            // A dry run that ignores the ciphertext checks both keys: the source by its id.
            let source = c::required(source, "sourceKeyId")?;
            let destination_arn = cx
                .kms
                .check_encrypt(&cx.caller, &destination, &destination_context, dst_alg)
                .await
                .map_err(cx.core())?;
            cx.seen.key = Some(destination_arn);
            let source_arn = cx
                .kms
                .check_decrypt(&cx.caller, &source, &source_context, src_alg, true)
                .await
                .map_err(cx.core())?;
            cx.seen.source_key = Some(source_arn);
            return Err(cx.core()(kinko_core::Error::DryRun));
        }
    };
    let out = cx
        .kms
        .re_encrypt(
            &cx.caller,
            &blob.0,
            &source_context,
            source.as_ref(),
            src_alg,
            &destination,
            &destination_context,
            dst_alg,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.destination_key_arn.clone());
    cx.seen.source_key = Some(out.source_key_arn.clone());
    encode(&wire::ReEncryptResponse {
        ciphertext_blob: Some(Blob(out.ciphertext)),
        source_key_id: Some(out.source_key_arn.to_string()),
        key_id: Some(out.destination_key_arn.to_string()),
        source_encryption_algorithm: Some(src_alg.as_str().to_owned()),
        destination_encryption_algorithm: Some(dst_alg.as_str().to_owned()),
        source_key_material_id: out.source_material_id.map(|m| m.to_string()),
        destination_key_material_id: out.destination_material_id.map(|m| m.to_string()),
    })
}

/// `GenerateDataKey` and `GenerateDataKeyWithoutPlaintext`, which differ only in `op`.
async fn generate_data_key_or_generate_data_key_without_plaintext(
    cx: Call<'_>,
    r: wire::GenerateDataKeyRequest,
    op: &str,
) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    c::unsupported_recipient(r.recipient.as_ref())?;
    let size = match (r.key_spec.as_deref(), r.number_of_bytes) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(
                "Please specify either number of bytes or key spec, but not both.",
            ));
        }
        (None, None) => {
            return Err(ApiError::validation(
                "Please specify either number of bytes or key spec.",
            ));
        }
        (Some("AES_128"), None) => DataKeySize::Aes128,
        (Some("AES_256"), None) => DataKeySize::Aes256,
        (Some(other), None) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
            )));
        }
        (None, Some(n)) => {
            c::int_range(n, "numberOfBytes", 1, 1024)?;
            DataKeySize::Bytes(u16::try_from(n).unwrap_or(1))
        }
    };
    let with_plaintext = op == "GenerateDataKey";
    let out = cx
        .kms
        .generate_data_key(
            &cx.caller,
            &key_ref,
            size,
            &c::context(r.encryption_context, "encryptionContext")?,
            with_plaintext,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    let response = wire::GenerateDataKeyResponse {
        ciphertext_blob: Some(Blob(out.ciphertext)),
        plaintext: out.plaintext.as_ref().map(|p| Blob(p.expose().to_vec())),
        key_id: Some(out.key_arn.to_string()),
        key_material_id: Some(out.material_id.to_string()),
    };
    let encoded = encode(&response);
    wipe_blob(response.plaintext);
    encoded
}

/// `GenerateDataKey`.
pub(super) async fn generate_data_key(cx: Call<'_>, r: wire::GenerateDataKeyRequest) -> Reply {
    generate_data_key_or_generate_data_key_without_plaintext(cx, r, "GenerateDataKey").await
}

/// `GenerateDataKeyWithoutPlaintext`.
pub(super) async fn generate_data_key_without_plaintext(
    cx: Call<'_>,
    r: wire::GenerateDataKeyRequest,
) -> Reply {
    generate_data_key_or_generate_data_key_without_plaintext(
        cx,
        r,
        "GenerateDataKeyWithoutPlaintext",
    )
    .await
}

/// `GenerateRandom`.
pub(super) async fn generate_random(cx: Call<'_>, r: wire::GenerateRandomRequest) -> Reply {
    let n = c::required(r.number_of_bytes, "numberOfBytes")?;
    c::int_range(n, "numberOfBytes", 1, 1024)?;
    if r.custom_key_store_id.is_some() {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            "Custom key stores are not supported by Kinko.",
        ));
    }
    c::unsupported_recipient(r.recipient.as_ref())?;
    let bytes = cx
        .kms
        .generate_random(&cx.caller, usize::try_from(n).unwrap_or(1))
        .await
        .map_err(cx.core())?;
    let response = wire::GenerateRandomResponse {
        plaintext: Some(Blob(bytes.expose().to_vec())),
    };
    let encoded = encode(&response);
    wipe_blob(response.plaintext);
    encoded
}
