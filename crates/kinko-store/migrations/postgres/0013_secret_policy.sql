-- Kinko schema v13: a secret's resource-based policy (Secrets Manager's PutResourcePolicy), as
-- given; NULL when the secret has none.

ALTER TABLE secrets ADD COLUMN resource_policy TEXT;
