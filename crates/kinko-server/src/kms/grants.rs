//! Grants: creating, listing, retiring and revoking them.

use kinko_api as wire;

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::errors::ApiError;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("CreateGrant", handler!(create_grant)),
    Descriptor::reads("ListGrants", handler!(list_grants)),
    Descriptor::reads("ListRetirableGrants", handler!(list_retirable_grants)),
    Descriptor::changes("RetireGrant", handler!(retire_grant)),
    Descriptor::changes("RevokeGrant", handler!(revoke_grant)),
];

impl KmsRequest for wire::CreateGrantRequest {
    fn dry_run(&self) -> bool {
        self.dry_run == Some(true)
    }

    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            grantee_principal: self.grantee_principal.as_deref(),
            retiring_principal: self.retiring_principal.as_deref(),
            operations: self.operations.as_deref(),
            constraints: self.constraints.as_ref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListGrantsRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            grantee_principal: self.grantee_principal.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListRetirableGrantsRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            retiring_principal: self.retiring_principal.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::RetireGrantRequest {
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

impl KmsRequest for wire::RevokeGrantRequest {
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

/// `CreateGrant`.
pub(super) async fn create_grant(cx: Call<'_>, r: wire::CreateGrantRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let grantee = c::grant_principal(
        r.grantee_principal,
        r.grantee_service_principal,
        ("GranteePrincipal", "GranteeServicePrincipal"),
    )?
    .ok_or_else(|| {
        ApiError::validation("You must specify either GranteePrincipal or GranteeServicePrincipal.")
    })?;
    let retiring = c::grant_principal(
        r.retiring_principal,
        r.retiring_service_principal,
        ("RetiringPrincipal", "RetiringServicePrincipal"),
    )?;
    let operations = c::grant_operations(c::required(r.operations, "operations")?)?;
    let constraints = c::grant_constraints(r.constraints)?;
    c::grant_tokens(r.grant_tokens.as_ref())?;
    let req = kinko_core::CreateGrantRequest {
        key: key_ref,
        grantee,
        retiring,
        operations,
        constraints,
        name: r.name,
    };
    let grant_audit = |key: &kinko_core::Key, grant: &kinko_core::Grant| {
        crate::audit::with_grant_id(audit(key), &grant.grant_id)
    };
    let out = cx
        .kms
        .create_grant(&cx.caller, req, &grant_audit)
        .await
        .map_err(cx.core())?;
    cx.seen.key = Some(out.grant.key_arn.clone());
    encode(&wire::CreateGrantResponse {
        grant_token: Some(out.grant_token),
        grant_id: Some(out.grant.grant_id),
    })
}

/// `ListGrants`.
pub(super) async fn list_grants(cx: Call<'_>, r: wire::ListGrantsRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let limit = c::limit(r.limit, 100, 50)?;
    let grant_id = r.grant_id.as_deref().map(c::grant_id).transpose()?;
    if let Some(p) = &r.grantee_principal {
        c::string_len(p, "granteePrincipal", 1, 256)?;
    }
    if let Some(p) = &r.grantee_service_principal {
        kinko_core::check_service_principal(p, "granteeServicePrincipal")
            .map_err(|e| crate::errors::from_core(e, ""))?;
    }
    let grantee = c::grant_principal(
        r.grantee_principal,
        r.grantee_service_principal,
        ("GranteePrincipal", "GranteeServicePrincipal"),
    )?;
    let page = cx
        .kms
        .list_grants(
            &cx.caller,
            &key_ref,
            grant_id.as_deref(),
            grantee.as_ref(),
            limit,
            c::marker(r.marker.as_deref())?,
        )
        .await
        .map_err(cx.core())?;
    encode(&wire::ListGrantsResponse {
        grants: Some(page.items.iter().map(c::grant_entry).collect()),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}

/// `ListRetirableGrants`.
pub(super) async fn list_retirable_grants(
    cx: Call<'_>,
    r: wire::ListRetirableGrantsRequest,
) -> Reply {
    let retiring = match c::grant_principal(
        r.retiring_principal,
        r.retiring_service_principal,
        ("RetiringPrincipal", "RetiringServicePrincipal"),
    )? {
        Some(p) => p,
        // As before the model made RetiringPrincipal optional: its "must not be null" form.
        None => kinko_core::GrantPrincipal::Aws(c::required(None, "retiringPrincipal")?),
    };
    let limit = c::limit(r.limit, 100, 50)?;
    let page = cx
        .kms
        .list_retirable_grants(
            &cx.caller,
            &retiring,
            limit,
            c::marker(r.marker.as_deref())?,
        )
        .await
        .map_err(cx.core())?;
    encode(&wire::ListGrantsResponse {
        grants: Some(page.items.iter().map(c::grant_entry).collect()),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}

/// `RetireGrant`.
pub(super) async fn retire_grant(cx: Call<'_>, r: wire::RetireGrantRequest) -> Reply {
    let audit = cx.audit();
    let target = match (r.grant_token, r.key_id, r.grant_id) {
        (Some(token), None, None) => {
            c::string_len(&token, "grantToken", 1, 8192)?;
            kinko_core::RetireTarget::Token(token)
        }
        (None, Some(key), Some(id)) => kinko_core::RetireTarget::Id {
            key: c::key_ref(&key, "keyId")?,
            grant_id: c::grant_id(&id)?,
        },
        _ => {
            return Err(ApiError::validation(
                "RetireGrant takes either a GrantToken, or a KeyId and a GrantId.",
            ));
        }
    };
    cx.kms
        .retire_grant(&cx.caller, target, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `RevokeGrant`.
pub(super) async fn revoke_grant(cx: Call<'_>, r: wire::RevokeGrantRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let grant_id = c::grant_id(&c::required(r.grant_id, "grantId")?)?;
    cx.kms
        .revoke_grant(&cx.caller, &key_ref, &grant_id, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}
