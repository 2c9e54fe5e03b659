//! CloudTrail's JSON 1.1 protocol on the same server (SigV4 service `cloudtrail`): LookupEvents
//! over the audit trail, so that `aws cloudtrail lookup-events` reads Kinko's events.
//!
//! A caller sees the events of its own account: those its account's principals made, and those
//! that failed authentication while naming one of its account's access keys (a bad signature
//! is attributable to the key it claims, never to a principal), in the region it signs for (each
//! event belongs to the region of the request that made it, its `awsRegion`, as CloudTrail's
//! trails are regional). The one lookup attribute becomes a store filter, answered from the store's index
//! (schema v9) without decoding events that cannot match; the account and region are checked per
//! event while the trail is read newest first, at most `lookup::SCAN_BUDGET` events per page, so that
//! a lookup over a long trail answers in bounded time (possibly with a short page and a
//! NextToken, as CloudTrail itself does).

mod lookup;
mod request;
mod response;
mod token;

use kinko_api::{self as wire, ErrorCode};
use kinko_core::{Caller, Kms};

use self::lookup::lookup_events;
pub(crate) use self::lookup::validate;
use crate::errors::ApiError;
use crate::json::decode;

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

/// Runs a CloudTrail operation; sets `parameters` to the request parameters its record shows.
pub async fn dispatch(
    kms: &Kms,
    caller: &Caller,
    operation: &str,
    body: &[u8],
    parameters: &mut Option<serde_json::Value>,
) -> Result<Vec<u8>, ApiError> {
    match operation {
        "LookupEvents" => {
            // Parsed once, before authorization so that its record shows the parameters; a
            // body that does not parse is refused only after authorization, as before.
            let request = decode::<wire::LookupEventsRequest>(body);
            if let Ok(r) = &request
                && !crate::json::is_blank(body)
            {
                *parameters = crate::audit::request_parameters(r, &[]);
            }
            kms.authorize_in_account(caller, kinko_core::Action::CloudTrailLookupEvents, "*")
                .await
                .map_err(|e| crate::errors::from_core(e, ""))?;
            lookup_events(kms, caller, request?).await
        }
        other if MODEL_OPERATIONS.contains(&other) => Err(ApiError::new(
            ErrorCode::UnsupportedOperationException,
            format!("CloudTrail operation {other} is not supported by Kinko."),
        )),
        _ => Err(ApiError::new(ErrorCode::UnknownOperationException, "")),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod in_process;
