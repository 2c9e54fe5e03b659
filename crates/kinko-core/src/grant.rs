//! What a grant is (`kms-reference.md` §2 "Grants", §5, §7.2): a grant lets a principal use a
//! key for a list of operations, optionally only with a matching encryption context. This
//! module holds the domain type, its tokens, and the validation of CreateGrant's values as AWS
//! does it; the grant operations on `Kms` are in `grants.rs`. Whether a grant *allows* a
//! request is decided by the authorization (`authz.rs`); nothing here enforces grants.
//!
//! Invariants:
//! - A grant id is 64 lowercase hex characters drawn from the RNG; it never changes.
//! - A grant token is a reference to a grant and nothing more: version ‖ key id ‖ grant id ‖ a
//!   random nonce, hex-encoded. It carries no secret and nothing about it is stored; a token
//!   whose grant is gone resolves to nothing. Every CreateGrant returns a fresh one, as AWS's
//!   do, even when a Name retry returns the grant created before.

use std::collections::BTreeMap;

use kinko_crypto::random_array;

use crate::model::wire_enum;
use crate::{Caller, EncryptionContext, Error, Key, KeyArn, KeyId, KeySpec, KeyUsage, UnixMillis};

/// Most grants one key may have (AWS's quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;
/// Most pairs in one encryption-context constraint.
pub const MAX_CONSTRAINT_PAIRS: usize = 8;
/// Longest value in an encryption-context constraint.
pub const MAX_CONSTRAINT_VALUE_CHARS: usize = 384;

wire_enum!(
    /// AWS `GrantOperation`: what a grant allows (botocore 1.44.8's enum, which adds
    /// `Encapsulate`/`Decapsulate` for ML-KEM keys to the older lists).
    GrantOperation {
        /// Decrypt.
        Decrypt = "Decrypt",
        /// Encrypt.
        Encrypt = "Encrypt",
        /// GenerateDataKey.
        GenerateDataKey = "GenerateDataKey",
        /// GenerateDataKeyWithoutPlaintext.
        GenerateDataKeyWithoutPlaintext = "GenerateDataKeyWithoutPlaintext",
        /// ReEncrypt, as the source key.
        ReEncryptFrom = "ReEncryptFrom",
        /// ReEncrypt, as the destination key.
        ReEncryptTo = "ReEncryptTo",
        /// Sign.
        Sign = "Sign",
        /// Verify.
        Verify = "Verify",
        /// GetPublicKey.
        GetPublicKey = "GetPublicKey",
        /// CreateGrant (grants no wider than the one used).
        CreateGrant = "CreateGrant",
        /// RetireGrant (of this grant, by its grantee).
        RetireGrant = "RetireGrant",
        /// DescribeKey.
        DescribeKey = "DescribeKey",
        /// GenerateDataKeyPair.
        GenerateDataKeyPair = "GenerateDataKeyPair",
        /// GenerateDataKeyPairWithoutPlaintext.
        GenerateDataKeyPairWithoutPlaintext = "GenerateDataKeyPairWithoutPlaintext",
        /// GenerateMac.
        GenerateMac = "GenerateMac",
        /// VerifyMac.
        VerifyMac = "VerifyMac",
        /// DeriveSharedSecret.
        DeriveSharedSecret = "DeriveSharedSecret",
        /// Encapsulate (ML-KEM).
        Encapsulate = "Encapsulate",
        /// Decapsulate (ML-KEM).
        Decapsulate = "Decapsulate",
    }
);

impl GrantOperation {
    /// Whether the operation takes an encryption context, so that a constraint can apply to it.
    pub fn takes_encryption_context(self) -> bool {
        use GrantOperation as O;
        matches!(
            self,
            O::Decrypt
                | O::Encrypt
                | O::GenerateDataKey
                | O::GenerateDataKeyWithoutPlaintext
                | O::ReEncryptFrom
                | O::ReEncryptTo
                | O::GenerateDataKeyPair
                | O::GenerateDataKeyPairWithoutPlaintext
        )
    }

