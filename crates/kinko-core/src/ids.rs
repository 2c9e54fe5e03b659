//! Identifiers, parsed once at the edge: key ids, ARNs, alias names, accounts, regions.
//! A value of one of these types is valid by construction.

use std::fmt;

use crate::Error;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    pub fn parse(s: &str) -> Option<AccountId> {
        (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| AccountId(s.to_owned()))
    }
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name such as `us-east-1` (taken from the SigV4 credential scope).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Accepts what a client may put in a credential scope: 1–64 chars of `[a-z0-9-]`.
    pub fn parse(s: &str) -> Option<Region> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Region(s.to_owned()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key id: a lowercase UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(uuid::Uuid);

impl KeyId {
    /// A fresh random key id.
    pub fn from_random(bytes: [u8; 16]) -> KeyId {
        KeyId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
    /// Parses the canonical hyphenated form (case-insensitive, as AWS accepts).
    pub fn parse(s: &str) -> Option<KeyId> {
        if s.len() != 36 {
            return None;
        }
        uuid::Uuid::try_parse(s).ok().map(KeyId)
    }
    /// From the 16 bytes stored in a ciphertext header.
    pub fn from_bytes(bytes: [u8; 16]) -> KeyId {
        KeyId(uuid::Uuid::from_bytes(bytes))
    }
    /// The 16 bytes written into ciphertext headers.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A key ARN: `arn:aws:kms:<region>:<account>:key/<key-id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyArn {
    /// Region the key lives in.
    pub region: Region,
    /// Owning account.
    pub account: AccountId,
    /// The key id.
    pub key_id: KeyId,
}

impl fmt::Display for KeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:aws:kms:{}:{}:key/{}",
            self.region, self.account, self.key_id
        )
    }
}

/// An alias name, `alias/<name>`, 1–256 characters of `[a-zA-Z0-9:/_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AliasName(String);

/// AWS's answer to an alias name without the `alias/` prefix (a ValidationException).
const ALIAS_PREFIX_MESSAGE: &str = "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html";

impl AliasName {
    /// Validates an alias name for use (lookup or creation).
    pub fn parse(s: &str) -> Result<AliasName, Error> {
        if s.is_empty() || s.len() > 256 {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{s}' at 'aliasName' failed to satisfy constraint: Member must have length between 1 and 256"
            )));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'))
        {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{s}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            )));
        }
        if !s.starts_with("alias/") {
            return Err(Error::Validation(ALIAS_PREFIX_MESSAGE.to_owned()));
        }
        if s.len() == "alias/".len() {
            return Err(Error::InvalidAliasName(format!(
                "Alias must start with the prefix \"alias/\" followed by a name: {s}"
            )));
        }
        Ok(AliasName(s.to_owned()))
    }
    /// True for the `alias/aws/` names AWS reserves for AWS managed keys.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("alias/aws/")
    }
    /// The full name, `alias/...`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The alias ARN in `region`/`account`.
    pub fn arn(&self, region: &Region, account: &AccountId) -> String {
        format!("arn:aws:kms:{region}:{account}:{}", self.0)
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a `KeyId` request field may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A bare key id.
    Id(KeyId),
    /// A key ARN.
    Arn(KeyArn),
    /// An alias name.
    AliasName(AliasName),
    /// An alias ARN.
    AliasArn {
        /// Region in the ARN.
        region: Region,
        /// Account in the ARN.
        account: AccountId,
        /// The alias.
        alias: AliasName,
    },
}

