//! Aliases: creating, repointing, deleting and listing them.

use kinko_api as wire;

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("CreateAlias", handler!(create_alias)),
    Descriptor::changes("UpdateAlias", handler!(update_alias)),
    Descriptor::changes("DeleteAlias", handler!(delete_alias)),
    Descriptor::reads("ListAliases", handler!(list_aliases)),
];

impl KmsRequest for wire::AliasRequest {}

impl KmsRequest for wire::DeleteAliasRequest {}

impl KmsRequest for wire::ListAliasesRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `CreateAlias` and `UpdateAlias`, which differ only in `op`.
async fn create_alias_or_update_alias(cx: Call<'_>, r: wire::AliasRequest, op: &str) -> Reply {
    let audit = cx.audit();
    let name = c::required(r.alias_name, "aliasName")?;
    let target = c::required(r.target_key_id, "targetKeyId")?;
    let name = c::alias_name(&name)?;
    let target = c::key_ref(&target, "targetKeyId")?;
    if op == "CreateAlias" {
        cx.kms
            .create_alias(&cx.caller, &name, &target, &audit)
            .await
            .map_err(cx.core())?;
    } else {
        cx.kms
            .update_alias(&cx.caller, &name, &target, &audit)
            .await
            .map_err(cx.core())?;
    }
    encode(&wire::Empty {})
}

/// `CreateAlias`.
pub(super) async fn create_alias(cx: Call<'_>, r: wire::AliasRequest) -> Reply {
    create_alias_or_update_alias(cx, r, "CreateAlias").await
}

/// `UpdateAlias`.
pub(super) async fn update_alias(cx: Call<'_>, r: wire::AliasRequest) -> Reply {
    create_alias_or_update_alias(cx, r, "UpdateAlias").await
}

/// `DeleteAlias`.
pub(super) async fn delete_alias(cx: Call<'_>, r: wire::DeleteAliasRequest) -> Reply {
    let audit = cx.audit();
    let name = c::alias_name(&c::required(r.alias_name, "aliasName")?)?;
    cx.kms
        .delete_alias(&cx.caller, &name, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `ListAliases`.
pub(super) async fn list_aliases(cx: Call<'_>, r: wire::ListAliasesRequest) -> Reply {
    let key_ref = c::opt_key_ref(r.key_id.as_deref(), "keyId")?;
    let limit = c::limit(r.limit, 100, 50)?;
    let page = cx
        .kms
        .list_aliases(
            &cx.caller,
            key_ref.as_ref(),
            limit,
            c::marker(r.marker.as_deref())?,
        )
        .await
        .map_err(cx.core())?;
    encode(&wire::ListAliasesResponse {
        aliases: Some(page.items.iter().map(c::alias_entry).collect()),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}
