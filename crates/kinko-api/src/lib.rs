//! `kinko-api` holds the AWS KMS JSON 1.1 wire shapes as serde types, named and cased exactly as
//! botocore's service model names them, and the table of error codes. No domain logic: values
//! here are unvalidated until `kinko-server` converts them into domain types.

mod blob;
mod cloudtrail;
mod error_code;
pub mod secrets;
mod wire;

pub use blob::Blob;
pub use cloudtrail::{
    LookupAttribute, LookupEventsRequest, LookupEventsResponse, TrailEvent, TrailResource,
};
pub use error_code::ErrorCode;
pub use wire::*;
