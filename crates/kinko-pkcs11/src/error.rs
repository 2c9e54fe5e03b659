//! Errors from opening the `pkcs11` root of trust. They are read by an operator at start-up, so
//! each says what was looked for and where; none carries the PIN or any key byte.

use std::path::PathBuf;

/// Why the PKCS#11 root key could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The module could not be loaded or initialised.
    #[error("cannot load PKCS#11 module {}: {reason}", module.display())]
    ModuleLoad {
        /// The configured module path.
        module: PathBuf,
        /// What the loader or `C_Initialize` said.
        reason: String,
    },
    /// No initialised token carries this label.
    #[error(
        "no initialised PKCS#11 token labelled {0:?} (tokens are matched by their exact label; \
         `softhsm2-util --show-slots` lists SoftHSM tokens)"
    )]
    TokenNotFound(String),
    /// The user login was refused (wrong PIN, locked PIN, PIN not initialised).
    #[error("PKCS#11 login failed: {0}")]
    Login(String),
    /// The token has no key with this label and creating it was not allowed.
    #[error(
        "no root key labelled {label:?} on PKCS#11 token {token:?} (it is generated only on the \
         first start; check the key label, or whether the token was re-initialised)"
    )]
    KeyNotFound {
        /// Token label.
        token: String,
        /// Key label.
        label: String,
    },
    /// A key with this label exists but must not be used as the root key.
    #[error(
        "the object labelled {label:?} on PKCS#11 token {token:?} cannot be the root key: {reason}"
    )]
    UnsuitableKey {
        /// Token label.
        token: String,
        /// Key label.
        label: String,
        /// Which property is wrong.
        reason: String,
    },
    /// Any other PKCS#11 failure, with the function and return value.
    #[error("PKCS#11 error: {0}")]
    Pkcs11(String),
}

/// A short operator-facing description of a cryptoki error: the function and the `CKR_` value
/// (cryptoki's own `Display` prints paragraphs of the specification).
pub(crate) fn describe(err: &cryptoki::error::Error) -> String {
    match err {
        cryptoki::error::Error::Pkcs11(rv, function) => format!("C_{function:?} returned {rv:?}"),
        other => other.to_string(),
    }
}
