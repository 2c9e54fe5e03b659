//! RSA keys: PKCS#1 v1.5 and PSS signatures over a message or a caller's digest, and RSA-OAEP
//! (SHA-1 or SHA-256, MGF1 with the same hash, empty label), all through aws-lc-rs.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{
    KeyPair, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::{self, RsaEncoding, RsaParameters, UnparsedPublicKey};

use super::spec::{AsymmetricSpec, MessageKind, OaepAlgorithm, SigningAlgorithm};
use crate::random::system_random;
use crate::{CryptoError, SecretBytes};

/// The modulus size of an RSA spec, in bits.
pub(super) fn modulus_bits(spec: AsymmetricSpec) -> usize {
    match spec {
        AsymmetricSpec::Rsa3072 => 3072,
        AsymmetricSpec::Rsa4096 => 4096,
        _ => 2048,
    }
}

pub(super) fn generate(spec: AsymmetricSpec) -> Result<SecretBytes, CryptoError> {
    let size = match spec {
        AsymmetricSpec::Rsa3072 => KeySize::Rsa3072,
        AsymmetricSpec::Rsa4096 => KeySize::Rsa4096,
        _ => KeySize::Rsa2048,
    };
    let pair = KeyPair::generate(size)?;
    let der: Pkcs8V1Der<'static> = pair.as_der()?;
    Ok(SecretBytes::from_slice(der.as_ref()))
}

/// The signing encoding and the digest algorithm of an RSA signing algorithm.
fn encoding(
    alg: SigningAlgorithm,
) -> Option<(&'static dyn RsaEncoding, &'static digest::Algorithm)> {
    use SigningAlgorithm as A;
    Some(match alg {
        A::RsaPssSha256 => (&signature::RSA_PSS_SHA256, &digest::SHA256),
        A::RsaPssSha384 => (&signature::RSA_PSS_SHA384, &digest::SHA384),
        A::RsaPssSha512 => (&signature::RSA_PSS_SHA512, &digest::SHA512),
        A::RsaPkcs1Sha256 => (&signature::RSA_PKCS1_SHA256, &digest::SHA256),
        A::RsaPkcs1Sha384 => (&signature::RSA_PKCS1_SHA384, &digest::SHA384),
        A::RsaPkcs1Sha512 => (&signature::RSA_PKCS1_SHA512, &digest::SHA512),
        _ => return None,
    })
}

fn verification(alg: SigningAlgorithm) -> Option<&'static RsaParameters> {
    use SigningAlgorithm as A;
    Some(match alg {
        A::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
        A::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
        A::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
        A::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        A::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        A::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

fn oaep(alg: OaepAlgorithm) -> &'static aws_lc_rs::rsa::OaepAlgorithm {
    match alg {
        OaepAlgorithm::Sha1 => &OAEP_SHA1_MGF1SHA1,
        OaepAlgorithm::Sha256 => &OAEP_SHA256_MGF1SHA256,
    }
}

/// A parsed RSA private key, once as a signing key and once as an OAEP decryption key (aws-lc-rs
/// keeps the two apart), plus the public OAEP key.
pub(super) struct RsaKey {
    pair: KeyPair,
    decrypting: OaepPrivateDecryptingKey,
    encrypting: OaepPublicEncryptingKey,
}

impl RsaKey {
    pub(super) fn from_pkcs8(spec: AsymmetricSpec, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        const REJECTED: CryptoError = CryptoError::InvalidInput("not an RSA key of this spec");
        let pair = KeyPair::from_pkcs8(pkcs8).map_err(|_| REJECTED)?;
        if pair.public_modulus_len() * 8 != modulus_bits(spec) {
            return Err(REJECTED);
        }
        let private = PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|_| REJECTED)?;
        let encrypting = OaepPublicEncryptingKey::new(private.public_key())?;
        let decrypting = OaepPrivateDecryptingKey::new(private)?;
        Ok(RsaKey {
            pair,
            decrypting,
            encrypting,
        })
    }

    pub(super) fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        use aws_lc_rs::signature::KeyPair as _;
        let der = self.pair.public_key().as_der()?;
        Ok(der.as_ref().to_vec())
    }

    pub(super) fn sign(
        &self,
        alg: SigningAlgorithm,
        kind: MessageKind,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (padding, hash) = encoding(alg).ok_or(CryptoError::InvalidInput(
            "signing algorithm does not fit the key spec",
        ))?;
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        match kind {
            MessageKind::Raw => {
                self.pair
                    .sign(padding, &system_random(), message, &mut signature)?;
            }
            MessageKind::Digest => {
                let digest = Digest::import_less_safe(message, hash)
                    .map_err(|_| CryptoError::InvalidInput("digest length does not fit"))?;
                self.pair.sign_digest(padding, &digest, &mut signature)?;
            }
            MessageKind::ExternalMu => {
                return Err(CryptoError::InvalidInput(
                    "message type does not fit the signing algorithm",
                ));
            }
        }
        Ok(signature)
    }

    pub(super) fn max_oaep_plaintext(&self, alg: OaepAlgorithm) -> usize {
        self.encrypting
            .key_size_bytes()
            .saturating_sub(2 * alg.hash_len() + 2)
    }

    pub(super) fn encrypt_oaep(
        &self,
        alg: OaepAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if plaintext.len() > self.max_oaep_plaintext(alg) {
            return Err(CryptoError::InvalidInput(
                "plaintext too long for RSA-OAEP with this key",
            ));
        }
        let mut out = vec![0u8; self.encrypting.ciphertext_size()];
        let len = self
            .encrypting
            .encrypt(oaep(alg), plaintext, &mut out, None)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    pub(super) fn decrypt_oaep(
        &self,
        alg: OaepAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        let mut out = SecretBytes::new(vec![0u8; self.decrypting.min_output_size()]);
        let len = self
            .decrypting
            .decrypt(oaep(alg), ciphertext, out.expose_mut(), None)
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// Verifies an RSA signature with a public key (SPKI DER, checked by the caller).
pub(super) fn verify(
    public_key: &[u8],
    alg: SigningAlgorithm,
    kind: MessageKind,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let (Some(params), Some((_, hash))) = (verification(alg), encoding(alg)) else {
        return false;
    };
    let key = UnparsedPublicKey::new(params, public_key);
    match kind {
        MessageKind::Raw => key.verify(message, signature).is_ok(),
        MessageKind::Digest => match Digest::import_less_safe(message, hash) {
            Ok(digest) => key.verify_digest(&digest, signature).is_ok(),
            Err(_) => false,
        },
        MessageKind::ExternalMu => false,
    }
}
