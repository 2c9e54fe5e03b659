//! ML-DSA keys (FIPS 204), stored as the 32-byte seed ξ in RFC 9881 seed-form PKCS#8.
//!
//! RAW messages are signed and verified by aws-lc-rs (pure ML-DSA, empty context, hedged). An
//! EXTERNAL_MU message (the 64-byte μ of FIPS 204 §6.2, which the client computed from the public
//! key, the empty context and its message) goes through RustCrypto `ml-dsa`, because aws-lc-rs
//! has no μ interface. Both libraries derive the same key from the same seed, and a signature
//! over μ is an ordinary ML-DSA signature of the client's message.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    self, KeyPair as _, PqdsaKeyPair, PqdsaSigningAlgorithm, UnparsedPublicKey,
};
use ml_dsa::signature::rand_core::{TryCryptoRng, TryRng};
use ml_dsa::{
    EncodedVerifyingKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature, SigningKey,
    VerifyingKey,
};

use super::der;
use super::spec::{AsymmetricSpec, MessageKind};
use crate::random::fill_random;
use crate::{CryptoError, SecretBytes};

/// Length of the ML-DSA seed ξ.
pub(super) const SEED_LEN: usize = 32;
/// Length of μ.
pub(super) const MU_LEN: usize = 64;

pub(super) fn oid(spec: AsymmetricSpec) -> &'static [u8] {
    match spec {
        AsymmetricSpec::MlDsa44 => der::OID_ML_DSA_44,
        AsymmetricSpec::MlDsa87 => der::OID_ML_DSA_87,
        _ => der::OID_ML_DSA_65,
    }
}

pub(super) fn signing_algorithm(spec: AsymmetricSpec) -> &'static PqdsaSigningAlgorithm {
    match spec {
        AsymmetricSpec::MlDsa44 => &signature::ML_DSA_44_SIGNING,
        AsymmetricSpec::MlDsa87 => &signature::ML_DSA_87_SIGNING,
        _ => &signature::ML_DSA_65_SIGNING,
    }
}

fn verification_algorithm(spec: AsymmetricSpec) -> &'static signature::PqdsaVerificationAlgorithm {
    match spec {
        AsymmetricSpec::MlDsa44 => &signature::ML_DSA_44,
        AsymmetricSpec::MlDsa87 => &signature::ML_DSA_87,
        _ => &signature::ML_DSA_65,
    }
}

pub(super) fn generate(spec: AsymmetricSpec) -> Result<SecretBytes, CryptoError> {
    let mut seed = SecretBytes::new(vec![0u8; SEED_LEN]);
    fill_random(seed.expose_mut())?;
    Ok(SecretBytes::new(der::seed_pkcs8(oid(spec), seed.expose())))
}

/// The system RNG as a `rand_core` generator, for `ml-dsa`'s hedged signing.
struct SystemRng;

impl TryRng for SystemRng {
    type Error = CryptoError;

