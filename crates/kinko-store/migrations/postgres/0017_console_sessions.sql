-- Kinko schema v17: the web console's sessions, so that they survive a restart and every node of
-- a shared store honours them. No session id and no CSRF token: only their SHA-256 (hex).
-- Times are Unix milliseconds; a row whose idle or absolute expiry has passed is ended and is
-- removed (at each sign-in, and when it is next presented).

CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    principal_arn TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    csrf_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    credentials_expire_at BIGINT
);

CREATE INDEX console_sessions_idle ON console_sessions (idle_expires_at);
CREATE INDEX console_sessions_absolute ON console_sessions (absolute_expires_at);
