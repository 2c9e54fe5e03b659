//! `kinko-audit` is the offline side of Kinko's audit trail: everything about the trail that
//! never sees HTTP. It holds the canonical record encoding (`record`), sealing and pruning
//! (`seal`) with the audit signing key (`signing`), the operator's selection (`select`),
//! `kinko audit query` and `tail` (`tail`), `export` in CloudTrail's log-file layout (`layout`
//! is shared with the verifier), and `verify`, split by what it checks.
//!
//! Invariants:
//! - No HTTP: this crate depends on no web framework and not on `kinko-server`. The server hosts
//!   the writer (records built from requests, the group commit, the sealer timer) and calls in
//!   here; the `kinko` binary opens an installation's store and calls in here.
//! - Storage only through the `kinko_core::Store` contract: no SQL, so every backend is verified
//!   by the same code.
//! - A record's bytes are canonical JSON ([`canonical`]) everywhere they are hashed, signed or
//!   re-derived.

mod export;
mod layout;
mod record;
mod seal;
mod select;
mod signing;
mod tail;
mod trail_error;
pub mod verify;

pub use export::{ExportError, ExportReport, ensure_new_export_dir, export, export_installation};
pub use record::{EVENT_VERSION, canonical, iso8601};
pub use seal::{prune, seal};
pub use select::{AuditSelection, SelectionError};
pub use signing::{
    PUBLIC_KEY_FILE, PublicKeyError, SigningKeyError, load_signing_key, public_key_from_pem,
    rewrap_signing_key,
};
pub use tail::{query, tail};
pub use trail_error::TrailError;
pub use verify::{
    BreakKind, ChainReport, Verdict, VerifyBreak, VerifyError, VerifyReport, verify, verify_chains,
    verify_export, verify_export_dir, verify_installation,
};
