//! Authorization: whether a caller may perform an action on a key (or, for CreateKey, ListKeys
//! and the like, in its account), decided as AWS KMS decides (`kms-reference.md` §7):
//!
//! 1. An explicit `Deny` in the key policy or in one of the caller's identity policies denies.
//! 2. Otherwise the request is allowed by
//!    - a key-policy statement that names the caller (its ARN, its role for a role session, or
//!      `*`), or
//!    - a key-policy statement that names the caller's account (delegation to IAM) together with
//!      the caller being that account's root or having an identity policy that allows it, or
//!    - a grant on the key for the caller, with the operation and its constraints satisfied.
//! 3. A caller from another account than the key's needs both sides: the key policy must allow
//!    it (directly or through its account) and, unless it is its account's root, its own
//!    identity policies too; or a grant.
//! 4. Anything else is denied, and the message says which side was missing.
//!
//! IAM actions (`iam:CreateUser`, …) are checked here too (`Kms::authorize_iam`, called by every
//! public IAM operation of the core itself): the account's root, or an identity policy that
//! allows the action on the user or role.
//!
//! Evaluation is pure (`kinko-policy`); what it needs comes from caches: the compiled key policy
//! (compiled once per policy text), the caller's identity and the key's grants. Resource tags and
//! aliases are read only when a policy actually tests `aws:ResourceTag/…` or
//! `kms:ResourceAliases`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use kinko_policy::{
    ContextValue, ContextValues, Decision, Policy, PolicyKind, PrincipalKind, RequestContext,
    RequestPrincipal,
};

use crate::actions::Action;
use crate::identity::Identity;
use crate::rules::{MAX_ALIASES_PER_KEY, MAX_TAGS_PER_KEY};
use crate::{Caller, EncryptionContext, Error, Grant, Key, KeyRef, Kms, Principal};

/// Which side of the decision refused, in AWS's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialReason {
    /// A `Deny` statement of the key policy applies.
    ExplicitDenyInKeyPolicy,
    /// A `Deny` statement of an identity policy applies.
    ExplicitDenyInIdentityPolicy,
    /// The key policy neither allows the caller nor delegates to its account (and no grant does).
    NoResourcePolicyAllows,
    /// The key policy delegates to the caller's account, but no identity policy allows it.
    NoIdentityPolicyAllows,
}

/// The decision on one request, with the reasoning when it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `None`: allowed.
    pub denied: Option<DenialReason>,
    /// What decided, one line per policy, statement or grant considered (filled only by
    /// [`Kms::explain`]).
    pub explanation: Vec<String>,
}

/// The condition keys some policy of the decision reads (lower-cased): only those are put into
/// the request context, so a policy without conditions costs no context building at all.
#[derive(Debug, Default)]
struct Needs<'a> {
    keys: Vec<&'a str>,
}

impl<'a> Needs<'a> {
    fn add(&mut self, policy_reads: impl IntoIterator<Item = &'a str>) {
        for key in policy_reads {
            if !self.keys.contains(&key) {
                self.keys.push(key);
            }
        }
    }

    fn wants(&self, key_lower: &str) -> bool {
        self.keys.contains(&key_lower)
    }

    fn wants_prefix(&self, prefix_lower: &str) -> bool {
        self.keys.iter().any(|k| k.starts_with(prefix_lower))
    }
}

/// The request principal as `kinko-policy` sees it, with the identity's tags.
fn request_principal(caller: &Caller, identity: Option<&Identity>) -> RequestPrincipal {
    let mut principal = caller.principal.request_principal();
    if let Some(identity) = identity {
        principal.tags = identity.tags.clone();
    }
    principal
}

fn is_root(principal: &RequestPrincipal) -> bool {
    principal.kind == PrincipalKind::Root
}

/// Whether `grant` lets `principal` perform `action` with `context`.
fn grant_allows(
    grant: &Grant,
    principal: &RequestPrincipal,
    action: &str,
    context: Option<&EncryptionContext>,
) -> bool {
    // A grant to a service principal never allows a direct caller anything.
    let Some(grantee) = grant.grantee.aws() else {
        return false;
    };
    let is_grantee = grantee == principal.arn
        || matches!(&principal.kind, PrincipalKind::AssumedRole { role_arn } if role_arn == grantee);
    let operation = crate::actions::kms_operation(action).unwrap_or(action);
    if !is_grantee || !grant.operations.iter().any(|o| o.as_str() == operation) {
        return false;
    }
    let Some(constraints) = &grant.constraints else {
        return true;
    };
    let empty = EncryptionContext::default();
    constraints.matches(context.unwrap_or(&empty))
}

