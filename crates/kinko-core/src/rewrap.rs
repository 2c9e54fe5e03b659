//! Moving an installation from one root of trust to another: every key version's material and
//! every access-key and STS session secret is unwrapped under the old root and wrapped under the new one, row by
//! row. Each row names the root that wrapped it, so the job is idempotent: interrupted at any
//! point (even by SIGKILL), a rerun skips what is done and finishes the rest, and no row is ever
//! in a state that neither root can read.

use kinko_crypto::RootKey;

use crate::aad::{access_key_aad, material_aad};
use crate::{Error, Store};

/// What a rewrap pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RewrapReport {
    /// Material versions moved to the new root by this pass.
    pub materials_rewrapped: usize,
    /// Access-key secrets moved by this pass.
    pub access_keys_rewrapped: usize,
    /// STS session secrets moved by this pass.
    pub sessions_rewrapped: usize,
    /// Rows already under the new root (done by an earlier, interrupted pass).
    pub already_done: usize,
}

/// Rewraps everything wrapped under `from` so that it is wrapped under `to`.
pub async fn rewrap_all(
    store: &dyn Store,
    from: &dyn RootKey,
    to: &dyn RootKey,
) -> Result<RewrapReport, Error> {
    let (from_id, to_id) = (from.id(), to.id());
    let mut report = RewrapReport::default();
    let mut after = None;
    loop {
        let keys = store.list_all_keys(after.as_ref(), 200).await?;
        let Some(last) = keys.last() else { break };
        after = Some(last.id());
        for key in &keys {
            for material in store.list_materials(&key.id()).await? {
                if !material.is_imported() {
                    continue; // EXTERNAL material not (or no longer) imported: nothing wrapped.
                }
                if material.root_id == to_id {
                    report.already_done += 1;
                    continue;
                }
                if material.root_id != from_id {
                    return Err(Error::Internal(format!(
                        "material {} of {} is wrapped under root {}, which is neither {from_id} nor {to_id}",
                        material.id, key.arn, material.root_id
                    )));
                }
                let aad = material_aad(&key.arn, &material.id, key.spec);
                let secret = from.unwrap(&material.wrapped, &aad).map_err(|e| {
                    Error::failed(
                        format!(
                            "material {} of {} does not unwrap under {from_id}",
                            material.id, key.arn
                        ),
                        e,
                    )
                })?;
                let wrapped = to.wrap(&secret, &aad)?;
                if store
                    .rewrap_material(&key.id(), &material.id, &from_id, &wrapped, &to_id)
                    .await?
                {
                    report.materials_rewrapped += 1;
                } else {
                    report.already_done += 1;
                }
            }
        }
    }
    for access_key in store.list_access_keys().await? {
        if access_key.root_id == to_id {
            report.already_done += 1;
            continue;
        }
        let aad = access_key_aad(&access_key.id);
        let secret = from
            .unwrap(&access_key.wrapped_secret, aad.as_bytes())
            .map_err(|e| {
                Error::failed(
                    format!(
                        "access key {} does not unwrap under {from_id}",
                        access_key.id
                    ),
                    e,
                )
            })?;
        let wrapped = to.wrap(&secret, aad.as_bytes())?;
        if store
            .rewrap_access_key(&access_key.id, &from_id, &wrapped, &to_id)
            .await?
        {
            report.access_keys_rewrapped += 1;
        } else {
            report.already_done += 1;
        }
    }
    for session in store.list_sessions().await? {
        if session.root_id == to_id {
            report.already_done += 1;
            continue;
        }
        let aad = access_key_aad(&session.access_key_id);
        let secret = from
            .unwrap(&session.wrapped_secret, aad.as_bytes())
            .map_err(|e| {
                Error::failed(
                    format!(
                        "session key {} does not unwrap under {from_id}",
                        session.access_key_id
                    ),
                    e,
                )
            })?;
        let wrapped = to.wrap(&secret, aad.as_bytes())?;
        if store
            .rewrap_session(&session.access_key_id, &from_id, &wrapped, &to_id)
            .await?
        {
            report.sessions_rewrapped += 1;
        } else {
            report.already_done += 1;
        }
    }
    Ok(report)
}

/// Counts rows by the root that wrapped them, to check that a migration is complete.
pub async fn count_by_root(
    store: &dyn Store,
) -> Result<std::collections::BTreeMap<String, usize>, Error> {
    let mut counts = std::collections::BTreeMap::new();
    let mut after = None;
    loop {
        let keys = store.list_all_keys(after.as_ref(), 200).await?;
        let Some(last) = keys.last() else { break };
        after = Some(last.id());
        for key in &keys {
            for material in store.list_materials(&key.id()).await? {
                if material.is_imported() {
                    *counts.entry(material.root_id).or_insert(0) += 1;
                }
            }
        }
    }
    for access_key in store.list_access_keys().await? {
        *counts.entry(access_key.root_id).or_insert(0) += 1;
    }
    for session in store.list_sessions().await? {
        *counts.entry(session.root_id).or_insert(0) += 1;
    }
    Ok(counts)
}
