//! Reading stored records back into domain values, once for every backend: each backend's row
//! type implements [`Columns`] (typed column access), and the decoders here build keys,
//! materials, aliases, grants and the rest from it. A value that does not parse is
//! [`StoreError::Corrupt`], naming the table and column. [`grant_values`] goes the other way: a
//! grant's columns as stored.

use std::collections::BTreeMap;

use kinko_core::{
    AccessKey, AccessKeyId, Account, AccountId, Alias, AliasName, AuditDigest, ExpirationModel,
    Grant, GrantConstraints, GrantOperation, GrantPrincipal, ImportParameters, Key, KeyArn, KeyId,
    KeyManager, KeySpec, KeyState, KeyUsage, Material, MaterialId, Origin, Region, RotationType,
    StoreError, Tag, UnixMillis,
};
use sqlx::Row;

pub(crate) fn corrupt(table: &str, column: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}"))
}

/// Typed access to the columns of one row.
pub(crate) trait Columns {
    fn text(&self, table: &str, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, table: &str, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, table: &str, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, table: &str, column: &str) -> Result<Option<i64>, StoreError>;
    fn bytes(&self, table: &str, column: &str) -> Result<Vec<u8>, StoreError>;
    fn flag(&self, table: &str, column: &str) -> Result<bool, StoreError>;

    /// A 32-byte hash.
    fn hash32(&self, table: &str, column: &str) -> Result<[u8; 32], StoreError> {
        self.bytes(table, column)?
            .try_into()
            .map_err(|_| corrupt(table, column))
    }

    /// An optional enum stored as its name.
    fn opt_enum<T>(
        &self,
        table: &str,
        column: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, StoreError> {
        match self.opt_text(table, column)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).ok_or_else(|| corrupt(table, column)),
        }
    }

    /// A required value stored as text and parsed.
    fn parsed<T>(
        &self,
        table: &str,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        parse(&self.text(table, column)?).ok_or_else(|| corrupt(table, column))
    }
}

macro_rules! columns_for {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, table: &str, column: &str) -> Result<String, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
            fn opt_text(&self, table: &str, column: &str) -> Result<Option<String>, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
            fn int(&self, table: &str, column: &str) -> Result<i64, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
            fn opt_int(&self, table: &str, column: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
            fn bytes(&self, table: &str, column: &str) -> Result<Vec<u8>, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
            fn flag(&self, table: &str, column: &str) -> Result<bool, StoreError> {
                self.try_get(column).map_err(|_| corrupt(table, column))
            }
        }
    };
}

columns_for!(sqlx::sqlite::SqliteRow);
columns_for!(sqlx::postgres::PgRow);

fn small(n: Option<i64>) -> Option<u32> {
    n.and_then(|d| u32::try_from(d).ok())
}

pub(crate) fn account(row: &impl Columns) -> Result<Account, StoreError> {
    const T: &str = "accounts";
    Ok(Account {
        id: row.parsed(T, "id", AccountId::parse)?,
        created_at: UnixMillis(row.int(T, "created_at")?),
    })
}

pub(crate) fn key(row: &impl Columns) -> Result<Key, StoreError> {
    const T: &str = "keys";
    Ok(Key {
        arn: KeyArn {
            region: row.parsed(T, "region", Region::parse)?,
            account: row.parsed(T, "account", AccountId::parse)?,
            key_id: row.parsed(T, "id", KeyId::parse_storage)?,
        },
        created_at: UnixMillis(row.int(T, "created_at")?),
        description: row.text(T, "description")?,
        spec: row.parsed(T, "spec", KeySpec::parse)?,
        usage: row.parsed(T, "usage", KeyUsage::parse)?,
        origin: row.parsed(T, "origin", Origin::parse)?,
        state: row.parsed(T, "state", KeyState::parse)?,
        deletion_date: row.opt_int(T, "deletion_date")?.map(UnixMillis),
        pending_window_days: small(row.opt_int(T, "pending_window_days")?),
        current_material: row.parsed(T, "current_material", MaterialId::parse_hex)?,
        policy: row.text(T, "policy")?.into(),
        version: row.int(T, "version")?,
        rotation_period_days: small(row.opt_int(T, "rotation_period_days")?),
        next_rotation: row.opt_int(T, "next_rotation")?.map(UnixMillis),
        on_demand_rotations: small(Some(row.int(T, "on_demand_rotations")?))
            .ok_or_else(|| corrupt(T, "on_demand_rotations"))?,
        valid_to: row.opt_int(T, "valid_to")?.map(UnixMillis),
        expiration_model: row.opt_enum(T, "expiration_model", ExpirationModel::parse)?,
        manager: row.parsed(T, "key_manager", KeyManager::parse)?,
        primary_region: row.opt_enum(T, "primary_region", Region::parse)?,
    })
}

