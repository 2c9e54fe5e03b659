//! Symmetric ciphertext format v1 (`design.md` §3): the blob names its key and key-material
//! version so that Decrypt works without a KeyId, and the whole header is authenticated.
//!
//! ```text
//! magic 'K' | version 0x01 | key id (16) | material id (32) | nonce (32) | iv (12) | ciphertext (n) | tag (16)
//! derived key = SP 800-108 counter-mode HMAC-SHA256(material, label, context = nonce)
//! AAD         = header (everything before the ciphertext) ‖ canonical encryption context
//! ```
//! A fresh 32-byte nonce per message gives a fresh AES key per message, which removes the
//! 2^32-messages bound of random 96-bit GCM IVs under one key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hmac;

use crate::{CryptoError, SecretBytes, fill_random, kdf::sp800_108_hmac_sha256};

/// First two bytes of every v1 blob.
pub const FORMAT_V1: [u8; 2] = [b'K', 0x01];
/// Length of the key id field (UUID bytes).
pub const KEY_ID_LEN: usize = 16;
/// Length of the key-material id field.
pub const MATERIAL_ID_LEN: usize = 32;
const NONCE_LEN: usize = 32;
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Length of the authenticated cleartext header.
pub const HEADER_LEN: usize = 2 + KEY_ID_LEN + MATERIAL_ID_LEN + NONCE_LEN + IV_LEN;
/// Bytes a v1 blob adds to its plaintext.
pub const MAX_PLAINTEXT_OVERHEAD: usize = HEADER_LEN + TAG_LEN;
const KDF_LABEL: &[u8] = b"kinko/v1/symmetric-default";

/// What a blob's cleartext header says about where it came from. Not yet authenticated: only
/// a successful [`DataProtectionKey::open`] proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobHeader {
    /// The key that (claims to have) encrypted the blob.
    pub key_id: [u8; KEY_ID_LEN],
    /// The key-material version inside that key.
    pub material_id: [u8; MATERIAL_ID_LEN],
}

/// Reads the header of a v1 blob. Any structural problem is [`CryptoError::Decrypt`], like every
/// other reason a blob does not open.
pub fn parse_header(blob: &[u8]) -> Result<BlobHeader, CryptoError> {
    if blob.len() < HEADER_LEN + TAG_LEN || blob.get(..2) != Some(&FORMAT_V1[..]) {
        return Err(CryptoError::Decrypt);
    }
    let mut key_id = [0u8; KEY_ID_LEN];
    let mut material_id = [0u8; MATERIAL_ID_LEN];
    key_id.copy_from_slice(blob.get(2..2 + KEY_ID_LEN).ok_or(CryptoError::Decrypt)?);
    material_id.copy_from_slice(
        blob.get(2 + KEY_ID_LEN..2 + KEY_ID_LEN + MATERIAL_ID_LEN)
            .ok_or(CryptoError::Decrypt)?,
    );
    Ok(BlobHeader {
        key_id,
        material_id,
    })
}

/// Canonical encoding of an encryption context for use as AAD: pairs sorted by key (bytewise),
/// each key and value length-prefixed (u32 big-endian) UTF-8, after a u32 pair count. An empty
/// context and no context encode the same.
pub fn encode_context<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut sorted: Vec<(&str, &str)> = pairs.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::with_capacity(
        4 + sorted
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>(),
    );
    out.extend_from_slice(&(sorted.len() as u32).to_be_bytes());
    for (k, v) in sorted {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// One key version's symmetric material, prepared for Encrypt/Decrypt. Holds the HMAC key
/// schedule (not the raw bytes) so that per-request work is one KDF call and one AES-GCM call.
pub struct DataProtectionKey {
    prf: hmac::Key,
}

impl std::fmt::Debug for DataProtectionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataProtectionKey([REDACTED])")
    }
}

impl DataProtectionKey {
    /// Prepares 32 bytes of SYMMETRIC_DEFAULT material.
    pub fn new(material: &SecretBytes) -> Result<Self, CryptoError> {
        if material.len() != 32 {
            return Err(CryptoError::InvalidInput(
                "symmetric material must be 32 bytes",
            ));
        }
        Ok(DataProtectionKey {
            prf: hmac::Key::new(hmac::HMAC_SHA256, material.expose()),
        })
    }

    /// Encrypts `plaintext` into a v1 blob naming `key_id` and `material_id`, binding
    /// `context_aad` (from [`encode_context`]).
    pub fn seal(
        &self,
        key_id: &[u8; KEY_ID_LEN],
        material_id: &[u8; MATERIAL_ID_LEN],
        context_aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut randomness = [0u8; NONCE_LEN + IV_LEN];
        fill_random(&mut randomness)?;
        let (nonce, iv) = randomness.split_at(NONCE_LEN);
        self.seal_with(key_id, material_id, nonce, iv, context_aad, plaintext)
    }

    fn seal_with(
        &self,
        key_id: &[u8; KEY_ID_LEN],
        material_id: &[u8; MATERIAL_ID_LEN],
        nonce: &[u8],
        iv: &[u8],
        context_aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        blob.extend_from_slice(&FORMAT_V1);
        blob.extend_from_slice(key_id);
        blob.extend_from_slice(material_id);
        blob.extend_from_slice(nonce);
        blob.extend_from_slice(iv);
        let aead = self.message_key(nonce)?;
        let iv = Nonce::try_assume_unique_for_key(iv).map_err(|_| CryptoError::Unspecified)?;
        let mut aad = Vec::with_capacity(HEADER_LEN + context_aad.len());
        aad.extend_from_slice(&blob);
        aad.extend_from_slice(context_aad);
        let mut body = plaintext.to_vec();
        aead.seal_in_place_append_tag(iv, Aad::from(&aad[..]), &mut body)
            .map_err(|_| CryptoError::Unspecified)?;
        blob.extend_from_slice(&body);
        Ok(blob)
    }

