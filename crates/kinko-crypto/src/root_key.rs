//! The root of trust: the key that wraps every key version's material before it is stored.
//! Providers (file, passphrase, PKCS#11) implement [`RootKey`]; this crate supplies the software
//! implementation used by the file provider, and the caller does the file I/O.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use crate::{CryptoError, SecretBytes, fill_random};

const WRAP_VERSION: u8 = 0x01;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes a wrap adds to the material it wraps.
pub const WRAPPED_OVERHEAD: usize = 1 + IV_LEN + TAG_LEN;

/// Wraps and unwraps key material. Implementations keep the root key itself out of reach
/// (in memory for software roots, inside the token for an HSM).
pub trait RootKey: Send + Sync + std::fmt::Debug {
    /// Encrypts `material`, binding `aad` (which names the key version the material belongs to).
    fn wrap(&self, material: &SecretBytes, aad: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Decrypts what [`RootKey::wrap`] produced with the same `aad`.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes, CryptoError>;
    /// The provider's name as recorded in the data directory (`file`, `passphrase`, `pkcs11`).
    fn provider(&self) -> &'static str;
    /// A stable identifier of this root key, recorded beside everything it wraps so that a
    /// store can say which root it needs. It reveals nothing about the key.
    fn id(&self) -> String;
}

/// An AES-256-GCM root key held in process memory.
pub struct SoftwareRootKey {
    key: LessSafeKey,
    provider: &'static str,
    id: String,
}

impl std::fmt::Debug for SoftwareRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareRootKey({}, [REDACTED])", self.provider)
    }
}

impl SoftwareRootKey {
    /// Builds a root key from 32 secret bytes; `provider` names where they came from.
    pub fn new(key: &SecretBytes, provider: &'static str) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::InvalidInput("root key must be 32 bytes"));
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| CryptoError::Unspecified)?;
        // HMAC is a PRF: its output under the root key identifies the key and reveals nothing of it.
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.expose()),
            b"kinko/root-id/v1",
        );
        let hex = crate::hex::encode(&tag.as_ref()[..8]);
        Ok(SoftwareRootKey {
            key: LessSafeKey::new(unbound),
            provider,
            id: format!("{provider}:{hex}"),
        })
    }
}

impl RootKey for SoftwareRootKey {
    fn wrap(&self, material: &SecretBytes, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv)?;
        let mut out = Vec::with_capacity(WRAPPED_OVERHEAD + material.len());
        out.push(WRAP_VERSION);
        out.extend_from_slice(&iv);
        let mut body = material.expose().to_vec();
        let sealed = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(aad),
            &mut body,
        );
        if sealed.is_err() {
            zeroize::Zeroize::zeroize(&mut body);
            return Err(CryptoError::Unspecified);
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes, CryptoError> {
        if wrapped.len() < WRAPPED_OVERHEAD || wrapped.first() != Some(&WRAP_VERSION) {
            return Err(CryptoError::Decrypt);
        }
        let iv = wrapped.get(1..1 + IV_LEN).ok_or(CryptoError::Decrypt)?;
        let iv = Nonce::try_assume_unique_for_key(iv).map_err(|_| CryptoError::Decrypt)?;
        let mut buf =
            SecretBytes::from_slice(wrapped.get(1 + IV_LEN..).ok_or(CryptoError::Decrypt)?);
        let len = self
            .key
            .open_in_place(iv, Aad::from(aad), buf.expose_mut())
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn provider(&self) -> &'static str {
        self.provider
    }

    fn id(&self) -> String {
        self.id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> SoftwareRootKey {
        SoftwareRootKey::new(&SecretBytes::new(vec![5; 32]), "file")
            .unwrap_or_else(|_| panic!("root"))
    }

    #[test]
    fn wrap_round_trip_binds_aad() {
        let material = SecretBytes::new(vec![0xAB; 32]);
        let wrapped = root()
            .wrap(&material, b"arn|mid|SYMMETRIC_DEFAULT")
            .unwrap_or_default();
        assert_eq!(wrapped.len(), 32 + WRAPPED_OVERHEAD);
        assert!(
            !wrapped.windows(32).any(|w| w == material.expose()),
            "material appears in clear"
        );
        let back = root()
            .unwrap(&wrapped, b"arn|mid|SYMMETRIC_DEFAULT")
            .map(|s| s.expose().to_vec());
        assert_eq!(back, Ok(vec![0xAB; 32]));
        assert_eq!(
            root().unwrap(&wrapped, b"other").map(|_| ()),
            Err(CryptoError::Decrypt)
        );
        let other = SoftwareRootKey::new(&SecretBytes::new(vec![6; 32]), "file")
            .unwrap_or_else(|_| panic!("root"));
        assert_eq!(
            other
                .unwrap(&wrapped, b"arn|mid|SYMMETRIC_DEFAULT")
                .map(|_| ()),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", root()), "SoftwareRootKey(file, [REDACTED])");
    }
}
