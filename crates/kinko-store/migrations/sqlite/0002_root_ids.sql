-- Every wrapped secret names the root key that wrapped it, so that moving to another root of
-- trust can proceed row by row and resume after an interruption.
ALTER TABLE key_materials ADD COLUMN root_id TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN root_id TEXT NOT NULL DEFAULT '';
