-- The audit trail: one hash chain per node, events in chain order, and signed digests.
CREATE TABLE audit_chains (
    chain      TEXT PRIMARY KEY,
    last_seq   BIGINT NOT NULL,
    last_hash  BLOB NOT NULL
);

-- Events are stored in group-commit batches: one row per commit, the events encoded one after
-- another in `events` (see kinko-store's audit_codec). One row per batch keeps the write path to
-- one B-tree insert per commit; queries decode batches.
CREATE TABLE audit_batches (
    chain      TEXT NOT NULL,
    first_seq  BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL,
    min_time   BIGINT NOT NULL,
    max_time   BIGINT NOT NULL,
    events     BLOB NOT NULL
);
CREATE INDEX audit_batches_by_seq ON audit_batches (chain, first_seq);
CREATE INDEX audit_batches_by_time ON audit_batches (max_time);

-- Successful cryptographic uses per key and operation (GetKeyLastUsage, usage counts), updated
-- in the same transaction as the events they count. Derived data: it can be rebuilt from the trail.
CREATE TABLE audit_key_usage (
    key_id           TEXT NOT NULL,
    operation        TEXT NOT NULL,
    uses             BIGINT NOT NULL,
    last_time        BIGINT NOT NULL,
    last_event_id    TEXT NOT NULL,
    last_request_id  TEXT,
    PRIMARY KEY (key_id, operation)
);

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
