//! The column lists of the records read back whole, as literals for `concat!`: every query names
//! its columns (never `SELECT *`), so that a connection's cached prepared statements survive a
//! later migration adding a column, and the decoders in `rows.rs` read the same list on every
//! backend.

macro_rules! key_columns {
    () => {
        "id, account, region, created_at, description, spec, usage, origin, state, deletion_date, \
         pending_window_days, current_material, policy, version, rotation_period_days, \
         next_rotation, on_demand_rotations, valid_to, expiration_model, primary_region, key_manager"
    };
}

macro_rules! material_columns {
    () => {
        "key_id, material_id, wrapped, created_at, root_id, rotation_type, description, valid_to, \
         expiration_model, pending_rotation, fingerprint"
    };
}

macro_rules! import_columns {
    () => {
        "token_id, key_id, wrapping_algorithm, wrapping_key_spec, wrapped_private_key, root_id, \
         created_at, expires_at"
    };
}

macro_rules! access_key_columns {
    () => {
        "id, account, principal_arn, wrapped_secret, active, created_at, root_id"
    };
}

macro_rules! alias_columns {
    () => {
        "account, region, name, target, created_at, updated_at"
    };
}

macro_rules! grant_columns {
    () => {
        "grant_id, key_id, account, region, name, grantee_principal, retiring_principal, \
         operations, encryption_context_equals, encryption_context_subset, issuing_account, \
         created_at, grantee_kind, retiring_kind, source_arn"
    };
}

macro_rules! user_columns {
    () => {
        "account, name, path, id, arn, created_at, tags"
    };
}

macro_rules! role_columns {
    () => {
        "account, name, path, id, arn, trust_policy, description, max_session_duration, \
         created_at, tags"
    };
}

macro_rules! policy_columns {
    () => {
        "account, owner_kind, owner_name, name, document"
    };
}

macro_rules! session_columns {
    () => {
        "access_key_id, account, principal_arn, role_arn, wrapped_secret, root_id, token_hash, \
         created_at, expires_at, role_id"
    };
}

macro_rules! digest_columns {
    () => {
        "chain, first_seq, last_seq, last_hash, digest_time, prev_signature, prune_anchor, \
         signature"
    };
}

pub(crate) use {
    access_key_columns, alias_columns, digest_columns, grant_columns, import_columns, key_columns,
    material_columns, policy_columns, role_columns, session_columns, user_columns,
};
