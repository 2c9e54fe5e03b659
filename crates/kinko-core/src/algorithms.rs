//! Algorithms and what fits what: the key spec × key usage × algorithm matrix of
//! `kms-reference.md` §3, in one place. The server lists these in KeyMetadata and GetPublicKey;
//! the operations check requests against them.

use kinko_crypto::{AsymmetricSpec, MacAlgorithm, MessageKind, OaepAlgorithm, SigningAlgorithm};

use crate::model::wire_enum;
use crate::{KeySpec, KeyUsage};

wire_enum!(
    /// AWS `EncryptionAlgorithmSpec`.
    EncryptionAlgorithmSpec {
        /// AES-256-GCM in Kinko's ciphertext format.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA-OAEP with SHA-1 (and MGF1-SHA-1).
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256 (and MGF1-SHA-256).
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// SM2 public-key encryption (China Regions only).
        Sm2Pke = "SM2PKE",
    }
);

wire_enum!(
    /// AWS `SigningAlgorithmSpec`.
    SigningAlgorithmSpec {
        /// RSASSA-PSS with SHA-256.
        RsassaPssSha256 = "RSASSA_PSS_SHA_256",
        /// RSASSA-PSS with SHA-384.
        RsassaPssSha384 = "RSASSA_PSS_SHA_384",
        /// RSASSA-PSS with SHA-512.
        RsassaPssSha512 = "RSASSA_PSS_SHA_512",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RsassaPkcs1V15Sha256 = "RSASSA_PKCS1_V1_5_SHA_256",
        /// RSASSA-PKCS1-v1_5 with SHA-384.
        RsassaPkcs1V15Sha384 = "RSASSA_PKCS1_V1_5_SHA_384",
        /// RSASSA-PKCS1-v1_5 with SHA-512.
        RsassaPkcs1V15Sha512 = "RSASSA_PKCS1_V1_5_SHA_512",
        /// ECDSA with SHA-256.
        EcdsaSha256 = "ECDSA_SHA_256",
        /// ECDSA with SHA-384.
        EcdsaSha384 = "ECDSA_SHA_384",
        /// ECDSA with SHA-512.
        EcdsaSha512 = "ECDSA_SHA_512",
        /// SM2 signatures (China Regions only).
        Sm2Dsa = "SM2DSA",
        /// ML-DSA (FIPS 204).
        MlDsaShake256 = "ML_DSA_SHAKE_256",
        /// Pure Ed25519.
        Ed25519Sha512 = "ED25519_SHA_512",
        /// Ed25519ph.
        Ed25519PhSha512 = "ED25519_PH_SHA_512",
    }
);

wire_enum!(
    /// AWS `MessageType`.
    MessageType {
        /// The message itself.
        Raw = "RAW",
        /// A digest of the message.
        Digest = "DIGEST",
        /// The μ of FIPS 204 (ML-DSA only).
        ExternalMu = "EXTERNAL_MU",
    }
);

wire_enum!(
    /// AWS `MacAlgorithmSpec`.
    MacAlgorithmSpec {
        /// HMAC-SHA-224.
        HmacSha224 = "HMAC_SHA_224",
        /// HMAC-SHA-256.
        HmacSha256 = "HMAC_SHA_256",
        /// HMAC-SHA-384.
        HmacSha384 = "HMAC_SHA_384",
        /// HMAC-SHA-512.
        HmacSha512 = "HMAC_SHA_512",
    }
);

wire_enum!(
    /// AWS `KeyAgreementAlgorithmSpec`.
    KeyAgreementAlgorithmSpec {
        /// Elliptic-curve Diffie-Hellman.
        Ecdh = "ECDH",
    }
);

wire_enum!(
    /// AWS `KeyEncapsulationAlgorithmSpec`.
    EncapsulationAlgorithmSpec {
        /// ML-KEM (FIPS 203).
        MlKem = "ML_KEM",
    }
);

