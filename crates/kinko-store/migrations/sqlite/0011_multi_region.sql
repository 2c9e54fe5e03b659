-- Kinko schema v11: multi-Region keys. A multi-Region key (`mrk-` id) has one row per region it
-- is replicated to; its `id` column is `mrk-<hex>/r<16 hex>`, the id and its region's scope
-- (kinko_core::KeyId::storage_text), so the rows do not clash. Material, tags, grants, aliases
-- and import parameters name that same per-region text. `primary_region` is the region of the
-- primary key, on every region's row; NULL for single-Region keys.
ALTER TABLE keys ADD COLUMN primary_region TEXT;
