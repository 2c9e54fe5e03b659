//! Wire shapes of CloudTrail's LookupEvents (JSON 1.1, botocore `cloudtrail` 2013-11-01), the one
//! CloudTrail operation Kinko serves. Same conventions as the KMS shapes: every request member
//! is optional (the server decides what a missing one means), absent response members are left
//! out, timestamps are epoch seconds as JSON numbers.

use serde::{Deserialize, Serialize};

/// A `LookupAttribute`: one filter of LookupEvents.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    /// `EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`, `ResourceName`,
    /// `EventSource` or `AccessKeyId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_key: Option<String>,
    /// The value to match (1–2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_value: Option<String>,
}

/// LookupEvents input (serialized, absent members left out, for its audit record).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsRequest {
    /// At most one filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_attributes: Option<Vec<LookupAttribute>>,
    /// Events at or after this time (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::wire::seconds")]
    pub start_time: Option<f64>,
    /// Events at or before this time (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::wire::seconds")]
    pub end_time: Option<f64>,
    /// `insight` (the only value the model defines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_category: Option<String>,
    /// 1–50, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    /// The token of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A `Resource` of an event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailResource {
    /// E.g. `AWS::KMS::Key`.
    pub resource_type: String,
    /// E.g. the key ARN.
    pub resource_name: String,
}

/// An `Event` of LookupEvents.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrailEvent {
    /// CloudTrail event id.
    pub event_id: String,
    /// The operation.
    pub event_name: String,
    /// `"true"` or `"false"` (a string, as CloudTrail sends it).
    pub read_only: String,
    /// The access key id the request was signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Epoch seconds.
    pub event_time: f64,
    /// E.g. `kms.amazonaws.com`.
    pub event_source: String,
    /// The caller's user name (`root` for the account's root principal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Resources the event concerns.
    pub resources: Vec<TrailResource>,
    /// The CloudTrail record as a JSON string.
    pub cloud_trail_event: String,
}

/// LookupEvents output.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsResponse {
    /// Newest first.
    pub events: Vec<TrailEvent>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
