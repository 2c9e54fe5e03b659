//! The root key itself: finding the token and key, generating the key on first start, and the
//! AES-GCM wrap and unwrap that the token performs.

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;
use kinko_crypto::{
    CryptoError, RootKey, SecretBytes, constant_time_eq, hex, random_array, sha256,
};

use crate::error::describe;
use crate::pool::SessionPool;
use crate::{DEFAULT_MAX_SESSIONS, Pkcs11Config, Pkcs11Error, module};

/// First byte of every wrapped value from this provider (`0x01` is the software root's format).
pub const WRAP_VERSION: u8 = 0x02;
/// The provider name recorded in the data directory.
pub const PROVIDER: &str = "pkcs11";

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const TAG_BITS: u64 = 128;
const KEY_LEN: u64 = 32;
const ID_LEN: usize = 16;

/// An AES-256 root key held by a PKCS#11 token. Cheap to share (`Send + Sync`); each wrap or
/// unwrap borrows a session from a small pool.
pub struct Pkcs11RootKey {
    pool: SessionPool,
    key: ObjectHandle,
    module: std::path::PathBuf,
    token_label: String,
    key_label: String,
    root_id: String,
}

impl std::fmt::Debug for Pkcs11RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11RootKey")
            .field("module", &self.module)
            .field("token", &self.token_label)
            .field("key", &self.key_label)
            .field("root_id", &self.root_id)
            .field("pin", &"[REDACTED]")
            .finish()
    }
}

impl Pkcs11RootKey {
    /// Opens the module, finds the token by label (SoftHSM renumbers slots after a token is
    /// initialised, so slots are never configured), logs in as the user, and finds the root key
    /// by label. With `create_if_missing` (first start) an absent key is generated inside the
    /// token; otherwise its absence is [`Pkcs11Error::KeyNotFound`].
    ///
    /// The key must be AES-256, sensitive, non-extractable and allowed to encrypt and decrypt.
    /// A wrap/unwrap self-test runs before this returns.
    ///
    /// Login state belongs to the process and token, not to a session: if this process is
    /// already logged in to the token (another open root key), the PIN is not checked again.
    pub fn open(config: &Pkcs11Config, create_if_missing: bool) -> Result<Self, Pkcs11Error> {
        Self::open_with_sessions(config, create_if_missing, DEFAULT_MAX_SESSIONS)
    }

    /// [`Pkcs11RootKey::open`] with at most `max_sessions` (at least 1) sessions for wrap and
    /// unwrap. Sessions are opened on demand and kept while the root key lives.
    pub fn open_with_sessions(
        config: &Pkcs11Config,
        create_if_missing: bool,
        max_sessions: usize,
    ) -> Result<Self, Pkcs11Error> {
        let ctx = module::load(&config.module)?;
        let token = config.token_label.as_str();
        let slot = find_token(&ctx, token)?;
        let pin = RawAuthPin::new(Box::new(config.pin.expose().to_vec()));
        let pool = SessionPool::new(ctx, slot, pin, max_sessions);

        let session = pool.acquire().map_err(|e| match e {
            Error::Pkcs11(rv, cryptoki::context::Function::Login) => {
                Pkcs11Error::Login(login_failure(token, rv))
            }
            other => pkcs11_error(&format!("opening a session on token {token:?}"), &other),
        })?;
        let label = config.key_label.as_str();
        let key = match find_key(&session, token, label)? {
            Some(key) => key,
            None if create_if_missing => generate_key(&pool, token, label)?,
            None => {
                return Err(Pkcs11Error::KeyNotFound {
                    token: token.to_owned(),
                    label: label.to_owned(),
                });
            }
        };
        let id = check_key(&session, key, token, label)?;
        drop(session);

        let mut root = Pkcs11RootKey {
            pool,
            key,
            module: config.module.clone(),
            token_label: token.to_owned(),
            key_label: label.to_owned(),
            root_id: String::new(),
        };
        root.self_test()?;
        let suffix = match id {
            Some(id) => hex::encode(&id),
            None => root.check_value()?,
        };
        root.root_id = format!("pkcs11:{token}/{label}/{suffix}");
        Ok(root)
    }

