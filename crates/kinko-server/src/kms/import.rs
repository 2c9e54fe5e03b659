//! Imported key material (origin EXTERNAL): wrapping parameters, importing and deleting material.

use kinko_api::{self as wire, Blob};
use kinko_core::{ImportType, WrappingAlgorithmSpec, WrappingKeySpec};

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads(
        "GetParametersForImport",
        handler!(get_parameters_for_import),
    ),
    Descriptor::changes("ImportKeyMaterial", handler!(import_key_material)),
    Descriptor::changes(
        "DeleteImportedKeyMaterial",
        handler!(delete_imported_key_material),
    ),
];

impl KmsRequest for wire::GetParametersForImportRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            wrapping_algorithm: self.wrapping_algorithm.as_deref(),
            wrapping_key_spec: self.wrapping_key_spec.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ImportKeyMaterialRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            valid_to: self.valid_to,
            expiration_model: self.expiration_model.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::DeleteImportedKeyMaterialRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `GetParametersForImport`.
pub(super) async fn get_parameters_for_import(
    cx: Call<'_>,
    r: wire::GetParametersForImportRequest,
) -> Reply {
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
    let out = cx
        .kms
        .get_parameters_for_import(&cx.caller, &key_ref, algorithm, spec)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    encode(&wire::GetParametersForImportResponse {
        key_id: Some(out.key_arn.to_string()),
        import_token: Some(Blob(out.import_token)),
        public_key: Some(Blob(out.public_key)),
        parameters_valid_to: Some(c::timestamp(out.valid_to)),
    })
}

/// `ImportKeyMaterial`.
pub(super) async fn import_key_material(cx: Call<'_>, r: wire::ImportKeyMaterialRequest) -> Reply {
    let audit = cx.audit();
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
    let out = cx
        .kms
        .import_key_material(
            &cx.caller,
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
            &audit,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.0.clone());
    encode(&wire::KeyMaterialResponse {
        key_id: Some(out.0.to_string()),
        key_material_id: Some(out.1.to_string()),
    })
}

/// `DeleteImportedKeyMaterial`.
pub(super) async fn delete_imported_key_material(
    cx: Call<'_>,
    r: wire::DeleteImportedKeyMaterialRequest,
) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let material_id = r
        .key_material_id
        .as_deref()
        .map(c::key_material_id)
        .transpose()?;
    let out = cx
        .kms
        .delete_imported_key_material(&cx.caller, &key_ref, material_id, &audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.0.clone());
    encode(&wire::KeyMaterialResponse {
        key_id: Some(out.0.to_string()),
        key_material_id: Some(out.1.to_string()),
    })
}
