//! The KMS JSON 1.1 protocol: `X-Amz-Target: TrentService.<Op>` dispatch, body decoding, and one
//! handler per operation that converts the wire request, calls the core and converts the result.

use kinko_api::{self as wire, Blob, ErrorCode};
use kinko_core::{
    AuditFn, Caller, CreateKeyRequest, DataKeySize, EncapsulationAlgorithmSpec,
    EncryptionAlgorithmSpec, ImportType, KeyAgreementAlgorithmSpec, Kms, SigningAlgorithmSpec,
    WrappingAlgorithmSpec, WrappingKeySpec,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::convert::{self as c, Conv};
use crate::errors::{ApiError, from_core};

/// The `X-Amz-Target` prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

/// Every operation of the KMS model (botocore 1.44.8); those Kinko does not serve yet answer
/// `UnsupportedOperationException` by name instead of `UnknownOperationException`.
pub const MODEL_OPERATIONS: &[&str] = &[
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decapsulate",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encapsulate",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyLastUsage",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncrypt",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// Decodes a JSON 1.1 request body (an object; empty reads as `{}`).
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Conv<T> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    // serde's derived structs also read JSON arrays positionally; the protocol only has objects.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            ErrorCode::SerializationException,
            "The request body must be a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the position and the expected type, never the value's bytes.
        let message = match e.classify() {
            serde_json::error::Category::Data => {
                format!("Unexpected value in the request body: {e}")
            }
            _ => "Malformed JSON in the request body".to_owned(),
        };
        ApiError::new(ErrorCode::SerializationException, message)
    })
}

/// Encodes a JSON 1.1 response body.
pub(crate) fn encode<T: Serialize>(value: &T) -> Conv<Vec<u8>> {
    serde_json::to_vec(value).map_err(|_| {
        ApiError::new(
            ErrorCode::KMSInternalException,
            "An internal error occurred; retry the request.",
        )
    })
}

