-- Kinko schema v9: LookupEvents and `kinko audit query` answered from an index.
--
-- Events stay in their group-commit batches (the canonical, hashed records are not touched).
-- Beside each batch, `audit_terms` holds one row per distinct searchable value its events carry
-- (`n:` event name, `s:` event source, `u:` user name, `p:` principal ARN, `a:` access key id,
-- `e:` event id, `k:` a key id, `t:key` for a batch with an event that names a key, `r:1`/`r:0`
-- read-only, `f:1`/`f:0` failed, `c:` account). A filtered query reads the batches of its term,
-- newest first, from this table's primary key, and decodes only those. Derived data: the
-- verifier never reads it, and it can be rebuilt from the batches.
--
-- A batch written with its terms has `indexed = 1`. Batches from before this step (and batches
-- written by tools that insert rows directly, such as `kinko store copy`) have `indexed = 0`:
-- the store indexes them when it opens, and until then queries decode them as before, so no
-- query ever misses an event.

ALTER TABLE audit_batches ADD COLUMN indexed BOOLEAN NOT NULL DEFAULT 0;
-- Terms name their batch by (chain, last_seq): pruning may move a batch's first_seq.
CREATE INDEX audit_batches_by_last_seq ON audit_batches (chain, last_seq);
CREATE INDEX audit_batches_unindexed ON audit_batches (max_time) WHERE indexed = 0;

CREATE TABLE audit_terms (
    term      TEXT NOT NULL,
    max_time  BIGINT NOT NULL,
    chain     TEXT NOT NULL,
    last_seq  BIGINT NOT NULL,
    PRIMARY KEY (term, max_time, chain, last_seq)
) WITHOUT ROWID;