    fn try_next_u32(&mut self) -> Result<u32, CryptoError> {
        let mut bytes = [0u8; 4];
        fill_random(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, CryptoError> {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), CryptoError> {
        fill_random(dst)
    }
}

impl TryCryptoRng for SystemRng {}

/// The `ml-dsa` signing key of one parameter set (boxed: the expanded key is tens of KiB).
enum MuKey {
    L44(Box<SigningKey<MlDsa44>>),
    L65(Box<SigningKey<MlDsa65>>),
    L87(Box<SigningKey<MlDsa87>>),
}

fn sign_mu<P: MlDsaParams>(key: &SigningKey<P>, mu: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let Ok(mu) = mu.try_into() else {
        return Err(CryptoError::InvalidInput("external mu must be 64 bytes"));
    };
    let signature = key
        .expanded_key()
        .sign_mu_randomized(&mu, &mut SystemRng)
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(signature.encode().to_vec())
}

fn verify_mu<P: MlDsaParams>(key: &VerifyingKey<P>, mu: &[u8], signature: &[u8]) -> bool {
    let (Ok(mu), Ok(signature)) = (mu.try_into(), Signature::<P>::try_from(signature)) else {
        return false;
    };
    key.verify_mu(&mu, &signature)
}

fn verify_mu_with_raw_key<P: MlDsaParams>(public_key: &[u8], mu: &[u8], signature: &[u8]) -> bool {
    let Ok(encoded) = EncodedVerifyingKey::<P>::try_from(public_key) else {
        return false;
    };
    verify_mu(&VerifyingKey::<P>::decode(&encoded), mu, signature)
}

/// A parsed ML-DSA key in both libraries.
pub(super) struct MlDsaKey {
    spec: AsymmetricSpec,
    pair: PqdsaKeyPair,
    mu_key: MuKey,
}

impl MlDsaKey {
    pub(super) fn from_pkcs8(spec: AsymmetricSpec, pkcs8: &[u8]) -> Result<Self, CryptoError> {
        const REJECTED: CryptoError = CryptoError::InvalidInput("not an ML-DSA key of this spec");
        let seed = der::parse_seed_pkcs8(pkcs8, oid(spec), SEED_LEN).ok_or(REJECTED)?;
        let pair = PqdsaKeyPair::from_seed(signing_algorithm(spec), seed).map_err(|_| REJECTED)?;
        let xi = zeroize::Zeroizing::new(ml_dsa::B32::try_from(seed).map_err(|_| REJECTED)?);
        let mu_key = match spec {
            AsymmetricSpec::MlDsa44 => MuKey::L44(Box::new(SigningKey::from_seed(&xi))),
            AsymmetricSpec::MlDsa87 => MuKey::L87(Box::new(SigningKey::from_seed(&xi))),
            _ => MuKey::L65(Box::new(SigningKey::from_seed(&xi))),
        };
        Ok(MlDsaKey { spec, pair, mu_key })
    }

    pub(super) fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.pair.public_key().as_der()?.as_ref().to_vec())
    }

    pub(super) fn sign(&self, kind: MessageKind, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match kind {
            MessageKind::Raw => {
                let mut signature = vec![0u8; signing_algorithm(self.spec).signature_len()];
                let len = self.pair.sign(message, &mut signature)?;
                signature.truncate(len);
                Ok(signature)
            }
            MessageKind::ExternalMu => match &self.mu_key {
                MuKey::L44(key) => sign_mu(key, message),
                MuKey::L65(key) => sign_mu(key, message),
                MuKey::L87(key) => sign_mu(key, message),
            },
            MessageKind::Digest => Err(CryptoError::InvalidInput(
                "message type does not fit the signing algorithm",
            )),
        }
    }

    pub(super) fn verify(&self, kind: MessageKind, message: &[u8], signature: &[u8]) -> bool {
        match kind {
            MessageKind::Raw => UnparsedPublicKey::new(
                verification_algorithm(self.spec),
                self.pair.public_key().as_ref(),
            )
            .verify(message, signature)
            .is_ok(),
            MessageKind::ExternalMu => match &self.mu_key {
                MuKey::L44(key) => verify_mu(key.as_ref().as_ref(), message, signature),
                MuKey::L65(key) => verify_mu(key.as_ref().as_ref(), message, signature),
                MuKey::L87(key) => verify_mu(key.as_ref().as_ref(), message, signature),
            },
            MessageKind::Digest => false,
        }
    }
}

/// Verifies with a raw public key (the SPKI's BIT STRING, checked by the caller).
pub(super) fn verify(
    spec: AsymmetricSpec,
    public_key: &[u8],
    kind: MessageKind,
    message: &[u8],
    signature: &[u8],
) -> bool {
    match kind {
        MessageKind::Raw => UnparsedPublicKey::new(verification_algorithm(spec), public_key)
            .verify(message, signature)
            .is_ok(),
        MessageKind::ExternalMu => match spec {
            AsymmetricSpec::MlDsa44 => {
                verify_mu_with_raw_key::<MlDsa44>(public_key, message, signature)
            }
            AsymmetricSpec::MlDsa87 => {
                verify_mu_with_raw_key::<MlDsa87>(public_key, message, signature)
            }
            _ => verify_mu_with_raw_key::<MlDsa65>(public_key, message, signature),
        },
        MessageKind::Digest => false,
    }
}
