//! The LookupEvents response: each stored audit event as CloudTrail's `Event`.

use kinko_api as wire;
use kinko_core::AuditEvent;

/// CloudTrail's `Username`: the last segment of the principal ARN (`root` for the root user).
pub(super) fn user_name(principal_arn: &str) -> String {
    kinko_core::user_name(principal_arn).to_owned()
}

pub(super) fn resources(event: &AuditEvent) -> Vec<wire::TrailResource> {
    if event.draft.key_id.is_none() {
        return Vec::new();
    }
    let record: serde_json::Value = serde_json::from_slice(&event.draft.record).unwrap_or_default();
    record
        .get("resources")
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    Some(wire::TrailResource {
                        resource_type: r.get("type")?.as_str()?.to_owned(),
                        resource_name: r.get("ARN")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn trail_event(
    event: &AuditEvent,
    resources: Vec<wire::TrailResource>,
) -> wire::TrailEvent {
    let d = &event.draft;
    wire::TrailEvent {
        event_id: d.event_id.clone(),
        event_name: d.event_name.clone(),
        read_only: d.read_only.to_string(),
        access_key_id: d.access_key_id.clone(),
        event_time: d.time.as_secs() as f64,
        event_source: d.event_source.clone(),
        username: d.principal_arn.as_deref().map(user_name),
        resources,
        cloud_trail_event: String::from_utf8_lossy(&d.record).into_owned(),
    }
}
