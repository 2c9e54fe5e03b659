//! The LookupEvents request, validated: its one lookup attribute (and how it narrows a store
//! query or matches an event) and its time range.

use kinko_api::{self as wire, ErrorCode};
use kinko_core::{AuditFilter, KeyId, KeyRef};

use crate::errors::ApiError;

/// Longest `AttributeValue` (model).
const MAX_ATTRIBUTE_VALUE: usize = 2_000;
/// The resource type of every resource Kinko records.
pub(super) const KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";

/// The one lookup attribute of a request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Attribute {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

pub(super) fn invalid_attributes(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidLookupAttributesException, message)
}

pub(super) fn attribute(
    list: Option<Vec<wire::LookupAttribute>>,
) -> Result<Option<Attribute>, ApiError> {
    let list = list.unwrap_or_default();
    if list.len() > 1 {
        return Err(invalid_attributes(format!(
            "You can specify only one lookup attribute; the request has {}.",
            list.len()
        )));
    }
    let Some(a) = list.into_iter().next() else {
        return Ok(None);
    };
    let key = a
        .attribute_key
        .ok_or_else(|| invalid_attributes("AttributeKey is required."))?;
    let value = a
        .attribute_value
        .ok_or_else(|| invalid_attributes("AttributeValue is required."))?;
    let n = value.chars().count();
    if n == 0 || n > MAX_ATTRIBUTE_VALUE {
        return Err(invalid_attributes(format!(
            "AttributeValue must be 1 to {MAX_ATTRIBUTE_VALUE} characters long."
        )));
    }
    Ok(Some(match key.as_str() {
        "EventId" => Attribute::EventId(value),
        "EventName" => Attribute::EventName(value),
        "ReadOnly" => match value.to_ascii_lowercase().as_str() {
            "true" => Attribute::ReadOnly(true),
            "false" => Attribute::ReadOnly(false),
            _ => {
                return Err(invalid_attributes(
                    "The value of the ReadOnly attribute must be true or false.",
                ));
            }
        },
        "Username" => Attribute::Username(value),
        "ResourceType" => Attribute::ResourceType(value),
        "ResourceName" => Attribute::ResourceName(value),
        "EventSource" => Attribute::EventSource(value),
        "AccessKeyId" => Attribute::AccessKeyId(value),
        other => {
            let shown: String = other.chars().take(64).collect();
            return Err(invalid_attributes(format!(
                "Invalid AttributeKey '{shown}': it must be one of EventId, EventName, ReadOnly, \
                 Username, ResourceType, ResourceName, EventSource, AccessKeyId."
            )));
        }
    }))
}

impl Attribute {
    pub(super) fn name_and_value(&self) -> (&'static str, String) {
        match self {
            Attribute::EventId(v) => ("EventId", v.clone()),
            Attribute::EventName(v) => ("EventName", v.clone()),
            Attribute::ReadOnly(v) => ("ReadOnly", v.to_string()),
            Attribute::Username(v) => ("Username", v.clone()),
            Attribute::ResourceType(v) => ("ResourceType", v.clone()),
            Attribute::ResourceName(v) => ("ResourceName", v.clone()),
            Attribute::EventSource(v) => ("EventSource", v.clone()),
            Attribute::AccessKeyId(v) => ("AccessKeyId", v.clone()),
        }
    }

    /// Puts what the store indexes into `filter`. `false` when no event can match (Kinko's
    /// events only ever name KMS keys as resources).
    pub(super) fn push_down(&self, filter: &mut AuditFilter) -> bool {
        match self {
            Attribute::EventId(v) => filter.event_id = Some(v.clone()),
            Attribute::EventName(v) => filter.event_name = Some(v.clone()),
            Attribute::ReadOnly(v) => filter.read_only = Some(*v),
            Attribute::AccessKeyId(v) => filter.access_key_id = Some(v.clone()),
            Attribute::ResourceType(v) if v == KEY_RESOURCE_TYPE => filter.names_a_key = true,
            Attribute::ResourceType(_) => return false,
            Attribute::ResourceName(v) => match resource_key_id(v) {
                Some(id) => filter.key_id = Some(id),
                None => return false,
            },
            Attribute::Username(v) => filter.user_name = Some(v.clone()),
            Attribute::EventSource(v) => filter.event_source = Some(v.clone()),
        }
        true
    }

    /// What the store filter could not check: a ResourceName given as an ARN names the key the
    /// store matched by id, and must be the ARN the event shows.
    pub(super) fn matches(&self, resources: &[wire::TrailResource]) -> bool {
        match self {
            Attribute::ResourceName(v) => {
                KeyId::parse(v).is_some() || resources.iter().any(|r| &r.resource_name == v)
            }
            _ => true,
        }
    }
}

/// The key a ResourceName names: a key id or a key ARN.
pub(super) fn resource_key_id(value: &str) -> Option<KeyId> {
    match KeyRef::parse(value) {
        Ok(KeyRef::Id(id)) => Some(id),
        Ok(KeyRef::Arn(arn)) => Some(arn.key_id),
        _ => None,
    }
}

/// Milliseconds bounds from epoch-second bounds, compared at the second the record shows
/// (`eventTime` has whole seconds): an event is in range when its second is.
pub(super) fn time_bounds(
    start: Option<f64>,
    end: Option<f64>,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    for t in [start, end].into_iter().flatten() {
        if !t.is_finite() {
            return Err(ApiError::new(
                ErrorCode::InvalidTimeRangeException,
                "StartTime and EndTime must be finite epoch seconds.",
            ));
        }
    }
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ApiError::new(
            ErrorCode::InvalidTimeRangeException,
            "The start time must be at or before the end time.",
        ));
    }
    // `as` saturates for values beyond i64.
    let from = start.map(|s| (s.ceil() as i64).saturating_mul(1000));
    let to = end.map(|e| (e.floor() as i64).saturating_mul(1000).saturating_add(999));
    Ok((from, to))
}
