//! Imported key material (BYOK): GetParametersForImport hands out an RSA wrapping key and an
//! import token valid 24 hours; ImportKeyMaterial unwraps the caller's material with it, checks
//! it against the key spec, and stores it wrapped under the root key like generated material;
//! DeleteImportedKeyMaterial destroys it (the key goes to PendingImport).
//!
//! A material version of an EXTERNAL key keeps a fingerprint (a domain-separated SHA-256 of the
//! key ARN, the material id and the material), so a reimport after deletion or expiry can be
//! checked to be the same material without keeping the material.

use kinko_crypto::{SecretBytes, random_array};

use crate::aad::material_aad;
use crate::actions::Action;
use crate::material::Prepared;
use crate::ops::AuditFn;
use crate::rules::{Need, check_state};
use crate::{
    AuditAppend, Caller, Error, ExpirationModel, ImportParameters, ImportType, Key, KeyArn, KeyRef,
    KeyState, Kms, Material, MaterialId, Origin, RotationType, StoreError, UnixMillis,
    WrappingAlgorithmSpec, WrappingKeySpec,
};

/// How long import parameters stay valid.
const IMPORT_TOKEN_MS: i64 = 24 * 3_600_000;
/// How far ahead ValidTo may be.
const MAX_VALID_TO_MS: i64 = 365 * 86_400_000;
/// The prefix of Kinko's import tokens (the rest is the token id).
const TOKEN_PREFIX: &[u8] = b"kinko-import-token-v1:";

/// GetParametersForImport's answer.
#[derive(Debug)]
pub struct ImportParametersOutput {
    /// The key.
    pub key_arn: KeyArn,
    /// The opaque import token.
    pub import_token: Vec<u8>,
    /// The wrapping public key (SPKI DER).
    pub public_key: Vec<u8>,
    /// When the token and the wrapping key stop being accepted.
    pub valid_to: UnixMillis,
}

/// ImportKeyMaterial, validated by the caller.
#[derive(Debug)]
pub struct ImportRequest<'a> {
    /// The import token from GetParametersForImport.
    pub import_token: &'a [u8],
    /// The wrapped material.
    pub encrypted_material: &'a [u8],
    /// Whether the material expires (default: it does).
    pub expiration_model: ExpirationModel,
    /// When it expires (required iff it does).
    pub valid_to: Option<UnixMillis>,
    /// Reimport or new material for an on-demand rotation.
    pub import_type: Option<ImportType>,
    /// `KeyMaterialDescription`.
    pub description: Option<String>,
    /// `KeyMaterialId` of the material to reimport.
    pub material_id: Option<MaterialId>,
}

