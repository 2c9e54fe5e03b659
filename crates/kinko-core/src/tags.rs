//! The tag operations on keys: TagResource, UntagResource, ListResourceTags.

use crate::actions::Action;
use crate::ops::{AuditFn, Page};
use crate::rules::{
    MAX_TAGS_PER_KEY, Need, TOO_MANY_TAGS, check_state, decode_marker, dedup_tags, page_marker,
    validate_tags,
};
use crate::{Caller, Error, KeyRef, Kms, Tag};

impl Kms {
    /// TagResource: adds or overwrites tags.
    pub async fn tag_resource(
        &self,
        caller: &Caller,
        key: &KeyRef,
        tags: Vec<Tag>,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        validate_tags(&tags)?;
        let key = self
            .resolve_for_management(caller, key, Action::KmsTagResource)
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        let tags = dedup_tags(tags);
        let existing = self
            .store()
            .list_tags(&key.id(), None, MAX_TAGS_PER_KEY + 1)
            .await?;
        let new_keys = tags
            .iter()
            .filter(|t| !existing.iter().any(|e| e.key == t.key))
            .count();
        if existing.len() + new_keys > MAX_TAGS_PER_KEY {
            return Err(Error::Tag(TOO_MANY_TAGS.into()));
        }
        self.store()
            .put_tags(&key.id(), &tags, self.append(&audit(&key)))
            .await?;
        Ok(())
    }

    /// UntagResource: removes tags; missing ones are not an error.
    pub async fn untag_resource(
        &self,
        caller: &Caller,
        key: &KeyRef,
        tag_keys: Vec<String>,
        audit: AuditFn<'_>,
    ) -> Result<(), Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsUntagResource)
            .await?;
        check_state(&key, Need::NotPendingDeletion)?;
        self.store()
            .delete_tags(&key.id(), &tag_keys, self.append(&audit(&key)))
            .await?;
        Ok(())
    }

    /// ListResourceTags.
    pub async fn list_resource_tags(
        &self,
        caller: &Caller,
        key: &KeyRef,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Tag>, Error> {
        let key = self
            .resolve_for_management(caller, key, Action::KmsListResourceTags)
            .await?;
        let after = match marker {
            Some(m) => Some(
                decode_marker(m).ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?,
            ),
            None => None,
        };
        let mut items = self
            .store()
            .list_tags(&key.id(), after.as_deref(), limit + 1)
            .await?;
        let next_marker = page_marker(&mut items, limit, |t| t.key.clone());
        Ok(Page { items, next_marker })
    }
}