pub(crate) fn access_key(row: &impl Columns) -> Result<AccessKey, StoreError> {
    const T: &str = "access_keys";
    Ok(AccessKey {
        id: row.parsed(T, "id", AccessKeyId::parse)?,
        account: row.parsed(T, "account", AccountId::parse)?,
        principal_arn: row.text(T, "principal_arn")?,
        wrapped_secret: row.bytes(T, "wrapped_secret")?,
        root_id: row.text(T, "root_id")?,
        active: row.flag(T, "active")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
    })
}

pub(crate) fn material(row: &impl Columns) -> Result<Material, StoreError> {
    const T: &str = "key_materials";
    Ok(Material {
        key_id: row.parsed(T, "key_id", KeyId::parse_storage)?,
        id: row.parsed(T, "material_id", MaterialId::parse_hex)?,
        wrapped: row.bytes(T, "wrapped")?,
        root_id: row.text(T, "root_id")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        rotation_type: row.opt_enum(T, "rotation_type", RotationType::parse)?,
        description: row.text(T, "description")?,
        valid_to: row.opt_int(T, "valid_to")?.map(UnixMillis),
        expiration_model: row.opt_enum(T, "expiration_model", ExpirationModel::parse)?,
        pending_rotation: row.flag(T, "pending_rotation")?,
        fingerprint: row.opt_text(T, "fingerprint")?,
    })
}

pub(crate) fn import_parameters(row: &impl Columns) -> Result<ImportParameters, StoreError> {
    const T: &str = "import_parameters";
    Ok(ImportParameters {
        token_id: row.text(T, "token_id")?,
        key_id: row.parsed(T, "key_id", KeyId::parse_storage)?,
        wrapping_algorithm: row.text(T, "wrapping_algorithm")?,
        wrapping_key_spec: row.text(T, "wrapping_key_spec")?,
        wrapped_private_key: row.bytes(T, "wrapped_private_key")?,
        root_id: row.text(T, "root_id")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        expires_at: UnixMillis(row.int(T, "expires_at")?),
    })
}

pub(crate) fn alias(row: &impl Columns) -> Result<Alias, StoreError> {
    const T: &str = "aliases";
    Ok(Alias {
        account: row.parsed(T, "account", AccountId::parse)?,
        region: row.parsed(T, "region", Region::parse)?,
        name: row.parsed(T, "name", |s| AliasName::parse(s).ok())?,
        target: row.parsed(T, "target", KeyId::parse_storage)?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        updated_at: UnixMillis(row.int(T, "updated_at")?),
    })
}

pub(crate) fn tag(row: &impl Columns) -> Result<Tag, StoreError> {
    const T: &str = "tags";
    Ok(Tag {
        key: row.text(T, "tag_key")?,
        value: row.text(T, "tag_value")?,
    })
}

pub(crate) fn digest(row: &impl Columns) -> Result<AuditDigest, StoreError> {
    const T: &str = "audit_digests";
    Ok(AuditDigest {
        chain: row.text(T, "chain")?,
        first_seq: row.int(T, "first_seq")?,
        last_seq: row.int(T, "last_seq")?,
        last_hash: row.hash32(T, "last_hash")?,
        time: UnixMillis(row.int(T, "digest_time")?),
        prev_signature: row.bytes(T, "prev_signature")?,
        prune_anchor: row.flag(T, "prune_anchor")?,
        signature: row.bytes(T, "signature")?,
    })
}

/// A grant's text columns as stored, in column order (without `created_at`).
pub(crate) fn grant_values(grant: &Grant) -> Result<[Option<String>; 11], StoreError> {
    let constraints = grant.constraints.as_ref();
    Ok([
        Some(grant.grant_id.clone()),
        Some(grant.key_arn.key_id.storage_text()),
        Some(grant.key_arn.account.as_str().to_owned()),
        Some(grant.key_arn.region.as_str().to_owned()),
        grant.name.clone(),
        Some(grant.grantee.as_str().to_owned()),
        grant.retiring.as_ref().map(|p| p.as_str().to_owned()),
        Some(
            grant
                .operations
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        context_json(constraints.and_then(|c| c.encryption_context_equals.as_ref()))?,
        context_json(constraints.and_then(|c| c.encryption_context_subset.as_ref()))?,
        Some(grant.issuing_account.clone()),
    ])
}

/// The stored kind of a grant's grantee or retiring principal (`aws` when there is none).
pub(crate) fn principal_kind(principal: Option<&GrantPrincipal>) -> &'static str {
    match principal {
        Some(GrantPrincipal::Service(_)) => "service",
        Some(GrantPrincipal::Aws(_)) | None => "aws",
    }
}

