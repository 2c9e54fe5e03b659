//! Identities: what IAM users, roles, their inline policies and STS sessions (temporary
//! credentials of an assumed role) are, with IAM's validation rules, limits and error kinds;
//! and [`Identity`], the compiled view of a principal that authorization evaluates, with its
//! cache. The IAM and STS operations on `Kms` are in `iam_users.rs`, `iam_roles.rs`,
//! `iam_policies.rs`, `sts.rs`, and loading an identity in `principals.rs`.
//!
//! Invariants:
//! - Secrets exist in clear only in the `NewAccessKey` / [`NewSession`] returned once by the
//!   call that creates them; the store holds secret access keys wrapped under the root key and
//!   only a SHA-256 hash of session tokens, compared in constant time.
//! - Every policy document stored here parsed as an identity or trust policy first.
//! - The identity cache lives a few seconds ([`IDENTITY_TTL_MS`]) and is emptied by every
//!   identity change made through this `Kms`, so other nodes see a change within the TTL.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use kinko_crypto::{SecretBytes, random_array};
use kinko_policy::{Decision, Policy, PolicyError, PolicyKind, RequestContext, RequestPrincipal};

use crate::bootstrap;
use crate::{AccessKeyId, AccountId, Error, RequestFacts, Tag, UnixMillis};

/// How long a cached [`Identity`] is used before it is read again (milliseconds).
pub const IDENTITY_TTL_MS: i64 = 5_000;
/// IAM's limit of access keys per user.
pub const MAX_ACCESS_KEYS_PER_USER: usize = 2;
/// IAM's limit of tags per user or role.
pub const MAX_IAM_TAGS: usize = 50;
/// Shortest session AssumeRole issues (seconds).
pub const MIN_SESSION_SECONDS: u32 = 900;
/// A session's default length (seconds).
pub const DEFAULT_SESSION_SECONDS: u32 = 3600;
/// Longest `MaxSessionDuration` of a role (seconds).
pub const MAX_ROLE_SESSION_SECONDS: u32 = 43_200;

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    /// Owning account.
    pub account: AccountId,
    /// The name as created (unique per account regardless of case).
    pub name: String,
    /// The path, `/` by default.
    pub path: String,
    /// The stable id, `AIDA…`.
    pub id: String,
    /// `arn:aws:iam::<account>:user<path><name>`.
    pub arn: String,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRole {
    /// Owning account.
    pub account: AccountId,
    /// The name as created (unique per account regardless of case).
    pub name: String,
    /// The path, `/` by default.
    pub path: String,
    /// The stable id, `AROA…`.
    pub id: String,
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub arn: String,
    /// The trust policy (AssumeRolePolicyDocument) as submitted.
    pub trust_policy: String,
    /// Description, possibly empty.
    pub description: String,
    /// Longest session AssumeRole may issue, in seconds (3600–43200).
    pub max_session_duration: u32,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Whether an inline policy belongs to a user or a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyOwnerKind {
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
}

impl PolicyOwnerKind {
    /// `user` or `role`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOwnerKind::User => "user",
            PolicyOwnerKind::Role => "role",
        }
    }
    /// Parses [`PolicyOwnerKind::as_str`].
    pub fn parse(s: &str) -> Option<PolicyOwnerKind> {
        match s {
            "user" => Some(PolicyOwnerKind::User),
            "role" => Some(PolicyOwnerKind::Role),
            _ => None,
        }
    }
}

/// The user or role an inline policy is embedded in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyOwner {
    /// User or role.
    pub kind: PolicyOwnerKind,
    /// Its name (compared regardless of case).
    pub name: String,
}

/// An inline policy of a user or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// Owning account.
    pub account: AccountId,
    /// The user or role.
    pub owner: PolicyOwner,
    /// The policy name.
    pub name: String,
    /// The document as submitted.
    pub document: String,
}

/// Temporary credentials issued by AssumeRole, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The access key id, `ASIA…`.
    pub access_key_id: AccessKeyId,
    /// The role's account.
    pub account: AccountId,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub principal_arn: String,
    /// The role's ARN.
    pub role_arn: String,
    /// The role's unique id (`AROA…`): the session belongs to this role, not to whichever role
    /// bears its name later.
    pub role_id: String,
    /// Root-key ciphertext of the secret access key (AAD as a long-term key's).
    pub wrapped_secret: Vec<u8>,
    /// Which root key wrapped it.
    pub root_id: String,
    /// SHA-256 of the session token.
    pub token_hash: [u8; 32],
    /// Issue time.
    pub created_at: UnixMillis,
    /// Expiry.
    pub expires_at: UnixMillis,
}