impl Kms {
    /// Checks that `caller` may perform `action` (`kms:Encrypt`, …) on `key`; `context` is the
    /// encryption context of the request half that uses this key.
    pub(crate) async fn authorize(
        &self,
        caller: &Caller,
        action: Action,
        key: &Key,
        context: Option<&EncryptionContext>,
    ) -> Result<(), Error> {
        let action = action.as_str();
        let verdict = self
            .decide(caller, action, Some(key), context, false)
            .await?;
        match verdict.denied {
            None => Ok(()),
            Some(reason) => Err(access_denied(caller, action, &key.arn.to_string(), reason)),
        }
    }

    /// Resolves `key` as an operation would and checks that `caller` may perform `action` on
    /// it with `context`: the authorization step of every key operation, on its own (for
    /// benchmarks and tools).
    pub async fn check_access(
        &self,
        caller: &Caller,
        action: Action,
        key: &KeyRef,
        context: Option<&EncryptionContext>,
    ) -> Result<Arc<Key>, Error> {
        self.resolve_with(caller, key, action, context).await
    }

    /// Checks an action that has no key: CreateKey, ListKeys, ListAliases, GenerateRandom,
    /// the alias half of CreateAlias, and the other services' actions Kinko answers
    /// (`cloudtrail:LookupEvents`). Only identity policies decide; an account's root may.
    pub async fn authorize_in_account(
        &self,
        caller: &Caller,
        action: Action,
        resource: &str,
    ) -> Result<(), Error> {
        let action = action.as_str();
        let verdict = self.decide_account(caller, action, resource, false).await?;
        match verdict.denied {
            None => Ok(()),
            Some(reason) => Err(access_denied(caller, action, resource, reason)),
        }
    }

    /// Checks an action on a resource that has a resource-based policy (a secret's), as AWS
    /// decides for a caller of the resource's own account: an explicit `Deny` in the resource
    /// policy (even for the account's root) or in an identity policy denies; otherwise the
    /// request is allowed when the resource policy allows the caller, an identity policy
    /// allows it, or the caller is its account's root.
    pub(crate) async fn authorize_with_resource_policy(
        &self,
        caller: &Caller,
        action: Action,
        resource: &str,
        policy: &Policy,
    ) -> Result<(), Error> {
        let action = action.as_str();
        let verdict = self
            .decide_with_resource_policy(caller, action, resource, policy, false)
            .await?;
        match verdict.denied {
            None => Ok(()),
            Some(reason) => Err(access_denied(caller, action, resource, reason)),
        }
    }

    /// The decision of [`Kms::authorize_with_resource_policy`], with every statement that took
    /// part when `explain` is set (`kinko authz explain` on a secret).
    pub(crate) async fn decide_with_resource_policy(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        policy: &Policy,
        explain: bool,
    ) -> Result<Verdict, Error> {
        let identity = self.identity_of(caller).await?;
        let mut needs = Needs::default();
        needs.add(policy.read_keys());
        if let Some(identity) = &identity {
            for (_, p) in &identity.policies {
                needs.add(p.read_keys());
            }
        }
        let ctx = self.context_for(caller, identity.as_deref(), action, resource, &needs);
        let mut explanation = Vec::new();
        let decision = if explain {
            let eval = policy.evaluate(&ctx);
            explanation.push(format!("resource policy of {resource}: {eval}"));
            eval.decision
        } else {
            policy.decide(&ctx).0
        };
        let (deny, allow) = evaluate_identity(identity.as_deref(), &ctx, explain, &mut explanation);
        let root = is_root(&ctx.principal);
        if explain && root {
            explanation.push(format!(
                "{} is its account's root: allowed unless a policy denies",
                caller.principal
            ));
        }
        let denied = if decision == Decision::ExplicitDeny {
            Some(DenialReason::ExplicitDenyInKeyPolicy)
        } else if deny {
            Some(DenialReason::ExplicitDenyInIdentityPolicy)
        } else if decision == Decision::Allow || allow || root {
            None
        } else {
            Some(DenialReason::NoIdentityPolicyAllows)
        };
        Ok(Verdict {
            denied,
            explanation,
        })
    }

