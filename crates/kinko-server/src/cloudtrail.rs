//! CloudTrail's JSON 1.1 protocol on the same server (SigV4 service `cloudtrail`): LookupEvents
//! over the audit trail, so that `aws cloudtrail lookup-events` reads Kinko's events.
//!
//! A caller sees the events of its own account: those its account's principals made, and those
//! that failed authentication while naming one of its account's access keys (a bad signature
//! is attributable to the key it claims, never to a principal). Events of every region are
//! returned. The one lookup attribute becomes a store filter where the store indexes it
//! (EventId, EventName, ReadOnly, AccessKeyId, ResourceName); the others, and the account, are
//! checked per event while the trail is read newest first, at most [`SCAN_BUDGET`] events per
//! page, so that a selective lookup over a long trail answers in bounded time (possibly with a
//! short page and a NextToken, as CloudTrail itself does).

use std::collections::HashMap;

use base64::Engine;
use kinko_api::{self as wire, ErrorCode};
use kinko_core::{AccessKeyId, AuditCursor, AuditEvent, AuditFilter, Caller, KeyId, KeyRef, Kms};

use crate::errors::{ApiError, from_core};

/// The `X-Amz-Target` prefix of CloudTrail.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// Every operation of the CloudTrail model (botocore 1.44.8). Kinko serves LookupEvents; the
/// others answer `UnsupportedOperationException` by name.
const MODEL_OPERATIONS: &[&str] = &[
    "AddTags",
    "CancelQuery",
    "CreateChannel",
    "CreateDashboard",
    "CreateEventDataStore",
    "CreateTrail",
    "DeleteChannel",
    "DeleteDashboard",
    "DeleteEventDataStore",
    "DeleteResourcePolicy",
    "DeleteTrail",
    "DeregisterOrganizationDelegatedAdmin",
    "DescribeQuery",
    "DescribeTrails",
    "DisableFederation",
    "EnableFederation",
    "GenerateQuery",
    "GetChannel",
    "GetDashboard",
    "GetEventConfiguration",
    "GetEventDataStore",
    "GetEventSelectors",
    "GetImport",
    "GetInsightSelectors",
    "GetQueryResults",
    "GetResourcePolicy",
    "GetTrail",
    "GetTrailStatus",
    "ListChannels",
    "ListDashboards",
    "ListEventDataStores",
    "ListImportFailures",
    "ListImports",
    "ListInsightsData",
    "ListInsightsMetricData",
    "ListPublicKeys",
    "ListQueries",
    "ListTags",
    "ListTrails",
    "LookupEvents",
    "PutEventConfiguration",
    "PutEventSelectors",
    "PutInsightSelectors",
    "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin",
    "RemoveTags",
    "RestoreEventDataStore",
    "SearchSampleQueries",
    "StartDashboardRefresh",
    "StartEventDataStoreIngestion",
    "StartImport",
    "StartLogging",
    "StartQuery",
    "StopEventDataStoreIngestion",
    "StopImport",
    "StopLogging",
    "UpdateChannel",
    "UpdateDashboard",
    "UpdateEventDataStore",
    "UpdateTrail",
];

/// `MaxResults` when the request has none (and the most it may ask for).
const MAX_RESULTS: i64 = 50;
/// Events read from the store per query.
const SCAN_BATCH: usize = 200;
/// Events read at most for one page.
const SCAN_BUDGET: usize = 5_000;
/// Longest `AttributeValue` (model).
const MAX_ATTRIBUTE_VALUE: usize = 2_000;
/// The resource type of every resource Kinko records.
const KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";
/// Version prefix of NextToken.
const TOKEN_VERSION: &str = "ct1";

/// Runs a CloudTrail operation.
pub async fn dispatch(
    kms: &Kms,
    caller: &Caller,
    operation: &str,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    match operation {
        "LookupEvents" => {
            kms.authorize_in_account(caller, kinko_core::Action::CloudTrailLookupEvents, "*")
                .await
                .map_err(|e| crate::errors::from_core(e, ""))?;
            lookup_events(kms, caller, body).await
        }
        other if MODEL_OPERATIONS.contains(&other) => Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            format!("CloudTrail operation {other} is not supported by Kinko."),
        )),
        _ => Err(ApiError::new(ErrorCode::UnknownOperationException, "")),
    }
}

use crate::protocol::{decode, encode};

/// The one lookup attribute of a request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attribute {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

fn invalid_attributes(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidLookupAttributesException, message)
}

