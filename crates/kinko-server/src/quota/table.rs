//! AWS KMS's request quotas as data: every quota's name (as `--quota NAME=RATE` and TOML
//! `[quotas]` spell it), its default rate (AWS's published defaults, "Request quotas" of the KMS
//! Developer Guide), and which quota a request counts against. A leaf: it imports nothing of the
//! server but the request facts it classifies by.
//!
//! Cryptographic operations share one quota per key type. The key type is read from the
//! request, not from the key: the algorithm a request names (`EncryptionAlgorithm`,
//! `SigningAlgorithm`, `KeyPairSpec`) decides it, so no key is looked up before the quota is
//! checked. A request whose algorithm does not fit its key fails anyway (InvalidKeyUsage).

use crate::facts::Parameters;

/// How a quota's default depends on the region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Default {
    /// The same rate in every region.
    Fixed(f64),
    /// The symmetric cryptographic quota: 100,000/s in us-east-1, us-west-2 and eu-west-1;
    /// 20,000/s in us-east-2, ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-central-1 and
    /// eu-west-2; 10,000/s elsewhere.
    Symmetric,
}

/// The symmetric cryptographic quota of `region`.
pub(crate) fn symmetric_rate(region: &str) -> f64 {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => 100_000.0,
        "us-east-2" | "ap-southeast-1" | "ap-southeast-2" | "ap-northeast-1" | "eu-central-1"
        | "eu-west-2" => 20_000.0,
        _ => 10_000.0,
    }
}

/// One request quota.
#[derive(Debug)]
pub(crate) struct Quota {
    /// Its name in configuration and in the `kinko_quota_refusals_total` metric.
    pub name: &'static str,
    /// Requests per second, per account and region.
    pub default: Default,
}

const fn fixed(name: &'static str, rate: f64) -> Quota {
    Quota {
        name,
        default: Default::Fixed(rate),
    }
}

/// Index of the symmetric cryptographic quota in [`QUOTAS`].
pub(crate) const SYMMETRIC: usize = 0;
const RSA: usize = 1;
const ECC: usize = 2;
const ML_DSA: usize = 3;
const ML_KEM: usize = 4;
/// Where the `GenerateDataKeyPair` quotas begin in [`QUOTAS`] (in [`KEY_PAIR_SPECS`] order).
const KEY_PAIRS: usize = 5;
/// `KeyPairSpec` values, in the order of their quotas.
const KEY_PAIR_SPECS: [&str; 8] = [
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
];
/// Where the per-operation quotas begin in [`QUOTAS`].
const OPERATIONS: usize = KEY_PAIRS + KEY_PAIR_SPECS.len() + 1;

