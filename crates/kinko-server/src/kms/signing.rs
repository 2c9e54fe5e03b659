//! Signatures and MACs: Sign, Verify, GenerateMac and VerifyMac.

use kinko_api::{self as wire, Blob};

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("Sign", handler!(sign)),
    Descriptor::reads("Verify", handler!(verify)),
    Descriptor::reads("GenerateMac", handler!(generate_mac)),
    Descriptor::reads("VerifyMac", handler!(verify_mac)),
];

impl KmsRequest for wire::SignRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            message_type: self.message_type.as_deref(),
            signing_algorithm: self.signing_algorithm.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::MacRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            mac_algorithm: self.mac_algorithm.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `Sign` and `Verify`, which differ only in `op`.
async fn sign_or_verify(cx: Call<'_>, r: wire::SignRequest, op: &str) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let message = c::required(r.message, "message")?;
    c::blob_len(&message, "message", 1, 4096)?;
    let message = kinko_crypto::SecretBytes::new(message.0);
    let message_type = c::message_type(r.message_type.as_deref())?;
    let algorithm = c::signing_algorithm(r.signing_algorithm.as_deref())?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    if op == "Sign" {
        let out = cx
            .kms
            .sign(
                &cx.caller,
                &key_ref,
                message.expose(),
                message_type,
                algorithm,
            )
            .await
            .map_err(cx.core())?;
        cx.seen.key = Some(out.key_arn.clone());
        return encode(&wire::SignResponse {
            key_id: Some(out.key_arn.to_string()),
            signature: Some(Blob(out.signature)),
            signing_algorithm: Some(algorithm.as_str().to_owned()),
        });
    }
    let signature = c::required(r.signature, "signature")?;
    c::blob_len(&signature, "signature", 1, 6144)?;
    let out = cx
        .kms
        .verify(
            &cx.caller,
            &key_ref,
            message.expose(),
            message_type,
            algorithm,
            &signature.0,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    encode(&wire::VerifyResponse {
        key_id: Some(out.key_arn.to_string()),
        signature_valid: Some(true),
        signing_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// `Sign`.
pub(super) async fn sign(cx: Call<'_>, r: wire::SignRequest) -> Reply {
    sign_or_verify(cx, r, "Sign").await
}

/// `Verify`.
pub(super) async fn verify(cx: Call<'_>, r: wire::SignRequest) -> Reply {
    sign_or_verify(cx, r, "Verify").await
}

/// `GenerateMac` and `VerifyMac`, which differ only in `op`.
async fn generate_mac_or_verify_mac(cx: Call<'_>, r: wire::MacRequest, op: &str) -> Reply {
    let message = c::required(r.message, "message")?;
    c::blob_len(&message, "message", 1, 4096)?;
    let message = kinko_crypto::SecretBytes::new(message.0);
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let algorithm = c::mac_algorithm(r.mac_algorithm.as_deref())?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    if op == "GenerateMac" {
        let out = cx
            .kms
            .generate_mac(&cx.caller, &key_ref, message.expose(), algorithm)
            .await
            .map_err(cx.core())?;
        cx.seen.key = Some(out.key_arn.clone());
        return encode(&wire::GenerateMacResponse {
            mac: Some(Blob(out.mac)),
            mac_algorithm: Some(algorithm.as_str().to_owned()),
            key_id: Some(out.key_arn.to_string()),
        });
    }
    let mac = c::required(r.mac, "mac")?;
    c::blob_len(&mac, "mac", 1, 6144)?;
    let out = cx
        .kms
        .verify_mac(&cx.caller, &key_ref, message.expose(), algorithm, &mac.0)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
    encode(&wire::VerifyMacResponse {
        key_id: Some(out.key_arn.to_string()),
        mac_valid: Some(true),
        mac_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// `GenerateMac`.
pub(super) async fn generate_mac(cx: Call<'_>, r: wire::MacRequest) -> Reply {
    generate_mac_or_verify_mac(cx, r, "GenerateMac").await
}

/// `VerifyMac`.
pub(super) async fn verify_mac(cx: Call<'_>, r: wire::MacRequest) -> Reply {
    generate_mac_or_verify_mac(cx, r, "VerifyMac").await
}