fn attribute(list: Option<Vec<wire::LookupAttribute>>) -> Result<Option<Attribute>, ApiError> {
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
    fn name_and_value(&self) -> (&'static str, String) {
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
    fn push_down(&self, filter: &mut AuditFilter) -> bool {
        match self {
            Attribute::EventId(v) => filter.event_id = Some(v.clone()),
            Attribute::EventName(v) => filter.event_name = Some(v.clone()),
            Attribute::ReadOnly(v) => filter.read_only = Some(*v),
            Attribute::AccessKeyId(v) => filter.access_key_id = Some(v.clone()),
            Attribute::ResourceType(v) => return v == KEY_RESOURCE_TYPE,
            Attribute::ResourceName(v) => match resource_key_id(v) {
                Some(id) => filter.key_id = Some(id),
                None => return false,
            },
            Attribute::Username(_) | Attribute::EventSource(_) => {}
        }
        true
    }

    /// What the store filter could not check.
    fn matches(&self, event: &AuditEvent, resources: &[wire::TrailResource]) -> bool {
        match self {
            Attribute::Username(v) => {
                event.draft.principal_arn.as_deref().map(user_name).as_ref() == Some(v)
            }
            Attribute::EventSource(v) => &event.draft.event_source == v,
            Attribute::ResourceType(_) => event.draft.key_id.is_some(),
            Attribute::ResourceName(v) => {
                event.draft.key_id.is_some()
                    && (KeyId::parse(v).is_some()
                        || resources.iter().any(|r| &r.resource_name == v))
            }
            Attribute::EventId(_)
            | Attribute::EventName(_)
            | Attribute::ReadOnly(_)
            | Attribute::AccessKeyId(_) => true,
        }
    }
}

/// The key a ResourceName names: a key id or a key ARN.
fn resource_key_id(value: &str) -> Option<KeyId> {
    match KeyRef::parse(value) {
        Ok(KeyRef::Id(id)) => Some(id),
        Ok(KeyRef::Arn(arn)) => Some(arn.key_id),
        _ => None,
    }
}

/// CloudTrail's `Username`: the last segment of the principal ARN (`root` for the root user).
fn user_name(principal_arn: &str) -> String {
    principal_arn
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(principal_arn)
        .to_owned()
}

/// Milliseconds bounds from epoch-second bounds, compared at the second the record shows
/// (`eventTime` has whole seconds): an event is in range when its second is.
fn time_bounds(
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

/// Ties a NextToken to the caller's account and the request's filters, so that a token is only
/// good for the query that produced it.
fn fingerprint(
    caller: &Caller,
    attribute: Option<&Attribute>,
    start: Option<f64>,
    end: Option<f64>,
) -> String {
    let (name, value) = attribute.map_or(("", String::new()), Attribute::name_and_value);
    let text = format!(
        "{}\n{name}\n{value}\n{:?}\n{:?}",
        caller.account,
        start.map(f64::to_bits),
        end.map(f64::to_bits)
    );
    kinko_core::hex(&kinko_crypto::sha256(text.as_bytes())[..8])
}

fn encode_token(fingerprint: &str, cursor: &AuditCursor) -> String {
    let (time, chain, seq) = cursor;
    let body = format!("{fingerprint}\n{time}\n{seq}\n{chain}");
    let text = format!("{TOKEN_VERSION}\n{}\n{body}", token_check(&body));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A checksum over the token's content, so that a truncated or altered token is refused (not a
/// secret: whatever cursor a token names, a caller only ever sees its own account's events).
fn token_check(body: &str) -> String {
    kinko_core::hex(&kinko_crypto::sha256(body.as_bytes())[..8])
}

fn decode_token(token: &str, fingerprint: &str) -> Result<AuditCursor, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidNextTokenException,
            "The NextToken is invalid, or was issued for a request with other parameters.",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (version, rest) = text.split_once('\n').ok_or_else(invalid)?;
    let (check, body) = rest.split_once('\n').ok_or_else(invalid)?;
    if version != TOKEN_VERSION || check != token_check(body) {
        return Err(invalid());
    }
    let parts: Vec<&str> = body.splitn(4, '\n').collect();
    let [fp, time, seq, chain] = parts[..] else {
        return Err(invalid());
    };
    if fp != fingerprint || chain.is_empty() {
        return Err(invalid());
    }
    let time = time.parse::<i64>().map_err(|_| invalid())?;
    let seq = seq.parse::<i64>().map_err(|_| invalid())?;
    Ok((time, chain.to_owned(), seq))
}

/// Decides whether an event belongs to the caller's account, remembering access keys looked up.
struct Visibility<'a> {
    kms: &'a Kms,
    caller: &'a Caller,
    keys: HashMap<String, bool>,
}

impl Visibility<'_> {
    async fn visible(&mut self, event: &AuditEvent) -> Result<bool, ApiError> {
        if let Some(account) = &event.draft.account {
            return Ok(account == &self.caller.account);
        }
        // Not authenticated: the account of the access key it claimed, if that key exists.
        let Some(claimed) = &event.draft.access_key_id else {
            return Ok(false);
        };
        if let Some(known) = self.keys.get(claimed) {
            return Ok(*known);
        }
        let ours = match AccessKeyId::parse(claimed) {
            Some(id) => self
                .kms
                .store()
                .get_access_key(&id)
                .await
                .map_err(|e| from_core(e.into(), ""))?
                .is_some_and(|k| k.account == self.caller.account),
            None => false,
        };
        self.keys.insert(claimed.clone(), ours);
        Ok(ours)
    }
}

