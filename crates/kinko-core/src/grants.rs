//! The five grant operations on `Kms` (CreateGrant, ListGrants, ListRetirableGrants,
//! RetireGrant, RevokeGrant) and [`Kms::grants_for_key`], the cached grant list the
//! authorization evaluates. What a grant is, and its validation, is `grant.rs`.
//!
//! Invariant: every change to a key's grants commits its audit event in the same store
//! transaction and then invalidates the key's cached grant list (other nodes learn it from
//! the change feed).

use std::sync::Arc;

use kinko_crypto::random_array;

use crate::actions::Action;
use crate::grant::{check_constraint_map, check_grant_name, is_symmetric_encryption};
use crate::ops::{AuditFn, Page};
use crate::rules::{Need, check_state, decode_marker, page_marker, refuse_alias, stop_if_dry_run};
use crate::{
    AuditDraft, Caller, Error, Grant, GrantConstraints, GrantOperation, GrantPrincipal, Key,
    KeyArn, KeyId, KeyRef, KeyState, Kms, MAX_GRANTS_PER_KEY, StoreError, check_grant_id,
    check_principal, check_service_principal, check_source_arn, grant_token, parse_grant_token,
};

/// CreateGrant's request, as validated wire values.
#[derive(Debug, Clone)]
pub struct CreateGrantRequest {
    /// The key (key id or key ARN).
    pub key: KeyRef,
    /// Who the grant is for (`GranteePrincipal` or `GranteeServicePrincipal`).
    pub grantee: GrantPrincipal,
    /// Who may retire it (`RetiringPrincipal` or `RetiringServicePrincipal`).
    pub retiring: Option<GrantPrincipal>,
    /// What it allows.
    pub operations: Vec<GrantOperation>,
    /// Constraints (`None` also for an empty `Constraints` object).
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
        match &req.grantee {
            GrantPrincipal::Aws(p) => check_principal(p, "granteePrincipal")?,
            GrantPrincipal::Service(p) => check_service_principal(p, "granteeServicePrincipal")?,
        }
        match &req.retiring {
            Some(GrantPrincipal::Aws(p)) => check_principal(p, "retiringPrincipal")?,
            Some(GrantPrincipal::Service(p)) => {
                check_service_principal(p, "retiringServicePrincipal")?
            }
            None => {}
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
            c.encryption_context_equals.is_some()
                || c.encryption_context_subset.is_some()
                || c.source_arn.is_some()
        });
        if let Some(arn) = constraints.as_ref().and_then(|c| c.source_arn.as_deref()) {
            check_source_arn(arn)?;
        }
        if let GrantPrincipal::Service(service) = &req.grantee {
            // The model: a service grantee needs a SourceArn constraint and a retiring principal.
            if constraints.as_ref().is_none_or(|c| c.source_arn.is_none()) {
                return Err(Error::Validation(format!(
                    "A grant to the service principal {service} must have a SourceArn grant constraint."
                )));
            }
            if req.retiring.is_none() {
                return Err(Error::Validation(format!(
                    "A grant to the service principal {service} must have a RetiringPrincipal or a RetiringServicePrincipal."
                )));
            }
        }
        let context_constraints = constraints.as_ref().is_some_and(|c| {
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
            .resolve_by_id(caller, &req.key, Action::KmsCreateGrant)
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
        if context_constraints {
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
            grantee: req.grantee,
            retiring: req.retiring,
            operations,
            constraints,
            issuing_account: format!("arn:aws:iam::{}:root", caller.account),
            created_at: self.clock().now(),
        };
        let existing = self.grants_for_key(&key.id()).await?;
        stop_if_dry_run(caller)?;
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
        let result = self.store().create_grant(&grant, self.append(&draft)).await;
        self.caches().invalidate_grants(&key.id());
        match result {
            Ok(()) => {}
            Err(e @ StoreError::Conflict(_)) => {
                return Err(Error::failed("grant id collision", e));
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
        grantee: Option<&GrantPrincipal>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, Error> {
        if let Some(id) = grant_id {
            check_grant_id(id)?;
        }
        let key = self
            .resolve_by_id(caller, key, Action::KmsListGrants)
            .await?;
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
            .filter(|g| grantee.is_none_or(|p| g.grantee == *p))
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
        retiring_principal: &GrantPrincipal,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, Error> {
        self.authorize_in_account(caller, Action::KmsListRetirableGrants, "*")
            .await?;
        match retiring_principal {
            GrantPrincipal::Aws(p) => check_principal(p, "retiringPrincipal")?,
            GrantPrincipal::Service(p) => check_service_principal(p, "retiringServicePrincipal")?,
        }
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
                refuse_alias(&key)?;
                (
                    self.locate(caller, &key, Some(Action::KmsRetireGrant.as_str()))
                        .await?,
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
                caller.principal, key.arn
            )));
        }
        stop_if_dry_run(caller)?;
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
        let key = self
            .resolve_by_id(caller, key, Action::KmsRevokeGrant)
            .await?;
        if caller.facts.dry_run {
            // A dry run answers what the revocation would: NotFound for a grant the key lacks.
            let grants = self.grants_for_key(&key.id()).await?;
            if !grants.iter().any(|g| g.grant_id == grant_id) {
                return Err(grant_not_found(grant_id, &key.arn));
            }
            stop_if_dry_run(caller)?;
        }
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
            .delete_grant(&key.id(), grant_id, self.append(&draft))
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