wire_enum!(
    /// AWS `DataKeyPairSpec`.
    DataKeyPairSpec {
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// NIST P-256.
        EccNistP256 = "ECC_NIST_P256",
        /// NIST P-384.
        EccNistP384 = "ECC_NIST_P384",
        /// NIST P-521.
        EccNistP521 = "ECC_NIST_P521",
        /// secp256k1.
        EccSecgP256k1 = "ECC_SECG_P256K1",
        /// SM2 (China Regions only).
        Sm2 = "SM2",
        /// Ed25519.
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
        /// ML-KEM-512.
        MlKem512 = "ML_KEM_512",
        /// ML-KEM-768.
        MlKem768 = "ML_KEM_768",
        /// ML-KEM-1024.
        MlKem1024 = "ML_KEM_1024",
    }
);

wire_enum!(
    /// AWS `AlgorithmSpec` of ImportKeyMaterial's wrapping.
    WrappingAlgorithmSpec {
        /// RSAES-PKCS1-v1_5 (AWS stopped accepting it in 2023).
        RsaesPkcs1V15 = "RSAES_PKCS1_V1_5",
        /// RSA-OAEP with SHA-1.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// RSA-OAEP (SHA-1) of an AES key, then AES key wrap with padding.
        RsaAesKeyWrapSha1 = "RSA_AES_KEY_WRAP_SHA_1",
        /// RSA-OAEP (SHA-256) of an AES key, then AES key wrap with padding.
        RsaAesKeyWrapSha256 = "RSA_AES_KEY_WRAP_SHA_256",
        /// SM2 (China Regions only).
        Sm2Pke = "SM2PKE",
    }
);

wire_enum!(
    /// AWS `WrappingKeySpec`.
    WrappingKeySpec {
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// SM2 (China Regions only).
        Sm2 = "SM2",
    }
);

wire_enum!(
    /// AWS `ImportType`.
    ImportType {
        /// Reimport of material the key has (or had).
        ExistingKeyMaterial = "EXISTING_KEY_MATERIAL",
        /// New material, for an on-demand rotation.
        NewKeyMaterial = "NEW_KEY_MATERIAL",
    }
);

impl WrappingAlgorithmSpec {
    /// The primitive, for the algorithms Kinko accepts.
    pub fn primitive(self) -> Option<kinko_crypto::WrappingAlgorithm> {
        use kinko_crypto::WrappingAlgorithm as W;
        match self {
            WrappingAlgorithmSpec::RsaesOaepSha1 => Some(W::RsaesOaepSha1),
            WrappingAlgorithmSpec::RsaesOaepSha256 => Some(W::RsaesOaepSha256),
            WrappingAlgorithmSpec::RsaAesKeyWrapSha1 => Some(W::RsaAesKeyWrapSha1),
            WrappingAlgorithmSpec::RsaAesKeyWrapSha256 => Some(W::RsaAesKeyWrapSha256),
            WrappingAlgorithmSpec::RsaesPkcs1V15 | WrappingAlgorithmSpec::Sm2Pke => None,
        }
    }
}

impl WrappingKeySpec {
    /// The primitive, for the specs Kinko offers.
    pub fn primitive(self) -> Option<kinko_crypto::WrappingKeySpec> {
        use kinko_crypto::WrappingKeySpec as W;
        match self {
            WrappingKeySpec::Rsa2048 => Some(W::Rsa2048),
            WrappingKeySpec::Rsa3072 => Some(W::Rsa3072),
            WrappingKeySpec::Rsa4096 => Some(W::Rsa4096),
            WrappingKeySpec::Sm2 => None,
        }
    }
}

impl KeySpec {
    /// How imported material for this spec is checked.
    pub fn imported_kind(self) -> Option<kinko_crypto::ImportedKind> {
        if self == KeySpec::SymmetricDefault {
            return Some(kinko_crypto::ImportedKind::Symmetric);
        }
        if let Some(mac) = self.mac_algorithm() {
            return Some(kinko_crypto::ImportedKind::Hmac(mac.primitive()));
        }
        self.asymmetric()
            .map(kinko_crypto::ImportedKind::Asymmetric)
    }