impl Kms {
    /// GetParametersForImport (key id or ARN).
    pub async fn get_parameters_for_import(
        &self,
        caller: &Caller,
        key: &KeyRef,
        algorithm: WrappingAlgorithmSpec,
        key_spec: WrappingKeySpec,
    ) -> Result<ImportParametersOutput, Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsGetParametersForImport)
            .await?;
        check_external(&key)?;
        if algorithm.primitive().is_none() {
            return Err(Error::Validation(format!(
                "The wrapping algorithm {algorithm} is not supported: use RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."
            )));
        }
        let Some(spec) = key_spec.primitive() else {
            return Err(Error::Validation(format!(
                "The wrapping key spec {key_spec} is only available in the AWS China Regions."
            )));
        };
        let (private_key, public_key) = kinko_crypto::generate_wrapping_key(spec)?;
        let token_id = crate::hex(&random_array::<32>()?);
        let now = self.clock().now();
        let params = ImportParameters {
            token_id: token_id.clone(),
            key_id: key.id(),
            wrapping_algorithm: algorithm.as_str().to_owned(),
            wrapping_key_spec: key_spec.as_str().to_owned(),
            wrapped_private_key: self
                .root()
                .wrap(&private_key, &token_aad(&key.arn, &token_id))?,
            root_id: self.root().id(),
            created_at: now,
            expires_at: UnixMillis(now.0 + IMPORT_TOKEN_MS),
        };
        self.store().put_import_parameters(&params).await?;
        Ok(ImportParametersOutput {
            key_arn: key.arn.clone(),
            import_token: [TOKEN_PREFIX, token_id.as_bytes()].concat(),
            public_key,
            valid_to: params.expires_at,
        })
    }

    /// ImportKeyMaterial (key id or ARN): the first import, a reimport of the same material, or
    /// new material waiting for RotateKeyOnDemand.
    pub async fn import_key_material(
        &self,
        caller: &Caller,
        key: &KeyRef,
        req: ImportRequest<'_>,
        audit: AuditFn<'_>,
    ) -> Result<(KeyArn, MaterialId), Error> {
        let resolved = self
            .resolve_for_management(caller, key, Action::KmsImportKeyMaterial)
            .await?;
        check_external(&resolved)?;
        let now = self.clock().now();
        check_validity(req.expiration_model, req.valid_to, now)?;
        let params = self
            .import_parameters(&resolved, req.import_token, now)
            .await?;
        let material = self.unwrap_material(&resolved, &params, req.encrypted_material)?;
        let mut key = self.fresh_key(&resolved).await?;
        if key.state == KeyState::PendingDeletion {
            return Err(Error::InvalidState(format!(
                "{} is pending deletion.",
                key.arn
            )));
        }
        let current = self
            .store()
            .get_material(&key.id(), &key.current_material)
            .await?
            .ok_or_else(|| {
                Error::Internal(format!("current material of {} is missing", key.arn))
            })?;
        let valid_to = match req.expiration_model {
            ExpirationModel::KeyMaterialExpires => req.valid_to,
            ExpirationModel::KeyMaterialDoesNotExpire => None,
        };
        let new_material =
            req.import_type == Some(ImportType::NewKeyMaterial) && current.fingerprint.is_some();
        let mut target = if new_material {
            if key.spec != crate::KeySpec::SymmetricDefault {
                return Err(Error::UnsupportedOperation(format!(
                    "{} has key spec {}: only symmetric encryption keys take new key material for rotation.",
                    key.arn, key.spec
                )));
            }
            // One new material waits for RotateKeyOnDemand at a time.
            if let Some(pending) = self
                .store()
                .list_materials(&key.id())
                .await?
                .into_iter()
                .find(|m| m.pending_rotation)
            {
                return Err(Error::InvalidState(format!(
                    "Key material {} of {} is already pending rotation; rotate to it with RotateKeyOnDemand, or delete it, before importing new key material.",
                    pending.id, key.arn
                )));
            }
            Material::generated(
                key.id(),
                MaterialId(random_array()?),
                Vec::new(),
                String::new(),
                now,
                None,
            )
        } else {
            let wanted = req.material_id.unwrap_or(key.current_material);
            let mut existing = self
                .store()
                .get_material(&key.id(), &wanted)
                .await?
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "Key material {wanted} of {} does not exist.",
                        key.arn
                    ))
                })?;
            existing.created_at = if existing.fingerprint.is_some() {
                existing.created_at
            } else {
                now
            };
            existing
        };
        let fingerprint = fingerprint(&key.arn, &target.id, &material);
        match &target.fingerprint {
            Some(known)
                if !kinko_crypto::constant_time_eq(known.as_bytes(), fingerprint.as_bytes()) =>
            {
                return Err(Error::IncorrectKeyMaterial(format!(
                    "The key material is not the key material of {} ({}).",
                    key.arn, target.id
                )));
            }
            _ => {}
        }
        if new_material {
            // The same material twice is a reimport, not new material.
            for m in self.store().list_materials(&key.id()).await? {
                if m.fingerprint
                    .is_some_and(|f| f == self::fingerprint(&key.arn, &m.id, &material))
                {
                    return Err(Error::IncorrectKeyMaterial(format!(
                        "This key material is already key material {} of {}; import it with ImportType EXISTING_KEY_MATERIAL.",
                        m.id, key.arn
                    )));
                }
            }
        }
        let prepared = Prepared::new(key.spec, &material)?;
        target.wrapped = self
            .root()
            .wrap(&material, &material_aad(&key.arn, &target.id, key.spec))?;
        target.root_id = self.root().id();
        target.fingerprint = Some(fingerprint);
        target.valid_to = valid_to;
        target.expiration_model = Some(req.expiration_model);
        if let Some(d) = req.description {
            target.description = d;
        }
        // A reimport of material still waiting for rotation leaves it waiting.
        target.pending_rotation |= new_material;
        if target.id == key.current_material {
            key.valid_to = valid_to;
            key.expiration_model = Some(req.expiration_model);
            if key.state == KeyState::PendingImport {
                key.state = KeyState::Enabled;
            }
        }
        key.version += 1;
        let draft = audit(&key);
        let append = AuditAppend {
            chain: self.audit_chain(),
            draft: &draft,
        };
        if new_material {
            self.store().add_material(&key, &target, append).await?;
        } else {
            self.store().put_material(&key, &target, append).await?;
        }
        self.caches().put_material(key.id(), target.id, prepared);
        let arn = key.arn.clone();
        self.caches().put_key(key);
        Ok((arn, target.id))
    }

    /// DeleteImportedKeyMaterial (key id or ARN): destroys the material; the key goes to
    /// PendingImport (a key pending deletion keeps its state).
    pub async fn delete_imported_key_material(
        &self,
        caller: &Caller,
        key: &KeyRef,
        material_id: Option<MaterialId>,
        audit: AuditFn<'_>,
    ) -> Result<(KeyArn, MaterialId), Error> {
        let resolved = self
            .resolve_for_management(caller, key, Action::KmsDeleteImportedKeyMaterial)
            .await?;
        check_origin(&resolved)?;
        let mut key = self.fresh_key(&resolved).await?;
        let id = material_id.unwrap_or(key.current_material);
        let mut material = self
            .store()
            .get_material(&key.id(), &id)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("Key material {id} of {} does not exist.", key.arn))
            })?;
        material.wrapped = Vec::new();
        material.root_id = String::new();
        material.valid_to = None;
        if id == key.current_material {
            key.valid_to = None;
            // With no material, DescribeKey shows no ExpirationModel, as on AWS.
            key.expiration_model = None;
            if key.state != KeyState::PendingDeletion {
                key.state = KeyState::PendingImport;
            }
        }
        key.version += 1;
        let draft = audit(&key);
        self.store()
            .put_material(
                &key,
                &material,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await?;
        self.caches().forget_materials(&key.id());
        let arn = key.arn.clone();
        self.caches().put_key(key);
        Ok((arn, id))
    }

    /// RotateKeyOnDemand of an EXTERNAL key: the material imported with NEW_KEY_MATERIAL
    /// becomes current.
    pub(crate) async fn rotate_to_imported(
        &self,
        resolved: &Key,
        audit: AuditFn<'_>,
    ) -> Result<KeyArn, Error> {
        let mut key = self.fresh_key(resolved).await?;
        check_state(&key, Need::Crypto)?;
        let pending = self
            .store()
            .list_materials(&key.id())
            .await?
            .into_iter()
            .find(|m| m.pending_rotation && m.is_imported())
            .ok_or_else(|| {
                Error::InvalidState(format!(
                    "No available key material pending rotation for the key: {}.",
                    key.arn
                ))
            })?;
        let mut material = pending;
        material.pending_rotation = false;
        material.rotation_type = Some(RotationType::OnDemand);
        material.created_at = self.clock().now();
        key.current_material = material.id;
        key.valid_to = material.valid_to;
        key.expiration_model = material.expiration_model;
        key.on_demand_rotations += 1;
        key.version += 1;
        let draft = audit(&key);
        self.store()
            .put_material(
                &key,
                &material,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::Conflict(format!(
                    "{} changed while it was being rotated; try again.",
                    key.arn
                )),
                other => other.into(),
            })?;
        let arn = key.arn.clone();
        self.caches().put_key(key);
        Ok(arn)
    }

    async fn import_parameters(
        &self,
        key: &Key,
        token: &[u8],
        now: UnixMillis,
    ) -> Result<ImportParameters, Error> {
        let invalid = || {
            Error::InvalidImportToken(format!(
                "The import token is not valid for {}: use the token GetParametersForImport returned for this key.",
                key.arn
            ))
        };
        let token_id = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|t| std::str::from_utf8(t).ok())
            .ok_or_else(invalid)?;
        let params = self
            .store()
            .get_import_parameters(token_id)
            .await?
            .filter(|p| p.key_id == key.id())
            .ok_or_else(invalid)?;
        if params.expires_at <= now {
            return Err(Error::ExpiredImportToken(format!(
                "The import token for {} expired; call GetParametersForImport again.",
                key.arn
            )));
        }
        Ok(params)
    }

    fn unwrap_material(
        &self,
        key: &Key,
        params: &ImportParameters,
        encrypted: &[u8],
    ) -> Result<SecretBytes, Error> {
        let algorithm = WrappingAlgorithmSpec::parse(&params.wrapping_algorithm)
            .and_then(WrappingAlgorithmSpec::primitive)
            .ok_or_else(|| Error::Internal("stored wrapping algorithm is unknown".into()))?;
        let private = self
            .root()
            .unwrap(
                &params.wrapped_private_key,
                &token_aad(&key.arn, &params.token_id),
            )
            .map_err(|_| {
                Error::InvalidImportToken(format!(
                    "The import parameters of {} can no longer be used (the root of trust changed); call GetParametersForImport again.",
                    key.arn
                ))
            })?;
        let raw = kinko_crypto::unwrap_imported_material(private.expose(), algorithm, encrypted)
            .map_err(|e| match e {
                kinko_crypto::CryptoError::Decrypt => Error::InvalidCiphertext,
                other => Error::failed("loading the stored wrapping key", other),
            })?;
        let kind = key
            .spec
            .imported_kind()
            .ok_or_else(|| crate::material::unsupported_spec(key.spec))?;
        kinko_crypto::normalize_imported_material(kind, raw.expose()).map_err(|e| match e {
            kinko_crypto::CryptoError::InvalidInput(why) => Error::IncorrectKeyMaterial(format!(
                "The key material does not fit key spec {} of {}: {why}.",
                key.spec, key.arn
            )),
            other => other.into(),
        })
    }
}

