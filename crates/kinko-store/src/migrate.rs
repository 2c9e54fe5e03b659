//! A minimal, backend-neutral migration runner: an ordered list of embedded SQL scripts and a
//! `schema_migrations` table recording which have run. Each script runs in one transaction.

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
];