fn context_json(map: Option<&BTreeMap<String, String>>) -> Result<Option<String>, StoreError> {
    map.map(|m| {
        serde_json::to_string(m).map_err(|e| StoreError::Corrupt(format!("grant constraint: {e}")))
    })
    .transpose()
}

fn context_map(
    row: &impl Columns,
    column: &str,
) -> Result<Option<BTreeMap<String, String>>, StoreError> {
    row.opt_text("grants", column)?
        .map(|s| serde_json::from_str(&s).map_err(|_| corrupt("grants", column)))
        .transpose()
}

pub(crate) fn grant(row: &impl Columns) -> Result<Grant, StoreError> {
    const T: &str = "grants";
    let operations = row
        .text(T, "operations")?
        .split(',')
        .map(|o| GrantOperation::parse(o).ok_or_else(|| corrupt(T, "operations")))
        .collect::<Result<Vec<_>, _>>()?;
    let equals = context_map(row, "encryption_context_equals")?;
    let subset = context_map(row, "encryption_context_subset")?;
    let source_arn = row.opt_text(T, "source_arn")?;
    let constraints = (equals.is_some() || subset.is_some() || source_arn.is_some()).then_some(
        GrantConstraints {
            encryption_context_equals: equals,
            encryption_context_subset: subset,
            source_arn,
        },
    );
    let principal = |value: String, kind_column: &str| -> Result<GrantPrincipal, StoreError> {
        match row.text(T, kind_column)?.as_str() {
            "aws" => Ok(GrantPrincipal::Aws(value)),
            "service" => Ok(GrantPrincipal::Service(value)),
            _ => Err(corrupt(T, kind_column)),
        }
    };
    Ok(Grant {
        grant_id: row.text(T, "grant_id")?,
        key_arn: KeyArn {
            region: row.parsed(T, "region", Region::parse)?,
            account: row.parsed(T, "account", AccountId::parse)?,
            key_id: row.parsed(T, "key_id", KeyId::parse_storage)?,
        },
        name: row.opt_text(T, "name")?,
        grantee: principal(row.text(T, "grantee_principal")?, "grantee_kind")?,
        retiring: row
            .opt_text(T, "retiring_principal")?
            .map(|p| principal(p, "retiring_kind"))
            .transpose()?,
        operations,
        constraints,
        issuing_account: row.text(T, "issuing_account")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
    })
}

/// Tags of an IAM user or role, stored as a JSON object of strings.
pub(crate) fn encode_iam_tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".to_owned())
}

fn iam_tags(
    row: &impl Columns,
    table: &str,
) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    serde_json::from_str(&row.text(table, "tags")?).map_err(|_| corrupt(table, "tags"))
}

pub(crate) fn iam_user(row: &impl Columns) -> Result<kinko_core::IamUser, StoreError> {
    const T: &str = "iam_users";
    Ok(kinko_core::IamUser {
        account: row.parsed(T, "account", AccountId::parse)?,
        name: row.text(T, "name")?,
        path: row.text(T, "path")?,
        id: row.text(T, "id")?,
        arn: row.text(T, "arn")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        tags: iam_tags(row, T)?,
    })
}

pub(crate) fn iam_role(row: &impl Columns) -> Result<kinko_core::IamRole, StoreError> {
    const T: &str = "iam_roles";
    Ok(kinko_core::IamRole {
        account: row.parsed(T, "account", AccountId::parse)?,
        name: row.text(T, "name")?,
        path: row.text(T, "path")?,
        id: row.text(T, "id")?,
        arn: row.text(T, "arn")?,
        trust_policy: row.text(T, "trust_policy")?,
        description: row.text(T, "description")?,
        max_session_duration: u32::try_from(row.int(T, "max_session_duration")?)
            .map_err(|_| corrupt(T, "max_session_duration"))?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        tags: iam_tags(row, T)?,
    })
}

pub(crate) fn inline_policy(row: &impl Columns) -> Result<kinko_core::InlinePolicy, StoreError> {
    const T: &str = "iam_inline_policies";
    Ok(kinko_core::InlinePolicy {
        account: row.parsed(T, "account", AccountId::parse)?,
        owner: kinko_core::PolicyOwner {
            kind: row.parsed(T, "owner_kind", kinko_core::PolicyOwnerKind::parse)?,
            name: row.text(T, "owner_name")?,
        },
        name: row.text(T, "name")?,
        document: row.text(T, "document")?,
    })
}