/// Temporary credentials just issued: the only moment the secret and the token exist in clear.
#[derive(Debug)]
pub struct NewSession {
    /// The access key id.
    pub access_key_id: AccessKeyId,
    /// The secret access key (redacted in `Debug`).
    pub secret: SecretBytes,
    /// The session token (redacted in `Debug`).
    pub session_token: SecretBytes,
    /// Expiry.
    pub expires_at: UnixMillis,
    /// The session's ARN.
    pub assumed_role_arn: String,
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
}

/// What authentication learns of an `ASIA…` key and its token.
#[derive(Debug)]
pub enum SessionCheck {
    /// No such session, or the token does not match.
    Invalid,
    /// The session's time is over.
    Expired,
    /// Valid: the session and its unwrapped secret.
    Valid(Box<Session>, SecretBytes),
}

/// The kind of principal an [`Identity`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    /// The account's root.
    Root,
    /// An IAM user.
    User,
    /// A role under its own ARN.
    Role,
    /// A session of a role.
    AssumedRole {
        /// The role's ARN.
        role_arn: String,
    },
}

/// A principal as authorization sees it: its kind, tags and compiled identity policies.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The principal's ARN.
    pub arn: String,
    /// Its account.
    pub account: AccountId,
    /// Its kind.
    pub kind: IdentityKind,
    /// Principal tags (a user's, or the role's for a role session).
    pub tags: BTreeMap<String, String>,
    /// Inline policies by name, compiled (the role's for a role session; none for root).
    pub policies: Vec<(String, Arc<Policy>)>,
    /// The unique id of the role (a role, or a role session's role): `AROA…`.
    pub role_id: Option<String>,
}

impl Identity {
    /// The policy-language view of this principal.
    pub fn request_principal(&self) -> RequestPrincipal {
        let kind = match &self.kind {
            IdentityKind::Root => kinko_policy::PrincipalKind::Root,
            IdentityKind::User => kinko_policy::PrincipalKind::User,
            IdentityKind::Role => kinko_policy::PrincipalKind::Role,
            IdentityKind::AssumedRole { role_arn } => kinko_policy::PrincipalKind::AssumedRole {
                role_arn: role_arn.clone(),
            },
        };
        RequestPrincipal {
            arn: self.arn.clone(),
            account: self.account.as_str().to_owned(),
            kind,
            tags: self.tags.clone(),
        }
    }

    /// Whether this principal's identity policies allow `action` on `resource` (root: always),
    /// with no request condition keys. An explicit deny in any policy wins over every allow.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        self.evaluate(action, resource, None)
    }

    /// [`Identity::allows`] for a request, with the transport's condition keys
    /// (`aws:SecureTransport`, `aws:SourceIp`) from `facts`.
    pub fn allows_request(&self, action: &str, resource: &str, facts: &RequestFacts) -> bool {
        self.evaluate(action, resource, Some(facts))
    }

    fn evaluate(&self, action: &str, resource: &str, facts: Option<&RequestFacts>) -> bool {
        if self.kind == IdentityKind::Root {
            return true;
        }
        let mut ctx = RequestContext::new(self.request_principal(), action, resource);
        if let Some(facts) = facts {
            transport_keys(&mut ctx, facts);
        }
        let mut allowed = false;
        for (_, policy) in &self.policies {
            match policy.evaluate(&ctx).decision {
                Decision::ExplicitDeny => return false,
                Decision::Allow => allowed = true,
                Decision::NotApplicable => {}
            }
        }
        allowed
    }
}

/// Adds the condition keys the transport knows of a request (`aws:SecureTransport`,
/// `aws:SourceIp`) to `ctx`.
pub(crate) fn transport_keys(ctx: &mut RequestContext, facts: &RequestFacts) {
    ctx.keys
        .insert("aws:SecureTransport", facts.secure_transport);
    if let Some(ip) = facts.source_ip {
        ctx.keys.insert("aws:SourceIp", ip);
    }
}

/// A cached lookup: when it was read, and what (`None`: no such principal).
type CachedIdentity = (UnixMillis, Option<Arc<Identity>>);

/// Identities by principal ARN with the time they were read.
#[derive(Debug, Default)]
pub(crate) struct IdentityCache {
    entries: RwLock<HashMap<String, CachedIdentity>>,
}