    /// The usages a key of this spec may be created with.
    pub fn usages(self) -> &'static [KeyUsage] {
        use KeySpec as S;
        use KeyUsage as U;
        match self {
            S::SymmetricDefault => &[U::EncryptDecrypt],
            S::Rsa2048 | S::Rsa3072 | S::Rsa4096 => &[U::EncryptDecrypt, U::SignVerify],
            S::EccNistP256 | S::EccNistP384 | S::EccNistP521 => &[U::SignVerify, U::KeyAgreement],
            S::EccSecgP256k1 | S::EccNistEdwards25519 | S::MlDsa44 | S::MlDsa65 | S::MlDsa87 => {
                &[U::SignVerify]
            }
            S::Hmac224 | S::Hmac256 | S::Hmac384 | S::Hmac512 => &[U::GenerateVerifyMac],
            S::MlKem512 | S::MlKem768 | S::MlKem1024 => &[U::EncapsulateDecapsulate],
            S::Sm2 => &[U::EncryptDecrypt, U::SignVerify, U::KeyAgreement],
        }
    }

    /// The asymmetric primitive behind the spec, if it is asymmetric (SM2 is not offered).
    pub fn asymmetric(self) -> Option<AsymmetricSpec> {
        use AsymmetricSpec as A;
        use KeySpec as S;
        Some(match self {
            S::Rsa2048 => A::Rsa2048,
            S::Rsa3072 => A::Rsa3072,
            S::Rsa4096 => A::Rsa4096,
            S::EccNistP256 => A::EccNistP256,
            S::EccNistP384 => A::EccNistP384,
            S::EccNistP521 => A::EccNistP521,
            S::EccSecgP256k1 => A::EccSecgP256k1,
            S::EccNistEdwards25519 => A::Ed25519,
            S::MlDsa44 => A::MlDsa44,
            S::MlDsa65 => A::MlDsa65,
            S::MlDsa87 => A::MlDsa87,
            S::MlKem512 => A::MlKem512,
            S::MlKem768 => A::MlKem768,
            S::MlKem1024 => A::MlKem1024,
            S::SymmetricDefault | S::Hmac224 | S::Hmac256 | S::Hmac384 | S::Hmac512 | S::Sm2 => {
                return None;
            }
        })
    }

    /// The one MAC algorithm of an HMAC spec.
    pub fn mac_algorithm(self) -> Option<MacAlgorithmSpec> {
        match self {
            KeySpec::Hmac224 => Some(MacAlgorithmSpec::HmacSha224),
            KeySpec::Hmac256 => Some(MacAlgorithmSpec::HmacSha256),
            KeySpec::Hmac384 => Some(MacAlgorithmSpec::HmacSha384),
            KeySpec::Hmac512 => Some(MacAlgorithmSpec::HmacSha512),
            _ => None,
        }
    }

    /// Encryption algorithms of a key of this spec and usage (KeyMetadata lists them).
    pub fn encryption_algorithms(self, usage: KeyUsage) -> &'static [EncryptionAlgorithmSpec] {
        use EncryptionAlgorithmSpec as E;
        match (self, usage) {
            (KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt) => &[E::SymmetricDefault],
            (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, KeyUsage::EncryptDecrypt) => {
                &[E::RsaesOaepSha1, E::RsaesOaepSha256]
            }
            (KeySpec::Sm2, KeyUsage::EncryptDecrypt) => &[E::Sm2Pke],
            _ => &[],
        }
    }

    /// Signing algorithms of a key of this spec and usage.
    pub fn signing_algorithms(self, usage: KeyUsage) -> &'static [SigningAlgorithmSpec] {
        use SigningAlgorithmSpec as G;
        if usage != KeyUsage::SignVerify {
            return &[];
        }
        match self {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &[
                G::RsassaPssSha256,
                G::RsassaPssSha384,
                G::RsassaPssSha512,
                G::RsassaPkcs1V15Sha256,
                G::RsassaPkcs1V15Sha384,
                G::RsassaPkcs1V15Sha512,
            ],
            KeySpec::EccNistP256 | KeySpec::EccSecgP256k1 => &[G::EcdsaSha256],
            KeySpec::EccNistP384 => &[G::EcdsaSha384],
            KeySpec::EccNistP521 => &[G::EcdsaSha512],
            KeySpec::EccNistEdwards25519 => &[G::Ed25519Sha512, G::Ed25519PhSha512],
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &[G::MlDsaShake256],
            KeySpec::Sm2 => &[G::Sm2Dsa],
            _ => &[],
        }
    }

    /// MAC algorithms of a key of this spec and usage.
    pub fn mac_algorithms(self, usage: KeyUsage) -> &'static [MacAlgorithmSpec] {
        use MacAlgorithmSpec as M;
        match (self, usage) {
            (KeySpec::Hmac224, KeyUsage::GenerateVerifyMac) => &[M::HmacSha224],
            (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac) => &[M::HmacSha256],
            (KeySpec::Hmac384, KeyUsage::GenerateVerifyMac) => &[M::HmacSha384],
            (KeySpec::Hmac512, KeyUsage::GenerateVerifyMac) => &[M::HmacSha512],
            _ => &[],
        }
    }

    /// Key agreement algorithms of a key of this spec and usage.
    pub fn key_agreement_algorithms(self, usage: KeyUsage) -> &'static [KeyAgreementAlgorithmSpec] {
        match (self, usage) {
            (
                KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::Sm2,
                KeyUsage::KeyAgreement,
            ) => &[KeyAgreementAlgorithmSpec::Ecdh],
            _ => &[],
        }
    }

    /// Encapsulation algorithms of a key of this spec and usage.
    pub fn encapsulation_algorithms(
        self,
        usage: KeyUsage,
    ) -> &'static [EncapsulationAlgorithmSpec] {
        match (self, usage) {
            (
                KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024,
                KeyUsage::EncapsulateDecapsulate,
            ) => &[EncapsulationAlgorithmSpec::MlKem],
            _ => &[],
        }
    }
}