    /// Whether a grant on `key` may include the operation (AWS refuses, e.g., Sign on a
    /// symmetric key).
    pub fn fits(self, key: &Key) -> bool {
        use GrantOperation as O;
        match self {
            O::CreateGrant | O::RetireGrant | O::DescribeKey => true,
            O::Encrypt | O::Decrypt | O::ReEncryptFrom | O::ReEncryptTo => {
                key.usage == KeyUsage::EncryptDecrypt
            }
            O::GenerateDataKey
            | O::GenerateDataKeyWithoutPlaintext
            | O::GenerateDataKeyPair
            | O::GenerateDataKeyPairWithoutPlaintext => is_symmetric_encryption(key),
            O::Sign | O::Verify => key.usage == KeyUsage::SignVerify,
            O::GenerateMac | O::VerifyMac => key.usage == KeyUsage::GenerateVerifyMac,
            O::DeriveSharedSecret => key.usage == KeyUsage::KeyAgreement,
            O::Encapsulate | O::Decapsulate => key.usage == KeyUsage::EncapsulateDecapsulate,
            O::GetPublicKey => !is_symmetric_encryption(key) && !is_hmac(key),
        }
    }
}

pub(crate) fn is_symmetric_encryption(key: &Key) -> bool {
    key.spec == KeySpec::SymmetricDefault
}

fn is_hmac(key: &Key) -> bool {
    key.usage == KeyUsage::GenerateVerifyMac
}

/// Encryption-context constraints of a grant: the grant allows an operation only if the
/// request's context equals `encryption_context_equals` / includes `encryption_context_subset`
/// (keys compared case-insensitively, values case-sensitively, as AWS does; that comparison is
/// the authorization's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantConstraints {
    /// The request's context must be exactly these pairs.
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    /// The request's context must include these pairs.
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    /// `SourceArn`: the request must be made on behalf of this AWS resource (`aws:SourceArn`).
    /// No request reaches Kinko on behalf of a resource, so a grant with it allows no direct
    /// caller anything.
    pub source_arn: Option<String>,
}

impl GrantConstraints {
    /// Whether a request's encryption context satisfies the constraints, as AWS compares them:
    /// constraint keys match the context's keys case-insensitively, values case-sensitively.
    /// `EncryptionContextEquals`: the context has exactly those pairs; `EncryptionContextSubset`:
    /// it has at least those. A `SourceArn` constraint is never met: Kinko's callers call
    /// directly, never on behalf of a resource. (For the authorization that evaluates grants.)
    pub fn matches(&self, context: &EncryptionContext) -> bool {
        if self.source_arn.is_some() {
            return false;
        }
        let has = |k: &str, v: &str| {
            context
                .0
                .iter()
                .any(|(ck, cv)| ck.eq_ignore_ascii_case(k) && cv == v)
        };
        let equals = self
            .encryption_context_equals
            .as_ref()
            .is_none_or(|m| m.len() == context.0.len() && m.iter().all(|(k, v)| has(k, v)));
        let subset = self
            .encryption_context_subset
            .as_ref()
            .is_none_or(|m| m.iter().all(|(k, v)| has(k, v)));
        equals && subset
    }
}

/// Who a grant names as its grantee or retiring principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantPrincipal {
    /// `GranteePrincipal` / `RetiringPrincipal`: the ARN of an IAM or STS principal.
    Aws(String),
    /// `GranteeServicePrincipal` / `RetiringServicePrincipal`: an AWS service principal such
    /// as `logs.amazonaws.com`. Services do not call Kinko, so such a grantee is never a
    /// direct caller, and nothing it is granted is allowed to anyone else.
    Service(String),
}

impl GrantPrincipal {
    /// The principal ARN, for an AWS principal.
    pub fn aws(&self) -> Option<&str> {
        match self {
            Self::Aws(arn) => Some(arn),
            Self::Service(_) => None,
        }
    }

