-- Kinko schema v7: grants. (Version 6 is IAM users, roles and policies; versions need not be
-- applied contiguously.)
--
-- A grant belongs to one key and goes with it (the key's deletion deletes its grants in the
-- same transaction). Grant tokens are not stored: a token is a reference to (key, grant id)
-- that Kinko re-derives, so there is nothing here to forge one from.

CREATE TABLE grants (
    grant_id                   TEXT COLLATE "C" PRIMARY KEY,
    key_id                     TEXT COLLATE "C" NOT NULL REFERENCES keys(id),
    -- The key's account and region, for ListRetirableGrants across an account.
    account                    TEXT COLLATE "C" NOT NULL,
    region                     TEXT COLLATE "C" NOT NULL,
    name                       TEXT,
    grantee_principal          TEXT COLLATE "C" NOT NULL,
    retiring_principal         TEXT COLLATE "C",
    -- AWS operation names, comma-separated, in the order given.
    operations                 TEXT NOT NULL,
    -- Encryption-context constraints as JSON objects (string to string), NULL when absent.
    encryption_context_equals  TEXT,
    encryption_context_subset  TEXT,
    issuing_account            TEXT NOT NULL,
    created_at                 BIGINT NOT NULL
);
CREATE INDEX grants_by_key ON grants (key_id, grant_id);
CREATE INDEX grants_by_retiring_principal ON grants (account, region, retiring_principal, grant_id);

-- Other nodes cache a key's grants: every change reaches them through the change feed of
-- schema step 5, as a change of the grant's key (`Kms::invalidate_key`).
CREATE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION kinko_note_key_change();
