-- Kinko schema v10: Secrets Manager's secrets, and who manages a key.
--
-- keys.key_manager is KMS's KeyManager: CUSTOMER for keys made by CreateKey, AWS for the AWS
-- managed keys (alias/aws/<service>) Kinko creates on a service's first use.
--
-- A secret's versions hold only the value sealed under a data key (AES-256-GCM, the key's
-- ciphertext format) and that data key wrapped by KMS under the secret's key, with the
-- encryption context {"SecretARN", "SecretVersionId"}: never a value in clear.

ALTER TABLE keys ADD COLUMN key_manager TEXT NOT NULL DEFAULT 'CUSTOMER';

CREATE TABLE secrets (
    arn              TEXT PRIMARY KEY,
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL,
    -- The KmsKeyId the owner gave (key id, ARN or alias); NULL: alias/aws/secretsmanager.
    kms_key_id       TEXT,
    created_at       BIGINT NOT NULL,
    last_changed_at  BIGINT NOT NULL,
    last_accessed_at BIGINT,
    -- When a scheduled deletion happens; NULL when the secret is not pending deletion.
    deletion_date    BIGINT,
    -- Tags as a JSON array of [key, value] pairs, in the order given.
    tags             TEXT NOT NULL,
    -- Optimistic-concurrency version, bumped by every update.
    version          BIGINT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE INDEX secrets_by_deletion ON secrets (deletion_date) WHERE deletion_date IS NOT NULL;

CREATE TABLE secret_versions (
    secret_arn   TEXT NOT NULL REFERENCES secrets(arn),
    version_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    -- Staging labels, comma-separated; empty for a deprecated version.
    stages       TEXT NOT NULL,
    -- The KMS key ARN that wrapped the data key.
    key_arn      TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL,
    sealed       BLOB NOT NULL,
    -- SecretBinary (true) or SecretString (false).
    is_binary    BOOLEAN NOT NULL,
    PRIMARY KEY (secret_arn, version_id)
);
