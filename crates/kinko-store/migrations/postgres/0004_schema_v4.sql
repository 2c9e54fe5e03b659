-- Kinko schema v4 on PostgreSQL: SQLite's migrations 0001 (init), 0002 (root ids), 0003 (audit)
-- and 0004 (lifecycle) in one script, recorded as version 4 so that both backends name the same
-- schema version and the next migration is 0005 on both.
--
-- Differences from the SQLite schema, all of them representation only:
-- - BYTEA for blobs, BIGINT for every integer (millis, versions, counts), BOOLEAN for flags.
-- - Text that the store orders or compares with `<`/`>` (ids, names, tag keys, chains) is
--   COLLATE "C": byte order, as Rust's `str` ordering and SQLite's BINARY collation, whatever
--   the database's default collation is.
-- - The audit trail is one row per event (`audit_events`) instead of one row per group commit:
--   PostgreSQL filters and pages it with indexes, and several nodes insert concurrently. The
--   chain head row in `audit_chains` is locked (SELECT ... FOR UPDATE) by every append.
-- Key material and access-key secrets are stored only wrapped under the root key.

CREATE TABLE accounts (
    id          TEXT COLLATE "C" PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

CREATE TABLE access_keys (
    id              TEXT COLLATE "C" PRIMARY KEY,
    account         TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    principal_arn   TEXT NOT NULL,
    wrapped_secret  BYTEA NOT NULL,
    active          BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    root_id         TEXT NOT NULL DEFAULT ''
);

CREATE TABLE keys (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    account               TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    region                TEXT COLLATE "C" NOT NULL,
    created_at            BIGINT NOT NULL,
    description           TEXT NOT NULL,
    spec                  TEXT NOT NULL,
    usage                 TEXT NOT NULL,
    origin                TEXT NOT NULL,
    state                 TEXT NOT NULL,
    deletion_date         BIGINT,
    pending_window_days   BIGINT,
    current_material      TEXT NOT NULL,
    policy                TEXT NOT NULL,
    version               BIGINT NOT NULL,
    rotation_period_days  BIGINT,
    next_rotation         BIGINT,
    on_demand_rotations   BIGINT NOT NULL DEFAULT 0,
    valid_to              BIGINT,
    expiration_model      TEXT
);
CREATE INDEX keys_by_account_region ON keys (account, region, id);
CREATE INDEX keys_by_next_rotation ON keys (next_rotation);
CREATE INDEX keys_by_deletion_date ON keys (deletion_date);
CREATE INDEX keys_by_valid_to ON keys (valid_to);

CREATE TABLE key_materials (
    key_id            TEXT COLLATE "C" NOT NULL REFERENCES keys(id),
    material_id       TEXT COLLATE "C" NOT NULL,
    wrapped           BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    root_id           TEXT NOT NULL DEFAULT '',
    rotation_type     TEXT,
    description       TEXT NOT NULL DEFAULT '',
    valid_to          BIGINT,
    expiration_model  TEXT,
    pending_rotation  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Imported material: a keyed digest that recognises a reimport of the same material after
    -- the material itself was deleted or expired (never the material).
    fingerprint       TEXT,
    PRIMARY KEY (key_id, material_id)
);

CREATE TABLE aliases (
    account     TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    target      TEXT COLLATE "C" NOT NULL REFERENCES keys(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE INDEX aliases_by_target ON aliases (target);

CREATE TABLE tags (
    key_id     TEXT COLLATE "C" NOT NULL REFERENCES keys(id),
    tag_key    TEXT COLLATE "C" NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);

CREATE TABLE settings (
    name   TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT NOT NULL
);

-- The parameters of pending imports (the wrapping private key, wrapped under the root key).
CREATE TABLE import_parameters (
    token_id             TEXT COLLATE "C" PRIMARY KEY,
    key_id               TEXT COLLATE "C" NOT NULL REFERENCES keys(id),
    wrapping_algorithm   TEXT NOT NULL,
    wrapping_key_spec    TEXT NOT NULL,
    wrapped_private_key  BYTEA NOT NULL,
    root_id              TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL
);
CREATE INDEX import_parameters_by_key ON import_parameters (key_id);

-- The audit trail: one hash chain per node. The head row is what appends lock.
CREATE TABLE audit_chains (
    chain      TEXT COLLATE "C" PRIMARY KEY,
    last_seq   BIGINT NOT NULL,
    last_hash  BYTEA NOT NULL
);

-- One row per event, in chain order by (chain, seq).
CREATE TABLE audit_events (
    chain          TEXT COLLATE "C" NOT NULL,
    seq            BIGINT NOT NULL,
    prev_hash      BYTEA NOT NULL,
    hash           BYTEA NOT NULL,
    event_id       TEXT NOT NULL,
    request_id     TEXT,
    event_time     BIGINT NOT NULL,
    event_source   TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    read_only      BOOLEAN NOT NULL,
    account        TEXT,
    principal_arn  TEXT,
    access_key_id  TEXT,
    key_id         TEXT,
    source_key_id  TEXT,
    error_code     TEXT,
    record         BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
-- Newest first across chains (LookupEvents, `kinko audit query`), and the selective filters.
CREATE INDEX audit_events_by_time ON audit_events (event_time, chain, seq);
CREATE INDEX audit_events_by_key ON audit_events (key_id, event_time) WHERE key_id IS NOT NULL;
CREATE INDEX audit_events_by_source_key ON audit_events (source_key_id, event_time)
    WHERE source_key_id IS NOT NULL;
CREATE INDEX audit_events_by_event_id ON audit_events (event_id);
CREATE INDEX audit_events_by_principal ON audit_events (principal_arn, event_time)
    WHERE principal_arn IS NOT NULL;

-- Successful cryptographic uses per key and operation (GetKeyLastUsage, usage counts), updated
-- in the same transaction as the events they count. Derived data: it can be rebuilt from the trail.
CREATE TABLE audit_key_usage (
    key_id           TEXT COLLATE "C" NOT NULL,
    operation        TEXT COLLATE "C" NOT NULL,
    uses             BIGINT NOT NULL,
    last_time        BIGINT NOT NULL,
    last_event_id    TEXT NOT NULL,
    last_request_id  TEXT,
    PRIMARY KEY (key_id, operation)
);

CREATE TABLE audit_digests (
    chain           TEXT COLLATE "C" NOT NULL,
    first_seq       BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    last_hash       BYTEA NOT NULL,
    digest_time     BIGINT NOT NULL,
    prev_signature  BYTEA NOT NULL,
    prune_anchor    BOOLEAN NOT NULL,
    signature       BYTEA NOT NULL,
    PRIMARY KEY (chain, last_seq, prune_anchor)
);
