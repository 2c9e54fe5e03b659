//! `kinko-policy` parses AWS-style policy documents (KMS key policies, IAM identity policies,
//! role trust policies) once into a compiled [`Policy`], and evaluates a compiled policy against a
//! [`RequestContext`] with no I/O.
//!
//! ```text
//! let policy = Policy::parse(json, PolicyKind::Key)?;        // at CreateKey / PutKeyPolicy
//! let eval = policy.evaluate(&ctx);                          // per request, pure
//! match eval.decision { Decision::ExplicitDeny => .., Decision::Allow => .., Decision::NotApplicable => .. }
//! eval.account_delegation                                    // key policy delegates to IAM?
//! ```
//!
//! Invariants:
//! - A document that parses is valid: evaluation cannot fail and never panics, whatever the
//!   request holds. Grammar errors surface at parse time as [`PolicyError::Malformed`], with the
//!   statement and element named.
//! - Deny by default: a policy allows only through a statement that applies; an applying `Deny`
//!   always wins within the policy.
//! - An account principal in an `Allow` statement is delegation to IAM, never a direct allow of
//!   the account's users and roles; this crate reports it, the caller combines it with identity
//!   policies and grants (that combination is deliberately not here).
//! - No clock, no storage, no network: `aws:CurrentTime` and every other value arrives in the
//!   context.
//! - JSON is read here because JSON is the policy language itself, not a transport.

mod condition;
mod context;
mod document;
mod effect;
mod error;
mod eval;
mod json;
mod pattern;
mod principal;
mod value;

pub use condition::ConditionFailure;
pub use context::{
    ConditionKeys, ContextValue, ContextValues, PrincipalKind, RequestContext, RequestPrincipal,
};
pub use document::{MAX_POLICY_BYTES, Policy, PolicyKind, PolicyVersion};
pub use effect::Effect;
pub use error::PolicyError;
pub use eval::{Decision, Evaluation, Mismatch, Outcome, StatementRef, StatementResult};
pub use principal::NamedPrincipal;
