//! In-process tests of Kinko's HTTP surface: the AWS JSON 1.1 protocol, SigV4 authentication,
//! every error code a KMS operation can produce, pagination, wire formats, and what reaches the
//! data directory. Every request goes through `harness::Kinko` (`router(state).oneshot`, no
//! socket) with a clock the test controls.
//!
//! Where AWS's behaviour is not certain (`[?]` in `kms-reference.md`), a test asserts the
//! reference's suggestion and says so.

mod at_rest;
mod audit_parameters;
mod auth;
mod authz;
mod dry_run;
mod errors;
mod fuzz_corpus;
mod grants;
mod harness;
mod iam;
mod iam_core;
mod key_specs;
mod lifecycle;
mod microbench;
mod pagination;
mod protocol;
mod quotas;
mod secrets_debug;
mod validation;
mod wire;