/// Import exists for EXTERNAL keys only.
fn check_origin(key: &Key) -> Result<(), Error> {
    if key.origin != Origin::External {
        return Err(Error::UnsupportedOperation(format!(
            "{} has origin {}: key material can be imported only into keys with origin EXTERNAL.",
            key.arn, key.origin
        )));
    }
    Ok(())
}

/// Import and its parameters: EXTERNAL keys not pending deletion.
fn check_external(key: &Key) -> Result<(), Error> {
    check_origin(key)?;
    if key.state == KeyState::PendingDeletion {
        return Err(Error::InvalidState(format!(
            "{} is pending deletion.",
            key.arn
        )));
    }
    Ok(())
}

/// ExpirationModel and ValidTo as AWS checks them.
fn check_validity(
    model: ExpirationModel,
    valid_to: Option<UnixMillis>,
    now: UnixMillis,
) -> Result<(), Error> {
    match (model, valid_to) {
        (ExpirationModel::KeyMaterialExpires, None) => Err(Error::Validation(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.".into(),
        )),
        (ExpirationModel::KeyMaterialDoesNotExpire, Some(_)) => Err(Error::Validation(
            "ValidTo must not be given when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
                .into(),
        )),
        (ExpirationModel::KeyMaterialExpires, Some(v)) if v <= now => {
            Err(Error::Validation("ValidTo must be in the future.".into()))
        }
        (ExpirationModel::KeyMaterialExpires, Some(v)) if v.0 - now.0 > MAX_VALID_TO_MS => Err(
            Error::Validation("ValidTo must be at most 365 days in the future.".into()),
        ),
        _ => Ok(()),
    }
}

/// Root-key AAD of a wrapping private key.
fn token_aad(arn: &KeyArn, token_id: &str) -> Vec<u8> {
    format!("kinko/import/{arn}|{token_id}").into_bytes()
}

/// The fingerprint of imported material (see the module documentation).
fn fingerprint(arn: &KeyArn, id: &MaterialId, material: &SecretBytes) -> String {
    let mut input = format!("kinko/imported-material/v1|{arn}|{id}|").into_bytes();
    input.extend_from_slice(material.expose());
    let digest = kinko_crypto::sha256(&input);
    let secret = SecretBytes::new(input);
    drop(secret);
    crate::hex(&digest)
}