fn resources(event: &AuditEvent) -> Vec<wire::TrailResource> {
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

fn trail_event(event: &AuditEvent, resources: Vec<wire::TrailResource>) -> wire::TrailEvent {
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

async fn lookup_events(kms: &Kms, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let r: wire::LookupEventsRequest = decode(body)?;
    let attribute = attribute(r.lookup_attributes)?;
    let (from, to) = time_bounds(r.start_time, r.end_time)?;
    let limit = match r.max_results {
        None => MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::new(
                ErrorCode::InvalidMaxResultsException,
                format!("MaxResults {n} is invalid: it must be from 1 to {MAX_RESULTS}."),
            ));
        }
    };
    let limit = usize::try_from(limit).unwrap_or(1);
    let insight = match r.event_category.as_deref() {
        None => false,
        Some("insight") => true,
        Some(other) => {
            let shown: String = other.chars().take(64).collect();
            return Err(ApiError::new(
                ErrorCode::InvalidEventCategoryException,
                format!("Invalid EventCategory '{shown}': the only category is insight."),
            ));
        }
    };
    let fp = fingerprint(caller, attribute.as_ref(), r.start_time, r.end_time);
    let cursor = r
        .next_token
        .as_deref()
        .map(|t| decode_token(t, &fp))
        .transpose()?;

    let mut filter = AuditFilter {
        from: from.map(kinko_core::UnixMillis),
        to: to.map(kinko_core::UnixMillis),
        ..AuditFilter::default()
    };
    let possible = attribute.as_ref().is_none_or(|a| a.push_down(&mut filter));
    // Kinko has no Insights events; a filter no Kinko event can match finds nothing.
    if insight || !possible {
        return encode(&wire::LookupEventsResponse::default());
    }

    let (events, next) = scan(
        kms,
        caller,
        &filter,
        attribute.as_ref(),
        cursor,
        limit,
        SCAN_BUDGET,
    )
    .await?;
    encode(&wire::LookupEventsResponse {
        events,
        next_token: next.map(|c| encode_token(&fp, &c)),
    })
}

