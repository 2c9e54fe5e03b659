//! The names of asymmetric keys and their uses (key specs, signing algorithms, message types,
//! RSA-OAEP variants) and the AWS KMS rules between them (see `kms-reference.md` §3).
//!
//! A leaf of `asymmetric`: the parent module and every key family's child module import these
//! types, so they live apart from the dispatch in `mod.rs`, and this file imports none of its
//! siblings.

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

    /// The key family, which picks the child module that handles the spec.
    pub(super) fn family(self) -> Family {
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

/// The families of key specs, one child module each.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
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
    /// The output length of the OAEP hash, in bytes.
    pub(super) fn hash_len(self) -> usize {
        match self {
            OaepAlgorithm::Sha1 => 20,
            OaepAlgorithm::Sha256 => 32,
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
}
