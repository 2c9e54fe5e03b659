//! Zeroizing, redacted containers for secret bytes (key material, data keys, plaintexts).

use zeroize::{Zeroize, Zeroizing};

/// Secret bytes: zeroized on drop, `Debug` prints only the length, no `Serialize`, no `Clone`
/// by accident (cloning is explicit through [`SecretBytes::duplicate`]).
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; the vector is wiped when this value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret. The caller remains responsible for its own copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret bytes. Named so that every use is visible in review.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access for in-place decryption inside this crate.
    pub(crate) fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Shortens the secret in place (the cut bytes are wiped first).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.0.len() {
            if let Some(tail) = self.0.get_mut(len..) {
                tail.zeroize();
            }
            self.0.truncate(len);
        }
    }

    /// Number of secret bytes (not secret itself).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An explicit copy, zeroized independently.
    pub fn duplicate(&self) -> Self {
        SecretBytes::from_slice(&self.0)
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.0.len())
    }
}

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from_slice(b"hunter2-hunter2");
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104"), "byte values leaked: {shown}");
        assert!(shown.contains("REDACTED"));
    }
}
