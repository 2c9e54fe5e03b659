//! Entry points for the fuzz targets in `fuzz/` (not an API; hidden from the docs), one per
//! parser of client or operator input. Each runs the parser the way the server runs it, with no
//! store, clock or network, and returns nothing: a panic, a hang or an allocation blow-up is the
//! finding. The targets are one line each over these functions, and
//! `tests/fuzz_corpus.rs` replays the committed corpus through them in every `cargo test`.

mod http;
mod policy;

pub use self::http::{sigv4_header, sigv4_query};
pub use self::policy::policy;

use kinko_api as wire;
use kinko_core::{AccountId, Caller, Region};

use crate::convert as c;
use crate::kms::KmsRequest;

/// A KMS request body, `OperationName\n` then the JSON: parsed into the operation's typed request as
/// `kms::op::serve` parses it, its audit parameters and condition keys derived, and its
/// members put through the pure checks of `convert` that the handler applies.
pub fn kms_json(data: &[u8]) {
    let Some(newline) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let (Ok(op), Some(body)) = (
        std::str::from_utf8(&data[..newline]),
        data.get(newline + 1..),
    ) else {
        return;
    };
    kms_body(op, body);
}

/// [`kms_json`] on operation `op`'s body.
fn kms_body(op: &str, body: &[u8]) {
    macro_rules! typed {
        ($ty:ty, |$r:ident| $checks:block) => {{
            if let Ok($r) = crate::json::decode::<$ty>(body) {
                let _ = crate::audit::request_parameters(&$r, &[]);
                let _ = crate::facts::kms_request(&$r.facts(), None);
                $checks
            }
        }};
        ($ty:ty) => {
            typed!($ty, |_r| {})
        };
    }
    match op {
        "Encrypt" => typed!(wire::EncryptRequest, |r| {
            key(r.key_id.as_deref());
            let _ = c::grant_tokens(r.grant_tokens.as_ref());
            let _ =
                c::encryption_algorithm(r.encryption_algorithm.as_deref(), "encryptionAlgorithm");
            let _ = c::context(r.encryption_context, "encryptionContext");
        }),
        "Decrypt" => typed!(wire::DecryptRequest, |r| {
            if let Some(blob) = &r.ciphertext_blob {
                let _ = kinko_crypto::parse_header(&blob.0);
            }
            let _ = c::unsupported_recipient(r.recipient.as_ref());
            let _ = c::context(r.encryption_context, "encryptionContext");
            let _ = c::ciphertext_blob(r.ciphertext_blob, r.dry_run, r.dry_run_modifiers.as_ref());
        }),
        "ReEncrypt" => typed!(wire::ReEncryptRequest, |r| {
            let _ = c::context(r.source_encryption_context, "sourceEncryptionContext");
            let _ = c::context(
                r.destination_encryption_context,
                "destinationEncryptionContext",
            );
        }),
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            typed!(wire::GenerateDataKeyRequest, |r| {
                key(r.key_id.as_deref());
                let _ = c::context(r.encryption_context, "encryptionContext");
            })
        }
        "GenerateRandom" => typed!(wire::GenerateRandomRequest),
        "CreateKey" => typed!(wire::CreateKeyRequest, |r| {
            let _ = crate::key_kind::create_key_kind(&r);
            if let Some(p) = r.policy.as_deref() {
                let _ = c::policy(p);
            }
            let _ = c::tags(r.tags.unwrap_or_default());
        }),
        "DescribeKey" => typed!(wire::DescribeKeyRequest, |r| { key(r.key_id.as_deref()) }),
        "ListKeys" => typed!(wire::ListKeysRequest, |r| {
            let _ = c::limit(r.limit, 1000, 100);
            let _ = c::marker(r.marker.as_deref());
        }),
        "EnableKey"
        | "DisableKey"
        | "CancelKeyDeletion"
        | "GetKeyLastUsage"
        | "DisableKeyRotation"
        | "GetKeyRotationStatus"
        | "RotateKeyOnDemand" => {
            typed!(wire::KeyIdRequest, |r| { key(r.key_id.as_deref()) })
        }
        "UpdateKeyDescription" => typed!(wire::UpdateKeyDescriptionRequest),
        "ScheduleKeyDeletion" => typed!(wire::ScheduleKeyDeletionRequest),
        "EnableKeyRotation" => typed!(wire::EnableKeyRotationRequest),
        "ListKeyRotations" => typed!(wire::ListKeyRotationsRequest),
        "GetParametersForImport" => typed!(wire::GetParametersForImportRequest),
        "ImportKeyMaterial" => typed!(wire::ImportKeyMaterialRequest),
        "DeleteImportedKeyMaterial" => typed!(wire::DeleteImportedKeyMaterialRequest),
        "GetPublicKey" => typed!(wire::GetPublicKeyRequest),
        "Sign" | "Verify" => typed!(wire::SignRequest, |r| {
            let _ = c::signing_algorithm(r.signing_algorithm.as_deref());
            let _ = c::message_type(r.message_type.as_deref());
        }),
        "GenerateMac" | "VerifyMac" => typed!(wire::MacRequest, |r| {
            let _ = c::mac_algorithm(r.mac_algorithm.as_deref());
        }),
        "GenerateDataKeyPair" | "GenerateDataKeyPairWithoutPlaintext" => {
            typed!(wire::GenerateDataKeyPairRequest, |r| {
                let _ = c::key_pair_spec(r.key_pair_spec.as_deref());
                let _ = c::context(r.encryption_context, "encryptionContext");
            })
        }
        "DeriveSharedSecret" => typed!(wire::DeriveSharedSecretRequest, |r| {
            let _ = c::key_agreement_algorithm(r.key_agreement_algorithm.as_deref());
        }),
        "Encapsulate" | "Decapsulate" => typed!(wire::EncapsulateRequest, |r| {
            let _ = c::encapsulation_algorithm(r.encapsulation_algorithm.as_deref());
        }),
        "CreateAlias" | "UpdateAlias" => typed!(wire::AliasRequest, |r| {
            if let Some(name) = r.alias_name.as_deref() {
                let _ = c::alias_name(name);
            }
            key(r.target_key_id.as_deref());
        }),
        "DeleteAlias" => typed!(wire::DeleteAliasRequest),
        "ListAliases" => typed!(wire::ListAliasesRequest),
        "TagResource" => typed!(wire::TagResourceRequest, |r| {
            let _ = c::tags(r.tags.unwrap_or_default());
        }),
        "UntagResource" => typed!(wire::UntagResourceRequest),
        "ListResourceTags" => typed!(wire::ListResourceTagsRequest),
        "GetKeyPolicy" => typed!(wire::GetKeyPolicyRequest),
        "PutKeyPolicy" => typed!(wire::PutKeyPolicyRequest, |r| {
            if let Some(p) = r.policy.as_deref() {
                let _ = c::policy(p);
            }
        }),
        "ListKeyPolicies" => typed!(wire::ListKeyPoliciesRequest),
        "CreateGrant" => typed!(wire::CreateGrantRequest, |r| {
            let _ = c::grant_operations(r.operations.unwrap_or_default());
            let _ = c::grant_constraints(r.constraints);
            key(r.key_id.as_deref());
        }),
        "ListGrants" => typed!(wire::ListGrantsRequest, |r| {
            if let Some(id) = r.grant_id.as_deref() {
                let _ = c::grant_id(id);
            }
        }),
        "ListRetirableGrants" => typed!(wire::ListRetirableGrantsRequest),
        "RetireGrant" => typed!(wire::RetireGrantRequest),
        "RevokeGrant" => typed!(wire::RevokeGrantRequest),
        _ => {}
    }
}