impl EncryptionAlgorithmSpec {
    /// The RSA-OAEP variant, for the RSA algorithms.
    pub fn oaep(self) -> Option<OaepAlgorithm> {
        match self {
            EncryptionAlgorithmSpec::RsaesOaepSha1 => Some(OaepAlgorithm::Sha1),
            EncryptionAlgorithmSpec::RsaesOaepSha256 => Some(OaepAlgorithm::Sha256),
            EncryptionAlgorithmSpec::SymmetricDefault | EncryptionAlgorithmSpec::Sm2Pke => None,
        }
    }
}

impl SigningAlgorithmSpec {
    /// The primitive (SM2DSA has none in Kinko).
    pub fn primitive(self) -> Option<SigningAlgorithm> {
        use SigningAlgorithm as P;
        use SigningAlgorithmSpec as G;
        Some(match self {
            G::RsassaPssSha256 => P::RsaPssSha256,
            G::RsassaPssSha384 => P::RsaPssSha384,
            G::RsassaPssSha512 => P::RsaPssSha512,
            G::RsassaPkcs1V15Sha256 => P::RsaPkcs1Sha256,
            G::RsassaPkcs1V15Sha384 => P::RsaPkcs1Sha384,
            G::RsassaPkcs1V15Sha512 => P::RsaPkcs1Sha512,
            G::EcdsaSha256 => P::EcdsaSha256,
            G::EcdsaSha384 => P::EcdsaSha384,
            G::EcdsaSha512 => P::EcdsaSha512,
            G::MlDsaShake256 => P::MlDsaShake256,
            G::Ed25519Sha512 => P::Ed25519Sha512,
            G::Ed25519PhSha512 => P::Ed25519PhSha512,
            G::Sm2Dsa => return None,
        })
    }

    /// The length a `DIGEST` message must have, if the algorithm takes digests.
    pub fn digest_len(self) -> Option<usize> {
        use SigningAlgorithmSpec as G;
        match self {
            G::RsassaPssSha256 | G::RsassaPkcs1V15Sha256 | G::EcdsaSha256 | G::Sm2Dsa => Some(32),
            G::RsassaPssSha384 | G::RsassaPkcs1V15Sha384 | G::EcdsaSha384 => Some(48),
            G::RsassaPssSha512 | G::RsassaPkcs1V15Sha512 | G::EcdsaSha512 => Some(64),
            G::Ed25519PhSha512 => Some(64),
            G::Ed25519Sha512 | G::MlDsaShake256 => None,
        }
    }
}

