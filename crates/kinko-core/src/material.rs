//! Key material in use: one prepared form per kind of key (AES data protection key, parsed
//! private key, HMAC key), built from the unwrapped bytes and cached per material version.

use kinko_crypto::{DataProtectionKey, MacKey, PrivateKey, SecretBytes};

use crate::{Error, KeySpec};

/// Unwrapped material, ready for use. Holds secrets: redacted `Debug` (each variant's own).
#[derive(Debug)]
pub(crate) enum Prepared {
    /// SYMMETRIC_DEFAULT.
    Symmetric(DataProtectionKey),
    /// RSA, ECC, Ed25519, ML-DSA, ML-KEM.
    Asymmetric(PrivateKey),
    /// HMAC_224..512.
    Mac(MacKey),
}

impl Prepared {
    /// Prepares a key's unwrapped material.
    pub(crate) fn new(spec: KeySpec, secret: &SecretBytes) -> Result<Prepared, Error> {
        if spec == KeySpec::SymmetricDefault {
            return Ok(Prepared::Symmetric(DataProtectionKey::new(secret)?));
        }
        if let Some(asymmetric) = spec.asymmetric() {
            return Ok(Prepared::Asymmetric(PrivateKey::from_stored(
                asymmetric,
                secret.expose(),
            )?));
        }
        if let Some(mac) = spec.mac_algorithm() {
            return Ok(Prepared::Mac(MacKey::new(mac.primitive(), secret.expose())));
        }
        Err(unsupported_spec(spec))
    }

    /// The AES key of a symmetric key.
    pub(crate) fn symmetric(&self) -> Result<&DataProtectionKey, Error> {
        match self {
            Prepared::Symmetric(k) => Ok(k),
            _ => Err(Error::Internal("material is not symmetric".into())),
        }
    }

    /// The private key of an asymmetric key.
    pub(crate) fn asymmetric(&self) -> Result<&PrivateKey, Error> {
        match self {
            Prepared::Asymmetric(k) => Ok(k),
            _ => Err(Error::Internal("material is not asymmetric".into())),
        }
    }

    /// The HMAC key of an HMAC key.
    pub(crate) fn mac(&self) -> Result<&MacKey, Error> {
        match self {
            Prepared::Mac(k) => Ok(k),
            _ => Err(Error::Internal("material is not an HMAC key".into())),
        }
    }
}

/// New material for a key of `spec`, in the form [`Prepared::new`] reads.
pub(crate) fn generate(spec: KeySpec) -> Result<SecretBytes, Error> {
    if spec == KeySpec::SymmetricDefault {
        return Ok(kinko_crypto::random_secret(32)?);
    }
    if let Some(asymmetric) = spec.asymmetric() {
        return Ok(kinko_crypto::generate_private_key(asymmetric)?);
    }
    if let Some(mac) = spec.mac_algorithm() {
        return Ok(kinko_crypto::generate_mac_key(mac.primitive())?);
    }
    Err(unsupported_spec(spec))
}

pub(crate) fn unsupported_spec(spec: KeySpec) -> Error {
    Error::UnsupportedOperation(format!(
        "KeySpec {spec} is only available in the AWS China Regions and is not supported by Kinko."
    ))
}