impl IdentityCache {
    pub(crate) fn get(&self, arn: &str, now: UnixMillis) -> Option<Option<Arc<Identity>>> {
        let entries = self.entries.read().ok()?;
        let (read_at, identity) = entries.get(arn)?;
        (now.0.saturating_sub(read_at.0) < IDENTITY_TTL_MS && now.0 >= read_at.0)
            .then(|| identity.clone())
    }

    pub(crate) fn put(&self, arn: &str, now: UnixMillis, identity: Option<Arc<Identity>>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= 10_000 {
                entries.clear();
            }
            entries.insert(arn.to_owned(), (now, identity));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

// ----- validation -------------------------------------------------------------------------

pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn check_name(what: &str, member: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() || value.chars().count() > max {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between 1 and {max}"
        )));
    }
    if !value.chars().all(is_name_char) {
        return Err(Error::Validation(format!(
            "The specified value for {what} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
        )));
    }
    Ok(())
}

/// Checks a user name (1–64 of `[\w+=,.@-]`).
pub fn check_user_name(name: &str) -> Result<(), Error> {
    check_name("userName", "userName", name, 64)
}

/// Checks a role name (1–64 of `[\w+=,.@-]`).
pub fn check_role_name(name: &str) -> Result<(), Error> {
    check_name("roleName", "roleName", name, 64)
}

/// Checks a policy name (1–128 of `[\w+=,.@-]`).
pub fn check_policy_name(name: &str) -> Result<(), Error> {
    check_name("policyName", "policyName", name, 128)
}

pub(crate) fn check_path(path: &str) -> Result<(), Error> {
    let ok = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(Error::Validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.".into(),
        ))
    }
}

pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    for tag in tags {
        let key_ok = !tag.key.is_empty() && tag.key.chars().count() <= 128;
        if !key_ok || tag.value.chars().count() > 256 {
            return Err(Error::Validation(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: tag keys must be 1 to 128 characters and values at most 256".into(),
            ));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::Validation(
                "Tag keys starting with 'aws:' are reserved for AWS use.".into(),
            ));
        }
    }
    Ok(())
}

pub(crate) fn merge_tags(
    current: &BTreeMap<String, String>,
    tags: Vec<Tag>,
) -> Result<BTreeMap<String, String>, Error> {
    check_tags(&tags)?;
    let mut merged = current.clone();
    for tag in tags {
        // Tag keys are case-insensitive in IAM: a new value replaces the old spelling too.
        merged.retain(|k, _| !k.eq_ignore_ascii_case(&tag.key));
        merged.insert(tag.key, tag.value);
    }
    if merged.len() > MAX_IAM_TAGS {
        return Err(Error::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_IAM_TAGS}."
        )));
    }
    Ok(merged)
}

pub(crate) fn parse_policy(document: &str, kind: PolicyKind) -> Result<Policy, Error> {
    Policy::parse(document, kind).map_err(|e| match e {
        PolicyError::TooLarge { limit, .. } => {
            Error::LimitExceeded(format!("Maximum policy size of {limit} bytes exceeded."))
        }
        other => Error::MalformedPolicyDocument(other.to_string()),
    })
}

/// `PREFIX` + 17 characters of `[A-Z2-7]`, like IAM's unique ids.
pub(crate) fn unique_id(prefix: &str) -> Result<String, Error> {
    let random = random_array::<17>()?;
    let mut s = String::from(prefix);
    s.extend(random.iter().map(|b| bootstrap::base32_char(*b)));
    Ok(s)
}

pub(crate) fn no_such_user(name: &str) -> Error {
    Error::NotFound(format!("The user with name {name} cannot be found."))
}

pub(crate) fn no_such_role(name: &str) -> Error {
    Error::NotFound(format!("The role with name {name} cannot be found."))
}

/// The ARN of `account`'s root.
pub(crate) fn root_arn(account: &AccountId) -> String {
    format!("arn:aws:iam::{account}:root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(check_user_name("alice+ops@example.com").is_ok());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("bad name").is_err());
        assert!(check_user_name(&"a".repeat(65)).is_err());
        assert!(check_path("/").is_ok());
        assert!(check_path("/division/team/").is_ok());
        assert!(check_path("division").is_err());
    }

    #[test]
    fn tags_merge_case_insensitively() {
        let mut current = BTreeMap::new();
        current.insert("Team".to_owned(), "a".to_owned());
        let merged = merge_tags(
            &current,
            vec![Tag {
                key: "team".into(),
                value: "b".into(),
            }],
        )
        .unwrap_or_default();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged.get("team").map(String::as_str), Some("b"));
    }

    #[test]
    fn unique_ids() {
        let id = unique_id("AIDA").unwrap_or_default();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA"));
    }
}
