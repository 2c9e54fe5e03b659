//! `kinko audit verify`: re-derives the audit trail's tamper evidence and names the first place
//! where it breaks. Split by what is checked: the chain of events in a store (`chain`), the
//! signed digests and prune anchors that seal it (`digests`), the files of an export (`export`),
//! and which public key an installation is verified with (`installation`); `report` holds the
//! verdict and break types all of them return.

mod chain;
mod digests;
mod export;
mod installation;
mod report;

pub use chain::{verify, verify_chains};
pub use export::{verify_export, verify_export_dir};
pub use installation::verify_installation;
pub use report::{BreakKind, ChainReport, Verdict, VerifyBreak, VerifyError, VerifyReport};