    /// A stable identifier of this root, recorded beside what it wrapped (also [`RootKey::id`]):
    /// `pkcs11:<token label>/<key label>/<hex of CKA_ID>`. A key Kinko generated has a random
    /// 16-byte `CKA_ID`; for a key created elsewhere without one, the last part is `kcv-` and a
    /// key check value (SHA-256 of an AES-GCM encryption of zeros under a fixed IV, truncated),
    /// which identifies the key without revealing it.
    pub fn root_id(&self) -> String {
        self.root_id.clone()
    }

    /// Sessions currently open on the token by this root key (at most `max_sessions`).
    pub fn open_sessions(&self) -> usize {
        self.pool.open_count()
    }

    /// Runs `op` on a pooled session. When the token reports the session itself broken (token
    /// reset, device removed, logged out), the idle sessions are dropped and `op` runs once more
    /// on a fresh, logged-in session.
    fn with_session<T>(&self, op: impl Fn(&Session) -> Result<T, Error>) -> Result<T, Error> {
        let lease = self.pool.acquire()?;
        match op(&lease) {
            Err(e) if is_session_fault(&e) => {
                tracing::warn!(
                    token = %self.token_label,
                    error = %describe(&e),
                    "PKCS#11 session broken; retrying on a new session"
                );
                lease.discard();
                self.pool.discard_idle();
                let lease = self.pool.acquire()?;
                let result = op(&lease);
                if let Err(e) = &result
                    && is_session_fault(e)
                {
                    lease.discard();
                }
                result
            }
            result => result,
        }
    }

