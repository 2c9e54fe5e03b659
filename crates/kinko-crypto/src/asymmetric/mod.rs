//! Asymmetric keys: RSA, NIST and SECG elliptic curves, Ed25519, ML-DSA and ML-KEM, with the key
//! spec × algorithm × message type rules of AWS KMS (see `kms-reference.md` §3).
//!
//! A key is generated once into its storage form ([`generate_private_key`]), wrapped by the caller
//! under the root key, and parsed again into a [`PrivateKey`] that the caller caches per key
//! version. Everything a client can send (algorithm, message type, digest, ciphertext, peer key)
//! is checked here as well, so that a caller bug is an [`CryptoError::InvalidInput`], never a
//! panic.

mod der;
mod ec;
mod ed25519;
mod ffi;
mod imported;
mod mldsa;
mod mlkem;
mod rsa;
mod spec;

use crate::{CryptoError, SecretBytes};

pub(crate) use imported::normalize_pkcs8;
use spec::Family;
pub use spec::{AsymmetricSpec, MessageKind, OaepAlgorithm, SigningAlgorithm};

/// New private key material for `spec`, in Kinko's storage form. Every form is DER PKCS#8 v1
/// (`OneAsymmetricKey` version 0, no public key, no attributes):
/// - RSA: `rsaEncryption` with a PKCS#1 `RSAPrivateKey` (public exponent 65537);
/// - P-256/P-384/P-521/secp256k1: `id-ecPublicKey` with the named curve and an RFC 5915
///   `ECPrivateKey`;
/// - Ed25519: RFC 8410, the 32-byte seed (48 bytes in all; it is also the Ed25519ph key);
/// - ML-DSA: RFC 9881 seed form, `[0]` 32-byte seed ξ (54 bytes in all);
/// - ML-KEM: RFC 9935 seed form, `[0]` 64-byte seed d ‖ z (86 bytes in all).
///
/// These are the PKCS#8 documents that `GenerateDataKeyPair` returns and `ImportKeyMaterial`
/// takes, and they load in OpenSSL and Python `cryptography`.
pub fn generate_private_key(spec: AsymmetricSpec) -> Result<SecretBytes, CryptoError> {
    match spec.family() {
        Family::Rsa => rsa::generate(spec),
        Family::Ec => ec::generate(spec),
        Family::Ed25519 => ed25519::generate(),
        Family::MlDsa => mldsa::generate(spec),
        Family::MlKem => mlkem::generate(spec),
    }
}

/// A data key pair for `GenerateDataKeyPair`: the private key as PKCS#8 DER (as AWS returns it,
/// the same form as [`generate_private_key`]) and the public key as SubjectPublicKeyInfo DER.
///
/// AWS offers no ML-DSA data key pairs; the caller refuses those specs, this function does not.
pub fn generate_data_key_pair(spec: AsymmetricSpec) -> Result<(SecretBytes, Vec<u8>), CryptoError> {
    let private = generate_private_key(spec)?;
    let public = PrivateKey::from_stored(spec, private.expose())?
        .public_key_der()
        .to_vec();
    Ok((private, public))
}

/// Verifies `signature` with a public key given as SubjectPublicKeyInfo DER, which must be a key
/// of `spec` (for RSA, of exactly the spec's modulus size). False for any bad signature, key,
/// algorithm, message kind or length: this is the verification half of [`PrivateKey::verify`] for
/// callers that hold only a public key.
pub fn verify_with_public_key(
    spec: AsymmetricSpec,
    alg: SigningAlgorithm,
    kind: MessageKind,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    if check_signing(spec, alg, kind, message).is_err() {
        return false;
    }
    let Some(spki) = der::parse_spki(spki_der) else {
        return false;
    };
    match spec.family() {
        Family::Rsa => {
            spki.algorithm == der::OID_RSA
                && der::rsa_modulus_bits(spki.key) == Some(rsa::modulus_bits(spec))
                && rsa::verify(spki_der, alg, kind, message, signature)
        }
        Family::Ec => {
            spki.algorithm == der::OID_EC_PUBLIC_KEY
                && spki.curve == Some(ec::curve_oid(spec))
                && ec::verify(spec, spki_der, kind, message, signature)
        }
        Family::Ed25519 => {
            spki.algorithm == der::OID_ED25519
                && spki.no_parameters
                && ed25519::verify(spki.key, alg, message, signature)
        }
        Family::MlDsa => {
            spki.algorithm == mldsa::oid(spec)
                && spki.no_parameters
                && mldsa::verify(spec, spki.key, kind, message, signature)
        }
        Family::MlKem => false,
    }
}

