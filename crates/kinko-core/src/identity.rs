//! Identities: IAM users, roles, their inline policies and access keys, and STS sessions
//! (temporary credentials of an assumed role), with IAM's validation rules, limits and error
//! kinds; and [`Identity`], the compiled view of a principal that authorization evaluates.
//!
//! Invariants:
//! - Secrets exist in clear only in the [`NewAccessKey`] / [`NewSession`] returned once by the
//!   call that creates them; the store holds secret access keys wrapped under the root key and
//!   only a SHA-256 hash of session tokens, compared in constant time.
//! - Every policy document stored here parsed as an identity or trust policy first.
//! - The identity cache lives a few seconds ([`IDENTITY_TTL_MS`]) and is emptied by every
//!   identity change made through this `Kms`, so other nodes see a change within the TTL.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use kinko_crypto::{SecretBytes, constant_time_eq, random_array, random_secret, sha256};
use kinko_policy::{Decision, Policy, PolicyError, PolicyKind, RequestContext, RequestPrincipal};

use crate::bootstrap::{self, NewAccessKey};
use crate::service::access_key_aad;
use crate::store::{AuditAppend, StoreError};
use crate::{
    AccessKey, AccessKeyId, Account, AccountId, AuditDraft, Caller, Error, Kms, Tag, UnixMillis,
};

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

    /// Whether this principal's identity policies allow `action` on `resource` (root: always).
    /// An explicit deny in any policy wins over every allow.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        if self.kind == IdentityKind::Root {
            return true;
        }
        let ctx = RequestContext::new(self.request_principal(), action, resource);
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

/// A cached lookup: when it was read, and what (`None`: no such principal).
type CachedIdentity = (UnixMillis, Option<Arc<Identity>>);

/// Identities by principal ARN with the time they were read.
#[derive(Debug, Default)]
pub(crate) struct IdentityCache {
    entries: RwLock<HashMap<String, CachedIdentity>>,
}

impl IdentityCache {
    fn get(&self, arn: &str, now: UnixMillis) -> Option<Option<Arc<Identity>>> {
        let entries = self.entries.read().ok()?;
        let (read_at, identity) = entries.get(arn)?;
        (now.0.saturating_sub(read_at.0) < IDENTITY_TTL_MS && now.0 >= read_at.0)
            .then(|| identity.clone())
    }