    /// Checks an IAM action (`iam:CreateUser`, …) on `resource`: the target user's or role's
    /// ARN, or a pattern of them for a listing. The account's root may; anyone else needs an
    /// identity policy that allows the action and none that denies it (evaluated with the
    /// transport's condition keys, `aws:SecureTransport` and `aws:SourceIp`). Every public IAM
    /// operation of the core passes here first.
    pub(crate) async fn authorize_iam(
        &self,
        caller: &Caller,
        action: Action,
        resource: &str,
    ) -> Result<(), Error> {
        if caller.is_root() {
            return Ok(());
        }
        let action = action.as_str();
        let allowed = self
            .principal_identity(&caller.principal.arn())
            .await?
            .is_some_and(|identity| identity.allows_request(action, resource, &caller.facts));
        if allowed {
            Ok(())
        } else {
            Err(access_denied(
                caller,
                action,
                resource,
                DenialReason::NoIdentityPolicyAllows,
            ))
        }
    }

    /// The decision on `action` against the key `key` names (or in the account, without a
    /// key) with every statement and grant that took part, for `kinko authz explain`. The
    /// message of a denial is the AccessDeniedException the request would get.
    pub async fn explain(
        &self,
        caller: &Caller,
        action: &str,
        key: Option<&KeyRef>,
        context: Option<&EncryptionContext>,
    ) -> Result<(Verdict, Option<String>), Error> {
        let (verdict, resource) = match key {
            Some(key) => {
                let found = self.locate(caller, key, Some(action)).await?;
                let verdict = self
                    .decide(caller, action, Some(&found), context, true)
                    .await?;
                (verdict, found.arn.to_string())
            }
            None => (
                self.decide_account(caller, action, "*", true).await?,
                "*".to_owned(),
            ),
        };
        let message = verdict
            .denied
            .map(|reason| access_denied(caller, action, &resource, reason).to_string());
        Ok((verdict, message))
    }

    /// The request context with the keys `needs` lists (and only those).
    fn context_for(
        &self,
        caller: &Caller,
        identity: Option<&Identity>,
        action: &str,
        resource: &str,
        needs: &Needs<'_>,
    ) -> RequestContext {
        let mut ctx = RequestContext::new(request_principal(caller, identity), action, resource);
        for (key, value) in caller.facts.keys.iter() {
            if needs.wants(key) {
                ctx.keys.insert(key, value.clone());
            }
        }
        if needs.wants("aws:currenttime") || needs.wants("aws:epochtime") {
            let now = self.clock().now();
            ctx.keys.insert(
                "aws:CurrentTime",
                ContextValue::Time(UNIX_EPOCH + Duration::from_millis(now.0.max(0).unsigned_abs())),
            );
            ctx.keys.insert("aws:EpochTime", now.as_secs());
        }
        if needs.wants("aws:securetransport") {
            ctx.keys
                .insert("aws:SecureTransport", caller.facts.secure_transport);
        }
        if let Some(ip) = caller
            .facts
            .source_ip
            .filter(|_| needs.wants("aws:sourceip"))
        {
            ctx.keys.insert("aws:SourceIp", ip);
        }
        if needs.wants("kms:calleraccount") {
            ctx.keys
                .insert("kms:CallerAccount", caller.account.to_string());
        }
        ctx
    }

    async fn identity_of(&self, caller: &Caller) -> Result<Option<Arc<Identity>>, Error> {
        if matches!(caller.principal, Principal::Root { .. }) {
            return Ok(None);
        }
        self.principal_identity(&caller.principal.arn()).await
    }