/// Checks that `alg` and `kind` fit `spec` and that a digest or μ has the right length.
fn check_signing(
    spec: AsymmetricSpec,
    alg: SigningAlgorithm,
    kind: MessageKind,
    message: &[u8],
) -> Result<(), CryptoError> {
    if !spec.signing_algorithms().contains(&alg) {
        return Err(CryptoError::InvalidInput(
            "signing algorithm does not fit the key spec",
        ));
    }
    if !alg.accepts(kind) {
        return Err(CryptoError::InvalidInput(
            "message type does not fit the signing algorithm",
        ));
    }
    match kind {
        MessageKind::Raw => Ok(()),
        MessageKind::Digest if Some(message.len()) == alg.digest_len() => Ok(()),
        MessageKind::Digest => Err(CryptoError::InvalidInput(
            "digest length does not fit the signing algorithm",
        )),
        MessageKind::ExternalMu if message.len() == mldsa::MU_LEN => Ok(()),
        MessageKind::ExternalMu => Err(CryptoError::InvalidInput("external mu must be 64 bytes")),
    }
}

/// A parsed private key, ready to use. Parse once per key version and cache it: RSA parsing
/// checks the key and is slow. `Debug` shows the spec only; aws-lc and `ml-dsa` wipe their key
/// copies when this value drops.
pub struct PrivateKey {
    spec: AsymmetricSpec,
    public_key_der: Vec<u8>,
    inner: Inner,
}

enum Inner {
    Rsa(rsa::RsaKey),
    Ec(ec::EcKey),
    Ed25519(ed25519::EdKey),
    MlDsa(mldsa::MlDsaKey),
    MlKem(mlkem::MlKemKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({:?}, [REDACTED])", self.spec)
    }
}

impl PrivateKey {
    /// Parses key material in the storage form of [`generate_private_key`]. Material of another
    /// spec (another key type, curve, RSA size or ML parameter set) is refused with
    /// [`CryptoError::InvalidInput`].
    pub fn from_stored(spec: AsymmetricSpec, stored: &[u8]) -> Result<PrivateKey, CryptoError> {
        if !der::is_one_sequence(stored) {
            return Err(CryptoError::InvalidInput(
                "private key is not one DER PKCS#8 document",
            ));
        }
        let (inner, public_key_der) = match spec.family() {
            Family::Rsa => {
                let key = rsa::RsaKey::from_pkcs8(spec, stored)?;
                let der = key.public_key_der()?;
                (Inner::Rsa(key), der)
            }
            Family::Ec => {
                let key = ec::EcKey::from_pkcs8(spec, stored)?;
                let der = key.public_key_der()?;
                (Inner::Ec(key), der)
            }
            Family::Ed25519 => {
                let key = ed25519::EdKey::from_pkcs8(stored)?;
                let der = key.public_key_der()?;
                (Inner::Ed25519(key), der)
            }
            Family::MlDsa => {
                let key = mldsa::MlDsaKey::from_pkcs8(spec, stored)?;
                let der = key.public_key_der()?;
                (Inner::MlDsa(key), der)
            }
            Family::MlKem => {
                let key = mlkem::MlKemKey::from_pkcs8(spec, stored)?;
                let der = key.public_key_der();
                (Inner::MlKem(key), der)
            }
        };
        Ok(PrivateKey {
            spec,
            public_key_der,
            inner,
        })
    }

    /// The key spec.
    pub fn spec(&self) -> AsymmetricSpec {
        self.spec
    }

