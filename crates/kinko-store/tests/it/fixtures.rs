//! Records for the scenarios, built from small numbers so that their order is obvious:
//! `key_id(1) < key_id(2) < ...` as the store orders them.

use std::sync::LazyLock;

use kinko_core::{
    Account, AccountId, Alias, AliasName, AuditAppend, AuditDraft, Key, KeyArn, KeyId, KeySpec,
    KeyState, KeyUsage, Material, MaterialId, Origin, Region, Store, Tag, UnixMillis,
    default_key_policy,
};

/// Account `11112222333<n>`.
pub fn account(n: u8) -> AccountId {
    AccountId::parse(&format!("11112222333{}", n % 10)).expect("a 12-digit account id")
}

/// The region most scenarios use.
pub fn us_east_1() -> Region {
    Region::parse("us-east-1").expect("a region")
}

/// A second region.
pub fn eu_west_1() -> Region {
    Region::parse("eu-west-1").expect("a region")
}

/// Key id `nnnnnnnn-nnnn-...`: ids sort as their `n`.
pub fn key_id(n: u8) -> KeyId {
    KeyId::from_bytes([n; 16])
}

/// Material id `nn...nn`.
pub fn material_id(n: u8) -> MaterialId {
    MaterialId([n; 32])
}

/// Inserts account `n` (keys reference their account).
pub async fn create_account(store: &dyn Store, n: u8) -> AccountId {
    let id = account(n);
    store
        .create_account(&Account {
            id: id.clone(),
            created_at: UnixMillis(1_000 + i64::from(n)),
        })
        .await
        .expect("create an account");
    id
}

/// An Enabled symmetric key, version 1, whose current material is `material_id(n)`.
pub fn key(account: &AccountId, region: &Region, n: u8) -> Key {
    Key {
        arn: KeyArn {
            region: region.clone(),
            account: account.clone(),
            key_id: key_id(n),
        },
        created_at: UnixMillis(1_767_225_600_000 + i64::from(n)),
        description: format!("key {n}"),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        state: KeyState::Enabled,
        deletion_date: None,
        pending_window_days: None,
        current_material: material_id(n),
        policy: default_key_policy(account).into(),
        version: 1,
        rotation_period_days: None,
        next_rotation: None,
        on_demand_rotations: 0,
        valid_to: None,
        expiration_model: None,
        manager: kinko_core::KeyManager::Customer,
        primary_region: None,
    }
}

/// The first material of `key`: opaque "wrapped" bytes that differ per key.
pub fn material(key: &Key) -> Material {
    Material::generated(
        key.id(),
        key.current_material,
        [
            b"wrapped:".as_slice(),
            key.id().as_bytes(),
            &[0x00, 0xff, 0x7f],
        ]
        .concat(),
        "test-root".to_owned(),
        key.created_at,
        None,
    )
}

/// Creates key `n` of `account` in `region`, with its material and `tags`.
pub async fn create_key(
    store: &dyn Store,
    account: &AccountId,
    region: &Region,
    n: u8,
    tags: &[Tag],
) -> Key {
    let key = key(account, region, n);
    store
        .create_key(&key, &material(&key), tags, audit())
        .await
        .expect("create a key");
    key
}

/// A tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// An alias name.
pub fn alias_name(name: &str) -> AliasName {
    AliasName::parse(name).expect("a valid alias name")
}

/// Alias `name` of `account`/`region` pointing at `target`, created and updated at `at`.
pub fn alias(account: &AccountId, region: &Region, name: &str, target: KeyId, at: i64) -> Alias {
    Alias {
        account: account.clone(),
        region: region.clone(),
        name: alias_name(name),
        target,
        created_at: UnixMillis(at),
        updated_at: UnixMillis(at),
    }
}

/// The audit chain the fixtures append to.
pub const CHAIN: &str = "node-test";

/// A successful, non-read-only event named `name`, numbered `n` (event id, request id and time
/// follow `n`), with no account, principal or key; scenarios fill in what they filter on.
pub fn draft(name: &str, n: u32) -> AuditDraft {
    AuditDraft {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        request_id: Some(format!("req-{n}")),
        time: UnixMillis(1_767_225_600_000 + i64::from(n) * 1_000),
        event_source: "kms.amazonaws.com".to_owned(),
        event_name: name.to_owned(),
        read_only: false,
        account: None,
        principal_arn: None,
        access_key_id: None,
        key_id: None,
        source_key_id: None,
        error_code: None,
        record: format!("{{\"eventID\":\"{n}\",\"eventName\":\"{name}\"}}").into_bytes(),
    }
}

static FIXTURE_DRAFT: LazyLock<AuditDraft> = LazyLock::new(|| draft("FixtureChange", 0));

/// The audit event every fixture mutation commits with (scenarios about the audit trail build
/// their own).
pub fn audit() -> AuditAppend<'static> {
    AuditAppend {
        chain: CHAIN,
        draft: &FIXTURE_DRAFT,
    }
}