/// Every quota. The first rows are the shared cryptographic ones, then the
/// `GenerateDataKeyPair` ones by key pair spec, then one per operation (named after it, in
/// kebab case). AWS's custom key store quotas are left out: Kinko has no custom key stores.
/// `cryptographic-ml-kem` is Kinko's own: AWS's table has no row for Encapsulate and
/// Decapsulate yet, so they get the rate of the other asymmetric types.
pub(crate) const QUOTAS: &[Quota] = &[
    Quota {
        name: "cryptographic-symmetric",
        default: Default::Symmetric,
    },
    fixed("cryptographic-rsa", 1_000.0),
    fixed("cryptographic-ecc", 1_000.0),
    fixed("cryptographic-ml-dsa", 1_000.0),
    fixed("cryptographic-ml-kem", 1_000.0),
    fixed("generate-data-key-pair-rsa-2048", 20.0),
    fixed("generate-data-key-pair-rsa-3072", 4.0),
    fixed("generate-data-key-pair-rsa-4096", 1.0),
    fixed("generate-data-key-pair-ecc-nist-p256", 100.0),
    fixed("generate-data-key-pair-ecc-nist-p384", 100.0),
    fixed("generate-data-key-pair-ecc-nist-p521", 100.0),
    fixed("generate-data-key-pair-ecc-secg-p256k1", 100.0),
    fixed("generate-data-key-pair-ecc-nist-edwards25519", 100.0),
    fixed("generate-data-key-pair-sm2", 25.0),
    fixed("cancel-key-deletion", 5.0),
    fixed("create-alias", 5.0),
    fixed("create-grant", 50.0),
    fixed("create-key", 5.0),
    fixed("delete-alias", 15.0),
    fixed("delete-imported-key-material", 15.0),
    fixed("describe-key", 2_000.0),
    fixed("disable-key", 5.0),
    fixed("disable-key-rotation", 5.0),
    fixed("enable-key", 5.0),
    fixed("enable-key-rotation", 15.0),
    fixed("get-key-last-usage", 5.0),
    fixed("get-key-policy", 1_000.0),
    fixed("get-key-rotation-status", 1_000.0),
    fixed("get-parameters-for-import", 1.0),
    fixed("get-public-key", 2_000.0),
    fixed("import-key-material", 15.0),
    fixed("list-aliases", 500.0),
    fixed("list-grants", 100.0),
    fixed("list-key-policies", 100.0),
    fixed("list-key-rotations", 100.0),
    fixed("list-keys", 500.0),
    fixed("list-resource-tags", 2_000.0),
    fixed("list-retirable-grants", 100.0),
    fixed("put-key-policy", 15.0),
    fixed("replicate-key", 5.0),
    fixed("retire-grant", 50.0),
    fixed("revoke-grant", 50.0),
    fixed("rotate-key-on-demand", 5.0),
    fixed("schedule-key-deletion", 15.0),
    fixed("tag-resource", 10.0),
    fixed("untag-resource", 5.0),
    fixed("update-alias", 5.0),
    fixed("update-key-description", 5.0),
    fixed("update-primary-region", 5.0),
    // Secrets Manager's ("AWS Secrets Manager quotas", Secrets Manager User Guide), from
    // `SECRETS` on; each row's operations share it.
    fixed("secretsmanager-get-secret-value", 10_000.0),
    fixed("secretsmanager-batch-get-secret-value", 100.0),
    fixed("secretsmanager-list-secrets", 100.0),
    fixed("secretsmanager-list-secret-version-ids", 50.0),
    fixed("secretsmanager-create-secret", 50.0),
    fixed("secretsmanager-put-secret-value", 50.0),
    fixed("secretsmanager-delete-secret", 50.0),
    fixed("secretsmanager-restore-secret", 50.0),
    fixed("secretsmanager-rotate-secret", 50.0),
    fixed("secretsmanager-tag-resource", 50.0),
    fixed("secretsmanager-resource-policy", 50.0),
    fixed("secretsmanager-get-random-password", 50.0),
];

/// Where Secrets Manager's quotas begin in [`QUOTAS`].
pub(crate) const SECRETS: usize = QUOTAS.len() - 12;

/// The index in [`QUOTAS`] of the Secrets Manager quota operation `op` counts against.
pub(crate) fn secrets_quota_of(op: &str) -> Option<usize> {
    let name = match op {
        "GetSecretValue" | "DescribeSecret" => "secretsmanager-get-secret-value",
        "BatchGetSecretValue" => "secretsmanager-batch-get-secret-value",
        "ListSecrets" => "secretsmanager-list-secrets",
        "ListSecretVersionIds" => "secretsmanager-list-secret-version-ids",
        "CreateSecret" => "secretsmanager-create-secret",
        "PutSecretValue"
        | "UpdateSecret"
        | "UpdateSecretVersionStage"
        | "ReplicateSecretToRegions"
        | "RemoveRegionsFromReplication"
        | "StopReplicationToReplica" => "secretsmanager-put-secret-value",
        "DeleteSecret" => "secretsmanager-delete-secret",
        "RestoreSecret" => "secretsmanager-restore-secret",
        "RotateSecret" | "CancelRotateSecret" => "secretsmanager-rotate-secret",
        "TagResource" | "UntagResource" => "secretsmanager-tag-resource",
        "PutResourcePolicy"
        | "GetResourcePolicy"
        | "DeleteResourcePolicy"
        | "ValidateResourcePolicy" => "secretsmanager-resource-policy",
        "GetRandomPassword" => "secretsmanager-get-random-password",
        _ => return None,
    };
    QUOTAS[SECRETS..]
        .iter()
        .position(|q| q.name == name)
        .map(|i| SECRETS + i)
}

