//! `kinko-store` holds the storage backends that implement [`kinko_core::Store`]. Only this crate
//! knows SQL. Two backends pass one contract suite (`tests/it`): SQLite (the embedded default,
//! one file in the data directory) and PostgreSQL (shared by several nodes). Migrations are
//! embedded in the binary, one list per backend, and run at start by a small runner of our own.
//! [`copy`] moves an installation's data from one store to another (`kinko store copy`).

pub mod audit_codec;
pub mod copy;
mod identity_sql;
mod migrate;
mod postgres;
mod postgres_audit;
mod postgres_changes;
mod rows;
mod sqlite;
mod sqlite_audit;
mod sqlite_journal;

pub use postgres::PgStore;
pub use postgres_changes::{CHANNEL, Change, ChangeFeed, ChangeListener, GAP_PATIENCE};
pub use sqlite::SqliteStore;
