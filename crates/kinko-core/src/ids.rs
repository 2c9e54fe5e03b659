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

/// A key id: a lowercase UUID, or for a multi-Region key `mrk-` and 32 hex digits.
///
/// A multi-Region key has the same id in every region it is replicated to, but each region's
/// copy is a key of its own (state, policy, tags, grants). So an `mrk-` id also carries the
/// *scope* of one region ([`KeyId::in_region`]): equality, hashing (caches) and the storage
/// text ([`KeyId::storage_text`]) include it; what clients see (`Display`, ciphertext headers)
/// does not. A UUID key's scope is always empty. Multi-Region ids are UUIDv8-shaped inside
/// (version nibble 8), which is how a ciphertext header's 16 bytes tell the two kinds apart;
/// Kinko's own UUID key ids are version 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    uuid: uuid::Uuid,
    /// 0, or for an `mrk-` id scoped to a region: a nonzero 64-bit hash of the region name.
    scope: u64,
}

/// The prefix of multi-Region key ids.
const MRK_PREFIX: &str = "mrk-";

impl KeyId {
    /// A fresh random key id.
    pub fn from_random(bytes: [u8; 16]) -> KeyId {
        KeyId::unscoped(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
    /// A fresh random multi-Region key id (`mrk-...`), scoped to no region yet.
    pub fn multi_region_from_random(bytes: [u8; 16]) -> KeyId {
        KeyId::unscoped(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
    fn unscoped(uuid: uuid::Uuid) -> KeyId {
        KeyId { uuid, scope: 0 }
    }
    /// Parses the canonical hyphenated form (case-insensitive, as AWS accepts), or `mrk-` and
    /// 32 hex digits. The result is scoped to no region.
    pub fn parse(s: &str) -> Option<KeyId> {
        if let Some(hex) = s.strip_prefix(MRK_PREFIX) {
            if hex.len() != 32 {
                return None;
            }
            let bytes = kinko_crypto::hex::decode_array::<16>(&hex.to_ascii_lowercase())?;
            let id = KeyId::from_bytes(bytes);
            return id.is_multi_region().then_some(id);
        }
        if s.len() != 36 {
            return None;
        }
        let id = KeyId::unscoped(uuid::Uuid::try_parse(s).ok()?);
        (!id.is_multi_region()).then_some(id)
    }
    /// From the 16 bytes stored in a ciphertext header (scoped to no region).
    pub fn from_bytes(bytes: [u8; 16]) -> KeyId {
        KeyId::unscoped(uuid::Uuid::from_bytes(bytes))
    }
    /// The 16 bytes written into ciphertext headers (the same in every region).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.uuid.as_bytes()
    }
    /// True for a multi-Region key's id (`mrk-...`).
    pub fn is_multi_region(&self) -> bool {
        self.uuid.get_version_num() == 8
    }
    /// This id as it names a key of `region`: a multi-Region id gets that region's scope; a
    /// UUID key id is returned unchanged (it is unique across regions already).
    pub fn in_region(self, region: &Region) -> KeyId {
        if !self.is_multi_region() {
            return self;
        }
        KeyId {
            uuid: self.uuid,
            scope: region_scope(region.as_str()),
        }
    }
    /// The same id with no region scope (what clients see).
    pub fn unscoped_id(self) -> KeyId {
        KeyId::unscoped(self.uuid)
    }
    /// The text a store keeps the key under: the id itself, or for a multi-Region key scoped
    /// to a region `mrk-<hex>/r<scope hex>` (one row per region).
    pub fn storage_text(&self) -> String {
        if self.scope == 0 {
            self.to_string()
        } else {
            format!("{self}/r{:016x}", self.scope)
        }
    }
    /// The prefix every region's storage text of this id starts with (multi-Region ids).
    pub fn storage_prefix(&self) -> String {
        format!("{self}/r")
    }
    /// Parses [`KeyId::storage_text`].
    pub fn parse_storage(s: &str) -> Option<KeyId> {
        match s.split_once("/r") {
            None => KeyId::parse(s),
            Some((id, scope)) => {
                let id = KeyId::parse(id)?;
                let scope = u64::from_str_radix(scope, 16).ok()?;
                (id.is_multi_region() && scope != 0).then_some(KeyId {
                    uuid: id.uuid,
                    scope,
                })
            }
        }
    }
}

/// The scope of a region in multi-Region key ids: FNV-1a (64-bit) of its name, never 0. Stored
/// in key rows, so it must never change.
fn region_scope(region: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in region.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_multi_region() {
            write!(f, "{MRK_PREFIX}{}", self.uuid.simple())
        } else {
            fmt::Display::fmt(&self.uuid.hyphenated(), f)
        }
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
                    .ok_or_else(|| Error::NotFound(format!("Invalid keyId '{s}'")))?
                    .in_region(&region);
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

    fn region(s: &str) -> Region {
        Region::parse(s).unwrap_or_else(|| panic!("region {s}"))
    }

    #[test]
    fn multi_region_ids_are_scoped_per_region_but_show_one_id() {
        let id = KeyId::multi_region_from_random([0xab; 16]);
        let text = id.to_string();
        assert!(text.starts_with("mrk-") && text.len() == 36, "{text}");
        assert!(id.is_multi_region());
        assert_eq!(KeyId::parse(&text), Some(id));
        assert_eq!(
            KeyId::parse(&text.to_ascii_uppercase().replace("MRK-", "mrk-")),
            Some(id)
        );
        let (east, west) = (
            id.in_region(&region("us-east-1")),
            id.in_region(&region("us-west-2")),
        );
        assert_ne!(east, west, "each region's copy is a key of its own");
        assert_eq!(
            (east.to_string(), west.to_string()),
            (text.clone(), text.clone())
        );
        assert_eq!(
            east.as_bytes(),
            west.as_bytes(),
            "ciphertext headers are the same"
        );
        assert_ne!(east.storage_text(), west.storage_text());
        assert!(east.storage_text().starts_with(&east.storage_prefix()));
        assert_eq!(KeyId::parse_storage(&east.storage_text()), Some(east));
        assert_eq!(
            KeyId::from_bytes(*east.as_bytes()).in_region(&region("us-east-1")),
            east
        );
        // A UUID key id ignores regions; its storage text is itself.
        let uuid = KeyId::from_random([7; 16]);
        assert!(!uuid.is_multi_region());
        assert_eq!(uuid.in_region(&region("us-west-2")), uuid);
        assert_eq!(uuid.storage_text(), uuid.to_string());
        assert_eq!(KeyId::parse_storage(&uuid.storage_text()), Some(uuid));
        // Shapes that are not ids of their kind.
        for bad in ["mrk-xyz", "mrk-1234", &format!("{text}0")] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
        let v4_as_mrk = format!("mrk-{}", uuid::Uuid::from_bytes(*uuid.as_bytes()).simple());
        assert_eq!(
            KeyId::parse(&v4_as_mrk),
            None,
            "an mrk- id is version 8 inside"
        );
        let v8_as_uuid = uuid::Uuid::from_bytes(*id.as_bytes())
            .hyphenated()
            .to_string();
        assert_eq!(KeyId::parse(&v8_as_uuid), None);
        assert_eq!(
            KeyId::parse_storage(&format!("{text}/r0000000000000000")),
            None
        );
    }

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