/// The index in [`QUOTAS`] of the quota called `name`.
pub(crate) fn index_of(name: &str) -> Option<usize> {
    QUOTAS.iter().position(|q| q.name == name)
}

/// The index in [`QUOTAS`] of the quota a request for operation `op` with `facts` counts
/// against, if any (IAM, STS and CloudTrail requests count against none).
pub(crate) fn quota_of(op: &str, facts: &Parameters<'_>) -> Option<usize> {
    match op {
        "Encrypt" | "Decrypt" | "ReEncrypt" => Some(by_encryption(facts.encryption_algorithm)),
        "GenerateDataKey"
        | "GenerateDataKeyWithoutPlaintext"
        | "GenerateRandom"
        | "GenerateMac"
        | "VerifyMac" => Some(SYMMETRIC),
        "Sign" | "Verify" => Some(by_signing(facts.signing_algorithm)),
        "DeriveSharedSecret" => Some(ECC),
        "Encapsulate" | "Decapsulate" => Some(ML_KEM),
        "GenerateDataKeyPair" | "GenerateDataKeyPairWithoutPlaintext" => {
            Some(by_key_pair_spec(facts.key_pair_spec))
        }
        _ => per_operation(op),
    }
}

/// RSA for `RSAES_*`, ECC for SM2, symmetric otherwise (`SYMMETRIC_DEFAULT`, absent).
fn by_encryption(algorithm: Option<&str>) -> usize {
    match algorithm {
        Some(a) if a.starts_with("RSAES_") => RSA,
        Some("SM2PKE") => ECC,
        _ => SYMMETRIC,
    }
}

/// RSA for `RSASSA_*`, ML-DSA for `ML_DSA_*`, ECC otherwise (ECDSA, Ed25519, SM2).
fn by_signing(algorithm: Option<&str>) -> usize {
    match algorithm {
        Some(a) if a.starts_with("RSASSA_") => RSA,
        Some(a) if a.starts_with("ML_DSA_") => ML_DSA,
        _ => ECC,
    }
}

/// The `GenerateDataKeyPair` quota of a key pair spec (an unknown one, which fails validation
/// anyway, counts against the dearest: RSA-4096).
fn by_key_pair_spec(spec: Option<&str>) -> usize {
    if spec == Some("SM2") {
        return OPERATIONS - 1;
    }
    let found = spec.and_then(|s| KEY_PAIR_SPECS.iter().position(|k| *k == s));
    KEY_PAIRS + found.unwrap_or(2)
}

