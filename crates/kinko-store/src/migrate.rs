//! A minimal, backend-neutral migration runner: an ordered list of embedded SQL scripts per
//! backend and a `schema_migrations` table recording which have run. Each script runs in one
//! transaction. Versions are schema versions shared by the backends: a backend may apply several
//! of another's steps in one script, recorded under the last version it covers.

use sqlx::{Connection, Database, Decode, Encode, Executor, FromRow, IntoArguments, Type};

use kinko_core::{Clock, StoreError, SystemClock};

use crate::sql::unavailable;

/// One embedded migration.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// SQLite migrations, oldest first. Never edit a shipped one: add a new version.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "root_ids",
        sql: include_str!("../migrations/sqlite/0002_root_ids.sql"),
    },
    Migration {
        version: 3,
        name: "audit",
        sql: include_str!("../migrations/sqlite/0003_audit.sql"),
    },
    Migration {
        version: 4,
        name: "lifecycle",
        sql: include_str!("../migrations/sqlite/0004_lifecycle.sql"),
    },
    Migration {
        version: 6,
        name: "identity",
        sql: include_str!("../migrations/sqlite/0006_identity.sql"),
    },
    Migration {
        version: 7,
        name: "grants",
        sql: include_str!("../migrations/sqlite/0007_grants.sql"),
    },
    Migration {
        version: 8,
        name: "session_role_id",
        sql: include_str!("../migrations/sqlite/0008_session_role_id.sql"),
    },
    Migration {
        version: 9,
        name: "audit_index",
        sql: include_str!("../migrations/sqlite/0009_audit_index.sql"),
    },
    Migration {
        version: 10,
        name: "secrets",
        sql: include_str!("../migrations/sqlite/0010_secrets.sql"),
    },
    Migration {
        version: 11,
        name: "multi_region",
        sql: include_str!("../migrations/sqlite/0011_multi_region.sql"),
    },
    Migration {
        version: 12,
        name: "service_grants",
        sql: include_str!("../migrations/sqlite/0012_service_grants.sql"),
    },
    Migration {
        version: 13,
        name: "secret_policy",
        sql: include_str!("../migrations/sqlite/0013_secret_policy.sql"),
    },
    Migration {
        version: 14,
        name: "secret_rotation",
        sql: include_str!("../migrations/sqlite/0014_secret_rotation.sql"),
    },
    Migration {
        version: 17,
        name: "console_sessions",
        sql: include_str!("../migrations/sqlite/0017_console_sessions.sql"),
    },
];

/// PostgreSQL migrations, oldest first. Never edit a shipped one: add a new version (the same
/// number as SQLite's step of the same schema change). Version 5 (the change feed of several
/// nodes) is PostgreSQL's alone: SQLite has no step 5, and the next shared step is 6.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 4,
        name: "schema_v4",
        sql: include_str!("../migrations/postgres/0004_schema_v4.sql"),
    },
    Migration {
        version: 5,
        name: "change_feed",
        sql: include_str!("../migrations/postgres/0005_change_feed.sql"),
    },
    Migration {
        version: 6,
        name: "identity",
        sql: include_str!("../migrations/postgres/0006_identity.sql"),
    },
    Migration {
        version: 7,
        name: "grants",
        sql: include_str!("../migrations/postgres/0007_grants.sql"),
    },
    Migration {
        version: 8,
        name: "session_role_id",
        sql: include_str!("../migrations/postgres/0008_session_role_id.sql"),
    },
    Migration {
        version: 9,
        name: "audit_index",
        sql: include_str!("../migrations/postgres/0009_audit_index.sql"),
    },
    Migration {
        version: 10,
        name: "secrets",
        sql: include_str!("../migrations/postgres/0010_secrets.sql"),
    },
    Migration {
        version: 11,
        name: "multi_region",
        sql: include_str!("../migrations/postgres/0011_multi_region.sql"),
    },
    Migration {
        version: 12,
        name: "service_grants",
        sql: include_str!("../migrations/postgres/0012_service_grants.sql"),
    },
    Migration {
        version: 13,
        name: "secret_policy",
        sql: include_str!("../migrations/postgres/0013_secret_policy.sql"),
    },
    Migration {
        version: 14,
        name: "secret_rotation",
        sql: include_str!("../migrations/postgres/0014_secret_rotation.sql"),
    },
    Migration {
        version: 15,
        name: "audit_hourly",
        sql: include_str!("../migrations/postgres/0015_audit_hourly.sql"),
    },
    Migration {
        version: 17,
        name: "console_sessions",
        sql: include_str!("../migrations/postgres/0017_console_sessions.sql"),
    },
];

/// Applies the `migrations` not yet recorded in `schema_migrations` on `conn`, each in its own
/// transaction. The caller makes sure no other process migrates at the same time (SQLite: one
/// connection to one file; PostgreSQL: an advisory lock held on `conn`).
pub(crate) async fn run<DB>(
    conn: &mut DB::Connection,
    migrations: &[Migration],
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    for<'r> i64: Decode<'r, DB>,
{
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    for m in migrations {
        let mut tx = conn.begin().await.map_err(unavailable)?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let now = SystemClock.now().as_secs();
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
    }
    Ok(())
}
