-- The audit trail: one hash chain per node, events in chain order, and signed digests.
CREATE TABLE audit_chains (
    chain      TEXT PRIMARY KEY,
    last_seq   BIGINT NOT NULL,
    last_hash  BLOB NOT NULL
);

CREATE TABLE audit_events (
    chain          TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL,
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
    error_code     TEXT,
    record         BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_by_time ON audit_events (event_time, chain, seq);
CREATE INDEX audit_events_by_key ON audit_events (key_id, event_time);
CREATE INDEX audit_events_by_event_id ON audit_events (event_id);

CREATE TABLE audit_digests (
    chain           TEXT NOT NULL,
    first_seq       BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    last_hash       BLOB NOT NULL,
    digest_time     BIGINT NOT NULL,
    prev_signature  BLOB NOT NULL,
    prune_anchor    BOOLEAN NOT NULL,
    signature       BLOB NOT NULL,
    PRIMARY KEY (chain, last_seq, prune_anchor)
);