/// Reads the trail newest first from `cursor` until `limit` events match (and one more shows
/// that another page exists), the trail ends, or `budget` events have been read. Returns the
/// page and where the next one starts.
async fn scan(
    kms: &Kms,
    caller: &Caller,
    filter: &AuditFilter,
    attribute: Option<&Attribute>,
    mut cursor: Option<AuditCursor>,
    limit: usize,
    budget: usize,
) -> Result<(Vec<wire::TrailEvent>, Option<AuditCursor>), ApiError> {
    let batch_size = SCAN_BATCH.min(budget).max(1);
    let mut visibility = Visibility {
        kms,
        caller,
        keys: HashMap::new(),
    };
    let mut page: Vec<(AuditCursor, wire::TrailEvent)> = Vec::with_capacity(limit);
    let mut scanned = 0usize;
    loop {
        let batch = kms
            .store()
            .query_audit(filter, cursor.as_ref(), batch_size)
            .await
            .map_err(|e| from_core(e.into(), ""))?;
        let exhausted = batch.len() < batch_size;
        for event in batch {
            scanned += 1;
            let position: AuditCursor = (event.draft.time.0, event.chain.clone(), event.seq);
            let resources = resources(&event);
            let wanted = attribute.is_none_or(|a| a.matches(&event, &resources))
                && visibility.visible(&event).await?;
            if wanted {
                if page.len() == limit {
                    // One more exists: the next page starts after the last one returned.
                    let next = page.last().map(|(c, _)| c.clone());
                    return Ok((page.into_iter().map(|(_, e)| e).collect(), next));
                }
                page.push((position.clone(), trail_event(&event, resources)));
            }
            cursor = Some(position);
        }
        if exhausted {
            return Ok((page.into_iter().map(|(_, e)| e).collect(), None));
        }
        if scanned >= budget {
            // Bounded work per page: the next page carries on where this scan stopped.
            return Ok((page.into_iter().map(|(_, e)| e).collect(), cursor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: &str) -> Caller {
        Caller::new(
            kinko_core::AccountId::parse(account).expect("an account id"),
            kinko_core::Region::parse("us-east-1").expect("a region"),
            format!("arn:aws:iam::{account}:root"),
        )
    }

    #[test]
    fn user_names_are_the_last_segment_of_the_principal() {
        assert_eq!(user_name("arn:aws:iam::111122223333:root"), "root");
        assert_eq!(user_name("arn:aws:iam::111122223333:user/alice"), "alice");
        assert_eq!(
            user_name("arn:aws:iam::111122223333:user/division/team/bob"),
            "bob"
        );
    }

    #[test]
    fn time_bounds_compare_whole_seconds_and_reject_inverted_ranges() {
        assert_eq!(
            time_bounds(Some(10.0), Some(12.0)).expect("a range"),
            (Some(10_000), Some(12_999))
        );
        assert_eq!(
            time_bounds(Some(10.2), Some(12.7)).expect("a range"),
            (Some(11_000), Some(12_999))
        );
        assert_eq!(time_bounds(None, None).expect("no range"), (None, None));
        let e = time_bounds(Some(13.0), Some(12.0)).expect_err("inverted");
        assert_eq!(e.code, ErrorCode::InvalidTimeRangeException);
        assert_eq!(
            time_bounds(Some(12.0), Some(12.0)).expect("a point"),
            (Some(12_000), Some(12_999))
        );
    }

    #[test]
    fn tokens_round_trip_and_bind_to_the_query() {
        let me = caller("111122223333");
        let fp = fingerprint(
            &me,
            Some(&Attribute::EventName("Encrypt".into())),
            None,
            None,
        );
        let cursor: AuditCursor = (1_767_225_600_123, "node-1".into(), 42);
        let token = encode_token(&fp, &cursor);
        assert_eq!(decode_token(&token, &fp).expect("valid"), cursor);

        let other_query = fingerprint(
            &me,
            Some(&Attribute::EventName("Decrypt".into())),
            None,
            None,
        );
        let other_account = fingerprint(
            &caller("444455556666"),
            Some(&Attribute::EventName("Encrypt".into())),
            None,
            None,
        );
        let other_time = fingerprint(
            &me,
            Some(&Attribute::EventName("Encrypt".into())),
            Some(1.0),
            None,
        );
        for fp2 in [other_query, other_account, other_time] {
            assert_ne!(fp2, fp);
            let e = decode_token(&token, &fp2).expect_err("another query");
            assert_eq!(e.code, ErrorCode::InvalidNextTokenException);
        }
        for bad in ["", "not a token!", "Y3Qx", &token[..token.len() - 3]] {
            let e = decode_token(bad, &fp).expect_err(bad);
            assert_eq!(e.code, ErrorCode::InvalidNextTokenException, "{bad:?}");
        }
    }

    #[test]
    fn attributes_are_validated() {
        let one = |k: &str, v: &str| {
            Some(vec![wire::LookupAttribute {
                attribute_key: Some(k.into()),
                attribute_value: Some(v.into()),
            }])
        };
        assert_eq!(
            attribute(one("ReadOnly", "TRUE")).expect("ok"),
            Some(Attribute::ReadOnly(true))
        );
        assert_eq!(attribute(None).expect("ok"), None);
        assert_eq!(attribute(Some(vec![])).expect("ok"), None);
        let bad = [
            one("ReadOnly", "yes"),
            one("Colour", "blue"),
            one("EventName", ""),
            one("EventName", &"x".repeat(2001)),
            Some(vec![wire::LookupAttribute::default()]),
            Some(vec![
                one("EventName", "Encrypt").unwrap_or_default().remove(0),
                one("EventName", "Decrypt").unwrap_or_default().remove(0),
            ]),
        ];
        for b in bad {
            let e = attribute(b).expect_err("invalid");
            assert_eq!(e.code, ErrorCode::InvalidLookupAttributesException);
        }
    }

    #[test]
    fn resource_names_are_key_ids_or_key_arns() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
        assert_eq!(
            resource_key_id(id).map(|k| k.to_string()).as_deref(),
            Some(id)
        );
        assert_eq!(
            resource_key_id(&arn).map(|k| k.to_string()).as_deref(),
            Some(id)
        );
        assert!(resource_key_id("alias/mine").is_none());
        assert!(resource_key_id("bucket-name").is_none());
        let mut f = AuditFilter::default();
        assert!(!Attribute::ResourceName("alias/mine".into()).push_down(&mut f));
        assert!(!Attribute::ResourceType("AWS::S3::Bucket".into()).push_down(&mut f));
        assert!(Attribute::ResourceType(KEY_RESOURCE_TYPE.into()).push_down(&mut f));
        assert_eq!(f, AuditFilter::default());
    }

    #[test]
    fn every_error_is_a_client_fault() {
        for code in [
            ErrorCode::InvalidLookupAttributesException,
            ErrorCode::InvalidTimeRangeException,
            ErrorCode::InvalidMaxResultsException,
            ErrorCode::InvalidNextTokenException,
            ErrorCode::InvalidEventCategoryException,
        ] {
            assert_eq!(code.status(), 400, "{code:?}");
        }
        assert!(MODEL_OPERATIONS.contains(&"LookupEvents"));
        assert_eq!(MODEL_OPERATIONS.len(), 60);
    }
}

/// LookupEvents through the whole stack: a real server on a temporary data directory, requests
/// signed and sent through the router in-process, a clock the test moves.
#[cfg(test)]
mod in_process {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use axum::body::Body;
    use http::{Request, StatusCode};
    use kinko_core::{Account, AccountId, Clock, UnixMillis};
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use crate::{Config, FileConfig, RootOptions, Server};

    const T0: i64 = 1_767_225_600_000;
    const HOST: &str = "kinko.test:7700";

    #[derive(Debug)]
    struct TestClock(AtomicI64);

    impl Clock for TestClock {
        fn now(&self) -> UnixMillis {
            UnixMillis(self.0.load(Ordering::SeqCst))
        }
    }

    struct Creds {
        id: String,
        secret: String,
    }

    struct Kinko {
        _dir: tempfile::TempDir,
        clock: Arc<TestClock>,
        server: Server,
        me: Creds,
    }

    struct Reply {
        status: StatusCode,
        body: Value,
        request_id: String,
    }

    impl Kinko {
        async fn start() -> Kinko {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let config = Config::resolve(
                FileConfig::default(),
                Some(dir.path().join("data")),
                Some("127.0.0.1:0".into()),
                Some("us-east-1".into()),
                None,
            )
            .expect("a config");
            let clock = Arc::new(TestClock(AtomicI64::new(T0)));
            let server = Server::open_with_clock(&config, &RootOptions::default(), clock.clone())
                .await
                .expect("open the server");
            let key = server.new_access_key.as_ref().expect("a first access key");
            let me = Creds {
                id: key.id.to_string(),
                secret: String::from_utf8(key.secret.expose().to_vec()).expect("text"),
            };
            Kinko {
                _dir: dir,
                clock,
                server,
                me,
            }
        }

        fn kms(&self) -> &kinko_core::Kms {
            &self.server.state.kms
        }

        async fn other_account(&self) -> Creds {
            let account = AccountId::parse("444455556666").expect("an account id");
            self.kms()
                .store()
                .create_account(&Account {
                    id: account.clone(),
                    created_at: UnixMillis(T0),
                })
                .await
                .expect("create an account");
            let key = self
                .kms()
                .create_access_key(&account, "arn:aws:iam::444455556666:root")
                .await
                .expect("an access key");
            Creds {
                id: key.id.to_string(),
                secret: String::from_utf8(key.secret.expose().to_vec()).expect("text"),
            }
        }

        async fn send(&self, target: &str, service: &str, body: &[u8], creds: &Creds) -> Reply {
            let headers: Vec<(&str, &str)> = vec![
                ("host", HOST),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", target),
            ];
            let params = kinko_sigv4::SignParams {
                access_key_id: &creds.id,
                secret_access_key: &creds.secret,
                session_token: None,
                region: "us-east-1",
                service,
                now_epoch_secs: self.clock.now().as_secs(),
            };
            let mut builder = Request::builder().method("POST").uri("/");
            for (n, v) in &headers {
                builder = builder.header(*n, *v);
            }
            for (n, v) in kinko_sigv4::sign("POST", "/", "", &headers, body, &params) {
                builder = builder.header(n, v);
            }
            let request = builder
                .header("content-length", body.len())
                .body(Body::from(body.to_vec()))
                .expect("a request");
            let response = crate::router(self.server.state.clone())
                .oneshot(request)
                .await
                .expect("the router never fails");
            let status = response.status();
            let request_id = response
                .headers()
                .get("x-amzn-requestid")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            let body = serde_json::from_slice(&bytes).expect("a JSON body");
            Reply {
                status,
                body,
                request_id,
            }
        }

        async fn kms_call(&self, op: &str, body: Value) -> Reply {
            let bytes = serde_json::to_vec(&body).expect("json");
            self.send(&format!("TrentService.{op}"), "kms", &bytes, &self.me)
                .await
        }

        async fn lookup_as(&self, body: Value, creds: &Creds) -> Reply {
            let bytes = serde_json::to_vec(&body).expect("json");
            self.send(
                &format!("{}LookupEvents", super::TARGET_PREFIX),
                "cloudtrail",
                &bytes,
                creds,
            )
            .await
        }

        async fn lookup(&self, body: Value) -> Value {
            let r = self.lookup_as(body, &self.me).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body
        }

        /// Every event a lookup finds, following NextToken.
        async fn lookup_all(&self, mut body: Value) -> Vec<Value> {
            let mut all = Vec::new();
            loop {
                let page = self.lookup(body.clone()).await;
                let events = page["Events"].as_array().expect("Events").clone();
                assert!(events.len() <= 50);
                all.extend(events);
                match page.get("NextToken") {
                    Some(t) => body["NextToken"] = t.clone(),
                    None => return all,
                }
            }
        }
    }

    fn request_ids(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let record: Value =
                    serde_json::from_str(e["CloudTrailEvent"].as_str().expect("CloudTrailEvent"))
                        .expect("record JSON");
                record["requestID"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn lookup_finds_events_by_each_attribute_newest_first() {
        let k = Kinko::start().await;
        let created = k.kms_call("CreateKey", json!({})).await;
        let arn = created.body["KeyMetadata"]["Arn"]
            .as_str()
            .expect("Arn")
            .to_owned();
        let key_id = created.body["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("KeyId")
            .to_owned();
        k.clock.0.fetch_add(2_000, Ordering::SeqCst);
        let enc = k
            .kms_call("Encrypt", json!({"KeyId": arn, "Plaintext": "aGVsbG8="}))
            .await;
        assert_eq!(enc.status, StatusCode::OK);

        let by_name = k
            .lookup(json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]}))
            .await;
        let events = by_name["Events"].as_array().expect("Events");
        assert_eq!(events.len(), 1, "{by_name}");
        let e = &events[0];
        assert_eq!(e["EventName"], "Encrypt");
        assert_eq!(e["ReadOnly"], "true");
        assert_eq!(e["EventSource"], "kms.amazonaws.com");
        assert_eq!(e["Username"], "root");
        assert_eq!(e["AccessKeyId"], k.me.id.as_str());
        assert_eq!(e["EventTime"].as_f64(), Some(((T0 + 2_000) / 1000) as f64));
        assert_eq!(
            e["Resources"],
            json!([{"ResourceType": "AWS::KMS::Key", "ResourceName": arn}])
        );
        assert!(by_name.get("NextToken").is_none());
        assert_eq!(request_ids(events), vec![enc.request_id.clone()]);
        let event_id = e["EventId"].as_str().expect("EventId").to_owned();

        for (key, value, expect) in [
            ("EventId", event_id.as_str(), 1),
            ("ResourceName", arn.as_str(), 2),
            ("ResourceName", key_id.as_str(), 2),
            ("ResourceType", "AWS::KMS::Key", 2),
            ("ResourceType", "AWS::S3::Bucket", 0),
            ("ResourceName", "alias/nothing", 0),
            ("ReadOnly", "false", 1),
            ("Username", "root", 2),
            ("Username", "alice", 0),
            ("EventSource", "kms.amazonaws.com", 2),
            ("EventSource", "s3.amazonaws.com", 0),
            ("AccessKeyId", k.me.id.as_str(), 2),
        ] {
            let found = k
                .lookup_all(
                    json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}),
                )
                .await;
            // Each lookup adds an event of its own (no resource, cloudtrail source): counted
            // only by the attributes that match LookupEvents itself.
            let own = found
                .iter()
                .filter(|e| e["EventName"] == "LookupEvents")
                .count();
            assert_eq!(found.len() - own, expect, "{key}={value}: {found:?}");
        }
        // Newest first, and the earlier lookups are there too.
        let all = k.lookup_all(json!({})).await;
        let times: Vec<f64> = all.iter().filter_map(|e| e["EventTime"].as_f64()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        assert_eq!(
            all.last().map(|e| e["EventName"].clone()),
            Some(json!("CreateKey"))
        );
        assert!(
            all.iter().any(|e| e["EventName"] == "LookupEvents"
                && e["EventSource"] == "cloudtrail.amazonaws.com")
        );
    }

    #[tokio::test]
    async fn pages_cover_every_event_once_and_tokens_are_checked() {
        let k = Kinko::start().await;
        let mut ids = Vec::new();
        for n in 0..7 {
            k.clock.0.fetch_add(1_000, Ordering::SeqCst);
            ids.push(
                k.kms_call("GenerateRandom", json!({"NumberOfBytes": 1 + n}))
                    .await
                    .request_id,
            );
        }
        let filter = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]});
        let mut body = filter.clone();
        body["MaxResults"] = json!(3);
        let first = k.lookup(body.clone()).await;
        assert_eq!(first["Events"].as_array().map(Vec::len), Some(3));
        let token = first["NextToken"].as_str().expect("a NextToken").to_owned();

        let mut seen = Vec::new();
        let mut page = first;
        let mut pages = 1;
        loop {
            seen.extend(request_ids(page["Events"].as_array().expect("Events")));
            let Some(t) = page.get("NextToken") else {
                break;
            };
            body["NextToken"] = t.clone();
            page = k.lookup(body.clone()).await;
            pages += 1;
        }
        assert_eq!(pages, 3);
        ids.reverse();
        assert_eq!(seen, ids, "every event once, newest first");

        // A token works only for the query that issued it.
        let mut other = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}]});
        other["NextToken"] = json!(token);
        let r = k.lookup_as(other, &k.me).await;
        assert_eq!(r.body["__type"], "InvalidNextTokenException", "{}", r.body);
        for bad in ["garbage", "", "Y3QxCmFiYwox"] {
            let r = k.lookup_as(json!({"NextToken": bad}), &k.me).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert_eq!(
                r.body["__type"], "InvalidNextTokenException",
                "{bad}: {}",
                r.body
            );
        }
    }

    #[tokio::test]
    async fn time_range_max_results_category_and_operations() {
        let k = Kinko::start().await;
        k.kms_call("GenerateRandom", json!({"NumberOfBytes": 8}))
            .await;
        k.clock.0.fetch_add(10_000, Ordering::SeqCst);
        let later = k
            .kms_call("GenerateRandom", json!({"NumberOfBytes": 8}))
            .await;
        let t0 = (T0 / 1000) as f64;
        let name = json!([{"AttributeKey": "EventName", "AttributeValue": "GenerateRandom"}]);

        let window = k
            .lookup(json!({"LookupAttributes": name, "StartTime": t0 + 5.0, "EndTime": t0 + 10.0}))
            .await;
        assert_eq!(
            request_ids(window["Events"].as_array().expect("Events")),
            vec![later.request_id]
        );
        let before = k
            .lookup(json!({"LookupAttributes": name, "EndTime": t0}))
            .await;
        assert_eq!(before["Events"].as_array().map(Vec::len), Some(1));
        let none = k
            .lookup(json!({"LookupAttributes": name, "StartTime": t0 + 11.0}))
            .await;
        assert_eq!(none["Events"], json!([]));

        for (body, code) in [
            (
                json!({"StartTime": t0 + 1.0, "EndTime": t0}),
                "InvalidTimeRangeException",
            ),
            (json!({"MaxResults": 0}), "InvalidMaxResultsException"),
            (json!({"MaxResults": 51}), "InvalidMaxResultsException"),
            (
                json!({"EventCategory": "Management"}),
                "InvalidEventCategoryException",
            ),
            (
                json!({"LookupAttributes": [{"AttributeKey": "Nope", "AttributeValue": "x"}]}),
                "InvalidLookupAttributesException",
            ),
            (json!({"MaxResults": "many"}), "SerializationException"),
        ] {
            let r = k.lookup_as(body.clone(), &k.me).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(r.body["__type"], code, "{body}: {}", r.body);
        }
        let insight = k.lookup(json!({"EventCategory": "insight"})).await;
        assert_eq!(insight, json!({"Events": []}));

        let unsupported = k
            .send(
                &format!("{}CreateTrail", super::TARGET_PREFIX),
                "cloudtrail",
                b"{}",
                &k.me,
            )
            .await;
        assert_eq!(unsupported.body["__type"], "UnsupportedOperationException");
        assert!(
            unsupported.body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("CreateTrail")
        );
        let unknown = k
            .send(
                &format!("{}MakeCoffee", super::TARGET_PREFIX),
                "cloudtrail",
                b"{}",
                &k.me,
            )
            .await;
        assert_eq!(unknown.body["__type"], "UnknownOperationException");
    }

    #[tokio::test]
    async fn each_account_sees_its_own_events_including_bad_signatures_with_its_keys() {
        let k = Kinko::start().await;
        let other = k.other_account().await;
        let mine = k
            .kms_call("GenerateRandom", json!({"NumberOfBytes": 4}))
            .await;
        let theirs = k
            .send(
                "TrentService.GenerateRandom",
                "kms",
                br#"{"NumberOfBytes":4}"#,
                &other,
            )
            .await;
        assert_eq!(theirs.status, StatusCode::OK);
        let forged = Creds {
            id: k.me.id.clone(),
            secret: "not-the-secret".into(),
        };
        let bad = k
            .send(
                "TrentService.GenerateRandom",
                "kms",
                br#"{"NumberOfBytes":4}"#,
                &forged,
            )
            .await;
        assert_eq!(bad.body["__type"], "InvalidSignatureException");

        let seen_by_me = request_ids(&k.lookup_all(json!({})).await);
        assert!(seen_by_me.contains(&mine.request_id));
        assert!(seen_by_me.contains(&bad.request_id));
        assert!(!seen_by_me.contains(&theirs.request_id));

        let r = k.lookup_as(json!({}), &other).await;
        assert_eq!(r.status, StatusCode::OK);
        let events = r.body["Events"].as_array().expect("Events");
        let seen_by_them = request_ids(events);
        assert!(seen_by_them.contains(&theirs.request_id));
        assert!(!seen_by_them.contains(&mine.request_id));
        assert!(!seen_by_them.contains(&bad.request_id));
        let theirs_event = events
            .iter()
            .find(|e| e["EventName"] == "GenerateRandom")
            .expect("their GenerateRandom");
        assert_eq!(theirs_event["Username"], "root");
        assert_eq!(theirs_event["Resources"], json!([]));
    }

    #[tokio::test]
    async fn a_scan_budget_gives_short_pages_that_still_cover_everything_once() {
        let k = Kinko::start().await;
        let mut ids = Vec::new();
        for _ in 0..9 {
            k.clock.0.fetch_add(1_000, Ordering::SeqCst);
            ids.push(
                k.kms_call("GenerateRandom", json!({"NumberOfBytes": 2}))
                    .await
                    .request_id,
            );
        }
        let caller = kinko_core::Caller::new(
            k.server
                .new_access_key
                .as_ref()
                .expect("a key")
                .account
                .clone(),
            kinko_core::Region::parse("us-east-1").expect("a region"),
            String::new(),
        );
        let filter = super::AuditFilter::default();
        let matching = super::Attribute::Username("root".into());
        let nobody = super::Attribute::Username("nobody".into());
        for (attribute, expected) in [(&matching, ids.len()), (&nobody, 0)] {
            let mut cursor = None;
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let (events, next) =
                    super::scan(k.kms(), &caller, &filter, Some(attribute), cursor, 2, 4)
                        .await
                        .expect("a page");
                assert!(events.len() <= 2);
                pages += 1;
                seen.extend(events.into_iter().map(|e| e.event_id));
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let distinct: std::collections::HashSet<_> = seen.iter().collect();
            assert_eq!(seen.len(), expected, "{attribute:?}");
            assert_eq!(distinct.len(), expected, "{attribute:?}");
            // 9 events read at most 4 at a time: the scan stopped early at least twice.
            assert!(pages >= 3, "{attribute:?}: {pages} pages");
        }
    }

    /// GetKeyLastUsage (a KMS operation) reads the same trail.
    #[tokio::test]
    async fn key_last_usage_and_usage_counts_come_from_the_trail() {
        let k = Kinko::start().await;
        let created = k.kms_call("CreateKey", json!({})).await;
        let md = &created.body["KeyMetadata"];
        let arn = md["Arn"].as_str().expect("Arn").to_owned();
        let key_id = md["KeyId"].as_str().expect("KeyId").to_owned();
        let fresh = k
            .kms_call("GetKeyLastUsage", json!({"KeyId": key_id}))
            .await;
        assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
        assert_eq!(fresh.body["KeyId"], arn.as_str());
        assert_eq!(fresh.body["KeyLastUsage"], json!({}));
        assert_eq!(fresh.body["KeyCreationDate"], md["CreationDate"]);
        assert_eq!(fresh.body["TrackingStartDate"], md["CreationDate"]);

        k.clock.0.fetch_add(3_000, Ordering::SeqCst);
        let enc = k
            .kms_call("Encrypt", json!({"KeyId": key_id, "Plaintext": "aGVsbG8="}))
            .await;
        k.clock.0.fetch_add(3_000, Ordering::SeqCst);
        let bad = k
            .kms_call(
                "Decrypt",
                json!({"KeyId": key_id, "CiphertextBlob": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let used = k.kms_call("GetKeyLastUsage", json!({"KeyId": arn})).await;
        let last = &used.body["KeyLastUsage"];
        assert_eq!(last["Operation"], "Encrypt", "{}", used.body);
        assert_eq!(last["KmsRequestId"], enc.request_id.as_str());
        assert_eq!(
            last["Timestamp"].as_f64(),
            Some((T0 + 3_000) as f64 / 1000.0)
        );
        let by_event = k
            .lookup(json!({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": last["CloudTrailEventId"]}]}))
            .await;
        assert_eq!(
            request_ids(by_event["Events"].as_array().expect("Events")),
            vec![enc.request_id]
        );

        let id = kinko_core::KeyId::parse(&key_id).expect("a key id");
        let counts = k.kms().key_usage_counts(&id).await.expect("counts");
        assert_eq!(counts, vec![("Encrypt".to_owned(), 1)]);

        k.kms_call(
            "CreateAlias",
            json!({"AliasName": "alias/used", "TargetKeyId": key_id}),
        )
        .await;
        let account = md["AWSAccountId"].as_str().expect("AWSAccountId");
        let alias_arn = format!("arn:aws:kms:us-east-1:{account}:alias/used");
        for via_alias in ["alias/used", alias_arn.as_str()] {
            let r = k
                .kms_call("GetKeyLastUsage", json!({"KeyId": via_alias}))
                .await;
            assert_eq!(
                r.body["__type"], "NotFoundException",
                "{via_alias}: {}",
                r.body
            );
        }
        let missing = k.kms_call("GetKeyLastUsage", json!({})).await;
        assert_eq!(missing.body["__type"], "ValidationException");
    }
}