    fn encrypt(&self, iv: [u8; IV_LEN], aad: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
        self.with_session(|session| {
            let mut iv = iv;
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())?;
            session.encrypt(&Mechanism::AesGcm(params), self.key, data)
        })
    }

    fn decrypt(&self, iv: [u8; IV_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Error> {
        self.with_session(|session| {
            let mut iv = iv;
            let params = GcmParams::new(&mut iv, aad, TAG_BITS.into())?;
            session.decrypt(&Mechanism::AesGcm(params), self.key, sealed)
        })
    }

    /// Encrypts and decrypts random material once, so that a token without `CKM_AES_GCM` or a
    /// key without the right usage fails at start-up, with the token's own error, rather than on
    /// the first request.
    fn self_test(&self) -> Result<(), Pkcs11Error> {
        let failed = |what: String| {
            Pkcs11Error::Pkcs11(format!(
                "AES-GCM self-test with key {:?} on token {:?} failed: {what}",
                self.key_label, self.token_label
            ))
        };
        let probe = kinko_crypto::random_secret(32).map_err(|e| failed(e.to_string()))?;
        let iv: [u8; IV_LEN] = random_array().map_err(|e| failed(e.to_string()))?;
        let aad = b"kinko-pkcs11 self-test";
        let sealed = self
            .encrypt(iv, aad, probe.expose())
            .map_err(|e| failed(describe(&e)))?;
        let back = SecretBytes::new(
            self.decrypt(iv, aad, &sealed)
                .map_err(|e| failed(describe(&e)))?,
        );
        if sealed.len() != probe.len() + TAG_LEN || !constant_time_eq(back.expose(), probe.expose())
        {
            return Err(failed(
                "decryption did not return the encrypted bytes".to_owned(),
            ));
        }
        Ok(())
    }

    /// `kcv-` and the hex of the first 16 bytes of SHA-256 over an AES-GCM encryption of 16 zero
    /// bytes with an all-zero IV. Deterministic for a given key; only ever computed on this one
    /// (IV, AAD, plaintext), so the fixed IV is never reused for different data (a random wrap
    /// IV equals it with probability 2^-96).
    fn check_value(&self) -> Result<String, Pkcs11Error> {
        let sealed = self
            .encrypt([0; IV_LEN], b"kinko-pkcs11 key check value", &[0; 16])
            .map_err(|e| pkcs11_error("computing the key check value", &e))?;
        let digest = sha256(&sealed);
        Ok(format!(
            "kcv-{}",
            hex::encode(digest.get(..16).unwrap_or(&digest))
        ))
    }
}

impl RootKey for Pkcs11RootKey {
    fn wrap(&self, material: &SecretBytes, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let iv: [u8; IV_LEN] = random_array()?;
        let sealed = self
            .encrypt(iv, aad, material.expose())
            .map_err(|e| self.hsm_failure("wrap", &e))?;
        if sealed.len() != material.len() + TAG_LEN {
            tracing::error!(
                token = %self.token_label,
                expected = material.len() + TAG_LEN,
                got = sealed.len(),
                "PKCS#11 AES-GCM encryption returned an unexpected length"
            );
            return Err(CryptoError::Unspecified);
        }
        let mut out = Vec::with_capacity(1 + IV_LEN + sealed.len());
        out.push(WRAP_VERSION);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<SecretBytes, CryptoError> {
        if wrapped.len() < 1 + IV_LEN + TAG_LEN || wrapped.first() != Some(&WRAP_VERSION) {
            return Err(CryptoError::Decrypt);
        }
        let iv: [u8; IV_LEN] = wrapped
            .get(1..1 + IV_LEN)
            .and_then(|iv| iv.try_into().ok())
            .ok_or(CryptoError::Decrypt)?;
        let sealed = wrapped.get(1 + IV_LEN..).ok_or(CryptoError::Decrypt)?;
        match self.decrypt(iv, aad, sealed) {
            Ok(plain) => {
                let plain = SecretBytes::new(plain);
                if plain.len() + TAG_LEN == sealed.len() {
                    Ok(plain)
                } else {
                    Err(CryptoError::Decrypt)
                }
            }
            Err(e) if is_bad_ciphertext(&e) => Err(CryptoError::Decrypt),
            Err(e) => Err(self.hsm_failure("unwrap", &e)),
        }
    }

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn id(&self) -> String {
        self.root_id.clone()
    }
}

impl Pkcs11RootKey {
    fn hsm_failure(&self, op: &'static str, e: &Error) -> CryptoError {
        tracing::error!(
            token = %self.token_label,
            key = %self.key_label,
            error = %describe(e),
            "PKCS#11 {op} failed"
        );
        CryptoError::Unspecified
    }
}

/// Return values that say the input did not open: wrong AAD, tampered or foreign bytes.
/// SoftHSM 2.6.1 (Debian 12) reports a failed GCM tag check, and a ciphertext shorter than the
/// tag, as `CKR_GENERAL_ERROR` (checked); later SoftHSM releases and other tokens use
/// `CKR_ENCRYPTED_DATA_INVALID`.
fn is_bad_ciphertext(e: &Error) -> bool {
    matches!(
        e,
        Error::Pkcs11(
            RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
                | RvError::DataInvalid
                | RvError::DataLenRange
                | RvError::GeneralError
                | RvError::FunctionFailed
                | RvError::MechanismParamInvalid,
            _,
        )
    )
}

/// Return values that condemn the session rather than the data.
fn is_session_fault(e: &Error) -> bool {
    matches!(
        e,
        Error::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::OperationActive,
            _,
        )
    )
}

fn pkcs11_error(doing: &str, e: &Error) -> Pkcs11Error {
    Pkcs11Error::Pkcs11(format!("{doing}: {}", describe(e)))
}

fn login_failure(token: &str, rv: RvError) -> String {
    let why = match rv {
        RvError::PinIncorrect => "the user PIN is incorrect".to_owned(),
        RvError::PinLocked => "the user PIN is locked".to_owned(),
        RvError::PinExpired => "the user PIN has expired".to_owned(),
        RvError::UserPinNotInitialized => "the token's user PIN is not initialised".to_owned(),
        RvError::PinLenRange => "the PIN length is outside the token's range".to_owned(),
        other => format!("C_Login returned {other:?}"),
    };
    format!("user login to token {token:?} refused: {why}")
}

fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, Pkcs11Error> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| pkcs11_error("listing slots", &e))?;
    let mut found = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| pkcs11_error("reading token information", &e))?;
        if info.label().trim_end() == label {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(Pkcs11Error::TokenNotFound(label.to_owned())),
        several => Err(Pkcs11Error::Pkcs11(format!(
            "{} tokens are labelled {label:?}; token labels must be unique",
            several.len()
        ))),
    }
}