pub(crate) fn session(row: &impl Columns) -> Result<kinko_core::Session, StoreError> {
    const T: &str = "sts_sessions";
    Ok(kinko_core::Session {
        access_key_id: row.parsed(T, "access_key_id", AccessKeyId::parse)?,
        account: row.parsed(T, "account", AccountId::parse)?,
        principal_arn: row.text(T, "principal_arn")?,
        role_arn: row.text(T, "role_arn")?,
        role_id: row.text(T, "role_id")?,
        wrapped_secret: row.bytes(T, "wrapped_secret")?,
        root_id: row.text(T, "root_id")?,
        token_hash: row.hash32(T, "token_hash")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        expires_at: UnixMillis(row.int(T, "expires_at")?),
    })
}

/// Tags of a secret, stored as a JSON array of `[key, value]` pairs in the order given.
pub(crate) fn encode_secret_tags(tags: &[Tag]) -> String {
    let pairs: Vec<[&str; 2]> = tags
        .iter()
        .map(|t| [t.key.as_str(), t.value.as_str()])
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

/// A secret's rotation as stored (a JSON object).
pub(crate) fn encode_rotation(r: &kinko_core::SecretRotation) -> String {
    serde_json::json!({
        "enabled": r.enabled,
        "lambda_arn": r.lambda_arn,
        "after_days": r.after_days,
        "schedule": r.schedule,
        "duration": r.duration,
        "interval_ms": r.interval_ms,
        "last_rotated": r.last_rotated.map(|t| t.0),
        "next_rotation": r.next_rotation.map(|t| t.0),
        "last_failure": r.last_failure,
    })
    .to_string()
}

fn decode_rotation(text: &str) -> Option<kinko_core::SecretRotation> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let opt_text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let opt_int = |k: &str| v.get(k).and_then(serde_json::Value::as_i64);
    Some(kinko_core::SecretRotation {
        enabled: v.get("enabled")?.as_bool()?,
        lambda_arn: opt_text("lambda_arn")?,
        after_days: opt_int("after_days"),
        schedule: opt_text("schedule"),
        duration: opt_text("duration"),
        interval_ms: opt_int("interval_ms")?,
        last_rotated: opt_int("last_rotated").map(UnixMillis),
        next_rotation: opt_int("next_rotation").map(UnixMillis),
        last_failure: opt_text("last_failure"),
    })
}

pub(crate) fn secret(row: &impl Columns) -> Result<kinko_core::Secret, StoreError> {
    const T: &str = "secrets";
    let pairs: Vec<[String; 2]> =
        serde_json::from_str(&row.text(T, "tags")?).map_err(|_| corrupt(T, "tags"))?;
    Ok(kinko_core::Secret {
        arn: row.text(T, "arn")?,
        account: row.parsed(T, "account", AccountId::parse)?,
        region: row.parsed(T, "region", Region::parse)?,
        name: row.text(T, "name")?,
        description: row.text(T, "description")?,
        kms_key_id: row.opt_text(T, "kms_key_id")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        last_changed_at: UnixMillis(row.int(T, "last_changed_at")?),
        deletion_date: row.opt_int(T, "deletion_date")?.map(UnixMillis),
        tags: pairs
            .into_iter()
            .map(|[key, value]| Tag { key, value })
            .collect(),
        resource_policy: row.opt_text(T, "resource_policy")?,
        rotation: match row.opt_text(T, "rotation")? {
            Some(text) => Some(decode_rotation(&text).ok_or_else(|| corrupt(T, "rotation"))?),
            None => None,
        },
        version: row.int(T, "version")?,
    })
}

pub(crate) fn secret_version(row: &impl Columns) -> Result<kinko_core::SecretVersion, StoreError> {
    const T: &str = "secret_versions";
    let stages = row.text(T, "stages")?;
    Ok(kinko_core::SecretVersion {
        secret_arn: row.text(T, "secret_arn")?,
        version_id: row.text(T, "version_id")?,
        created_at: UnixMillis(row.int(T, "created_at")?),
        stages: stages
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        key_arn: row.text(T, "key_arn")?,
        wrapped_key: row.bytes(T, "wrapped_key")?,
        sealed: row.bytes(T, "sealed")?,
        is_binary: row.flag(T, "is_binary")?,
    })
}
