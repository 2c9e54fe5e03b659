//! The effect of a policy statement, `Allow` or `Deny`.
//!
//! A leaf of its own because both the document (which parses it) and the principal matcher
//! (for which an account principal in a `Deny` covers the whole account) need it.

use std::fmt;

/// The effect of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}
