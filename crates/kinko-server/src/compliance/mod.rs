//! Compliance findings computed from a live installation, shared by the console's Compliance
//! page and `kinko report compliance`: key rotation, key policies that grant too much, unused
//! keys and disabled keys still called, imported material about to expire, the root-of-trust
//! kind, and the audit trail's integrity, sealing and retention, each mapped to the PCI DSS v4.0
//! requirement(s) and ISO/IEC 27001:2022 control it is evidence for.
//!
//! Findings name keys by ARN and quote policy statements' principals and actions; they never
//! read key material (no root of trust is used).

mod findings;
mod offline;
mod policy;
mod render;

pub(crate) use findings::{AuditCheck, Inputs, compute};
pub use offline::compliance_installation;
pub(crate) use render::fragment;
pub use render::{Report, to_html_document, to_json};

/// Errors computing a report.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The store failed.
    #[error("reading the store failed")]
    Store(#[source] kinko_core::StoreError),
    /// The store of the installation could not be opened.
    #[error(transparent)]
    Open(#[from] crate::StoreOpenError),
}
