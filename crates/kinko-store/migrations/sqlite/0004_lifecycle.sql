-- Key lifecycle: automatic and on-demand rotation, imported key material with an expiry, and
-- the parameters of pending imports (the wrapping private key, wrapped under the root key).
ALTER TABLE keys ADD COLUMN rotation_period_days INTEGER;
ALTER TABLE keys ADD COLUMN next_rotation BIGINT;
ALTER TABLE keys ADD COLUMN on_demand_rotations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN valid_to BIGINT;
ALTER TABLE keys ADD COLUMN expiration_model TEXT;
CREATE INDEX keys_by_next_rotation ON keys (next_rotation);
CREATE INDEX keys_by_deletion_date ON keys (deletion_date);
CREATE INDEX keys_by_valid_to ON keys (valid_to);

ALTER TABLE key_materials ADD COLUMN rotation_type TEXT;
ALTER TABLE key_materials ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE key_materials ADD COLUMN valid_to BIGINT;
ALTER TABLE key_materials ADD COLUMN expiration_model TEXT;
ALTER TABLE key_materials ADD COLUMN pending_rotation BOOLEAN NOT NULL DEFAULT FALSE;
-- Imported material: a keyed digest that recognises a reimport of the same material after the
-- material itself was deleted or expired (never the material).
ALTER TABLE key_materials ADD COLUMN fingerprint TEXT;

CREATE TABLE import_parameters (
    token_id            TEXT PRIMARY KEY,
    key_id              TEXT NOT NULL REFERENCES keys(id),
    wrapping_algorithm  TEXT NOT NULL,
    wrapping_key_spec   TEXT NOT NULL,
    wrapped_private_key BLOB NOT NULL,
    root_id             TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL
);
CREATE INDEX import_parameters_by_key ON import_parameters (key_id);