    /// The service principal, for a service.
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::Service(name) => Some(name),
            Self::Aws(_) => None,
        }
    }

    /// The ARN or service name, as stored and listed.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Aws(v) | Self::Service(v) => v,
        }
    }
}

/// A service principal (`GranteeServicePrincipal`, `RetiringServicePrincipal`): 1–128
/// characters matching the model's `^([A-Za-z0-9\-]+)\.([A-Za-z0-9\-]+)(\.[A-Za-z0-9\-]+)+$`
/// (at least three dot-separated labels).
pub fn check_service_principal(value: &str, field: &str) -> Result<(), Error> {
    let chars = value.chars().count();
    if !(1..=128).contains(&chars) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length between 1 and 128"
        )));
    }
    let labels: Vec<&str> = value.split('.').collect();
    let label_ok =
        |l: &&str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if labels.len() < 3 || !labels.iter().all(label_ok) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$"
        )));
    }
    Ok(())
}

/// A `SourceArn` grant constraint: 20–512 characters matching the model's
/// `^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$`.
pub fn check_source_arn(value: &str) -> Result<(), Error> {
    let chars = value.chars().count();
    if !(20..=512).contains(&chars) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at 'constraints.sourceArn' failed to satisfy constraint: Member must have length between 20 and 512"
        )));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let lower = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let ok = matches!(parts.as_slice(), [arn, partition, service, region, account, resource]
        if *arn == "arn"
            && partition.strip_prefix("aws").is_some_and(lower)
            && !service.is_empty() && lower(service)
            && lower(region)
            && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            && !resource.is_empty());
    if !ok {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at 'constraints.sourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{{12}}:.+$"
        )));
    }
    Ok(())
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// 64 lowercase hex characters.
    pub grant_id: String,
    /// The key the grant is on.
    pub key_arn: KeyArn,
    /// The name given at creation (for idempotent retries).
    pub name: Option<String>,
    /// Who the grant is for.
    pub grantee: GrantPrincipal,
    /// Who may retire the grant besides the grantee (with RetireGrant) and the key's account.
    pub retiring: Option<GrantPrincipal>,
    /// What the grant allows, in the order given, without duplicates.
    pub operations: Vec<GrantOperation>,
    /// Encryption-context constraints.
    pub constraints: Option<GrantConstraints>,
    /// The account that created the grant, as AWS shows it (`arn:aws:iam::<account>:root`).
    pub issuing_account: String,
    /// When it was created.
    pub created_at: UnixMillis,
}

impl Grant {
    /// Whether `caller` may retire the grant: its retiring principal, its grantee if the grant
    /// includes RetireGrant, or the root of the key's account.
    pub fn retirable_by(&self, caller: &Caller) -> bool {
        let who = caller.principal.arn();
        let who = who.as_str();
        self.retiring.as_ref().and_then(GrantPrincipal::aws) == Some(who)
            || (self.grantee.aws() == Some(who)
                && self.operations.contains(&GrantOperation::RetireGrant))
            || who == account_root(&self.key_arn)
    }

    /// Same grantee, retiring principal, operations (as a set) and constraints: a CreateGrant
    /// with this grant's name and these parameters returns this grant.
    pub(crate) fn same_parameters(&self, other: &Grant) -> bool {
        let mut a = self.operations.clone();
        let mut b = other.operations.clone();
        a.sort_by_key(|o| o.as_str());
        b.sort_by_key(|o| o.as_str());
        self.grantee == other.grantee
            && self.retiring == other.retiring
            && a == b
            && self.constraints == other.constraints
    }
}

fn account_root(arn: &KeyArn) -> String {
    format!("arn:aws:iam::{}:root", arn.account)
}

/// Version byte of the token format.
const TOKEN_VERSION: u8 = 1;
/// Token length in bytes: version, key id, grant id, nonce.
const TOKEN_BYTES: usize = 1 + 16 + 32 + 16;

