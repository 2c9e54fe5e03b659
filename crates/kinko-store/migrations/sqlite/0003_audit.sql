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
    events     BLOB NOT NULL,
    -- The hash of the batch's last event, and its successful cryptographic uses per key and
    -- operation as a JSON array; the triggers below fold them into the chain head and the usage
    -- counts, so that a group commit is one INSERT statement.
    last_hash  BLOB,
    key_usage  TEXT
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

CREATE TRIGGER audit_batches_advance_head AFTER INSERT ON audit_batches
WHEN NEW.last_hash IS NOT NULL
BEGIN
    INSERT INTO audit_chains (chain, last_seq, last_hash) VALUES (NEW.chain, NEW.last_seq, NEW.last_hash)
    ON CONFLICT (chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash
    WHERE excluded.last_seq > audit_chains.last_seq;
END;

CREATE TRIGGER audit_batches_count_usage AFTER INSERT ON audit_batches
WHEN NEW.key_usage IS NOT NULL
BEGIN
    INSERT INTO audit_key_usage (key_id, operation, uses, last_time, last_event_id, last_request_id)
    SELECT json_extract(u.value, '$.k'), json_extract(u.value, '$.o'), json_extract(u.value, '$.n'),
           json_extract(u.value, '$.t'), json_extract(u.value, '$.e'), json_extract(u.value, '$.r')
    FROM json_each(NEW.key_usage) AS u WHERE true
    ON CONFLICT (key_id, operation) DO UPDATE SET
        uses = audit_key_usage.uses + excluded.uses,
        last_time = excluded.last_time,
        last_event_id = excluded.last_event_id,
        last_request_id = excluded.last_request_id;
END;
