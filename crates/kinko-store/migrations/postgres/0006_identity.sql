-- The same schema step as SQLite's 0006 (PostgreSQL: BYTEA for blobs, COLLATE "C" on ordered text).
-- Identity (issue #4): IAM users and roles, their inline policies, and STS sessions. Long-term
-- access keys of users stay in `access_keys` (principal_arn = the user's ARN, `active` is
-- UpdateAccessKey's status). Names are unique per account regardless of case (`name_key` is the
-- lowercased name); tags are a JSON object of strings.

CREATE TABLE iam_users (
    account     TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name_key    TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    path        TEXT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    arn         TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    tags        TEXT NOT NULL,
    PRIMARY KEY (account, name_key)
);

CREATE TABLE iam_roles (
    account               TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    name_key              TEXT COLLATE "C" NOT NULL,
    name                  TEXT COLLATE "C" NOT NULL,
    path                  TEXT NOT NULL,
    id                    TEXT NOT NULL UNIQUE,
    arn                   TEXT NOT NULL UNIQUE,
    trust_policy          TEXT NOT NULL,
    description           TEXT NOT NULL,
    max_session_duration  BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    tags                  TEXT NOT NULL,
    PRIMARY KEY (account, name_key)
);

-- owner_kind is 'user' or 'role'; owner_key the owner's lowercased name.
CREATE TABLE iam_inline_policies (
    account     TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    owner_kind  TEXT COLLATE "C" NOT NULL,
    owner_key   TEXT COLLATE "C" NOT NULL,
    owner_name  TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account, owner_kind, owner_key, name)
);

CREATE INDEX access_keys_by_principal ON access_keys (principal_arn);

-- Temporary credentials: the secret wrapped under the root key like a long-term one (AAD =
-- access key id), the session token only as its SHA-256.
CREATE TABLE sts_sessions (
    access_key_id   TEXT COLLATE "C" PRIMARY KEY,
    account         TEXT COLLATE "C" NOT NULL REFERENCES accounts(id),
    principal_arn   TEXT NOT NULL,
    role_arn        TEXT NOT NULL,
    wrapped_secret  BYTEA NOT NULL,
    root_id         TEXT NOT NULL,
    token_hash      BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_at);