/// A fresh token for `grant`: a reference to it, not a secret.
pub fn grant_token(grant: &Grant) -> Result<String, Error> {
    let grant_bytes = hex_decode(&grant.grant_id)
        .filter(|b| b.len() == 32)
        .ok_or_else(|| Error::Internal("malformed grant id".into()))?;
    let nonce: [u8; 16] = random_array()?;
    let mut bytes = Vec::with_capacity(TOKEN_BYTES);
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(grant.key_arn.key_id.as_bytes());
    bytes.extend_from_slice(&grant_bytes);
    bytes.extend_from_slice(&nonce);
    Ok(crate::hex(&bytes))
}

/// What a grant token refers to: (key id, grant id). `InvalidGrantTokenException` unless it is
/// a token Kinko issued.
pub fn parse_grant_token(token: &str) -> Result<(KeyId, String), Error> {
    let invalid = || Error::InvalidGrantToken("Invalid grant token.".into());
    let bytes = hex_decode(token).ok_or_else(invalid)?;
    if bytes.len() != TOKEN_BYTES || bytes.first() != Some(&TOKEN_VERSION) {
        return Err(invalid());
    }
    let key: [u8; 16] = bytes
        .get(1..17)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(invalid)?;
    let grant = bytes.get(17..49).ok_or_else(invalid)?;
    Ok((KeyId::from_bytes(key), crate::hex(grant)))
}

/// Lowercase hex only, as tokens are written.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    kinko_crypto::hex::decode(s)
}

/// Whether `id` has the form of a grant id; `InvalidGrantIdException` if not.
pub fn check_grant_id(id: &str) -> Result<(), Error> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::InvalidGrantId(format!("Invalid grant ID: {id}")))
    }
}

/// A principal (`GranteePrincipal`, `RetiringPrincipal`): 1–256 characters of
/// `[\w+=,.@:/-]`, and the ARN of an IAM or STS principal (an account's root, a user, a role,
/// an assumed role or a federated user).
pub fn check_principal(value: &str, field: &str) -> Result<(), Error> {
    let chars = value.chars().count();
    if !(1..=256).contains(&chars) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length between 1 and 256"
        )));
    }
    if !value
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c))
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$"
        )));
    }
    if !is_principal_arn(value) {
        return Err(Error::InvalidArn(format!(
            "{field} {value} is not a valid principal ARN: use arn:aws:iam::<account>:root, :user/<name>, :role/<name>, or arn:aws:sts::<account>:assumed-role/<role>/<session>."
        )));
    }
    Ok(())
}

fn is_principal_arn(value: &str) -> bool {
    let mut parts = value.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    if !partition.starts_with("aws") || account.len() != 12 {
        return false;
    }
    if !account.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
    };
    match service {
        "iam" => resource == "root" || named("user/") || named("role/"),
        "sts" => named("assumed-role/") || named("federated-user/"),
        _ => false,
    }
}

/// A grant name: 1–256 characters of `[a-zA-Z0-9:/_-]`.
pub fn check_grant_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 256 {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length between 1 and 256"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    Ok(())
}

