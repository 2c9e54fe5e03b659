//! What a root-key wrapping is bound to (its AAD): the one definition every writer and reader
//! of wrapped material and secrets uses, so a row cannot be unwrapped as another row.

use crate::{AccessKeyId, KeyArn, KeySpec, MaterialId};

/// Root-key AAD of an access key's (or STS session's) secret.
pub(crate) fn access_key_aad(id: &AccessKeyId) -> String {
    format!("kinko/access-key/{id}")
}

/// Root-key AAD of a material version: key ARN ‖ material id ‖ key spec (`design.md` §2).
pub(crate) fn material_aad(arn: &KeyArn, id: &MaterialId, spec: KeySpec) -> Vec<u8> {
    format!("kinko/material/{arn}|{id}|{spec}").into_bytes()
}