/// Runs operation `op` for `caller` on `body`; returns the JSON response body.
pub async fn dispatch(
    kms: &Kms,
    caller: &Caller,
    op: &str,
    body: &[u8],
    request_id: &str,
    audit: AuditFn<'_>,
    seen: &mut crate::audit::Touched,
) -> Conv<Vec<u8>> {
    let core = |e| from_core(e, request_id);
    match op {
        "CreateKey" => {
            let r: wire::CreateKeyRequest = decode(body)?;
            let (spec, usage, origin) = c::create_key_kind(&r)?;
            let description = r.description.unwrap_or_default();
            c::string_len(&description, "description", 0, 8192)?;
            let policy = r.policy.as_deref().map(c::policy).transpose()?;
            let tags = c::tags(r.tags.unwrap_or_default())?;
            let req = CreateKeyRequest {
                description,
                spec,
                usage,
                origin,
                policy,
                tags,
                multi_region: r.multi_region.unwrap_or(false),
                custom_key_store: r.custom_key_store_id.is_some() || r.xks_key_id.is_some(),
                bypass_policy_lockout_safety_check: r
                    .bypass_policy_lockout_safety_check
                    .unwrap_or(false),
            };
            let key = kms.create_key(caller, req, audit).await.map_err(core)?;
            seen.key = Some(key.arn.clone());
            encode(&wire::KeyMetadataResponse {
                key_metadata: c::key_metadata(&key),
            })
        }
        "DescribeKey" => {
            let r: wire::DescribeKeyRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            let key = kms.describe_key(caller, &key_ref).await.map_err(core)?;
            seen.key = Some(key.arn.clone());
            encode(&wire::KeyMetadataResponse {
                key_metadata: c::key_metadata(&key),
            })
        }
        "ListKeys" => {
            let r: wire::ListKeysRequest = decode(body)?;
            let limit = c::limit(r.limit, 1000, 100)?;
            let page = kms
                .list_keys(caller, limit, c::marker(r.marker.as_deref())?)
                .await
                .map_err(core)?;
            encode(&wire::ListKeysResponse {
                keys: Some(
                    page.items
                        .iter()
                        .map(|k| wire::KeyListEntry {
                            key_id: k.id().to_string(),
                            key_arn: k.arn.to_string(),
                        })
                        .collect(),
                ),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "EnableKey" | "DisableKey" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            if op == "EnableKey" {
                kms.enable_key(caller, &key_ref, audit)
                    .await
                    .map_err(core)?;
            } else {
                kms.disable_key(caller, &key_ref, audit)
                    .await
                    .map_err(core)?;
            }
            encode(&wire::Empty {})
        }
        "UpdateKeyDescription" => {
            let r: wire::UpdateKeyDescriptionRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let description = c::required(r.description, "description")?;
            c::string_len(&description, "description", 0, 8192)?;
            kms.update_key_description(caller, &key_ref, description, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "ScheduleKeyDeletion" => {
            let r: wire::ScheduleKeyDeletionRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let window = r.pending_window_in_days.unwrap_or(30);
            c::int_range(window, "pendingWindowInDays", 7, 30)?;
            let out = kms
                .schedule_key_deletion(caller, &key_ref, u32::try_from(window).unwrap_or(30), audit)
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            encode(&wire::ScheduleKeyDeletionResponse {
                key_id: Some(out.key_arn.to_string()),
                deletion_date: Some(c::timestamp(out.deletion_date)),
                key_state: Some(out.state.as_str().to_owned()),
                pending_window_in_days: Some(out.pending_window_days),
            })
        }
        "CancelKeyDeletion" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let arn = kms
                .cancel_key_deletion(caller, &key_ref, audit)
                .await
                .map_err(core)?;
            seen.key = Some(arn.clone());
            encode(&wire::CancelKeyDeletionResponse {
                key_id: Some(arn.to_string()),
            })
        }
        "Encrypt" => {
            let r: wire::EncryptRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let plaintext = c::required(r.plaintext, "plaintext")?;
            c::blob_len(&plaintext, "plaintext", 1, 4096)?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            let algorithm =
                c::encryption_algorithm(r.encryption_algorithm.as_deref(), "encryptionAlgorithm")?;
            c::unsupported_flags(r.dry_run, None)?;
            let plaintext = kinko_crypto::SecretBytes::new(plaintext.0);
            let out = kms
                .encrypt(
                    caller,
                    &key_ref,
                    plaintext.expose(),
                    &c::context(r.encryption_context),
                    algorithm,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            encode(&wire::EncryptResponse {
                ciphertext_blob: Some(Blob(out.ciphertext)),
                key_id: Some(out.key_arn.to_string()),
                encryption_algorithm: Some(algorithm.as_str().to_owned()),
            })
        }
        "Decrypt" => {
            let r: wire::DecryptRequest = decode(body)?;
            let blob = c::required(r.ciphertext_blob, "ciphertextBlob")?;
            c::blob_len(&blob, "ciphertextBlob", 1, 6144)?;
            let key_ref = c::opt_key_ref(r.key_id.as_deref(), "keyId")?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            let algorithm =
                c::encryption_algorithm(r.encryption_algorithm.as_deref(), "encryptionAlgorithm")?;
            c::unsupported_flags(r.dry_run, r.recipient.as_ref())?;
            let out = kms
                .decrypt(
                    caller,
                    &blob.0,
                    &c::context(r.encryption_context),
                    key_ref.as_ref(),
                    algorithm,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
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
        "ReEncrypt" => {
            let r: wire::ReEncryptRequest = decode(body)?;
            let blob = c::required(r.ciphertext_blob, "ciphertextBlob")?;
            c::blob_len(&blob, "ciphertextBlob", 1, 6144)?;
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
            c::unsupported_flags(r.dry_run, None)?;
            let out = kms
                .re_encrypt(
                    caller,
                    &blob.0,
                    &c::context(r.source_encryption_context),
                    source.as_ref(),
                    src_alg,
                    &destination,
                    &c::context(r.destination_encryption_context),
                    dst_alg,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.destination_key_arn.clone());
            seen.source_key = Some(out.source_key_arn.clone());
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
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            let r: wire::GenerateDataKeyRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, r.recipient.as_ref())?;
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
            let out = kms
                .generate_data_key(
                    caller,
                    &key_ref,
                    size,
                    &c::context(r.encryption_context),
                    with_plaintext,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
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
        "GenerateRandom" => {
            let r: wire::GenerateRandomRequest = decode(body)?;
            let n = c::required(r.number_of_bytes, "numberOfBytes")?;
            c::int_range(n, "numberOfBytes", 1, 1024)?;
            if r.custom_key_store_id.is_some() {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedOperationException,
                    "Custom key stores are not supported by Kinko.",
                ));
            }
            c::unsupported_flags(None, r.recipient.as_ref())?;
            let bytes = kms
                .generate_random(caller, usize::try_from(n).unwrap_or(1))
                .await
                .map_err(core)?;
            let response = wire::GenerateRandomResponse {
                plaintext: Some(Blob(bytes.expose().to_vec())),
            };
            let encoded = encode(&response);
            wipe_blob(response.plaintext);
            encoded
        }
        "EnableKeyRotation" => {
            let r: wire::EnableKeyRotationRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let period = r
                .rotation_period_in_days
                .map(|d| {
                    c::int_range(
                        d,
                        "rotationPeriodInDays",
                        i64::from(kinko_core::MIN_ROTATION_PERIOD_DAYS),
                        i64::from(kinko_core::MAX_ROTATION_PERIOD_DAYS),
                    )
                    .map(|()| u32::try_from(d).unwrap_or(kinko_core::DEFAULT_ROTATION_PERIOD_DAYS))
                })
                .transpose()?;
            kms.enable_key_rotation(caller, &key_ref, period, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "DisableKeyRotation" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            kms.disable_key_rotation(caller, &key_ref, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "GetKeyRotationStatus" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let status = kms
                .get_key_rotation_status(caller, &key_ref)
                .await
                .map_err(core)?;
            seen.key = Some(status.key_arn.clone());
            encode(&wire::GetKeyRotationStatusResponse {
                key_rotation_enabled: Some(status.enabled),
                key_id: Some(status.key_arn.to_string()),
                rotation_period_in_days: status.period_days,
                next_rotation_date: status.next_rotation.map(c::timestamp),
                on_demand_rotation_start_date: None,
            })
        }
        "RotateKeyOnDemand" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let arn = kms
                .rotate_key_on_demand(caller, &key_ref, audit)
                .await
                .map_err(core)?;
            seen.key = Some(arn.clone());
            encode(&wire::RotateKeyOnDemandResponse {
                key_id: Some(arn.key_id.to_string()),
            })
        }
        "ListKeyRotations" => {
            let r: wire::ListKeyRotationsRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let all = match r.include_key_material.as_deref() {
                None | Some("ROTATIONS_ONLY") => false,
                Some("ALL_KEY_MATERIAL") => true,
                Some(other) => {
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
                    )));
                }
            };
            let limit = c::limit(r.limit, 1000, 100)?;
            let (key, page) = kms
                .list_key_rotations(
                    caller,
                    &key_ref,
                    all,
                    limit,
                    c::marker(r.marker.as_deref())?,
                )
                .await
                .map_err(core)?;
            seen.key = Some(key.arn.clone());
            encode(&wire::ListKeyRotationsResponse {
                rotations: Some(
                    page.items
                        .iter()
                        .map(|m| c::rotation_entry(&key, m))
                        .collect(),
                ),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "GetParametersForImport" => {
            let r: wire::GetParametersForImportRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let algorithm = c::required_enum(
                r.wrapping_algorithm.as_deref(),
                "wrappingAlgorithm",
                WrappingAlgorithmSpec::ALL,
                WrappingAlgorithmSpec::as_str,
                WrappingAlgorithmSpec::parse,
            )?;
            let spec = c::required_enum(
                r.wrapping_key_spec.as_deref(),
                "wrappingKeySpec",
                WrappingKeySpec::ALL,
                WrappingKeySpec::as_str,
                WrappingKeySpec::parse,
            )?;
            let out = kms
                .get_parameters_for_import(caller, &key_ref, algorithm, spec)
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            encode(&wire::GetParametersForImportResponse {
                key_id: Some(out.key_arn.to_string()),
                import_token: Some(Blob(out.import_token)),
                public_key: Some(Blob(out.public_key)),
                parameters_valid_to: Some(c::timestamp(out.valid_to)),
            })
        }
        "ImportKeyMaterial" => {
            let r: wire::ImportKeyMaterialRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let token = c::required(r.import_token, "importToken")?;
            c::blob_len(&token, "importToken", 1, 6144)?;
            let encrypted = c::required(r.encrypted_key_material, "encryptedKeyMaterial")?;
            c::blob_len(&encrypted, "encryptedKeyMaterial", 1, 6144)?;
            let expiration_model = c::opt_enum_value(
                r.expiration_model.as_deref(),
                "expirationModel",
                kinko_core::ExpirationModel::ALL,
                kinko_core::ExpirationModel::as_str,
                kinko_core::ExpirationModel::parse,
            )?
            .unwrap_or(kinko_core::ExpirationModel::KeyMaterialExpires);
            let import_type = c::opt_enum_value(
                r.import_type.as_deref(),
                "importType",
                ImportType::ALL,
                ImportType::as_str,
                ImportType::parse,
            )?;
            if let Some(d) = &r.key_material_description {
                c::string_len(d, "keyMaterialDescription", 0, 256)?;
            }
            let material_id = r
                .key_material_id
                .as_deref()
                .map(c::key_material_id)
                .transpose()?;
            let valid_to = r.valid_to.map(c::from_timestamp);
            let out = kms
                .import_key_material(
                    caller,
                    &key_ref,
                    kinko_core::ImportRequest {
                        import_token: &token.0,
                        encrypted_material: &encrypted.0,
                        expiration_model,
                        valid_to,
                        import_type,
                        description: r.key_material_description,
                        material_id,
                    },
                    audit,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.0.clone());
            encode(&wire::KeyMaterialResponse {
                key_id: Some(out.0.to_string()),
                key_material_id: Some(out.1.to_string()),
            })
        }
        "DeleteImportedKeyMaterial" => {
            let r: wire::DeleteImportedKeyMaterialRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let material_id = r
                .key_material_id
                .as_deref()
                .map(c::key_material_id)
                .transpose()?;
            let out = kms
                .delete_imported_key_material(caller, &key_ref, material_id, audit)
                .await
                .map_err(core)?;
            seen.key = Some(out.0.clone());
            encode(&wire::KeyMaterialResponse {
                key_id: Some(out.0.to_string()),
                key_material_id: Some(out.1.to_string()),
            })
        }
        "GetPublicKey" => {
            let r: wire::GetPublicKeyRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            let out = kms.get_public_key(caller, &key_ref).await.map_err(core)?;
            seen.key = Some(out.key.arn.clone());
            let (spec, usage) = (out.key.spec, out.key.usage);
            encode(&wire::GetPublicKeyResponse {
                key_id: Some(out.key.arn.to_string()),
                public_key: Some(Blob(out.public_key)),
                customer_master_key_spec: c::customer_master_key_spec(spec),
                key_spec: Some(spec.as_str().to_owned()),
                key_usage: Some(usage.as_str().to_owned()),
                encryption_algorithms: c::names(
                    spec.encryption_algorithms(usage),
                    EncryptionAlgorithmSpec::as_str,
                ),
                signing_algorithms: c::names(
                    spec.signing_algorithms(usage),
                    SigningAlgorithmSpec::as_str,
                ),
                key_agreement_algorithms: c::names(
                    spec.key_agreement_algorithms(usage),
                    KeyAgreementAlgorithmSpec::as_str,
                ),
                encapsulation_algorithms: c::names(
                    spec.encapsulation_algorithms(usage),
                    EncapsulationAlgorithmSpec::as_str,
                ),
            })
        }
        "Sign" | "Verify" => {
            let r: wire::SignRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let message = c::required(r.message, "message")?;
            c::blob_len(&message, "message", 1, 4096)?;
            let message = kinko_crypto::SecretBytes::new(message.0);
            let message_type = c::message_type(r.message_type.as_deref())?;
            let algorithm = c::signing_algorithm(r.signing_algorithm.as_deref())?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, None)?;
            if op == "Sign" {
                let out = kms
                    .sign(caller, &key_ref, message.expose(), message_type, algorithm)
                    .await
                    .map_err(core)?;
                seen.key = Some(out.key_arn.clone());
                return encode(&wire::SignResponse {
                    key_id: Some(out.key_arn.to_string()),
                    signature: Some(Blob(out.signature)),
                    signing_algorithm: Some(algorithm.as_str().to_owned()),
                });
            }
            let signature = c::required(r.signature, "signature")?;
            c::blob_len(&signature, "signature", 1, 6144)?;
            let out = kms
                .verify(
                    caller,
                    &key_ref,
                    message.expose(),
                    message_type,
                    algorithm,
                    &signature.0,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            encode(&wire::VerifyResponse {
                key_id: Some(out.key_arn.to_string()),
                signature_valid: Some(true),
                signing_algorithm: Some(algorithm.as_str().to_owned()),
            })
        }
        "GenerateMac" | "VerifyMac" => {
            let r: wire::MacRequest = decode(body)?;
            let message = c::required(r.message, "message")?;
            c::blob_len(&message, "message", 1, 4096)?;
            let message = kinko_crypto::SecretBytes::new(message.0);
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let algorithm = c::mac_algorithm(r.mac_algorithm.as_deref())?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, None)?;
            if op == "GenerateMac" {
                let out = kms
                    .generate_mac(caller, &key_ref, message.expose(), algorithm)
                    .await
                    .map_err(core)?;
                seen.key = Some(out.key_arn.clone());
                return encode(&wire::GenerateMacResponse {
                    mac: Some(Blob(out.mac)),
                    mac_algorithm: Some(algorithm.as_str().to_owned()),
                    key_id: Some(out.key_arn.to_string()),
                });
            }
            let mac = c::required(r.mac, "mac")?;
            c::blob_len(&mac, "mac", 1, 6144)?;
            let out = kms
                .verify_mac(caller, &key_ref, message.expose(), algorithm, &mac.0)
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            encode(&wire::VerifyMacResponse {
                key_id: Some(out.key_arn.to_string()),
                mac_valid: Some(true),
                mac_algorithm: Some(algorithm.as_str().to_owned()),
            })
        }
        "GenerateDataKeyPair" | "GenerateDataKeyPairWithoutPlaintext" => {
            let r: wire::GenerateDataKeyPairRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let pair_spec = c::key_pair_spec(r.key_pair_spec.as_deref())?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, r.recipient.as_ref())?;
            let with_plaintext = op == "GenerateDataKeyPair";
            let out = kms
                .generate_data_key_pair(
                    caller,
                    &key_ref,
                    pair_spec,
                    &c::context(r.encryption_context),
                    with_plaintext,
                )
                .await
                .map_err(core)?;
            seen.key = Some(out.key_arn.clone());
            let response = wire::GenerateDataKeyPairResponse {
                private_key_ciphertext_blob: Some(Blob(out.private_ciphertext)),
                private_key_plaintext: out
                    .private_plaintext
                    .as_ref()
                    .map(|p| Blob(p.expose().to_vec())),
                public_key: Some(Blob(out.public_key)),
                key_id: Some(out.key_arn.to_string()),
                key_pair_spec: Some(pair_spec.as_str().to_owned()),
                key_material_id: Some(out.material_id.to_string()),
            };
            let encoded = encode(&response);
            wipe_blob(response.private_key_plaintext);
            encoded
        }
        "DeriveSharedSecret" => {
            let r: wire::DeriveSharedSecretRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let algorithm = c::key_agreement_algorithm(r.key_agreement_algorithm.as_deref())?;
            let peer = c::required(r.public_key, "publicKey")?;
            c::blob_len(&peer, "publicKey", 1, 8192)?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, r.recipient.as_ref())?;
            let out = kms
                .derive_shared_secret(caller, &key_ref, algorithm, &peer.0)
                .await
                .map_err(core)?;
            seen.key = Some(out.key.arn.clone());
            let response = wire::DeriveSharedSecretResponse {
                key_id: Some(out.key.arn.to_string()),
                shared_secret: Some(Blob(out.shared_secret.expose().to_vec())),
                key_agreement_algorithm: Some(algorithm.as_str().to_owned()),
                key_origin: Some(out.key.origin.as_str().to_owned()),
            };
            let encoded = encode(&response);
            wipe_blob(response.shared_secret);
            encoded
        }
        "Encapsulate" | "Decapsulate" => {
            let r: wire::EncapsulateRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let algorithm = c::encapsulation_algorithm(r.encapsulation_algorithm.as_deref())?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, None)?;
            let out = if op == "Encapsulate" {
                kms.encapsulate(caller, &key_ref, algorithm)
                    .await
                    .map_err(core)?
            } else {
                let blob = c::required(
                    r.shared_secret_ciphertext_blob,
                    "sharedSecretCiphertextBlob",
                )?;
                c::blob_len(&blob, "sharedSecretCiphertextBlob", 1, 6144)?;
                kms.decapsulate(caller, &key_ref, algorithm, &blob.0)
                    .await
                    .map_err(core)?
            };
            seen.key = Some(out.key_arn.clone());
            let response = wire::EncapsulateResponse {
                key_id: Some(out.key_arn.to_string()),
                shared_secret: Some(Blob(out.shared_secret.expose().to_vec())),
                shared_secret_ciphertext_blob: (!out.ciphertext.is_empty())
                    .then_some(Blob(out.ciphertext)),
                encapsulation_algorithm: Some(algorithm.as_str().to_owned()),
            };
            let encoded = encode(&response);
            wipe_blob(response.shared_secret);
            encoded
        }
        "CreateAlias" | "UpdateAlias" => {
            let r: wire::AliasRequest = decode(body)?;
            let name = c::required(r.alias_name, "aliasName")?;
            let target = c::required(r.target_key_id, "targetKeyId")?;
            let name = c::alias_name(&name)?;
            let target = c::key_ref(&target, "targetKeyId")?;
            if op == "CreateAlias" {
                kms.create_alias(caller, &name, &target, audit)
                    .await
                    .map_err(core)?;
            } else {
                kms.update_alias(caller, &name, &target, audit)
                    .await
                    .map_err(core)?;
            }
            encode(&wire::Empty {})
        }
        "DeleteAlias" => {
            let r: wire::DeleteAliasRequest = decode(body)?;
            let name = c::alias_name(&c::required(r.alias_name, "aliasName")?)?;
            kms.delete_alias(caller, &name, audit).await.map_err(core)?;
            encode(&wire::Empty {})
        }
        "ListAliases" => {
            let r: wire::ListAliasesRequest = decode(body)?;
            let key_ref = c::opt_key_ref(r.key_id.as_deref(), "keyId")?;
            let limit = c::limit(r.limit, 100, 50)?;
            let page = kms
                .list_aliases(
                    caller,
                    key_ref.as_ref(),
                    limit,
                    c::marker(r.marker.as_deref())?,
                )
                .await
                .map_err(core)?;
            encode(&wire::ListAliasesResponse {
                aliases: Some(page.items.iter().map(c::alias_entry).collect()),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "TagResource" => {
            let r: wire::TagResourceRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let tags = c::tags(c::required(r.tags, "tags")?)?;
            kms.tag_resource(caller, &key_ref, tags, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "UntagResource" => {
            let r: wire::UntagResourceRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let keys = c::required(r.tag_keys, "tagKeys")?;
            for k in &keys {
                c::string_len(k, "tagKeys.member", 1, 128)?;
            }
            kms.untag_resource(caller, &key_ref, keys, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "ListResourceTags" => {
            let r: wire::ListResourceTagsRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let limit = c::limit(r.limit, 50, 50)?;
            let page = kms
                .list_resource_tags(caller, &key_ref, limit, c::marker(r.marker.as_deref())?)
                .await
                .map_err(core)?;
            encode(&wire::ListResourceTagsResponse {
                tags: Some(
                    page.items
                        .into_iter()
                        .map(|t| wire::TagEntry {
                            tag_key: Some(t.key),
                            tag_value: Some(t.value),
                        })
                        .collect(),
                ),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "CreateGrant" => {
            let r: wire::CreateGrantRequest = decode(body)?;
            c::no_service_principal(
                r.grantee_service_principal.as_ref(),
                "GranteeServicePrincipal",
            )?;
            c::no_service_principal(
                r.retiring_service_principal.as_ref(),
                "RetiringServicePrincipal",
            )?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let grantee = c::required(r.grantee_principal, "granteePrincipal")?;
            let operations = c::grant_operations(c::required(r.operations, "operations")?)?;
            let constraints = c::grant_constraints(r.constraints)?;
            c::grant_tokens(r.grant_tokens.as_ref())?;
            c::unsupported_flags(r.dry_run, None)?;
            let req = kinko_core::CreateGrantRequest {
                key: key_ref,
                grantee_principal: grantee,
                retiring_principal: r.retiring_principal,
                operations,
                constraints,
                name: r.name,
            };
            let grant_audit = |key: &kinko_core::Key, grant: &kinko_core::Grant| {
                crate::audit::with_grant_id(audit(key), &grant.grant_id)
            };
            let out = kms
                .create_grant(caller, req, &grant_audit)
                .await
                .map_err(core)?;
            seen.key = Some(out.grant.key_arn.clone());
            encode(&wire::CreateGrantResponse {
                grant_token: Some(out.grant_token),
                grant_id: Some(out.grant.grant_id),
            })
        }
        "ListGrants" => {
            let r: wire::ListGrantsRequest = decode(body)?;
            c::no_service_principal(
                r.grantee_service_principal.as_ref(),
                "GranteeServicePrincipal",
            )?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let limit = c::limit(r.limit, 100, 50)?;
            let grant_id = r.grant_id.as_deref().map(c::grant_id).transpose()?;
            if let Some(p) = &r.grantee_principal {
                c::string_len(p, "granteePrincipal", 1, 256)?;
            }
            let page = kms
                .list_grants(
                    caller,
                    &key_ref,
                    grant_id.as_deref(),
                    r.grantee_principal.as_deref(),
                    limit,
                    c::marker(r.marker.as_deref())?,
                )
                .await
                .map_err(core)?;
            encode(&wire::ListGrantsResponse {
                grants: Some(page.items.iter().map(c::grant_entry).collect()),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "ListRetirableGrants" => {
            let r: wire::ListRetirableGrantsRequest = decode(body)?;
            c::no_service_principal(
                r.retiring_service_principal.as_ref(),
                "RetiringServicePrincipal",
            )?;
            let retiring = c::required(r.retiring_principal, "retiringPrincipal")?;
            let limit = c::limit(r.limit, 100, 50)?;
            let page = kms
                .list_retirable_grants(caller, &retiring, limit, c::marker(r.marker.as_deref())?)
                .await
                .map_err(core)?;
            encode(&wire::ListGrantsResponse {
                grants: Some(page.items.iter().map(c::grant_entry).collect()),
                truncated: Some(page.next_marker.is_some()),
                next_marker: page.next_marker,
            })
        }
        "RetireGrant" => {
            let r: wire::RetireGrantRequest = decode(body)?;
            c::unsupported_flags(r.dry_run, None)?;
            let target = match (r.grant_token, r.key_id, r.grant_id) {
                (Some(token), None, None) => {
                    c::string_len(&token, "grantToken", 1, 8192)?;
                    kinko_core::RetireTarget::Token(token)
                }
                (None, Some(key), Some(id)) => kinko_core::RetireTarget::Id {
                    key: c::key_ref(&key, "keyId")?,
                    grant_id: c::grant_id(&id)?,
                },
                _ => {
                    return Err(ApiError::validation(
                        "RetireGrant takes either a GrantToken, or a KeyId and a GrantId.",
                    ));
                }
            };
            kms.retire_grant(caller, target, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "RevokeGrant" => {
            let r: wire::RevokeGrantRequest = decode(body)?;
            c::unsupported_flags(r.dry_run, None)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let grant_id = c::grant_id(&c::required(r.grant_id, "grantId")?)?;
            kms.revoke_grant(caller, &key_ref, &grant_id, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "GetKeyPolicy" => {
            let r: wire::GetKeyPolicyRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let name = policy_name(r.policy_name)?;
            let policy = kms.get_key_policy(caller, &key_ref).await.map_err(core)?;
            if name != kinko_core::DEFAULT_POLICY_NAME {
                return Err(ApiError::new(
                    ErrorCode::NotFoundException,
                    format!("No such policy exists: {name}"),
                ));
            }
            encode(&wire::GetKeyPolicyResponse {
                policy: Some(policy),
                policy_name: Some(name),
            })
        }
        "PutKeyPolicy" => {
            let r: wire::PutKeyPolicyRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let name = policy_name(r.policy_name)?;
            let policy = c::policy(&c::required(r.policy, "policy")?)?;
            if name != kinko_core::DEFAULT_POLICY_NAME {
                return Err(ApiError::validation(format!(
                    "PolicyName {name} cannot be set: the only key policy you can put is named default."
                )));
            }
            let bypass = r.bypass_policy_lockout_safety_check.unwrap_or(false);
            kms.put_key_policy(caller, &key_ref, policy, bypass, audit)
                .await
                .map_err(core)?;
            encode(&wire::Empty {})
        }
        "ListKeyPolicies" => {
            let r: wire::ListKeyPoliciesRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            c::limit(r.limit, 1000, 100)?;
            if let Some(m) = c::marker(r.marker.as_deref())? {
                return Err(ApiError::new(
                    ErrorCode::InvalidMarkerException,
                    format!("Invalid marker: {m}"),
                ));
            }
            let names = kms
                .list_key_policies(caller, &key_ref)
                .await
                .map_err(core)?;
            encode(&wire::ListKeyPoliciesResponse {
                policy_names: Some(names),
                next_marker: None,
                truncated: Some(false),
            })
        }
        "GetKeyLastUsage" => {
            let r: wire::KeyIdRequest = decode(body)?;
            let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
            let (key, usage) = kms
                .get_key_last_usage(caller, &key_ref)
                .await
                .map_err(core)?;
            seen.key = Some(key.arn.clone());
            let last = usage
                .map(|u| wire::KeyLastUsageData {
                    operation: Some(u.operation),
                    timestamp: Some(c::timestamp(u.time)),
                    cloud_trail_event_id: Some(u.event_id),
                    kms_request_id: u.request_id,
                })
                .unwrap_or_default();
            // Kinko records every use from the key's creation on.
            encode(&wire::GetKeyLastUsageResponse {
                key_id: Some(key.arn.to_string()),
                key_last_usage: Some(last),
                tracking_start_date: Some(c::timestamp(key.created_at)),
                key_creation_date: Some(c::timestamp(key.created_at)),
            })
        }
        other if MODEL_OPERATIONS.contains(&other) => Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{other} is not supported by Kinko yet."),
        )),
        _ => Err(unknown_operation()),
    }
}

/// `UnknownOperationException`.
pub fn unknown_operation() -> ApiError {
    ApiError::new(ErrorCode::UnknownOperationException, "")
}

fn policy_name(value: Option<String>) -> Conv<String> {
    let name = value.unwrap_or_else(|| kinko_core::DEFAULT_POLICY_NAME.to_owned());
    c::string_len(&name, "policyName", 1, 128)?;
    if !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+"
        )));
    }
    Ok(name)
}

/// Overwrites a plaintext blob once it has been serialized.
fn wipe_blob(blob: Option<Blob>) {
    if let Some(mut b) = blob {
        zeroize_bytes(&mut b.0);
    }
}

fn zeroize_bytes(bytes: &mut Vec<u8>) {
    let secret = kinko_crypto::SecretBytes::new(std::mem::take(bytes));
    drop(secret);
}
