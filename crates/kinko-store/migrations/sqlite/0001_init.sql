-- Kinko schema v1. Key material and access-key secrets are stored only wrapped under the root key.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

CREATE TABLE access_keys (
    id              TEXT PRIMARY KEY,
    account         TEXT NOT NULL REFERENCES accounts(id),
    principal_arn   TEXT NOT NULL,
    wrapped_secret  BLOB NOT NULL,
    active          BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE keys (
    id                   TEXT PRIMARY KEY,
    account              TEXT NOT NULL REFERENCES accounts(id),
    region               TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    description          TEXT NOT NULL,
    spec                 TEXT NOT NULL,
    usage                TEXT NOT NULL,
    origin               TEXT NOT NULL,
    state                TEXT NOT NULL,
    deletion_date        BIGINT,
    pending_window_days  INTEGER,
    current_material     TEXT NOT NULL,
    policy               TEXT NOT NULL,
    version              BIGINT NOT NULL
);
CREATE INDEX keys_by_account_region ON keys (account, region, id);

CREATE TABLE key_materials (
    key_id      TEXT NOT NULL REFERENCES keys(id),
    material_id TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (key_id, material_id)
);

CREATE TABLE aliases (
    account     TEXT NOT NULL,
    region      TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL REFERENCES keys(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE INDEX aliases_by_target ON aliases (target);

CREATE TABLE tags (
    key_id     TEXT NOT NULL REFERENCES keys(id),
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);

CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