fn key(value: Option<&str>) {
    if let Some(v) = value {
        let _ = c::key_ref(v, "keyId");
    }
}

/// An IAM or STS Query body: decoded as the Query protocol decodes it, with the lookups its
/// operations make.
pub fn query_form(body: &[u8]) {
    if let Ok(params) = crate::query::Params::parse(body) {
        let _ = params.get("Action");
        let _ = params.required("UserName");
        let _ = params.int("MaxItems");
        let _ = params.tags();
        let _ = params.audit_parameters(crate::query::REDACTED);
    }
}

/// A CloudTrail LookupEvents body: parsed, validated and its NextToken decoded.
pub fn lookup_events(body: &[u8]) {
    let (Some(account), Some(region)) =
        (AccountId::parse("111122223333"), Region::parse("us-east-1"))
    else {
        return;
    };
    if let Ok(r) = crate::json::decode::<wire::LookupEventsRequest>(body) {
        let principal = kinko_core::Principal::Root {
            account: account.clone(),
        };
        let caller = Caller::new(account, region, principal);
        let _ = crate::cloudtrail::validate(&caller, r);
    }
}

/// A TOML configuration file, as `kinko serve --config` reads it.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = toml::from_str::<crate::FileConfig>(text) {
        let _ = crate::Config::merge(file, crate::FileConfig::default());
    }
}

/// A symmetric ciphertext blob (format v1): its header, then opening it under a fixed key with
/// and without an encryption context.
pub fn ciphertext_blob(data: &[u8]) {
    static KEY: std::sync::LazyLock<Option<kinko_crypto::DataProtectionKey>> =
        std::sync::LazyLock::new(|| {
            kinko_crypto::DataProtectionKey::new(&kinko_crypto::SecretBytes::new(
                (0u8..32).collect(),
            ))
            .ok()
        });
    if kinko_crypto::parse_header(data).is_ok()
        && let Some(key) = KEY.as_ref()
    {
        let _ = key.open(data, &kinko_crypto::encode_context([]));
        let _ = key.open(data, &kinko_crypto::encode_context([("purpose", "fuzz")]));
    }
}

/// What Kinko itself reads from a backup (see `kinko_store::fuzzing`).
pub fn backup(data: &[u8]) {
    kinko_store::fuzzing::decode_backup_values(data);
}