    /// The public key as DER SubjectPublicKeyInfo (RFC 5280), computed once at parse time.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_key_der
    }

    /// Signs `message`. RSA: PKCS#1 v1.5 or PSS (salt = hash length), modulus-sized. ECDSA: DER
    /// `SEQUENCE { r, s }` with the curve's hash. Ed25519: pure Ed25519 over a RAW message, or
    /// Ed25519ph (empty context) over a 64-byte SHA-512 DIGEST. ML-DSA: pure ML-DSA (empty
    /// context, hedged) over a RAW message, or over a 64-byte EXTERNAL_MU. A DIGEST is signed as
    /// given, without hashing it again.
    ///
    /// [`CryptoError::InvalidInput`] when the algorithm or message kind does not fit the spec or
    /// a digest or μ has the wrong length.
    pub fn sign(
        &self,
        alg: SigningAlgorithm,
        kind: MessageKind,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        check_signing(self.spec, alg, kind, message)?;
        match &self.inner {
            Inner::Rsa(key) => key.sign(alg, kind, message),
            Inner::Ec(key) => key.sign(kind, message),
            Inner::Ed25519(key) => key.sign(alg, message),
            Inner::MlDsa(key) => key.sign(kind, message),
            Inner::MlKem(_) => Err(CryptoError::InvalidInput(
                "signing algorithm does not fit the key spec",
            )),
        }
    }

    /// Verifies `signature` with this key's public half: the same algorithms and message kinds
    /// as [`PrivateKey::sign`]. False for a bad signature or any mismatch; never panics.
    pub fn verify(
        &self,
        alg: SigningAlgorithm,
        kind: MessageKind,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        if check_signing(self.spec, alg, kind, message).is_err() {
            return false;
        }
        match &self.inner {
            Inner::Rsa(_) => rsa::verify(&self.public_key_der, alg, kind, message, signature),
            Inner::Ec(_) => ec::verify(self.spec, &self.public_key_der, kind, message, signature),
            Inner::Ed25519(key) => ed25519::verify(key.public_key(), alg, message, signature),
            Inner::MlDsa(key) => key.verify(kind, message, signature),
            Inner::MlKem(_) => false,
        }
    }

    /// RSA-OAEP encryption with this key's public half (MGF1 with the same hash, empty label).
    /// [`CryptoError::InvalidInput`] for a non-RSA key or a plaintext longer than
    /// [`PrivateKey::max_oaep_plaintext`].
    pub fn encrypt_oaep(
        &self,
        alg: OaepAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::Rsa(key) => key.encrypt_oaep(alg, plaintext),
            _ => Err(CryptoError::InvalidInput("RSA-OAEP needs an RSA key")),
        }
    }

    /// RSA-OAEP decryption. Every failure, including a non-RSA key, is [`CryptoError::Decrypt`].
    pub fn decrypt_oaep(
        &self,
        alg: OaepAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        match &self.inner {
            Inner::Rsa(key) => key.decrypt_oaep(alg, ciphertext),
            _ => Err(CryptoError::Decrypt),
        }
    }

    /// The longest RSA-OAEP plaintext: k − 2·hLen − 2 bytes (RSA 2048: 214 with SHA-1, 190 with
    /// SHA-256; 3072: 342/318; 4096: 470/446). `None` for a non-RSA key.
    pub fn max_oaep_plaintext(&self, alg: OaepAlgorithm) -> Option<usize> {
        match &self.inner {
            Inner::Rsa(key) => Some(key.max_oaep_plaintext(alg)),
            _ => None,
        }
    }

    /// ECDH (P-256/P-384/P-521 only) with a peer public key given as SubjectPublicKeyInfo DER on
    /// the same curve: the raw shared secret, the x-coordinate (32/48/66 bytes).
    /// [`CryptoError::InvalidInput`] for a key of another spec or a peer key that does not parse,
    /// is on another curve or is not a valid point.
    pub fn derive_shared_secret(&self, peer_spki_der: &[u8]) -> Result<SecretBytes, CryptoError> {
        match &self.inner {
            Inner::Ec(key) => key.derive_shared_secret(peer_spki_der),
            _ => Err(CryptoError::InvalidInput("ECDH needs a NIST curve key")),
        }
    }

    /// ML-KEM encapsulation to this key's public half: the ciphertext (768/1088/1568 bytes) and
    /// the 32-byte shared secret.
    pub fn encapsulate(&self) -> Result<(Vec<u8>, SecretBytes), CryptoError> {
        match &self.inner {
            Inner::MlKem(key) => key.encapsulate(),
            _ => Err(CryptoError::InvalidInput(
                "encapsulation needs an ML-KEM key",
            )),
        }
    }

    /// ML-KEM decapsulation with implicit rejection: [`CryptoError::InvalidInput`] only for a
    /// ciphertext of the wrong length (or a key that is not ML-KEM); any other bad ciphertext
    /// yields the implicit-rejection secret, 32 bytes that look random.
    pub fn decapsulate(&self, ciphertext: &[u8]) -> Result<SecretBytes, CryptoError> {
        match &self.inner {
            Inner::MlKem(key) => key.decapsulate(ciphertext),
            _ => Err(CryptoError::InvalidInput(
                "decapsulation needs an ML-KEM key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_key_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PrivateKey>();
    }
}