    async fn decide(
        &self,
        caller: &Caller,
        action: &str,
        key: Option<&Key>,
        context: Option<&EncryptionContext>,
        explain: bool,
    ) -> Result<Verdict, Error> {
        let Some(key) = key else {
            return self.decide_account(caller, action, "*", explain).await;
        };
        let identity = self.identity_of(caller).await?;
        let compiled = self.policies().get(key)?;
        let resource = compiled.resource.as_str();
        let mut needs = Needs::default();
        needs.add(compiled.reads.iter().map(String::as_str));
        if let Some(identity) = &identity {
            for (_, policy) in &identity.policies {
                needs.add(policy.read_keys());
            }
        }
        let mut ctx = self.context_for(caller, identity.as_deref(), action, resource, &needs);
        if let Some(context) = context.filter(|_| {
            needs.wants("kms:encryptioncontextkeys") || needs.wants_prefix("kms:encryptioncontext:")
        }) {
            ctx.set_encryption_context(context.0.iter());
        }
        if needs.wants("kms:keyspec") {
            ctx.keys.insert("kms:KeySpec", key.spec.as_str());
        }
        if needs.wants("kms:keyusage") {
            ctx.keys.insert("kms:KeyUsage", key.usage.as_str());
        }
        if needs.wants("kms:keyorigin") {
            ctx.keys.insert("kms:KeyOrigin", key.origin.as_str());
        }
        if needs.wants("kms:multiregion") {
            ctx.keys
                .insert("kms:MultiRegion", key.primary_region.is_some());
        }
        if needs.wants("kms:multiregionkeytype") && key.primary_region.is_some() {
            let kind = if key.is_replica() {
                "REPLICA"
            } else {
                "PRIMARY"
            };
            ctx.keys.insert("kms:MultiRegionKeyType", kind);
        }
        if needs.wants_prefix("aws:resourcetag/") {
            for tag in self
                .store()
                .list_tags(&key.id(), None, MAX_TAGS_PER_KEY)
                .await?
            {
                ctx.keys
                    .insert(&format!("aws:ResourceTag/{}", tag.key), tag.value);
            }
        }
        if needs.wants("kms:resourcealiases") {
            let aliases = self
                .store()
                .list_aliases(
                    &key.arn.account,
                    &key.arn.region,
                    Some(&key.id()),
                    None,
                    MAX_ALIASES_PER_KEY,
                )
                .await?;
            ctx.keys.insert(
                "kms:ResourceAliases",
                ContextValues::Many(
                    aliases
                        .iter()
                        .map(|a| ContextValue::String(a.name.as_str().to_owned()))
                        .collect(),
                ),
            );
        }

        let mut explanation = Vec::new();
        let (key_decision, key_delegates) = if explain {
            let eval = compiled.policy.evaluate(&ctx);
            explanation.push(format!("key policy of {resource}: {eval}"));
            (eval.decision, eval.account_delegation.is_some())
        } else {
            compiled.policy.decide(&ctx)
        };
        if key_decision == Decision::ExplicitDeny {
            return Ok(Verdict {
                denied: Some(DenialReason::ExplicitDenyInKeyPolicy),
                explanation,
            });
        }
        let (identity_deny, identity_allow) =
            evaluate_identity(identity.as_deref(), &ctx, explain, &mut explanation);
        if identity_deny {
            return Ok(Verdict {
                denied: Some(DenialReason::ExplicitDenyInIdentityPolicy),
                explanation,
            });
        }
        let root = is_root(&ctx.principal);
        let same_account = caller.account == key.arn.account;
        let through_identity = root || identity_allow;
        let by_policy = if same_account {
            key_decision == Decision::Allow || (key_delegates && through_identity)
        } else {
            (key_decision == Decision::Allow || key_delegates) && through_identity
        };
        if by_policy {
            return Ok(Verdict {
                denied: None,
                explanation,
            });
        }
        let grants = self.grants_for_key(&key.id()).await?;
        for grant in grants.iter() {
            let allows = grant_allows(grant, &ctx.principal, action, context);
            if explain {
                let mut line = format!("grant {}", grant.grant_id);
                if let Some(name) = &grant.name {
                    let _ = write!(line, " ({name})");
                }
                let _ = write!(
                    line,
                    " for {}: {}",
                    grant.grantee.as_str(),
                    if allows { "allows" } else { "does not apply" }
                );
                explanation.push(line);
            }
            if allows {
                return Ok(Verdict {
                    denied: None,
                    explanation,
                });
            }
        }
        let delegated = key_delegates || key_decision == Decision::Allow;
        Ok(Verdict {
            denied: Some(if delegated {
                DenialReason::NoIdentityPolicyAllows
            } else {
                DenialReason::NoResourcePolicyAllows
            }),
            explanation,
        })
    }

