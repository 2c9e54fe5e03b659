//! The event lookup: reading the trail newest first for one page of the caller's account's
//! events in the caller's region, within a scan budget.

use std::collections::HashMap;

use kinko_api::{self as wire, ErrorCode};
use kinko_core::{AccessKeyId, AuditCursor, AuditEvent, AuditFilter, Caller, Kms};

use super::request::{Attribute, attribute, time_bounds};
use super::response::{resources, trail_event};
use super::token::{decode_token, encode_token, fingerprint};
use crate::errors::{ApiError, from_core};
use crate::json::encode;

/// `MaxResults` when the request has none (and the most it may ask for).
const MAX_RESULTS: i64 = 50;
/// Events read from the store per query.
const SCAN_BATCH: usize = 200;
/// Events read at most for one page.
pub(super) const SCAN_BUDGET: usize = 5_000;

/// Decides whether an event belongs to the caller's account and region, remembering access keys
/// looked up.
struct Visibility<'a> {
    kms: &'a Kms,
    caller: &'a Caller,
    keys: HashMap<String, bool>,
}

impl Visibility<'_> {
    async fn visible(&mut self, event: &AuditEvent) -> Result<bool, ApiError> {
        // CloudTrail is regional: a region's LookupEvents returns the events of requests made
        // through that region (their `awsRegion`), as on AWS.
        if record_region(&event.draft.record) != Some(self.caller.region.as_str()) {
            return Ok(false);
        }
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

/// The `awsRegion` of a canonical record; `None` when it has none (or is not a record).
fn record_region(record: &[u8]) -> Option<&str> {
    #[derive(serde::Deserialize)]
    struct Region<'a> {
        #[serde(rename = "awsRegion", borrow)]
        region: Option<&'a str>,
    }
    serde_json::from_slice::<Region<'_>>(record).ok()?.region
}

/// A LookupEvents request, validated: everything [`lookup_events`] needs before it reads the
/// trail.
#[derive(Debug)]
pub(crate) struct Validated {
    attribute: Option<Attribute>,
    from: Option<i64>,
    to: Option<i64>,
    limit: usize,
    insight: bool,
    fp: String,
    cursor: Option<AuditCursor>,
}

/// Checks a LookupEvents request and decodes its NextToken (pure: no store, no clock).
pub(crate) fn validate(
    caller: &Caller,
    r: wire::LookupEventsRequest,
) -> Result<Validated, ApiError> {
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

    Ok(Validated {
        attribute,
        from,
        to,
        limit,
        insight,
        fp,
        cursor,
    })
}

pub(super) async fn lookup_events(
    kms: &Kms,
    caller: &Caller,
    r: wire::LookupEventsRequest,
) -> Result<Vec<u8>, ApiError> {
    let Validated {
        attribute,
        from,
        to,
        limit,
        insight,
        fp,
        cursor,
    } = validate(caller, r)?;
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
pub(super) async fn scan(
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
            let wanted = attribute.is_none_or(|a| a.matches(&resources))
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