/// The per-operation quota of `op`, found by its kebab-case name.
fn per_operation(op: &str) -> Option<usize> {
    // Operation names are at most a few dozen ASCII letters.
    let mut name = String::with_capacity(op.len() + 8);
    for (i, c) in op.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    QUOTAS[OPERATIONS..SECRETS]
        .iter()
        .position(|q| q.name == name)
        .map(|i| OPERATIONS + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(op: &str, facts: Parameters<'_>) -> Option<&'static str> {
        quota_of(op, &facts).map(|i| QUOTAS[i].name)
    }

    #[test]
    fn names_are_unique_and_kebab_case() {
        for (i, q) in QUOTAS.iter().enumerate() {
            assert_eq!(index_of(q.name), Some(i), "{} is named twice", q.name);
            assert!(
                q.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                q.name
            );
        }
        assert_eq!(QUOTAS[SYMMETRIC].name, "cryptographic-symmetric");
        assert_eq!(QUOTAS[OPERATIONS - 1].name, "generate-data-key-pair-sm2");
        assert_eq!(QUOTAS[OPERATIONS].name, "cancel-key-deletion");
    }

    #[test]
    fn cryptographic_operations_share_their_key_type_quota() {
        let none = Parameters::default;
        assert_eq!(name("Encrypt", none()), Some("cryptographic-symmetric"));
        assert_eq!(name("GenerateMac", none()), Some("cryptographic-symmetric"));
        assert_eq!(
            name("GenerateRandom", none()),
            Some("cryptographic-symmetric")
        );
        let rsa = Parameters {
            encryption_algorithm: Some("RSAES_OAEP_SHA_256"),
            ..none()
        };
        assert_eq!(name("Decrypt", rsa), Some("cryptographic-rsa"));
        let ecdsa = Parameters {
            signing_algorithm: Some("ECDSA_SHA_256"),
            ..none()
        };
        assert_eq!(name("Sign", ecdsa), Some("cryptographic-ecc"));
        let pss = Parameters {
            signing_algorithm: Some("RSASSA_PSS_SHA_256"),
            ..none()
        };
        assert_eq!(name("Verify", pss), Some("cryptographic-rsa"));
        let ml_dsa = Parameters {
            signing_algorithm: Some("ML_DSA_SHAKE_256"),
            ..none()
        };
        assert_eq!(name("Sign", ml_dsa), Some("cryptographic-ml-dsa"));
        assert_eq!(
            name("DeriveSharedSecret", none()),
            Some("cryptographic-ecc")
        );
        let p384 = Parameters {
            key_pair_spec: Some("ECC_NIST_P384"),
            ..none()
        };
        assert_eq!(
            name("GenerateDataKeyPair", p384),
            Some("generate-data-key-pair-ecc-nist-p384")
        );
    }

    #[test]
    fn management_operations_have_their_own() {
        let none = Parameters::default;
        assert_eq!(name("CreateKey", none()), Some("create-key"));
        assert_eq!(name("ListKeys", none()), Some("list-keys"));
        assert_eq!(
            name("GetParametersForImport", none()),
            Some("get-parameters-for-import")
        );
        assert_eq!(
            name("UpdatePrimaryRegion", none()),
            Some("update-primary-region")
        );
        // No AWS quota: the custom key store operations (Kinko has none) and unknown names.
        assert_eq!(name("CreateCustomKeyStore", none()), None);
        assert_eq!(name("NoSuchOperation", none()), None);
    }

    #[test]
    fn secrets_manager_operations_share_aws_groups() {
        let of = |op| secrets_quota_of(op).map(|i| QUOTAS[i].name);
        assert_eq!(QUOTAS[SECRETS].name, "secretsmanager-get-secret-value");
        assert_eq!(QUOTAS[SECRETS].default, Default::Fixed(10_000.0));
        assert_eq!(of("DescribeSecret"), of("GetSecretValue"));
        assert_eq!(of("UpdateSecret"), Some("secretsmanager-put-secret-value"));
        assert_eq!(
            of("CancelRotateSecret"),
            Some("secretsmanager-rotate-secret")
        );
        assert_eq!(
            of("ValidateResourcePolicy"),
            Some("secretsmanager-resource-policy")
        );
        // Secrets Manager's TagResource is not KMS's, and KMS's is not Secrets Manager's.
        assert_eq!(of("TagResource"), Some("secretsmanager-tag-resource"));
        assert_eq!(
            name("TagResource", Parameters::default()),
            Some("tag-resource")
        );
        assert_eq!(of("Encrypt"), None);
    }

    #[test]
    fn symmetric_default_follows_the_region() {
        assert_eq!(symmetric_rate("us-east-1"), 100_000.0);
        assert_eq!(symmetric_rate("eu-west-2"), 20_000.0);
        assert_eq!(symmetric_rate("sa-east-1"), 10_000.0);
    }
}
