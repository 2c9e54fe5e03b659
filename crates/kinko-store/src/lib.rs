//! `kinko-store` holds the storage backends that implement [`kinko_core::Store`]. Only this crate
//! knows SQL. Today: SQLite (the embedded default). Migrations are embedded in the binary and run
//! at start by a small runner of our own, so the same mechanism serves the PostgreSQL backend.

pub mod audit_codec;
mod migrate;
mod sqlite;
mod sqlite_audit;

pub use sqlite::SqliteStore;
