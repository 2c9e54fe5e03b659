//! The operations that read or write a secret's value: CreateSecret, GetSecretValue,
//! BatchGetSecretValue, PutSecretValue and UpdateSecret. Values arrive and leave only in these
//! handlers' bodies: never in a record, log or error.

use kinko_api::Blob;
use kinko_api::secrets::{
    BatchGetSecretValueRequest, BatchGetSecretValueResponse, CreateSecretRequest,
    GetSecretValueRequest, GetSecretValueResponse, PutSecretValueRequest, SecretWriteResponse,
    SmApiError, UpdateSecretRequest,
};
use kinko_core::{BatchItem, SecretRead, SecretValue, SecretWrite};
use kinko_crypto::SecretBytes;
use kinko_policy::{ConditionKeys, ContextValue, ContextValues};

use super::convert::{filters, tag_facts, tags};
use super::op::{
    Call, Descriptor, Reply, SmRequest, body, handler, invalid, required, secrets_audit, text,
};
use crate::convert::timestamp;

pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::reads("GetSecretValue", handler!(get_secret_value)),
    Descriptor::reads("BatchGetSecretValue", handler!(batch_get_secret_value)),
    Descriptor::changes("CreateSecret", handler!(create_secret)),
    Descriptor::changes("PutSecretValue", handler!(put_secret_value)),
    Descriptor::changes("UpdateSecret", handler!(update_secret)),
];

/// The value a request carries: SecretString or SecretBinary, not both.
fn value(
    string: Option<String>,
    binary: Option<Blob>,
) -> Result<Option<SecretValue>, crate::errors::ApiError> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (Some(s), None) => Ok(Some(SecretValue::String(SecretBytes::new(s.into_bytes())))),
        (None, Some(b)) => Ok(Some(SecretValue::Binary(SecretBytes::new(b.0)))),
        (None, None) => Ok(None),
    }
}

fn write_response(w: SecretWrite) -> Reply {
    body(&SecretWriteResponse {
        arn: Some(w.secret.arn),
        name: Some(w.secret.name),
        version_id: w.version_id,
        version_stages: None,
    })
}

/// The wire form of a value read; the caller wipes it once serialized.
fn read_response(read: SecretRead) -> GetSecretValueResponse {
    let (string, binary) = match read.value {
        SecretValue::String(b) => (Some(String::from_utf8_lossy(b.expose()).into_owned()), None),
        SecretValue::Binary(b) => (None, Some(Blob(b.expose().to_vec()))),
    };
    GetSecretValueResponse {
        arn: Some(read.secret.arn),
        name: Some(read.secret.name),
        version_id: Some(read.version.version_id),
        secret_binary: binary,
        secret_string: string,
        version_stages: Some(read.version.stages),
        created_date: Some(timestamp(read.version.created_at)),
    }
}

/// Overwrites the values of a response once it has been serialized.
fn wipe(response: &mut GetSecretValueResponse) {
    if let Some(s) = response.secret_string.take() {
        drop(SecretBytes::new(s.into_bytes()));
    }
    if let Some(b) = response.secret_binary.take() {
        drop(SecretBytes::new(b.0));
    }
}

impl SmRequest for CreateSecretRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        text(keys, "secretsmanager:Name", self.name.as_ref());
        text(keys, "secretsmanager:KmsKeyId", self.kms_key_id.as_ref());
        text(
            keys,
            "secretsmanager:Description",
            self.description.as_ref(),
        );
        tag_facts(keys, self.tags.as_ref());
    }
}

async fn create_secret(cx: Call<'_>, r: CreateSecretRequest) -> Reply {
    if r.add_replica_regions.is_some() {
        return Err(invalid(
            "AddReplicaRegions is not supported by Kinko: secrets are not replicated.",
        ));
    }
    let req = kinko_core::CreateSecretRequest {
        name: required(r.name, "Name")?,
        description: r.description,
        kms_key_id: r.kms_key_id,
        value: value(r.secret_string, r.secret_binary)?,
        token: r.client_request_token,
        tags: tags(r.tags)?,
    };
    let audit = secrets_audit!(cx);
    let written = cx
        .kms
        .create_secret(&cx.caller, req, &audit)
        .await
        .map_err(cx.core())?;
    write_response(written)
}