    /// Opens a v1 blob. The caller has already matched the header to this key version; any
    /// failure is [`CryptoError::Decrypt`].
    pub fn open(&self, blob: &[u8], context_aad: &[u8]) -> Result<SecretBytes, CryptoError> {
        parse_header(blob)?;
        let (header, body) = blob.split_at(HEADER_LEN);
        let nonce = header
            .get(2 + KEY_ID_LEN + MATERIAL_ID_LEN..2 + KEY_ID_LEN + MATERIAL_ID_LEN + NONCE_LEN)
            .ok_or(CryptoError::Decrypt)?;
        let iv = header
            .get(HEADER_LEN - IV_LEN..)
            .ok_or(CryptoError::Decrypt)?;
        let aead = self.message_key(nonce).map_err(|_| CryptoError::Decrypt)?;
        let iv = Nonce::try_assume_unique_for_key(iv).map_err(|_| CryptoError::Decrypt)?;
        let mut aad = Vec::with_capacity(HEADER_LEN + context_aad.len());
        aad.extend_from_slice(header);
        aad.extend_from_slice(context_aad);
        let mut buf = SecretBytes::new(body.to_vec());
        let len = aead
            .open_in_place(iv, Aad::from(&aad[..]), buf.expose_mut())
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn message_key(&self, nonce: &[u8]) -> Result<LessSafeKey, CryptoError> {
        let derived = sp800_108_hmac_sha256(&self.prf, KDF_LABEL, nonce, 32)?;
        let unbound = UnboundKey::new(&AES_256_GCM, derived.expose())
            .map_err(|_| CryptoError::Unspecified)?;
        Ok(LessSafeKey::new(unbound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::hex::decode(s).expect("hex literal")
    }
    fn to_hex(b: &[u8]) -> String {
        crate::hex::encode(b)
    }
    fn key() -> DataProtectionKey {
        DataProtectionKey::new(&SecretBytes::new((0u8..32).collect()))
            .unwrap_or_else(|_| panic!("key"))
    }

    const KEY_ID: [u8; 16] = [0x11; 16];
    const MATERIAL_ID: [u8; 32] = [0x22; 32];

    /// Golden vector pinning format v1: material 00..1f, key id 11.., material id 22..,
    /// nonce 33.., iv 44.., context {"purpose":"golden","a":"b"}, plaintext "kinko v1".
    /// Every format ever shipped must keep decrypting: never change this constant.
    const GOLDEN_V1: &str = include_str!("../tests/vectors/ciphertext_v1.hex");

    fn golden_context() -> Vec<u8> {
        encode_context([("purpose", "golden"), ("a", "b")])
    }

    #[test]
    fn golden_v1_blob_is_stable_and_opens() {
        let blob = key()
            .seal_with(
                &KEY_ID,
                &MATERIAL_ID,
                &[0x33; 32],
                &[0x44; 12],
                &golden_context(),
                b"kinko v1",
            )
            .unwrap_or_default();
        assert_eq!(to_hex(&blob), GOLDEN_V1.trim(), "format v1 changed");
        let opened = key()
            .open(&hex(GOLDEN_V1.trim()), &golden_context())
            .map(|p| p.expose().to_vec());
        assert_eq!(opened, Ok(b"kinko v1".to_vec()));
        let header = parse_header(&blob).unwrap_or(BlobHeader {
            key_id: [0; 16],
            material_id: [0; 32],
        });
        assert_eq!(header.key_id, KEY_ID);
        assert_eq!(header.material_id, MATERIAL_ID);
    }

    #[test]
    fn round_trip_and_every_tamper_fails_the_same_way() {
        let ctx = encode_context([("k", "v")]);
        let blob = key()
            .seal(&KEY_ID, &MATERIAL_ID, &ctx, b"secret")
            .unwrap_or_default();
        assert_eq!(blob.len(), b"secret".len() + MAX_PLAINTEXT_OVERHEAD);
        assert_eq!(
            key().open(&blob, &ctx).map(|p| p.expose().to_vec()),
            Ok(b"secret".to_vec())
        );
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                key().open(&bad, &ctx).map(|_| ()),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
        assert_eq!(
            key().open(&blob, &encode_context([("k", "V")])).map(|_| ()),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            key().open(&blob, &encode_context([])).map(|_| ()),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            key().open(&blob[..blob.len() - 1], &ctx).map(|_| ()),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            key().open(b"short", &ctx).map(|_| ()),
            Err(CryptoError::Decrypt)
        );
        let other = DataProtectionKey::new(&SecretBytes::new(vec![9; 32]))
            .unwrap_or_else(|_| panic!("key"));
        assert_eq!(
            other.open(&blob, &ctx).map(|_| ()),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn context_encoding_is_order_independent_and_unambiguous() {
        assert_eq!(
            encode_context([("a", "1"), ("b", "2")]),
            encode_context([("b", "2"), ("a", "1")])
        );
        assert_ne!(encode_context([("ab", "c")]), encode_context([("a", "bc")]));
        assert_eq!(encode_context([]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn two_encryptions_differ() {
        let a = key()
            .seal(&KEY_ID, &MATERIAL_ID, &[], b"same")
            .unwrap_or_default();
        let b = key()
            .seal(&KEY_ID, &MATERIAL_ID, &[], b"same")
            .unwrap_or_default();
        assert_ne!(a, b);
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "DataProtectionKey([REDACTED])");
    }
}
