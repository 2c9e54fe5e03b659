//! Conversions from Secrets Manager's wire shapes that several handlers share: tags, their
//! condition keys, and ListSecrets' filters.

use kinko_api::secrets::{SmFilter, SmTag};
use kinko_core::{SecretFilter, Tag};
use kinko_policy::{ConditionKeys, ContextValue, ContextValues};

use super::op::required;
use crate::errors::ApiError;

/// Tags from the wire.
pub(super) fn tags(tags: Option<Vec<SmTag>>) -> Result<Vec<Tag>, ApiError> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| {
            Ok(Tag {
                key: required(t.key, "Tag.Key")?,
                value: t.value.unwrap_or_default(),
            })
        })
        .collect()
}

/// `aws:RequestTag/…` and `aws:TagKeys` of a request's tags.
pub(super) fn tag_facts(keys: &mut ConditionKeys, tags: Option<&Vec<SmTag>>) {
    let Some(tags) = tags else { return };
    let mut names = Vec::new();
    for t in tags {
        if let Some(k) = &t.key {
            keys.insert(
                &format!("aws:RequestTag/{k}"),
                ContextValue::String(t.value.clone().unwrap_or_default()),
            );
            names.push(ContextValue::String(k.clone()));
        }
    }
    keys.insert("aws:TagKeys", ContextValues::Many(names));
}

/// ListSecrets' and BatchGetSecretValue's filters from the wire.
pub(super) fn filters(filters: Option<Vec<SmFilter>>) -> Result<Vec<SecretFilter>, ApiError> {
    filters
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            Ok(SecretFilter {
                key: required(f.key, "Filters.Key")?,
                values: f.values.unwrap_or_default(),
            })
        })
        .collect()
}
