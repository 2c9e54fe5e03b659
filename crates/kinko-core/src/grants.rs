//! Grants (`kms-reference.md` §2 "Grants", §5, §7.2): a grant lets a principal use a key for a
//! list of operations, optionally only with a matching encryption context. This module holds the
//! domain type, the validation of CreateGrant as AWS does it, and the five grant operations on
//! [`Kms`]. Whether a grant *allows* a request is decided by the caller's authorization, from
//! [`Kms::grants_for_key`]; nothing here enforces grants.
//!
//! Invariants:
//! - A grant id is 64 lowercase hex characters drawn from the RNG; it never changes.
//! - A grant token is a reference to a grant and nothing more: version ‖ key id ‖ grant id ‖ a
//!   random nonce, hex-encoded. It carries no secret and nothing about it is stored; a token
//!   whose grant is gone resolves to nothing. Every CreateGrant returns a fresh token, as AWS's
//!   do, even when a Name retry returns the grant created before.
//! - Every change to a key's grants commits its audit event in the same store transaction and
//!   then invalidates the key's cached grant list (other nodes learn it from the change feed).

use std::collections::BTreeMap;
use std::sync::Arc;

use kinko_crypto::random_array;

use crate::model::wire_enum;
use crate::ops::Page;
use crate::service::{AuditFn, Need, check_state, decode_marker, page_marker};
use crate::{
    AuditAppend, AuditDraft, Caller, Error, Key, KeyArn, KeyId, KeyRef, KeySpec, KeyState,
    KeyUsage, Kms, StoreError, UnixMillis,
};

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

fn is_symmetric_encryption(key: &Key) -> bool {
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
}

impl GrantConstraints {
    /// Whether a request's encryption context satisfies the constraints, as AWS compares them:
    /// constraint keys match the context's keys case-insensitively, values case-sensitively.
    /// `EncryptionContextEquals`: the context has exactly those pairs; `EncryptionContextSubset`:
    /// it has at least those. (For the authorization that evaluates grants; nothing here calls it.)
    pub fn matches(&self, context: &crate::EncryptionContext) -> bool {
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

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// 64 lowercase hex characters.
    pub grant_id: String,
    /// The key the grant is on.
    pub key_arn: KeyArn,
    /// The name given at creation (for idempotent retries).
    pub name: Option<String>,
    /// Who the grant is for (a principal ARN).
    pub grantee_principal: String,
    /// Who may retire the grant besides the grantee (with RetireGrant) and the key's account.
    pub retiring_principal: Option<String>,
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
        let who = caller.principal_arn.as_str();
        self.retiring_principal.as_deref() == Some(who)
            || (self.grantee_principal == who
                && self.operations.contains(&GrantOperation::RetireGrant))
            || who == account_root(&self.key_arn)
    }