impl MessageType {
    /// The primitive's message kind.
    pub fn kind(self) -> MessageKind {
        match self {
            MessageType::Raw => MessageKind::Raw,
            MessageType::Digest => MessageKind::Digest,
            MessageType::ExternalMu => MessageKind::ExternalMu,
        }
    }
}

impl MacAlgorithmSpec {
    /// The primitive.
    pub fn primitive(self) -> MacAlgorithm {
        match self {
            MacAlgorithmSpec::HmacSha224 => MacAlgorithm::HmacSha224,
            MacAlgorithmSpec::HmacSha256 => MacAlgorithm::HmacSha256,
            MacAlgorithmSpec::HmacSha384 => MacAlgorithm::HmacSha384,
            MacAlgorithmSpec::HmacSha512 => MacAlgorithm::HmacSha512,
        }
    }
}

impl DataKeyPairSpec {
    /// The key spec of the same name.
    pub fn key_spec(self) -> KeySpec {
        match self {
            DataKeyPairSpec::Rsa2048 => KeySpec::Rsa2048,
            DataKeyPairSpec::Rsa3072 => KeySpec::Rsa3072,
            DataKeyPairSpec::Rsa4096 => KeySpec::Rsa4096,
            DataKeyPairSpec::EccNistP256 => KeySpec::EccNistP256,
            DataKeyPairSpec::EccNistP384 => KeySpec::EccNistP384,
            DataKeyPairSpec::EccNistP521 => KeySpec::EccNistP521,
            DataKeyPairSpec::EccSecgP256k1 => KeySpec::EccSecgP256k1,
            DataKeyPairSpec::Sm2 => KeySpec::Sm2,
            DataKeyPairSpec::EccNistEdwards25519 => KeySpec::EccNistEdwards25519,
            DataKeyPairSpec::MlKem512 => KeySpec::MlKem512,
            DataKeyPairSpec::MlKem768 => KeySpec::MlKem768,
            DataKeyPairSpec::MlKem1024 => KeySpec::MlKem1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_usage_of_every_spec_lists_exactly_one_algorithm_family() {
        for spec in KeySpec::ALL {
            for usage in spec.usages() {
                let families = [
                    !spec.encryption_algorithms(*usage).is_empty(),
                    !spec.signing_algorithms(*usage).is_empty(),
                    !spec.mac_algorithms(*usage).is_empty(),
                    !spec.key_agreement_algorithms(*usage).is_empty(),
                    !spec.encapsulation_algorithms(*usage).is_empty(),
                ];
                assert_eq!(families.iter().filter(|f| **f).count(), 1, "{spec} {usage}");
            }
        }
    }

    #[test]
    fn usages_not_allowed_list_nothing() {
        for spec in KeySpec::ALL {
            for usage in KeyUsage::ALL {
                if spec.usages().contains(usage) {
                    continue;
                }
                assert!(
                    spec.encryption_algorithms(*usage).is_empty(),
                    "{spec} {usage}"
                );
                assert!(spec.signing_algorithms(*usage).is_empty(), "{spec} {usage}");
                assert!(spec.mac_algorithms(*usage).is_empty(), "{spec} {usage}");
            }
        }
    }

    #[test]
    fn every_spec_but_sm2_has_a_primitive() {
        for spec in KeySpec::ALL {
            let has = spec.asymmetric().is_some()
                || spec.mac_algorithm().is_some()
                || *spec == KeySpec::SymmetricDefault;
            assert_eq!(has, *spec != KeySpec::Sm2, "{spec}");
        }
    }

    #[test]
    fn digest_lengths_follow_the_algorithm_suffix() {
        for alg in SigningAlgorithmSpec::ALL {
            let name = alg.as_str();
            let expected = if name.ends_with("SHA_256") || *alg == SigningAlgorithmSpec::Sm2Dsa {
                Some(32)
            } else if name.ends_with("SHA_384") {
                Some(48)
            } else if name == "ED25519_SHA_512" {
                None
            } else if name.ends_with("SHA_512") {
                Some(64)
            } else {
                None
            };
            assert_eq!(alg.digest_len(), expected, "{name}");
        }
    }
}
