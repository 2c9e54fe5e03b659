//! Resource tags on keys.

use kinko_api as wire;

use super::op::{Call, Descriptor, KmsRequest, Reply, handler};
use crate::convert as c;
use crate::facts::Parameters;
use crate::json::encode;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::changes("TagResource", handler!(tag_resource)),
    Descriptor::changes("UntagResource", handler!(untag_resource)),
    Descriptor::reads("ListResourceTags", handler!(list_resource_tags)),
];

impl KmsRequest for wire::TagResourceRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            tags: self.tags.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::UntagResourceRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            tag_keys: self.tag_keys.as_deref(),
            ..Parameters::default()
        }
    }
}

impl KmsRequest for wire::ListResourceTagsRequest {
    fn facts(&self) -> Parameters<'_> {
        Parameters {
            key_id: self.key_id.as_deref(),
            ..Parameters::default()
        }
    }
}

/// `TagResource`.
pub(super) async fn tag_resource(cx: Call<'_>, r: wire::TagResourceRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let tags = c::tags(c::required(r.tags, "tags")?)?;
    cx.kms
        .tag_resource(&cx.caller, &key_ref, tags, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `UntagResource`.
pub(super) async fn untag_resource(cx: Call<'_>, r: wire::UntagResourceRequest) -> Reply {
    let audit = cx.audit();
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let keys = c::required(r.tag_keys, "tagKeys")?;
    for k in &keys {
        c::string_len(k, "tagKeys.member", 1, 128)?;
    }
    cx.kms
        .untag_resource(&cx.caller, &key_ref, keys, &audit)
        .await
        .map_err(cx.core())?;
    encode(&wire::Empty {})
}

/// `ListResourceTags`.
pub(super) async fn list_resource_tags(cx: Call<'_>, r: wire::ListResourceTagsRequest) -> Reply {
    let key_ref = c::key_ref(&c::required(r.key_id, "keyId")?, "keyId")?;
    let limit = c::limit(r.limit, 50, 50)?;
    let page = cx
        .kms
        .list_resource_tags(&cx.caller, &key_ref, limit, c::marker(r.marker.as_deref())?)
        .await
        .map_err(cx.core())?;
    encode(&wire::ListResourceTagsResponse {
        tags: Some(
            page.items
                .into_iter()
                .map(|t| wire::TagEntry {
                    tag_key: Some(t.key),
                    tag_value: Some(t.value),
                })
                .collect(),
        ),
        truncated: Some(page.next_marker.is_some()),
        next_marker: page.next_marker,
    })
}
