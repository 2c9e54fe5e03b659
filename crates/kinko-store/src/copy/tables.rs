//! The tables `kinko store copy` copies column for column, and their values: the same in both
//! schemas, up to representation, so one catalogue serves every pair of backends.

use kinko_core::StoreError;

use crate::rows::Columns;
use crate::sql::Arg;

/// How a column is typed (the same in both schemas, up to representation).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Text,
    OptText,
    Int,
    OptInt,
    Bytes,
    Flag,
}

/// A table copied column for column.
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) order: &'static str,
    pub(super) columns: &'static [(&'static str, Kind)],
}

use Kind::{Bytes, Flag, Int, OptInt, OptText, Text};

/// Every table but the audit events, parents before children (foreign keys).
pub(super) const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        order: "id",
        columns: &[("id", Text), ("created_at", Int)],
    },
    Table {
        name: "access_keys",
        order: "id",
        columns: &[
            ("id", Text),
            ("account", Text),
            ("principal_arn", Text),
            ("wrapped_secret", Bytes),
            ("active", Flag),
            ("created_at", Int),
            ("root_id", Text),
        ],
    },
    Table {
        name: "iam_users",
        order: "account, name_key",
        columns: &[
            ("account", Text),
            ("name_key", Text),
            ("name", Text),
            ("path", Text),
            ("id", Text),
            ("arn", Text),
            ("created_at", Int),
            ("tags", Text),
        ],
    },
    Table {
        name: "iam_roles",
        order: "account, name_key",
        columns: &[
            ("account", Text),
            ("name_key", Text),
            ("name", Text),
            ("path", Text),
            ("id", Text),
            ("arn", Text),
            ("trust_policy", Text),
            ("description", Text),
            ("max_session_duration", Int),
            ("created_at", Int),
            ("tags", Text),
        ],
    },
    Table {
        name: "iam_inline_policies",
        order: "account, owner_kind, owner_key, name",
        columns: &[
            ("account", Text),
            ("owner_kind", Text),
            ("owner_key", Text),
            ("owner_name", Text),
            ("name", Text),
            ("document", Text),
        ],
    },
    Table {
        name: "sts_sessions",
        order: "access_key_id",
        columns: &[
            ("access_key_id", Text),
            ("account", Text),
            ("principal_arn", Text),
            ("role_arn", Text),
            ("wrapped_secret", Bytes),
            ("root_id", Text),
            ("token_hash", Bytes),
            ("created_at", Int),
            ("expires_at", Int),
            ("role_id", Text),
        ],
    },
    Table {
        name: "keys",
        order: "id",
        columns: &[
            ("id", Text),
            ("account", Text),
            ("region", Text),
            ("created_at", Int),
            ("description", Text),
            ("spec", Text),
            ("usage", Text),
            ("origin", Text),
            ("state", Text),
            ("deletion_date", OptInt),
            ("pending_window_days", OptInt),
            ("current_material", Text),
            ("policy", Text),
            ("version", Int),
            ("rotation_period_days", OptInt),
            ("next_rotation", OptInt),
            ("on_demand_rotations", Int),
            ("valid_to", OptInt),
            ("expiration_model", OptText),
            ("key_manager", Text),
        ],
    },
    Table {
        name: "key_materials",
        order: "key_id, material_id",
        columns: &[
            ("key_id", Text),
            ("material_id", Text),
            ("wrapped", Bytes),
            ("created_at", Int),
            ("root_id", Text),
            ("rotation_type", OptText),
            ("description", Text),
            ("valid_to", OptInt),
            ("expiration_model", OptText),
            ("pending_rotation", Flag),
            ("fingerprint", OptText),
        ],
    },
    Table {
        name: "aliases",
        order: "account, region, name",
        columns: &[
            ("account", Text),
            ("region", Text),
            ("name", Text),
            ("target", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
    },
    Table {
        name: "tags",
        order: "key_id, tag_key",
        columns: &[("key_id", Text), ("tag_key", Text), ("tag_value", Text)],
    },
    Table {
        name: "grants",
        order: "grant_id",
        columns: &[
            ("grant_id", Text),
            ("key_id", Text),
            ("account", Text),
            ("region", Text),
            ("name", OptText),
            ("grantee_principal", Text),
            ("retiring_principal", OptText),
            ("operations", Text),
            ("encryption_context_equals", OptText),
            ("encryption_context_subset", OptText),
            ("issuing_account", Text),
            ("created_at", Int),
            ("grantee_kind", Text),
            ("retiring_kind", Text),
            ("source_arn", OptText),
        ],
    },
    Table {
        name: "import_parameters",
        order: "token_id",
        columns: &[
            ("token_id", Text),
            ("key_id", Text),
            ("wrapping_algorithm", Text),
            ("wrapping_key_spec", Text),
            ("wrapped_private_key", Bytes),
            ("root_id", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
    },
    Table {
        name: "settings",
        order: "name",
        columns: &[("name", Text), ("value", Text)],
    },
    Table {
        name: "audit_chains",
        order: "chain",
        columns: &[("chain", Text), ("last_seq", Int), ("last_hash", Bytes)],
    },
    Table {
        name: "audit_key_usage",
        order: "key_id, operation",
        columns: &[
            ("key_id", Text),
            ("operation", Text),
            ("uses", Int),
            ("last_time", Int),
            ("last_event_id", Text),
            ("last_request_id", OptText),
        ],
    },
    Table {
        name: "audit_digests",
        order: "chain, last_seq, prune_anchor",
        columns: &[
            ("chain", Text),
            ("first_seq", Int),
            ("last_seq", Int),
            ("last_hash", Bytes),
            ("digest_time", Int),
            ("prev_signature", Bytes),
            ("prune_anchor", Flag),
            ("signature", Bytes),
        ],
    },
    Table {
        name: "secrets",
        order: "arn",
        columns: &[
            ("arn", Text),
            ("account", Text),
            ("region", Text),
            ("name", Text),
            ("description", Text),
            ("kms_key_id", OptText),
            ("created_at", Int),
            ("last_changed_at", Int),
            ("last_accessed_at", OptInt),
            ("deletion_date", OptInt),
            ("tags", Text),
            ("version", Int),
            ("resource_policy", OptText),
            ("rotation", OptText),
        ],
    },
    Table {
        name: "secret_versions",
        order: "secret_arn, version_id",
        columns: &[
            ("secret_arn", Text),
            ("version_id", Text),
            ("created_at", Int),
            ("stages", Text),
            ("key_arn", Text),
            ("wrapped_key", Bytes),
            ("sealed", Bytes),
            ("is_binary", Flag),
        ],
    },
];

/// One column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Vec<u8>),
    Flag(bool),
}

pub(super) fn read_value(
    row: &impl Columns,
    table: &str,
    column: &str,
    kind: Kind,
) -> Result<Value, StoreError> {
    Ok(match kind {
        Text => Value::Text(row.text(table, column)?),
        OptText => Value::OptText(row.opt_text(table, column)?),
        Int => Value::Int(row.int(table, column)?),
        OptInt => Value::OptInt(row.opt_int(table, column)?),
        Bytes => Value::Bytes(row.bytes(table, column)?),
        Flag => Value::Flag(row.flag(table, column)?),
    })
}

impl<'a> From<&'a Value> for Arg<'a> {
    fn from(v: &'a Value) -> Arg<'a> {
        match v {
            Value::Text(v) => Arg::from(v),
            Value::OptText(v) => Arg::from(v.as_deref()),
            Value::Int(v) => Arg::from(*v),
            Value::OptInt(v) => Arg::from(*v),
            Value::Bytes(v) => Arg::from(v),
            Value::Flag(v) => Arg::from(*v),
        }
    }
}