    pub(crate) async fn decide_account(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        explain: bool,
    ) -> Result<Verdict, Error> {
        let identity = self.identity_of(caller).await?;
        let mut needs = Needs::default();
        if let Some(identity) = &identity {
            for (_, policy) in &identity.policies {
                needs.add(policy.read_keys());
            }
        }
        let ctx = self.context_for(caller, identity.as_deref(), action, resource, &needs);
        let mut explanation = Vec::new();
        let (deny, allow) = evaluate_identity(identity.as_deref(), &ctx, explain, &mut explanation);
        let denied = if deny {
            Some(DenialReason::ExplicitDenyInIdentityPolicy)
        } else if is_root(&ctx.principal) || allow {
            None
        } else {
            Some(DenialReason::NoIdentityPolicyAllows)
        };
        if explain && is_root(&ctx.principal) {
            explanation.push(format!(
                "{} is its account's root: allowed unless a policy denies",
                caller.principal
            ));
        }
        Ok(Verdict {
            denied,
            explanation,
        })
    }

    /// The lockout safety check of CreateKey and PutKeyPolicy: would `policy` still let the
    /// caller change the key policy afterwards?
    pub(crate) async fn check_lockout(
        &self,
        caller: &Caller,
        key: &Key,
        policy: &str,
    ) -> Result<(), Error> {
        let parsed = Policy::parse(policy, PolicyKind::Key)
            .map_err(|e| Error::MalformedPolicyDocument(e.to_string()))?;
        let identity = self.identity_of(caller).await?;
        let resource = key.arn.to_string();
        let mut needs = Needs::default();
        needs.add(parsed.read_keys());
        if let Some(identity) = &identity {
            for (_, policy) in &identity.policies {
                needs.add(policy.read_keys());
            }
        }
        let ctx = self.context_for(
            caller,
            identity.as_deref(),
            Action::KmsPutKeyPolicy.as_str(),
            &resource,
            &needs,
        );
        let (decision, delegates) = parsed.decide(&ctx);
        let mut ignored = Vec::new();
        let (deny, allow) = evaluate_identity(identity.as_deref(), &ctx, false, &mut ignored);
        let allowed = decision != Decision::ExplicitDeny
            && !deny
            && (decision == Decision::Allow || (delegates && (is_root(&ctx.principal) || allow)));
        if allowed {
            Ok(())
        } else {
            Err(Error::MalformedPolicyDocument(
                "The new key policy will not allow you to update the key policy in the future."
                    .into(),
            ))
        }
    }
}

/// Evaluates the caller's identity policies: (some policy denies, some policy allows).
fn evaluate_identity(
    identity: Option<&Identity>,
    ctx: &RequestContext,
    explain: bool,
    explanation: &mut Vec<String>,
) -> (bool, bool) {
    let (mut deny, mut allow) = (false, false);
    for (name, policy) in identity.map(|i| i.policies.as_slice()).unwrap_or_default() {
        let decision = if explain {
            let eval = policy.evaluate(ctx);
            explanation.push(format!("identity policy {name}: {eval}"));
            eval.decision
        } else {
            policy.decide(ctx).0
        };
        match decision {
            Decision::ExplicitDeny => deny = true,
            Decision::Allow => allow = true,
            Decision::NotApplicable => {}
        }
    }
    (deny, allow)
}

/// AWS's AccessDeniedException message.
pub(crate) fn access_denied(
    caller: &Caller,
    action: &str,
    resource: &str,
    reason: DenialReason,
) -> Error {
    let who = &caller.principal;
    let why = match reason {
        DenialReason::ExplicitDenyInKeyPolicy => {
            "with an explicit deny in a resource-based policy".to_owned()
        }
        DenialReason::ExplicitDenyInIdentityPolicy => {
            "with an explicit deny in an identity-based policy".to_owned()
        }
        DenialReason::NoResourcePolicyAllows => {
            format!("because no resource-based policy allows the {action} action")
        }
        DenialReason::NoIdentityPolicyAllows => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    Error::AccessDenied(format!(
        "User: {who} is not authorized to perform: {action} on resource: {resource} {why}"
    ))
}
