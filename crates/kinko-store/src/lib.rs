//! `kinko-store` holds the storage backends that implement [`kinko_core::Store`]. Only this crate
//! knows SQL. Two backends pass one contract suite (`tests/it`): SQLite (the embedded default,
//! one file in the data directory) and PostgreSQL (shared by several nodes). A statement that is
//! the same on both is written once (`sql/`, one file per domain, over [`SqlStore`]); each backend
//! implements a small trait for what really differs. Migrations are embedded in the binary, one
//! list per backend, and run at start by a small runner of our own. [`copy`] moves an
//! installation's data from one store to another (`kinko store copy`).

pub mod audit_codec;
mod audit_terms;
pub mod copy;
#[doc(hidden)]
pub mod fuzzing;
mod migrate;
mod postgres;
mod postgres_audit;
mod postgres_changes;
mod rows;
mod sql;
mod sqlite;
mod sqlite_audit;
mod sqlite_journal;

pub use postgres::{PgBackend, PgStore};
pub use postgres_changes::{CHANNEL, Change, ChangeFeed, ChangeListener, GAP_PATIENCE};
pub use sql::SqlStore;
pub use sqlite::{SqliteBackend, SqliteStore};