impl SmRequest for GetSecretValueRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        text(keys, "secretsmanager:VersionId", self.version_id.as_ref());
        text(
            keys,
            "secretsmanager:VersionStage",
            self.version_stage.as_ref(),
        );
    }
}

async fn get_secret_value(cx: Call<'_>, r: GetSecretValueRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let via = |c: kinko_core::ViaCall<'_>| cx.via(c);
    let read = cx
        .kms
        .get_secret_value(
            &cx.caller,
            &id,
            r.version_id.as_deref(),
            r.version_stage.as_deref(),
            &via,
        )
        .await
        .map_err(cx.core())?;
    let mut response = read_response(read);
    let out = body(&response);
    wipe(&mut response);
    out
}

impl SmRequest for BatchGetSecretValueRequest {}

async fn batch_get_secret_value(cx: Call<'_>, r: BatchGetSecretValueRequest) -> Reply {
    if r.secret_id_list.is_some() && r.filters.is_some() {
        return Err(invalid(
            "Either SecretIdList or Filters must be provided, but not both.",
        ));
    }
    if r.secret_id_list.is_none() && r.filters.is_none() {
        return Err(invalid("Either SecretIdList or Filters must be provided."));
    }
    let ids = r.secret_id_list;
    if ids.as_ref().is_some_and(|l| l.is_empty() || l.len() > 20) {
        return Err(invalid("SecretIdList must hold 1-20 secret ids."));
    }
    let filters = filters(r.filters)?;
    let max = usize::try_from(r.max_results.unwrap_or(20).clamp(1, 20)).unwrap_or(20);
    let via = |c: kinko_core::ViaCall<'_>| cx.via(c);
    let page = cx
        .kms
        .batch_get_secret_value(
            &cx.caller,
            ids.as_deref(),
            &filters,
            max,
            r.next_token.as_deref(),
            &via,
        )
        .await
        .map_err(cx.core())?;
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for item in page.items {
        match item {
            BatchItem::Value(read) => values.push(read_response(*read)),
            BatchItem::Error(id, e) => {
                let api = cx.core()(e);
                errors.push(SmApiError {
                    secret_id: id,
                    error_code: api.code.as_str().to_owned(),
                    message: api.message,
                });
            }
        }
    }
    let mut response = BatchGetSecretValueResponse {
        secret_values: Some(values),
        next_token: page.next_token,
        errors: Some(errors),
    };
    let out = body(&response);
    for v in response.secret_values.iter_mut().flatten() {
        wipe(v);
    }
    out
}

impl SmRequest for PutSecretValueRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        if let Some(stages) = &self.version_stages {
            keys.insert(
                "secretsmanager:VersionStage",
                ContextValues::Many(
                    stages
                        .iter()
                        .map(|s| ContextValue::String(s.clone()))
                        .collect(),
                ),
            );
        }
    }
}

async fn put_secret_value(cx: Call<'_>, r: PutSecretValueRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let value = value(r.secret_string, r.secret_binary)?
        .ok_or_else(|| invalid("You must provide either SecretString or SecretBinary."))?;
    let audit = secrets_audit!(cx);
    let written = cx
        .kms
        .put_secret_value(
            &cx.caller,
            &id,
            value,
            r.client_request_token,
            r.version_stages,
            &audit,
        )
        .await
        .map_err(cx.core())?;
    let stages = written.stages.clone();
    body(&SecretWriteResponse {
        arn: Some(written.secret.arn),
        name: Some(written.secret.name),
        version_id: written.version_id,
        version_stages: Some(stages),
    })
}

impl SmRequest for UpdateSecretRequest {
    fn facts(&self, keys: &mut ConditionKeys) {
        text(keys, "secretsmanager:KmsKeyId", self.kms_key_id.as_ref());
        text(
            keys,
            "secretsmanager:Description",
            self.description.as_ref(),
        );
    }
}

async fn update_secret(cx: Call<'_>, r: UpdateSecretRequest) -> Reply {
    let id = required(r.secret_id, "SecretId")?;
    let value = value(r.secret_string, r.secret_binary)?;
    let audit = secrets_audit!(cx);
    let written = cx
        .kms
        .update_secret(
            &cx.caller,
            &id,
            r.description,
            r.kms_key_id,
            value,
            r.client_request_token,
            &audit,
        )
        .await
        .map_err(cx.core())?;
    write_response(written)
}