fn find_key(
    session: &Session,
    token: &str,
    label: &str,
) -> Result<Option<ObjectHandle>, Pkcs11Error> {
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| pkcs11_error(&format!("searching token {token:?} for {label:?}"), &e))?;
    match found.as_slice() {
        [] => Ok(None),
        [key] => Ok(Some(*key)),
        several => Err(Pkcs11Error::UnsuitableKey {
            token: token.to_owned(),
            label: label.to_owned(),
            reason: format!(
                "{} secret keys carry this label; it must name exactly one",
                several.len()
            ),
        }),
    }
}

fn generate_key(pool: &SessionPool, token: &str, label: &str) -> Result<ObjectHandle, Pkcs11Error> {
    let id: [u8; ID_LEN] =
        random_array().map_err(|e| Pkcs11Error::Pkcs11(format!("random key id: {e}")))?;
    let session = pool
        .open_rw()
        .map_err(|e| pkcs11_error(&format!("opening a read-write session on {token:?}"), &e))?;
    let key = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(KEY_LEN.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Sign(false),
                Attribute::Verify(false),
                Attribute::Derive(false),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.to_vec()),
            ],
        )
        .map_err(|e| pkcs11_error(&format!("generating {label:?} on token {token:?}"), &e))?;
    tracing::info!(
        token,
        key = label,
        "generated the PKCS#11 root key inside the token"
    );
    Ok(key)
}

/// Checks the properties a root key must have; returns its `CKA_ID` when it has one.
fn check_key(
    session: &Session,
    key: ObjectHandle,
    token: &str,
    label: &str,
) -> Result<Option<Vec<u8>>, Pkcs11Error> {
    let attributes = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::Id,
            ],
        )
        .map_err(|e| pkcs11_error(&format!("reading attributes of {label:?}"), &e))?;
    let (mut aes, mut len, mut sensitive, mut extractable) = (false, 0u64, false, true);
    let (mut encrypt, mut decrypt, mut id) = (false, false, None);
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => aes = t == KeyType::AES,
            Attribute::ValueLen(l) => len = *l,
            Attribute::Sensitive(b) => sensitive = b,
            Attribute::Extractable(b) => extractable = b,
            Attribute::Encrypt(b) => encrypt = b,
            Attribute::Decrypt(b) => decrypt = b,
            Attribute::Id(bytes) if !bytes.is_empty() => id = Some(bytes),
            _ => {}
        }
    }
    let reason = if !aes {
        Some("it is not an AES key".to_owned())
    } else if len != KEY_LEN {
        Some(format!("it is AES-{}, not AES-256", len * 8))
    } else if !sensitive {
        Some("CKA_SENSITIVE is false".to_owned())
    } else if extractable {
        Some("CKA_EXTRACTABLE is true: the key could leave the token".to_owned())
    } else if !(encrypt && decrypt) {
        Some("it is not allowed to encrypt and decrypt".to_owned())
    } else {
        None
    };
    match reason {
        None => Ok(id),
        Some(reason) => Err(Pkcs11Error::UnsuitableKey {
            token: token.to_owned(),
            label: label.to_owned(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ciphertext_and_session_faults_are_disjoint() {
        let bad = Error::Pkcs11(
            RvError::EncryptedDataInvalid,
            cryptoki::context::Function::Decrypt,
        );
        let gone = Error::Pkcs11(
            RvError::SessionHandleInvalid,
            cryptoki::context::Function::Decrypt,
        );
        assert!(is_bad_ciphertext(&bad) && !is_session_fault(&bad));
        assert!(is_session_fault(&gone) && !is_bad_ciphertext(&gone));
    }
}
