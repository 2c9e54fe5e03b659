-- Kinko schema v14: a secret's rotation (Secrets Manager's RotateSecret), as a JSON object
-- {"enabled", "lambda_arn", "after_days", "schedule", "interval_ms", "last_rotated",
-- "next_rotation", "last_failure"}; NULL when rotation was never configured.

ALTER TABLE secrets ADD COLUMN rotation TEXT;
