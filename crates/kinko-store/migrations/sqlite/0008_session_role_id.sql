-- Kinko schema v8: an STS session is bound to its role's unique id (`AROA…`), not to the role's
-- name, so a role deleted and created again under the same name does not lend its permissions to
-- the old role's sessions. Sessions issued before this step have no id: they match no role and
-- stop working, which is the safe side (they last 12 hours at most).

ALTER TABLE sts_sessions ADD COLUMN role_id TEXT NOT NULL DEFAULT '';