pub(crate) fn check_constraint_map(
    map: &BTreeMap<String, String>,
    field: &str,
) -> Result<(), Error> {
    if map.len() > MAX_CONSTRAINT_PAIRS {
        return Err(Error::Validation(format!(
            "{field} can have at most {MAX_CONSTRAINT_PAIRS} pairs (got {}).",
            map.len()
        )));
    }
    for (k, v) in map {
        if k.is_empty() || k.chars().count() > MAX_CONSTRAINT_VALUE_CHARS {
            return Err(Error::Validation(format!(
                "{field}: keys must have 1 to {MAX_CONSTRAINT_VALUE_CHARS} characters."
            )));
        }
        if v.chars().count() > MAX_CONSTRAINT_VALUE_CHARS {
            return Err(Error::Validation(format!(
                "{field}: the value of {k} is longer than {MAX_CONSTRAINT_VALUE_CHARS} characters."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_arns() {
        for ok in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/path/app",
            "arn:aws:sts::111122223333:assumed-role/app/session",
        ] {
            assert!(check_principal(ok, "granteePrincipal").is_ok(), "{ok}");
        }
        for bad in [
            "alice",
            "arn:aws:iam::1111:root",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:s3:::bucket",
            "arn:aws:iam:us-east-1:111122223333:root",
        ] {
            assert!(
                matches!(
                    check_principal(bad, "granteePrincipal"),
                    Err(Error::InvalidArn(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            check_principal("a b", "granteePrincipal"),
            Err(Error::Validation(_))
        ));
    }

    #[test]
    fn constraints_match_keys_case_insensitively_and_values_exactly() {
        let ctx = |pairs: &[(&str, &str)]| {
            EncryptionContext(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let equals = GrantConstraints {
            encryption_context_equals: Some(map(&[("Dept", "IT")])),
            ..GrantConstraints::default()
        };
        assert!(equals.matches(&ctx(&[("Dept", "IT")])));
        assert!(equals.matches(&ctx(&[("dept", "IT")])));
        assert!(!equals.matches(&ctx(&[("Dept", "it")])));
        assert!(!equals.matches(&ctx(&[("Dept", "IT"), ("x", "y")])));
        assert!(!equals.matches(&ctx(&[])));
        let subset = GrantConstraints {
            encryption_context_subset: Some(map(&[("Dept", "IT")])),
            ..GrantConstraints::default()
        };
        assert!(subset.matches(&ctx(&[("DEPT", "IT"), ("x", "y")])));
        assert!(!subset.matches(&ctx(&[("x", "y")])));
        assert!(GrantConstraints::default().matches(&ctx(&[("any", "thing")])));
        // No request is made on behalf of a resource: a SourceArn constraint is never met.
        let source = GrantConstraints {
            source_arn: Some("arn:aws:s3:us-east-1:111122223333:bucket".into()),
            ..GrantConstraints::default()
        };
        assert!(!source.matches(&ctx(&[])));
    }

    #[test]
    fn service_principals_and_source_arns_as_the_model_allows() {
        for ok in [
            "logs.amazonaws.com",
            "a.b.c",
            "rds-x.us-east-1.amazonaws.com",
        ] {
            assert!(
                check_service_principal(ok, "granteeServicePrincipal").is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "",
            "amazonaws.com",
            "logs..amazonaws.com",
            "logs.amazon_aws.com",
            &"a.".repeat(70),
        ] {
            assert!(
                matches!(
                    check_service_principal(bad, "granteeServicePrincipal"),
                    Err(Error::Validation(_))
                ),
                "{bad}"
            );
        }
        assert!(check_source_arn("arn:aws:logs:us-east-1:111122223333:log-group:x").is_ok());
        assert!(check_source_arn("arn:aws:s3:::111122223333:bucket").is_err());
        for bad in [
            "arn:aws:s3:::bucket-name-long",
            "arn:aws:s3:us-east-1:1111:bucket/xyz",
            "short",
        ] {
            assert!(
                matches!(check_source_arn(bad), Err(Error::Validation(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_refer_to_their_grant_and_differ_each_time() {
        let grant = Grant {
            grant_id: "ab".repeat(32),
            key_arn: KeyArn {
                region: crate::Region::parse("us-east-1").expect("region"),
                account: crate::AccountId::parse("111122223333").expect("account"),
                key_id: KeyId::from_bytes([7; 16]),
            },
            name: None,
            grantee: GrantPrincipal::Aws("arn:aws:iam::111122223333:root".into()),
            retiring: None,
            operations: vec![GrantOperation::Encrypt],
            constraints: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            created_at: UnixMillis(0),
        };
        let a = grant_token(&grant).expect("token");
        let b = grant_token(&grant).expect("token");
        assert_ne!(a, b);
        assert_eq!(
            parse_grant_token(&a).expect("parse"),
            (KeyId::from_bytes([7; 16]), "ab".repeat(32))
        );
        for bad in ["", "zz", &a[..a.len() - 2], &format!("02{}", &a[2..])] {
            assert!(matches!(
                parse_grant_token(bad),
                Err(Error::InvalidGrantToken(_))
            ));
        }
    }
}
