//! What an operator configures for the `pkcs11` provider: which module, which token, which PIN,
//! which key. Kept apart so that its `Debug` can be checked to never show the PIN.

use std::path::PathBuf;

use kinko_crypto::SecretBytes;

/// The label the root key gets when Kinko generates it.
pub const DEFAULT_KEY_LABEL: &str = "kinko-root-v1";

/// Sessions a root key opens on the token at most when opened with
/// [`crate::Pkcs11RootKey::open`]; callers beyond it wait for a session to come back. Hardware
/// tokens limit sessions per application, so this stays small.
pub const DEFAULT_MAX_SESSIONS: usize = 4;

/// Where the root key lives and how to reach it.
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (for SoftHSM2 on Debian: `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// Label of the token. Tokens are always looked up by label, never by slot number: SoftHSM
    /// renumbers slots after a token is initialised.
    pub token_label: String,
    /// The user PIN (bytes, so that tokens with non-UTF-8 PINs work).
    pub pin: SecretBytes,
    /// Label of the root key object on the token ([`DEFAULT_KEY_LABEL`] unless configured).
    pub key_label: String,
}

impl Pkcs11Config {
    /// A configuration with the default key label.
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        pin: SecretBytes,
    ) -> Self {
        Pkcs11Config {
            module: module.into(),
            token_label: token_label.into(),
            pin,
            key_label: DEFAULT_KEY_LABEL.to_owned(),
        }
    }
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"[REDACTED]")
            .field("key_label", &self.key_label)
            .finish()
    }
}
