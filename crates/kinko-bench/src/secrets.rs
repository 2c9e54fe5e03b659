//! The Secrets Manager operation of `--ops get-secret-value`: one secret made with CreateSecret
//! (under the account's AWS managed key `aws/secretsmanager`, made on that first use), then
//! GetSecretValue of it again and again. Each GetSecretValue is Secrets Manager's work plus a
//! KMS Decrypt made on the caller's behalf (and its audit record), so its rate beside Encrypt's
//! in the same run shows what the service adds.

use anyhow::{Context as _, Result, ensure};

use crate::client::{self, Call, Credentials, Endpoint};

/// Bytes of the secret's value (a database password's order of size).
const VALUE_SIZE: usize = 32;

/// Creates the bench's secret and returns the GetSecretValue request of it, sent once first:
/// a server that does not answer it as Secrets Manager does fails the run at once.
pub(crate) async fn get_secret_value_call(
    endpoint: &Endpoint,
    creds: &Credentials,
    region: &str,
) -> Result<Call> {
    let name = format!(
        "kinko-bench/{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    // Not a secret: filler of a password's length.
    let value: String = (0..VALUE_SIZE)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let create = Call::secretsmanager(
        "secretsmanager.CreateSecret",
        serde_json::json!({ "Name": name, "SecretString": value }),
    )?;
    let created = client::call_ok(endpoint, creds, region, &create)
        .await
        .context("CreateSecret (to make the GetSecretValue input) failed")?;
    let arn = created
        .get("ARN")
        .and_then(|a| a.as_str())
        .with_context(|| format!("CreateSecret response has no ARN: {created}"))?
        .to_owned();
    eprintln!("kinko-bench: created secret {arn}");
    let call = Call::secretsmanager(
        "secretsmanager.GetSecretValue",
        serde_json::json!({ "SecretId": arn }),
    )?;
    let got = client::call_ok(endpoint, creds, region, &call)
        .await
        .context("the first GetSecretValue failed")?;
    ensure!(
        got.get("SecretString").and_then(|s| s.as_str()) == Some(value.as_str()),
        "GetSecretValue did not answer the value CreateSecret stored"
    );
    Ok(call)
}