    /// Same grantee, retiring principal, operations (as a set) and constraints: a CreateGrant
    /// with this grant's name and these parameters returns this grant.
    fn same_parameters(&self, other: &Grant) -> bool {
        let mut a = self.operations.clone();
        let mut b = other.operations.clone();
        a.sort_by_key(|o| o.as_str());
        b.sort_by_key(|o| o.as_str());
        self.grantee_principal == other.grantee_principal
            && self.retiring_principal == other.retiring_principal
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

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
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

fn check_constraint_map(map: &BTreeMap<String, String>, field: &str) -> Result<(), Error> {
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

/// CreateGrant's request, as validated wire values.
#[derive(Debug, Clone)]
pub struct CreateGrantRequest {
    /// The key (key id or key ARN).
    pub key: KeyRef,
    /// Who the grant is for.
    pub grantee_principal: String,
    /// Who may retire it.
    pub retiring_principal: Option<String>,
    /// What it allows.
    pub operations: Vec<GrantOperation>,
    /// Encryption-context constraints (`None` also for an empty `Constraints` object).
    pub constraints: Option<GrantConstraints>,
    /// Name, for idempotent retries.
    pub name: Option<String>,
}

/// CreateGrant's result.
#[derive(Debug, Clone)]
pub struct CreateGrantOutput {
    /// The grant (the existing one on an idempotent retry).
    pub grant: Grant,
    /// A fresh token for it.
    pub grant_token: String,
}

/// How RetireGrant names the grant.
#[derive(Debug, Clone)]
pub enum RetireTarget {
    /// By a token CreateGrant returned.
    Token(String),
    /// By key and grant id.
    Id {
        /// The key (key id or key ARN).
        key: KeyRef,
        /// The grant id.
        grant_id: String,
    },
}

/// Builds the audit event of a successful CreateGrant from the key and the grant (so that the
/// record can show the grant id).
pub type GrantAuditFn<'a> = &'a (dyn Fn(&Key, &Grant) -> AuditDraft + Send + Sync);

impl Kms {
    /// Every grant of `key`, ordered by grant id; cached, and invalidated by every grant change
    /// (and by [`Kms::invalidate_key`] / [`Kms::invalidate_all`]).
    pub async fn grants_for_key(&self, key: &KeyId) -> Result<Arc<[Grant]>, Error> {
        if let Some(grants) = self.caches().grants(key) {
            return Ok(grants);
        }
        let read_began = self.caches().generation();
        let grants = self.store().list_grants(key).await?;
        Ok(self.caches().put_grants_read(read_began, *key, grants))
    }

    /// CreateGrant.
    pub async fn create_grant(
        &self,
        caller: &Caller,
        req: CreateGrantRequest,
        audit: GrantAuditFn<'_>,
    ) -> Result<CreateGrantOutput, Error> {
        check_principal(&req.grantee_principal, "granteePrincipal")?;
        if let Some(p) = &req.retiring_principal {
            check_principal(p, "retiringPrincipal")?;
        }
        if let Some(n) = &req.name {
            check_grant_name(n)?;
        }
        if req.operations.is_empty() {
            return Err(Error::Validation(
                "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
            ));
        }
        let mut operations: Vec<GrantOperation> = Vec::with_capacity(req.operations.len());
        for op in req.operations {
            if !operations.contains(&op) {
                operations.push(op);
            }
        }
        let constraints = req.constraints.filter(|c| {
            c.encryption_context_equals.is_some() || c.encryption_context_subset.is_some()
        });
        if let Some(c) = &constraints {
            if let Some(m) = &c.encryption_context_equals {
                check_constraint_map(m, "EncryptionContextEquals")?;
            }
            if let Some(m) = &c.encryption_context_subset {
                check_constraint_map(m, "EncryptionContextSubset")?;
            }
        }
        let key = self
            .resolve_by_id(caller, &req.key, "kms:CreateGrant")
            .await?;
        // CreateGrant follows the cryptographic operations' state rules, except that AWS lets
        // it through on an Unavailable key (custom key stores).
        if key.state != KeyState::Unavailable {
            check_state(&key, Need::Crypto)?;
        }
        let unfit: Vec<&str> = operations
            .iter()
            .filter(|op| !op.fits(&key))
            .map(|op| op.as_str())
            .collect();
        if !unfit.is_empty() {
            return Err(Error::Validation(format!(
                "Grant operations [{}] are not valid for {} ({} {}).",
                unfit.join(", "),
                key.arn,
                key.spec,
                key.usage
            )));
        }
        if constraints.is_some() {
            let unconstrainable: Vec<&str> = operations
                .iter()
                .filter(|op| {
                    !op.takes_encryption_context()
                        && !matches!(
                            op,
                            GrantOperation::CreateGrant | GrantOperation::RetireGrant
                        )
                })
                .map(|op| op.as_str())
                .collect();
            if !is_symmetric_encryption(&key) || !unconstrainable.is_empty() {
                return Err(Error::Validation(format!(
                    "Encryption context grant constraints apply only to cryptographic operations that take an encryption context, on symmetric encryption keys; not to [{}] on {} ({}).",
                    if unconstrainable.is_empty() {
                        operations
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        unconstrainable.join(", ")
                    },
                    key.arn,
                    key.spec
                )));
            }
        }
        let mut grant = Grant {
            grant_id: String::new(),
            key_arn: key.arn.clone(),
            name: req.name,
            grantee_principal: req.grantee_principal,
            retiring_principal: req.retiring_principal,
            operations,
            constraints,
            issuing_account: format!("arn:aws:iam::{}:root", caller.account),
            created_at: self.clock().now(),
        };
        let existing = self.grants_for_key(&key.id()).await?;
        if grant.name.is_some()
            && let Some(same) = existing
                .iter()
                .find(|g| g.name == grant.name && g.same_parameters(&grant))
        {
            // An idempotent retry changes nothing; its event is recorded all the same.
            self.store()
                .append_audit(self.audit_chain(), &[audit(&key, same)])
                .await?;
            return Ok(CreateGrantOutput {
                grant_token: grant_token(same)?,
                grant: same.clone(),
            });
        }
        if existing.len() >= MAX_GRANTS_PER_KEY {
            return Err(Error::LimitExceeded(format!(
                "A key can have at most {MAX_GRANTS_PER_KEY} grants: {} has reached the limit.",
                key.arn
            )));
        }
        grant.grant_id = crate::hex(&random_array::<32>()?);
        let draft = audit(&key, &grant);
        let result = self
            .store()
            .create_grant(
                &grant,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await;
        self.caches().invalidate_grants(&key.id());
        match result {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::Internal("grant id collision".into()));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(CreateGrantOutput {
            grant_token: grant_token(&grant)?,
            grant,
        })
    }

    /// ListGrants: grants of a key (key id or key ARN, any state), ordered by grant id,
    /// optionally only one grant id or one grantee.
    pub async fn list_grants(
        &self,
        caller: &Caller,
        key: &KeyRef,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, Error> {
        if let Some(id) = grant_id {
            check_grant_id(id)?;
        }
        let key = self.resolve_by_id(caller, key, "kms:ListGrants").await?;
        let after = match marker {
            Some(m) => Some(
                decode_marker(m)
                    .filter(|s| check_grant_id(s).is_ok())
                    .ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let grants = self.grants_for_key(&key.id()).await?;
        let mut items: Vec<Grant> = grants
            .iter()
            .filter(|g| after.as_deref().is_none_or(|a| g.grant_id.as_str() > a))
            .filter(|g| grant_id.is_none_or(|id| g.grant_id == id))
            .filter(|g| grantee.is_none_or(|p| g.grantee_principal == p))
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        let next_marker = page_marker(&mut items, limit, |g| g.grant_id.clone());
        Ok(Page { items, next_marker })
    }

    /// ListRetirableGrants: grants of the caller's account (in the request's region) whose
    /// retiring principal is `retiring_principal`, ordered by grant id.
    pub async fn list_retirable_grants(
        &self,
        caller: &Caller,
        retiring_principal: &str,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, Error> {
        self.authorize_in_account(caller, "kms:ListRetirableGrants", "*")
            .await?;
        check_principal(retiring_principal, "retiringPrincipal")?;
        let after = match marker {
            Some(m) => Some(
                decode_marker(m)
                    .filter(|s| check_grant_id(s).is_ok())
                    .ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let mut items = self
            .store()
            .list_retirable_grants(
                &caller.account,
                &caller.region,
                retiring_principal,
                after.as_deref(),
                limit.saturating_add(1),
            )
            .await?;
        let next_marker = page_marker(&mut items, limit, |g| g.grant_id.clone());
        Ok(Page { items, next_marker })
    }

    /// RetireGrant: by its retiring principal, its grantee (if the grant includes
    /// RetireGrant) or the key account's root; any key state.
    pub async fn retire_grant(
        &self,
        caller: &Caller,
        target: RetireTarget,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let (key, grant_id) = match target {
            RetireTarget::Token(token) => {
                let (key_id, grant_id) = parse_grant_token(&token)?;
                let key = self
                    .key_in_account(&caller.account, &caller.region, &key_id)
                    .await?
                    .ok_or_else(|| {
                        Error::NotFound(format!("Grant {grant_id} of the token does not exist."))
                    })?;
                (key, grant_id)
            }
            RetireTarget::Id { key, grant_id } => {
                check_grant_id(&grant_id)?;
                // Retiring is decided by the grant itself (retiring principal, grantee), not by
                // the key policy.
                crate::service::refuse_alias(&key)?;
                (
                    self.locate(caller, &key, Some("kms:RetireGrant")).await?,
                    grant_id,
                )
            }
        };
        let grants = self.grants_for_key(&key.id()).await?;
        let grant = grants
            .iter()
            .find(|g| g.grant_id == grant_id)
            .ok_or_else(|| grant_not_found(&grant_id, &key.arn))?;
        if !grant.retirable_by(caller) {
            return Err(Error::AccessDenied(format!(
                "User: {} is not authorized to retire grant {grant_id} of {}: only its retiring principal, its grantee (with the RetireGrant operation) or the key's account can.",
                caller.principal_arn, key.arn
            )));
        }
        self.delete_grant(&key, &grant_id, audit).await
    }

    /// RevokeGrant: key id or key ARN and grant id; any key state.
    pub async fn revoke_grant(
        &self,
        caller: &Caller,
        key: &KeyRef,
        grant_id: &str,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        check_grant_id(grant_id)?;
        let key = self.resolve_by_id(caller, key, "kms:RevokeGrant").await?;
        self.delete_grant(&key, grant_id, audit).await
    }

    async fn delete_grant(
        &self,
        key: &Key,
        grant_id: &str,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let draft = audit(key);
        let existed = self
            .store()
            .delete_grant(
                &key.id(),
                grant_id,
                AuditAppend {
                    chain: self.audit_chain(),
                    draft: &draft,
                },
            )
            .await;
        self.caches().invalidate_grants(&key.id());
        if existed? {
            Ok(())
        } else {
            Err(grant_not_found(grant_id, &key.arn))
        }
    }
}

fn grant_not_found(grant_id: &str, key: &KeyArn) -> Error {
    Error::NotFound(format!("Grant ID {grant_id} not found for key {key}."))
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
            crate::EncryptionContext(
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
            encryption_context_subset: None,
        };
        assert!(equals.matches(&ctx(&[("Dept", "IT")])));
        assert!(equals.matches(&ctx(&[("dept", "IT")])));
        assert!(!equals.matches(&ctx(&[("Dept", "it")])));
        assert!(!equals.matches(&ctx(&[("Dept", "IT"), ("x", "y")])));
        assert!(!equals.matches(&ctx(&[])));
        let subset = GrantConstraints {
            encryption_context_equals: None,
            encryption_context_subset: Some(map(&[("Dept", "IT")])),
        };
        assert!(subset.matches(&ctx(&[("DEPT", "IT"), ("x", "y")])));
        assert!(!subset.matches(&ctx(&[("x", "y")])));
        assert!(GrantConstraints::default().matches(&ctx(&[("any", "thing")])));
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
            grantee_principal: "arn:aws:iam::111122223333:root".into(),
            retiring_principal: None,
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
