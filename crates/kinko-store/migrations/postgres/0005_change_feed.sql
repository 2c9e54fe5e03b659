-- Kinko schema v5, PostgreSQL only: the change feed that keeps the caches of several nodes on
-- one database in step. SQLite (one node) has no step 5; the next shared step is 6.
--
-- Every change to a key, its material, its tags or an alias adds a row to `key_changes` in the
-- changing transaction (so it commits or rolls back with the change) and raises a notification
-- on the `kinko_key_changes` channel, which PostgreSQL delivers at commit. Nodes LISTEN and, on
-- each notification and every few hundred milliseconds anyway, read the rows after the last
-- sequence number they saw and forget what those rows name. Old rows are pruned by the nodes.

CREATE TABLE key_changes (
    seq            BIGSERIAL PRIMARY KEY,
    -- The key whose record, material or tags changed (NULL for alias rows' own purposes: the
    -- alias row names its target here too, for operators reading the table).
    key_id         TEXT COLLATE "C",
    -- Set on alias changes: the alias whose target changed, appeared or went away.
    alias_account  TEXT COLLATE "C",
    alias_region   TEXT COLLATE "C",
    alias_name     TEXT COLLATE "C",
    changed_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX key_changes_by_time ON key_changes (changed_at);

CREATE FUNCTION kinko_note_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF TG_TABLE_NAME = 'keys' THEN
        INSERT INTO key_changes (key_id) VALUES (r.id);
    ELSIF TG_TABLE_NAME = 'aliases' THEN
        INSERT INTO key_changes (key_id, alias_account, alias_region, alias_name)
            VALUES (r.target, r.account, r.region, r.name);
    ELSE
        INSERT INTO key_changes (key_id) VALUES (r.key_id);
    END IF;
    -- One notification per transaction: identical payloads are folded at commit.
    PERFORM pg_notify('kinko_key_changes', '');
    RETURN NULL;
END
$$;

-- A new key is in nobody's cache: only updates and deletes of keys and material matter.
CREATE TRIGGER keys_changed AFTER UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION kinko_note_key_change();
CREATE TRIGGER key_materials_changed AFTER UPDATE OR DELETE ON key_materials
    FOR EACH ROW EXECUTE FUNCTION kinko_note_key_change();
CREATE TRIGGER tags_changed AFTER INSERT OR UPDATE OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION kinko_note_key_change();
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE ON aliases
    FOR EACH ROW EXECUTE FUNCTION kinko_note_key_change();