impl KeyRef {
    /// Parses a KeyId field. Unknown shapes are `NotFound` with AWS's message ("Invalid keyId");
    /// a string that starts like an ARN but is broken is `InvalidArn`.
    pub fn parse(s: &str) -> Result<KeyRef, Error> {
        if let Some(rest) = s.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region, account, resource] = parts[..] else {
                return Err(Error::InvalidArn(format!("Invalid arn {s}")));
            };
            if !partition.starts_with("aws") || service != "kms" {
                return Err(Error::InvalidArn(format!("Invalid arn {s}")));
            }
            let (Some(region), Some(account)) = (Region::parse(region), AccountId::parse(account))
            else {
                return Err(Error::InvalidArn(format!("Invalid arn {s}")));
            };
            if let Some(id) = resource.strip_prefix("key/") {
                let key_id = KeyId::parse(id)
                    .ok_or_else(|| Error::NotFound(format!("Invalid keyId '{s}'")))?;
                return Ok(KeyRef::Arn(KeyArn {
                    region,
                    account,
                    key_id,
                }));
            }
            if resource.starts_with("alias/") {
                let alias = AliasName::parse(resource)
                    .map_err(|_| Error::NotFound(format!("Alias {s} is not found.")))?;
                return Ok(KeyRef::AliasArn {
                    region,
                    account,
                    alias,
                });
            }
            return Err(Error::InvalidArn(format!("Invalid arn {s}")));
        }
        if s.starts_with("alias/") {
            let alias = AliasName::parse(s)
                .map_err(|_| Error::NotFound(format!("Alias {s} is not found.")))?;
            return Ok(KeyRef::AliasName(alias));
        }
        KeyId::parse(s)
            .map(KeyRef::Id)
            .ok_or_else(|| Error::NotFound(format!("Invalid keyId '{s}'")))
    }

    /// True when the reference names an alias (not allowed in management operations).
    pub fn is_alias(&self) -> bool {
        matches!(self, KeyRef::AliasName(_) | KeyRef::AliasArn { .. })
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::Id(id) => write!(f, "{id}"),
            KeyRef::Arn(arn) => write!(f, "{arn}"),
            KeyRef::AliasName(a) => write!(f, "{a}"),
            KeyRef::AliasArn {
                region,
                account,
                alias,
            } => f.write_str(&alias.arn(region, account)),
        }
    }
}

/// Identifies one version of a key's material: 32 bytes, shown as 64 lowercase hex digits
/// (AWS's `KeyMaterialId`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MaterialId(pub [u8; 32]);

impl MaterialId {
    /// Parses 64 hex digits.
    pub fn parse_hex(s: &str) -> Option<MaterialId> {
        if s.len() != 64 {
            return None;
        }
        kinko_crypto::hex::decode_array(s).map(MaterialId)
    }
}

impl fmt::Display for MaterialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&kinko_crypto::hex::encode(&self.0))
    }
}

impl fmt::Debug for MaterialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaterialId({self})")
    }
}

/// An access key id: 20 characters, `AKIA` + 16 of `[A-Z2-7]` for long-term keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Accepts 16–128 chars of `[A-Z0-9]` (the IAM pattern `[\w]+`, uppercase as issued).
    pub fn parse(s: &str) -> Option<AccessKeyId> {
        let ok = (16..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| AccessKeyId(s.to_owned()))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refs() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(matches!(KeyRef::parse(id), Ok(KeyRef::Id(_))));
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
        match KeyRef::parse(&arn) {
            Ok(KeyRef::Arn(a)) => assert_eq!(a.to_string(), arn),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            KeyRef::parse("alias/foo"),
            Ok(KeyRef::AliasName(_))
        ));
        assert!(matches!(
            KeyRef::parse("arn:aws:kms:us-east-1:111122223333:alias/foo"),
            Ok(KeyRef::AliasArn { .. })
        ));
        assert!(matches!(KeyRef::parse("nope"), Err(Error::NotFound(_))));
        assert!(matches!(
            KeyRef::parse("arn:aws:s3:::bucket"),
            Err(Error::InvalidArn(_))
        ));
        assert!(matches!(
            KeyRef::parse("arn:aws:kms:us-east-1:1:key/x"),
            Err(Error::InvalidArn(_))
        ));
    }

    #[test]
    fn alias_names() {
        assert!(AliasName::parse("alias/ok_name-1:/x").is_ok());
        assert!(matches!(
            AliasName::parse("alias/bad name"),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            AliasName::parse("noprefix"),
            Err(Error::Validation(m)) if m == ALIAS_PREFIX_MESSAGE
        ));
        assert!(matches!(
            AliasName::parse("alias/"),
            Err(Error::InvalidAliasName(_))
        ));
        assert!(
            AliasName::parse("alias/aws/x")
                .map(|a| a.is_reserved())
                .unwrap_or(false)
        );
    }

    #[test]
    fn material_id_hex_round_trip() {
        let m = MaterialId([0xab; 32]);
        assert_eq!(MaterialId::parse_hex(&m.to_string()), Some(m));
        assert_eq!(MaterialId::parse_hex("zz"), None);
    }
}
