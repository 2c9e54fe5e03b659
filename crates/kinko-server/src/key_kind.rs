//! CreateKey's spec, usage and origin from its request: the enum members checked in AWS's
//! validation form (values listed in the API model's order) and the combinations AWS refuses.

use kinko_api as wire;
use kinko_core::{KeySpec, KeyUsage, Origin};

use crate::convert::{Conv, enum_value};
use crate::errors::ApiError;

/// The deprecated `CustomerMasterKeySpec`'s enum, as the API model has it: the key specs that
/// existed when it was replaced by `KeySpec` (no ML-DSA, Ed25519 or ML-KEM).
const CUSTOMER_MASTER_KEY_SPECS: [&str; 13] = [
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

/// The spec/usage/origin part of CreateKey.
pub fn create_key_kind(req: &wire::CreateKeyRequest) -> Conv<(KeySpec, KeyUsage, Origin)> {
    let spec_names: Vec<&str> = KeySpec::ALL.iter().map(|s| s.as_str()).collect();
    let spec = req
        .key_spec
        .as_deref()
        .map(|s| enum_value(s, "keySpec", KeySpec::parse, &spec_names))
        .transpose()?;
    let legacy = req
        .customer_master_key_spec
        .as_deref()
        .map(|s| {
            enum_value(
                s,
                "customerMasterKeySpec",
                |s| {
                    CUSTOMER_MASTER_KEY_SPECS
                        .contains(&s)
                        .then(|| KeySpec::parse(s))
                        .flatten()
                },
                &CUSTOMER_MASTER_KEY_SPECS,
            )
        })
        .transpose()?;
    let spec = match (spec, legacy) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec with different values; use KeySpec only.",
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => KeySpec::SymmetricDefault,
    };
    let usage_names: Vec<&str> = KeyUsage::ALL.iter().map(|u| u.as_str()).collect();
    let usage = req
        .key_usage
        .as_deref()
        .map(|u| enum_value(u, "keyUsage", KeyUsage::parse, &usage_names))
        .transpose()?;
    let usage = match (spec, usage) {
        (KeySpec::SymmetricDefault, None | Some(KeyUsage::EncryptDecrypt)) => {
            KeyUsage::EncryptDecrypt
        }
        (KeySpec::SymmetricDefault, Some(u)) => {
            return Err(ApiError::validation(format!(
                "KeyUsage {u} is not compatible with KeySpec SYMMETRIC_DEFAULT: symmetric keys are ENCRYPT_DECRYPT."
            )));
        }
        (_, Some(u)) => u,
        (s, None) => {
            return Err(ApiError::validation(format!(
                "KeyUsage is required for KeySpec {s}."
            )));
        }
    };
    let origin_names: Vec<&str> = Origin::ALL.iter().map(|o| o.as_str()).collect();
    let origin = req
        .origin
        .as_deref()
        .map(|o| enum_value(o, "origin", Origin::parse, &origin_names))
        .transpose()?
        .unwrap_or(Origin::AwsKms);
    Ok((spec, usage, origin))
}
