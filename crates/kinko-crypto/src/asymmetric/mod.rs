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

use crate::{CryptoError, SecretBytes};

pub(crate) use imported::normalize_pkcs8;

/// Asymmetric key specs Kinko can hold. The AWS `KeySpec` name of each is in its doc comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsymmetricSpec {
    /// `RSA_2048`.
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
    /// `ECC_NIST_P256` (secp256r1).
    EccNistP256,
    /// `ECC_NIST_P384` (secp384r1).
    EccNistP384,
    /// `ECC_NIST_P521` (secp521r1).
    EccNistP521,
    /// `ECC_SECG_P256K1` (secp256k1).
    EccSecgP256k1,
    /// `ECC_NIST_EDWARDS25519` (Ed25519).
    Ed25519,
    /// `ML_DSA_44`.
    MlDsa44,
    /// `ML_DSA_65`.
    MlDsa65,
    /// `ML_DSA_87`.
    MlDsa87,
    /// `ML_KEM_512`.
    MlKem512,
    /// `ML_KEM_768`.
    MlKem768,
    /// `ML_KEM_1024`.
    MlKem1024,
}

impl AsymmetricSpec {
    /// Every spec, for tables and tests.
    pub const ALL: [AsymmetricSpec; 14] = [
        AsymmetricSpec::Rsa2048,
        AsymmetricSpec::Rsa3072,
        AsymmetricSpec::Rsa4096,
        AsymmetricSpec::EccNistP256,
        AsymmetricSpec::EccNistP384,
        AsymmetricSpec::EccNistP521,
        AsymmetricSpec::EccSecgP256k1,
        AsymmetricSpec::Ed25519,
        AsymmetricSpec::MlDsa44,
        AsymmetricSpec::MlDsa65,
        AsymmetricSpec::MlDsa87,
        AsymmetricSpec::MlKem512,
        AsymmetricSpec::MlKem768,
        AsymmetricSpec::MlKem1024,
    ];

