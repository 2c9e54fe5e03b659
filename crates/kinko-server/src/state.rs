//! The state every request shares: the service, the authenticator, the audit writer and the
//! clocks. Its own file so that the protocol handlers can take it without importing the router.

use std::sync::Arc;

use kinko_core::Kms;

use crate::audit::AuditWriter;
use crate::auth::Authenticator;

/// Shared state of the server.
#[derive(Debug)]
pub struct AppState {
    /// The service.
    pub kms: Arc<Kms>,
    /// SigV4 verification with its signing-key cache.
    pub auth: Authenticator,
    /// Where audit records of requests that change nothing go.
    pub audit: AuditWriter,
    /// Region recorded for requests that fail before their credential scope is known.
    pub default_region: String,
    /// The clock SigV4 timestamps are checked against: the service's own, except under
    /// `insecure_test_clock`, where clients keep signing with the host's real time.
    pub signature_clock: Arc<dyn kinko_core::Clock>,
    /// AWS's request quotas, per account and region.
    pub quotas: Arc<crate::quota::Quotas>,
    /// Secrets Manager rotation functions: Lambda ARN → HTTP URL.
    pub rotation_functions: Arc<std::collections::BTreeMap<String, String>>,
    /// The bound on requests in progress.
    pub in_flight: crate::inflight::InFlight,
    /// The audit signing key's public half (32 raw bytes), for verifying the chains on demand.
    pub audit_public_key: Vec<u8>,
    /// The configured audit retention in days (`None`: kept until removed by hand).
    pub audit_retention_days: Option<u32>,
}