    fn put(&self, arn: &str, now: UnixMillis, identity: Option<Arc<Identity>>) {
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

fn is_name_char(c: char) -> bool {
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

fn check_path(path: &str) -> Result<(), Error> {
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

fn check_tags(tags: &[Tag]) -> Result<(), Error> {
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

fn merge_tags(
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

fn parse_policy(document: &str, kind: PolicyKind) -> Result<Policy, Error> {
    Policy::parse(document, kind).map_err(|e| match e {
        PolicyError::TooLarge { limit, .. } => {
            Error::LimitExceeded(format!("Maximum policy size of {limit} bytes exceeded."))
        }
        other => Error::MalformedPolicyDocument(other.to_string()),
    })
}

/// `PREFIX` + 17 characters of `[A-Z2-7]`, like IAM's unique ids.
fn unique_id(prefix: &str) -> Result<String, Error> {
    let random = random_array::<17>()?;
    let mut s = String::from(prefix);
    s.extend(random.iter().map(|b| bootstrap::base32_char(*b)));
    Ok(s)
}

fn no_such_user(name: &str) -> Error {
    Error::NotFound(format!("The user with name {name} cannot be found."))
}

fn no_such_role(name: &str) -> Error {
    Error::NotFound(format!("The role with name {name} cannot be found."))
}

fn is_root(caller: &Caller) -> bool {
    caller.principal_arn == format!("arn:aws:iam::{}:root", caller.account)
}

fn root_arn(account: &AccountId) -> String {
    format!("arn:aws:iam::{account}:root")
}

impl Kms {
    fn append<'a>(&'a self, draft: &'a AuditDraft) -> AuditAppend<'a> {
        AuditAppend {
            chain: self.audit_chain(),
            draft,
        }
    }

    fn identity_changed(&self) {
        self.identities().clear();
    }

    // ----- accounts -----------------------------------------------------------------------

    /// Creates a new account and its root access key (`kinko account create`).
    pub async fn create_account(&self) -> Result<NewAccessKey, Error> {
        let id = bootstrap::account_id(random_array()?)
            .ok_or_else(|| Error::Internal("account id generation".into()))?;
        self.store()
            .create_account(&Account {
                id: id.clone(),
                created_at: self.clock().now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => Error::Internal("account id collision; retry".into()),
                other => other.into(),
            })?;
        let principal = root_arn(&id);
        self.create_access_key(&id, &principal).await
    }

    // ----- users ----------------------------------------------------------------------------

    /// CreateUser.
    pub async fn create_user(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<IamUser, Error> {
        check_user_name(name)?;
        let path = path.unwrap_or("/");
        check_path(path)?;
        let tags = merge_tags(&BTreeMap::new(), tags)?;
        let user = IamUser {
            account: caller.account.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AIDA")?,
            arn: format!("arn:aws:iam::{}:user{path}{name}", caller.account),
            created_at: self.clock().now(),
            tags,
        };
        match self
            .store()
            .create_iam_user(&user, self.append(audit))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "User with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.identity_changed();
        Ok(user)
    }

    /// GetUser.
    pub async fn get_user(&self, caller: &Caller, name: &str) -> Result<IamUser, Error> {
        check_user_name(name)?;
        self.store()
            .get_iam_user(&caller.account, name)
            .await?
            .ok_or_else(|| no_such_user(name))
    }

    /// The user making the request, for GetUser without a UserName; `None` for root.
    pub async fn calling_user(&self, caller: &Caller) -> Result<Option<IamUser>, Error> {
        let Some(rest) = caller
            .principal_arn
            .strip_prefix(&format!("arn:aws:iam::{}:user/", caller.account))
        else {
            return Ok(None);
        };
        let name = rest.rsplit('/').next().unwrap_or(rest);
        Ok(self
            .store()
            .get_iam_user(&caller.account, name)
            .await?
            .filter(|u| u.arn == caller.principal_arn))
    }

    /// ListUsers (filtered by path prefix), ordered by name.
    pub async fn list_users(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamUser>, Error> {
        let users = self.store().list_iam_users(&caller.account).await?;
        Ok(users
            .into_iter()
            .filter(|u| path_prefix.is_none_or(|p| u.path.starts_with(p)))
            .collect())
    }

    /// DeleteUser: refused with DeleteConflict while the user has access keys or policies.
    pub async fn delete_user(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let user = self.get_user(caller, name).await?;
        if !self
            .store()
            .list_principal_access_keys(&user.arn)
            .await?
            .is_empty()
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete access keys first.".into(),
            ));
        }
        let owner = PolicyOwner {
            kind: PolicyOwnerKind::User,
            name: user.name.clone(),
        };
        if !self
            .store()
            .list_inline_policies(&caller.account, &owner)
            .await?
            .is_empty()
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !self
            .store()
            .delete_iam_user(&caller.account, name, self.append(audit))
            .await?
        {
            // A key or policy was added since the checks above (or the user went).
            self.get_user(caller, name).await?;
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete access keys and policies first.".into(),
            ));
        }
        self.identity_changed();
        Ok(())
    }

    /// TagUser.
    pub async fn tag_user(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let mut user = self.get_user(caller, name).await?;
        user.tags = merge_tags(&user.tags, tags)?;
        if !self
            .store()
            .update_iam_user(&user, self.append(audit))
            .await?
        {
            return Err(no_such_user(name));
        }
        self.identity_changed();
        Ok(())
    }

    // ----- roles ----------------------------------------------------------------------------

    /// CreateRole.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_role(
        &self,
        caller: &Caller,
        name: &str,
        path: Option<&str>,
        trust_policy: &str,
        description: Option<&str>,
        max_session_duration: Option<u32>,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<IamRole, Error> {
        check_role_name(name)?;
        let path = path.unwrap_or("/");
        check_path(path)?;
        parse_policy(trust_policy, PolicyKind::Trust)?;
        let description = description.unwrap_or("");
        if description.chars().count() > 1000 {
            return Err(Error::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
            ));
        }
        let max_session_duration = max_session_duration.unwrap_or(DEFAULT_SESSION_SECONDS);
        if !(DEFAULT_SESSION_SECONDS..=MAX_ROLE_SESSION_SECONDS).contains(&max_session_duration) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between {DEFAULT_SESSION_SECONDS} and {MAX_ROLE_SESSION_SECONDS}"
            )));
        }
        let tags = merge_tags(&BTreeMap::new(), tags)?;
        let role = IamRole {
            account: caller.account.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AROA")?,
            arn: format!("arn:aws:iam::{}:role{path}{name}", caller.account),
            trust_policy: trust_policy.to_owned(),
            description: description.to_owned(),
            max_session_duration,
            created_at: self.clock().now(),
            tags,
        };
        match self
            .store()
            .create_iam_role(&role, self.append(audit))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::AlreadyExists(format!(
                    "Role with name {name} already exists."
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.identity_changed();
        Ok(role)
    }

    /// GetRole.
    pub async fn get_role(&self, caller: &Caller, name: &str) -> Result<IamRole, Error> {
        check_role_name(name)?;
        self.store()
            .get_iam_role(&caller.account, name)
            .await?
            .ok_or_else(|| no_such_role(name))
    }

    /// ListRoles (filtered by path prefix), ordered by name.
    pub async fn list_roles(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamRole>, Error> {
        let roles = self.store().list_iam_roles(&caller.account).await?;
        Ok(roles
            .into_iter()
            .filter(|r| path_prefix.is_none_or(|p| r.path.starts_with(p)))
            .collect())
    }

    /// DeleteRole: refused with DeleteConflict while the role has inline policies.
    pub async fn delete_role(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let role = self.get_role(caller, name).await?;
        let owner = PolicyOwner {
            kind: PolicyOwnerKind::Role,
            name: role.name.clone(),
        };
        if !self
            .store()
            .list_inline_policies(&caller.account, &owner)
            .await?
            .is_empty()
        {
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !self
            .store()
            .delete_iam_role(&caller.account, name, self.append(audit))
            .await?
        {
            // A policy was added since the check above (or the role went).
            self.get_role(caller, name).await?;
            return Err(Error::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        self.identity_changed();
        Ok(())
    }

    /// TagRole.
    pub async fn tag_role(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let mut role = self.get_role(caller, name).await?;
        role.tags = merge_tags(&role.tags, tags)?;
        if !self
            .store()
            .update_iam_role(&role, self.append(audit))
            .await?
        {
            return Err(no_such_role(name));
        }
        self.identity_changed();
        Ok(())
    }

    // ----- inline policies ------------------------------------------------------------------

    async fn require_owner(&self, caller: &Caller, owner: &PolicyOwner) -> Result<(), Error> {
        match owner.kind {
            PolicyOwnerKind::User => self.get_user(caller, &owner.name).await.map(|_| ()),
            PolicyOwnerKind::Role => self.get_role(caller, &owner.name).await.map(|_| ()),
        }
    }

    /// PutUserPolicy / PutRolePolicy.
    pub async fn put_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
        document: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        check_policy_name(name)?;
        parse_policy(document, PolicyKind::Identity)?;
        self.require_owner(caller, owner).await?;
        let policy = InlinePolicy {
            account: caller.account.clone(),
            owner: owner.clone(),
            name: name.to_owned(),
            document: document.to_owned(),
        };
        self.store()
            .put_inline_policy(&policy, self.append(audit))
            .await?;
        self.identity_changed();
        Ok(())
    }

    /// GetUserPolicy / GetRolePolicy.
    pub async fn get_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<InlinePolicy, Error> {
        check_policy_name(name)?;
        self.require_owner(caller, owner).await?;
        self.store()
            .get_inline_policy(&caller.account, owner, name)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "The {} policy with name {name} cannot be found.",
                    match owner.kind {
                        PolicyOwnerKind::User => "user",
                        PolicyOwnerKind::Role => "role",
                    }
                ))
            })
    }

    /// ListUserPolicies / ListRolePolicies: the policy names, ordered.
    pub async fn list_inline_policies(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
    ) -> Result<Vec<String>, Error> {
        self.require_owner(caller, owner).await?;
        Ok(self
            .store()
            .list_inline_policies(&caller.account, owner)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// DeleteUserPolicy / DeleteRolePolicy.
    pub async fn delete_inline_policy(
        &self,
        caller: &Caller,
        owner: &PolicyOwner,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        check_policy_name(name)?;
        self.require_owner(caller, owner).await?;
        if !self
            .store()
            .delete_inline_policy(&caller.account, owner, name, self.append(audit))
            .await?
        {
            return Err(Error::NotFound(format!(
                "The policy with name {name} cannot be found."
            )));
        }
        self.identity_changed();
        Ok(())
    }

    // ----- access keys ----------------------------------------------------------------------

    /// The principal whose access keys an IAM call manages: the named user, or without a name
    /// the caller itself (a user or the root).
    async fn key_owner(&self, caller: &Caller, user_name: Option<&str>) -> Result<String, Error> {
        match user_name {
            Some(name) => Ok(self.get_user(caller, name).await?.arn),
            None if is_root(caller) => Ok(caller.principal_arn.clone()),
            None => match self.calling_user(caller).await? {
                Some(user) => Ok(user.arn),
                None => Err(Error::Validation(
                    "Must specify userName when calling with non-User credentials".into(),
                )),
            },
        }
    }

    /// CreateAccessKey: at most two per user.
    pub async fn create_user_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        audit: &AuditDraft,
    ) -> Result<(AccessKey, NewAccessKey), Error> {
        let principal = self.key_owner(caller, user_name).await?;
        let existing = self.store().list_principal_access_keys(&principal).await?;
        if existing.len() >= MAX_ACCESS_KEYS_PER_USER {
            return Err(Error::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
            )));
        }
        let id = bootstrap::access_key_id(random_array()?)
            .ok_or_else(|| Error::Internal("access key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let record = AccessKey {
            id: id.clone(),
            account: caller.account.clone(),
            principal_arn: principal.clone(),
            wrapped_secret: self.root().wrap(&secret, access_key_aad(&id).as_bytes())?,
            root_id: self.root().id(),
            active: true,
            created_at: self.clock().now(),
        };
        self.store()
            .create_access_key_audited(&record, self.append(audit))
            .await?;
        Ok((
            record,
            NewAccessKey {
                account: caller.account.clone(),
                principal_arn: principal,
                id,
                secret,
            },
        ))
    }

    /// ListAccessKeys.
    pub async fn list_user_access_keys(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>, Error> {
        let principal = self.key_owner(caller, user_name).await?;
        Ok(self.store().list_principal_access_keys(&principal).await?)
    }

    async fn owned_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
    ) -> Result<AccessKeyId, Error> {
        let principal = self.key_owner(caller, user_name).await?;
        let not_found = || Error::NotFound(format!("The Access Key with id {id} cannot be found."));
        let id = AccessKeyId::parse(id).ok_or_else(not_found)?;
        match self.store().get_access_key(&id).await? {
            Some(k) if k.principal_arn == principal && k.account == caller.account => Ok(id),
            _ => Err(not_found()),
        }
    }

    /// UpdateAccessKey: Active or Inactive.
    pub async fn update_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
        active: bool,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let id = self.owned_key(caller, user_name, id).await?;
        self.store()
            .set_access_key_active(&id, active, self.append(audit))
            .await?;
        Ok(())
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(
        &self,
        caller: &Caller,
        user_name: Option<&str>,
        id: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        let id = self.owned_key(caller, user_name, id).await?;
        self.store()
            .delete_access_key(&id, self.append(audit))
            .await?;
        Ok(())
    }

    // ----- STS ------------------------------------------------------------------------------

    /// AssumeRole: the role's trust policy must allow `sts:AssumeRole` to the caller (directly,
    /// or by naming the caller's account, in which case the caller's identity policies must
    /// allow it too).
    pub async fn assume_role(
        &self,
        caller: &Caller,
        role_arn: &str,
        session_name: &str,
        duration_seconds: Option<u32>,
        audit: &AuditDraft,
    ) -> Result<NewSession, Error> {
        let name_ok =
            (2..=64).contains(&session_name.len()) && session_name.chars().all(is_name_char);
        if !name_ok {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match [\\w+=,.@-]*"
            )));
        }
        let denied = || {
            Error::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.principal_arn
            ))
        };
        let prefix = format!("arn:aws:iam::{}:role/", caller.account);
        let Some(rest) = role_arn.strip_prefix(&prefix) else {
            return Err(denied());
        };
        let role_name = rest.rsplit('/').next().unwrap_or(rest);
        let role = match self
            .store()
            .get_iam_role(&caller.account, role_name)
            .await?
        {
            Some(r) if r.arn == role_arn => r,
            _ => return Err(denied()),
        };
        let duration = duration_seconds.unwrap_or(DEFAULT_SESSION_SECONDS);
        if duration < MIN_SESSION_SECONDS || duration > role.max_session_duration {
            return Err(Error::Validation(format!(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below {MIN_SESSION_SECONDS}."
            )));
        }
        let identity = self
            .principal_identity(&caller.principal_arn)
            .await?
            .ok_or_else(denied)?;
        let trust = parse_policy(&role.trust_policy, PolicyKind::Trust)?;
        let ctx = RequestContext::new(identity.request_principal(), "sts:AssumeRole", &role.arn);
        let evaluation = trust.evaluate(&ctx);
        let allowed = match evaluation.decision {
            Decision::ExplicitDeny => false,
            Decision::Allow => true,
            Decision::NotApplicable => {
                evaluation.account_delegation.is_some()
                    && identity.allows("sts:AssumeRole", &role.arn)
            }
        };
        if !allowed {
            return Err(denied());
        }
        let id_text = {
            let random = random_array::<16>()?;
            let mut s = String::from("ASIA");
            s.extend(random.iter().map(|b| bootstrap::base32_char(*b)));
            s
        };
        let id = AccessKeyId::parse(&id_text)
            .ok_or_else(|| Error::Internal("session key id generation".into()))?;
        let secret = bootstrap::secret_access_key(&random_secret(40)?);
        let session_token = bootstrap::secret_access_key(&random_secret(128)?);
        let now = self.clock().now();
        let expires_at = UnixMillis(now.0.saturating_add(i64::from(duration) * 1000));
        let principal_arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            caller.account, role.name
        );
        let session = Session {
            access_key_id: id.clone(),
            account: caller.account.clone(),
            principal_arn: principal_arn.clone(),
            role_arn: role.arn.clone(),
            role_id: role.id.clone(),
            wrapped_secret: self.root().wrap(&secret, access_key_aad(&id).as_bytes())?,
            root_id: self.root().id(),
            token_hash: sha256(session_token.expose()),
            created_at: now,
            expires_at,
        };
        self.store()
            .create_session(&session, self.append(audit))
            .await?;
        Ok(NewSession {
            access_key_id: id,
            secret,
            session_token,
            expires_at,
            assumed_role_arn: principal_arn,
            assumed_role_id: format!("{}:{session_name}", role.id),
        })
    }

    /// Checks temporary credentials for SigV4: the token's hash must match (constant time)
    /// and the session must not have expired.
    pub async fn session_credentials(
        &self,
        id: &AccessKeyId,
        token: &[u8],
    ) -> Result<SessionCheck, Error> {
        let Some(session) = self.store().get_session(id).await? else {
            return Ok(SessionCheck::Invalid);
        };
        if !constant_time_eq(&sha256(token), &session.token_hash) {
            return Ok(SessionCheck::Invalid);
        }
        if self.clock().now() >= session.expires_at {
            return Ok(SessionCheck::Expired);
        }
        let secret = self
            .root()
            .unwrap(&session.wrapped_secret, access_key_aad(id).as_bytes())
            .map_err(|_| {
                Error::Internal(format!(
                    "session key {id} does not unwrap under the root key"
                ))
            })?;
        Ok(SessionCheck::Valid(Box::new(session), secret))
    }

    /// Whether an access key still authenticates (exists and is active), for the signing-key
    /// cache's periodic recheck.
    pub async fn access_key_active(&self, id: &AccessKeyId) -> Result<bool, Error> {
        Ok(self
            .store()
            .get_access_key(id)
            .await?
            .is_some_and(|k| k.active))
    }

    // ----- identities for authorization -----------------------------------------------------

    /// The principal named by `principal_arn` with its tags and compiled identity policies, or
    /// `None` if it does not exist. Cached for [`IDENTITY_TTL_MS`]; this node's own identity
    /// changes empty the cache at once.
    pub async fn principal_identity(
        &self,
        principal_arn: &str,
    ) -> Result<Option<Arc<Identity>>, Error> {
        let now = self.clock().now();
        if let Some(hit) = self.identities().get(principal_arn, now) {
            return Ok(hit);
        }
        let identity = self.load_identity(principal_arn).await?.map(Arc::new);
        self.identities().put(principal_arn, now, identity.clone());
        Ok(identity)
    }

    async fn load_identity(&self, arn: &str) -> Result<Option<Identity>, Error> {
        let Some(principal) = RequestPrincipal::from_arn(arn) else {
            return Ok(None);
        };
        let Some(account) = AccountId::parse(&principal.account) else {
            return Ok(None);
        };
        let (kind, owner, tags, role_id) = match principal.kind {
            kinko_policy::PrincipalKind::Root => {
                let exists = self
                    .store()
                    .list_accounts()
                    .await?
                    .iter()
                    .any(|a| a.id == account);
                if !exists || arn != root_arn(&account) {
                    return Ok(None);
                }
                return Ok(Some(Identity {
                    arn: arn.to_owned(),
                    account,
                    kind: IdentityKind::Root,
                    tags: BTreeMap::new(),
                    policies: Vec::new(),
                    role_id: None,
                }));
            }
            kinko_policy::PrincipalKind::User => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                match self.store().get_iam_user(&account, name).await? {
                    Some(u) if u.arn == arn => (
                        IdentityKind::User,
                        PolicyOwner {
                            kind: PolicyOwnerKind::User,
                            name: u.name,
                        },
                        u.tags,
                        None,
                    ),
                    _ => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::Role => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                match self.store().get_iam_role(&account, name).await? {
                    Some(r) if r.arn == arn => (
                        IdentityKind::Role,
                        PolicyOwner {
                            kind: PolicyOwnerKind::Role,
                            name: r.name,
                        },
                        r.tags,
                        Some(r.id),
                    ),
                    _ => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::AssumedRole { .. } => {
                let name = arn.split('/').nth(1).unwrap_or_default();
                match self.store().get_iam_role(&account, name).await? {
                    Some(r) => (
                        IdentityKind::AssumedRole { role_arn: r.arn },
                        PolicyOwner {
                            kind: PolicyOwnerKind::Role,
                            name: r.name,
                        },
                        r.tags,
                        Some(r.id),
                    ),
                    None => return Ok(None),
                }
            }
            kinko_policy::PrincipalKind::Service => return Ok(None),
        };
        let mut policies = Vec::new();
        for p in self.store().list_inline_policies(&account, &owner).await? {
            // Stored documents parsed when they were put; one that no longer does (a stricter
            // parser after an upgrade) is left out rather than failing every request: it then grants
            // nothing, which is the safe side.
            if let Ok(policy) = Policy::parse(&p.document, PolicyKind::Identity) {
                policies.push((p.name, Arc::new(policy)));
            }
        }
        Ok(Some(Identity {
            arn: arn.to_owned(),
            account,
            kind,
            tags,
            policies,
            role_id,
        }))
    }

    /// Whether the role that issued a session (by its unique id) still bears the name in the
    /// session's ARN. A role deleted and created again under the same name is another role: its
    /// permissions never reach the old role's sessions. Read through the identity cache, which
    /// this node's IAM changes empty at once.
    pub async fn session_role_is_current(
        &self,
        session_arn: &str,
        role_id: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .principal_identity(session_arn)
            .await?
            .is_some_and(|identity| {
                matches!(identity.kind, IdentityKind::AssumedRole { .. })
                    && identity.role_id.as_deref() == Some(role_id)
            }))
    }
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
