//! The one integration-test binary of `kinko-policy`.
//!
//! Most cases are data: `tests/data/*.json` hold policies, request contexts and the expected
//! decision (or the expected parse error), run through one harness (`harness.rs`). The Rust
//! modules beside it cover what data files cannot express well: the explanation text, the size
//! limit, builder helpers and the named-principal listing.

mod api;
mod data;
mod harness;
mod oracle;