    /// The signing algorithms this spec supports (empty for ML-KEM), in the order AWS lists them
    /// in `KeyMetadata.SigningAlgorithms`.
    pub fn signing_algorithms(self) -> &'static [SigningAlgorithm] {
        use SigningAlgorithm as A;
        match self {
            AsymmetricSpec::Rsa2048 | AsymmetricSpec::Rsa3072 | AsymmetricSpec::Rsa4096 => &[
                A::RsaPssSha256,
                A::RsaPssSha384,
                A::RsaPssSha512,
                A::RsaPkcs1Sha256,
                A::RsaPkcs1Sha384,
                A::RsaPkcs1Sha512,
            ],
            AsymmetricSpec::EccNistP256 | AsymmetricSpec::EccSecgP256k1 => &[A::EcdsaSha256],
            AsymmetricSpec::EccNistP384 => &[A::EcdsaSha384],
            AsymmetricSpec::EccNistP521 => &[A::EcdsaSha512],
            AsymmetricSpec::Ed25519 => &[A::Ed25519Sha512, A::Ed25519PhSha512],
            AsymmetricSpec::MlDsa44 | AsymmetricSpec::MlDsa65 | AsymmetricSpec::MlDsa87 => {
                &[A::MlDsaShake256]
            }
            AsymmetricSpec::MlKem512 | AsymmetricSpec::MlKem768 | AsymmetricSpec::MlKem1024 => &[],
        }
    }

    fn family(self) -> Family {
        match self {
            AsymmetricSpec::Rsa2048 | AsymmetricSpec::Rsa3072 | AsymmetricSpec::Rsa4096 => {
                Family::Rsa
            }
            AsymmetricSpec::EccNistP256
            | AsymmetricSpec::EccNistP384
            | AsymmetricSpec::EccNistP521
            | AsymmetricSpec::EccSecgP256k1 => Family::Ec,
            AsymmetricSpec::Ed25519 => Family::Ed25519,
            AsymmetricSpec::MlDsa44 | AsymmetricSpec::MlDsa65 | AsymmetricSpec::MlDsa87 => {
                Family::MlDsa
            }
            AsymmetricSpec::MlKem512 | AsymmetricSpec::MlKem768 | AsymmetricSpec::MlKem1024 => {
                Family::MlKem
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Rsa,
    Ec,
    Ed25519,
    MlDsa,
    MlKem,
}

/// Signing algorithms. The AWS `SigningAlgorithmSpec` name of each is in its doc comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// `RSASSA_PSS_SHA_256` (MGF1 with SHA-256, salt 32 bytes).
    RsaPssSha256,
    /// `RSASSA_PSS_SHA_384` (MGF1 with SHA-384, salt 48 bytes).
    RsaPssSha384,
    /// `RSASSA_PSS_SHA_512` (MGF1 with SHA-512, salt 64 bytes).
    RsaPssSha512,
    /// `RSASSA_PKCS1_V1_5_SHA_256`.
    RsaPkcs1Sha256,
    /// `RSASSA_PKCS1_V1_5_SHA_384`.
    RsaPkcs1Sha384,
    /// `RSASSA_PKCS1_V1_5_SHA_512`.
    RsaPkcs1Sha512,
    /// `ECDSA_SHA_256` (P-256 and secp256k1).
    EcdsaSha256,
    /// `ECDSA_SHA_384` (P-384).
    EcdsaSha384,
    /// `ECDSA_SHA_512` (P-521).
    EcdsaSha512,
    /// `ML_DSA_SHAKE_256` (pure ML-DSA, empty context).
    MlDsaShake256,
    /// `ED25519_SHA_512` (pure Ed25519, RAW messages only).
    Ed25519Sha512,
    /// `ED25519_PH_SHA_512` (Ed25519ph over a SHA-512 digest, DIGEST messages only).
    Ed25519PhSha512,
}

impl SigningAlgorithm {
    /// The length a `DIGEST` message must have (32/48/64), or `None` when the algorithm takes no
    /// `DIGEST` message at all (ML-DSA, pure Ed25519).
    pub fn digest_len(self) -> Option<usize> {
        use SigningAlgorithm as A;
        match self {
            A::RsaPssSha256 | A::RsaPkcs1Sha256 | A::EcdsaSha256 => Some(32),
            A::RsaPssSha384 | A::RsaPkcs1Sha384 | A::EcdsaSha384 => Some(48),
            A::RsaPssSha512 | A::RsaPkcs1Sha512 | A::EcdsaSha512 | A::Ed25519PhSha512 => Some(64),
            A::MlDsaShake256 | A::Ed25519Sha512 => None,
        }
    }

    /// Whether the algorithm takes messages of `kind`: RSA and ECDSA take RAW and DIGEST,
    /// pure Ed25519 only RAW, Ed25519ph only DIGEST, ML-DSA RAW and EXTERNAL_MU.
    pub fn accepts(self, kind: MessageKind) -> bool {
        use SigningAlgorithm as A;
        match self {
            A::RsaPssSha256
            | A::RsaPssSha384
            | A::RsaPssSha512
            | A::RsaPkcs1Sha256
            | A::RsaPkcs1Sha384
            | A::RsaPkcs1Sha512
            | A::EcdsaSha256
            | A::EcdsaSha384
            | A::EcdsaSha512 => matches!(kind, MessageKind::Raw | MessageKind::Digest),
            A::Ed25519Sha512 => kind == MessageKind::Raw,
            A::Ed25519PhSha512 => kind == MessageKind::Digest,
            A::MlDsaShake256 => matches!(kind, MessageKind::Raw | MessageKind::ExternalMu),
        }
    }
}

/// What a message to sign or verify is (AWS `MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `RAW`: the message itself; the algorithm hashes it.
    Raw,
    /// `DIGEST`: the message's hash, of the algorithm's digest length.
    Digest,
    /// `EXTERNAL_MU`: ML-DSA's 64-byte μ (FIPS 204 §6.2), computed by the caller.
    ExternalMu,
}

/// RSA-OAEP variants (MGF1 with the same hash, empty label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OaepAlgorithm {
    /// `RSAES_OAEP_SHA_1`.
    Sha1,
    /// `RSAES_OAEP_SHA_256`.
    Sha256,
}

impl OaepAlgorithm {
    fn hash_len(self) -> usize {
        match self {
            OaepAlgorithm::Sha1 => 20,
            OaepAlgorithm::Sha256 => 32,
        }
    }
}

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
    fn every_signing_algorithm_accepts_raw_or_digest_and_has_a_consistent_digest_len() {
        for spec in AsymmetricSpec::ALL {
            for &alg in spec.signing_algorithms() {
                assert_eq!(alg.digest_len().is_some(), alg.accepts(MessageKind::Digest));
            }
        }
    }

    #[test]
    fn private_key_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PrivateKey>();
    }
}
