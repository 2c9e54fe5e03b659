//! Operations on asymmetric key pairs other than signing: public keys, data key pairs, key
//! agreement and key encapsulation.

use kinko_api::{self as wire, Blob};
use kinko_core::{
    EncapsulationAlgorithmSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec,
    SigningAlgorithmSpec,
};

use super::op::{Call, Descriptor, KmsRequest, Reply, handler, wipe_blob};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("GetPublicKey", handler!(get_public_key)),
    Descriptor::reads("GenerateDataKeyPair", handler!(generate_data_key_pair)),
    Descriptor::reads(
        "GenerateDataKeyPairWithoutPlaintext",
        handler!(generate_data_key_pair_without_plaintext),
    ),
    Descriptor::reads("DeriveSharedSecret", handler!(derive_shared_secret)),
    Descriptor::reads("Encapsulate", handler!(encapsulate)),
    Descriptor::reads("Decapsulate", handler!(decapsulate)),
];

impl KmsRequest for wire::GetPublicKeyRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::GenerateDataKeyPairRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            key_pair_spec: self.key_pair_spec.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::DeriveSharedSecretRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            key_agreement_algorithm: self.key_agreement_algorithm.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::EncapsulateRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `GetPublicKey`.
pub(super) async fn get_public_key(cx: Call<'_>, r: wire::GetPublicKeyRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let out = cx
        .kms
        .get_public_key(&cx.caller, &key_ref)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key.arn.clone());
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
        signing_algorithms: c::names(spec.signing_algorithms(usage), SigningAlgorithmSpec::as_str),
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

/// `GenerateDataKeyPair` and `GenerateDataKeyPairWithoutPlaintext`, which differ only in `op`.
async fn generate_data_key_pair_or_generate_data_key_pair_without_plaintext(
    cx: Call<'_>,
    r: wire::GenerateDataKeyPairRequest,
    op: &str,
) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let pair_spec = c::key_pair_spec(r.key_pair_spec.as_deref())?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    c::unsupported_recipient(r.recipient.as_ref())?;
    let with_plaintext = op == "GenerateDataKeyPair";
    let out = cx
        .kms
        .generate_data_key_pair(
            &cx.caller,
            &key_ref,
            pair_spec,
            &c::context(r.encryption_context, "encryptionContext")?,
            with_plaintext,
        )
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key_arn.clone());
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

/// `GenerateDataKeyPair`.
pub(super) async fn generate_data_key_pair(
    cx: Call<'_>,
    r: wire::GenerateDataKeyPairRequest,
) -> Reply {
    generate_data_key_pair_or_generate_data_key_pair_without_plaintext(cx, r, "GenerateDataKeyPair")
        .await
}

/// `GenerateDataKeyPairWithoutPlaintext`.
pub(super) async fn generate_data_key_pair_without_plaintext(
    cx: Call<'_>,
    r: wire::GenerateDataKeyPairRequest,
) -> Reply {
    generate_data_key_pair_or_generate_data_key_pair_without_plaintext(
        cx,
        r,
        "GenerateDataKeyPairWithoutPlaintext",
    )
    .await
}

/// `DeriveSharedSecret`.
pub(super) async fn derive_shared_secret(
    cx: Call<'_>,
    r: wire::DeriveSharedSecretRequest,
) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let algorithm = c::key_agreement_algorithm(r.key_agreement_algorithm.as_deref())?;
    let peer = c::required(r.public_key, "publicKey")?;
    c::blob_len(&peer, "publicKey", 1, 8192)?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    c::unsupported_recipient(r.recipient.as_ref())?;
    let out = cx
        .kms
        .derive_shared_secret(&cx.caller, &key_ref, algorithm, &peer.0)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.key.arn.clone());
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

/// `Encapsulate` and `Decapsulate`, which differ only in `op`.
async fn encapsulate_or_decapsulate(cx: Call<'_>, r: wire::EncapsulateRequest, op: &str) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let algorithm = c::encapsulation_algorithm(r.encapsulation_algorithm.as_deref())?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let out = if op == "Encapsulate" {
        cx.kms
            .encapsulate(&cx.caller, &key_ref, algorithm)
            .await
            .map_err(cx.core())?
    } else {
        let blob = c::required(
            r.shared_secret_ciphertext_blob,
            "sharedSecretCiphertextBlob",
        )?;
        c::blob_len(&blob, "sharedSecretCiphertextBlob", 1, 6144)?;
        cx.kms
            .decapsulate(&cx.caller, &key_ref, algorithm, &blob.0)
            .await
            .map_err(cx.core())?
    };
    cx.seen.key = Some(out.key_arn.clone());
    let response = wire::EncapsulateResponse {
        key_id: Some(out.key_arn.to_string()),
        shared_secret: Some(Blob(out.shared_secret.expose().to_vec())),
        shared_secret_ciphertext_blob: (!out.ciphertext.is_empty()).then_some(Blob(out.ciphertext)),
        encapsulation_algorithm: Some(algorithm.as_str().to_owned()),
    };
    let encoded = encode(&response);
    wipe_blob(response.shared_secret);
    encoded
}

/// `Encapsulate`.
pub(super) async fn encapsulate(cx: Call<'_>, r: wire::EncapsulateRequest) -> Reply {
    encapsulate_or_decapsulate(cx, r, "Encapsulate").await
}

/// `Decapsulate`.
pub(super) async fn decapsulate(cx: Call<'_>, r: wire::EncapsulateRequest) -> Reply {
    encapsulate_or_decapsulate(cx, r, "Decapsulate").await
}
