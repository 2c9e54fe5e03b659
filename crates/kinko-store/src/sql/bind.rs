//! Statements as values: the SQL text and the arguments to bind, built once by the shared SQL
//! and run by either backend. [`Dialect`] turns a [`Stmt`] into a sqlx query of its database and
//! runs it on a pool or on a transaction's connection; it is implemented here once for every
//! sqlx database Kinko uses, so no backend file repeats the binding.

use std::borrow::Cow;
use std::future::Future;

use sqlx::{Database, Pool, SqlSafeStr, SqlStr};

use crate::rows::Columns;

/// One value bound to a statement. The shared SQL uses only these column types, which both
/// backends store alike.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Int(i64),
    OptInt(Option<i64>),
    Bytes(Cow<'a, [u8]>),
    Flag(bool),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v.map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v.map(Cow::Owned))
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Bytes(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(Cow::Borrowed(v))
    }
}

impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Cow::Owned(v))
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Flag(v)
    }
}

/// A statement with its arguments, in placeholder order (`$1`, `$2`, ...).
#[derive(Debug)]
pub(crate) struct Stmt<'a> {
    sql: SqlStr,
    args: Vec<Arg<'a>>,
}

impl<'a> Stmt<'a> {
    pub(crate) fn new(sql: impl SqlSafeStr) -> Stmt<'a> {
        Stmt {
            sql: sql.into_sql_str(),
            args: Vec::new(),
        }
    }

    /// Adds the value of the next placeholder.
    pub(crate) fn bind(mut self, value: impl Into<Arg<'a>>) -> Stmt<'a> {
        self.args.push(value.into());
        self
    }
}

/// Where a statement runs: on the pool (a connection of its own) or in a transaction.
pub(crate) enum On<'a, DB: Database> {
    Pool(&'a Pool<DB>),
    Conn(&'a mut DB::Connection),
}

/// A sqlx database the shared SQL runs on.
pub(crate) trait Dialect: Database {
    /// Its row, read through [`Columns`].
    type Record: Columns + Send;

    /// Runs `s`; returns how many rows it changed.
    fn execute<'a>(
        on: On<'a, Self>,
        s: Stmt<'a>,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;

    /// Runs `s`; returns its first row, if any.
    fn fetch_optional<'a>(
        on: On<'a, Self>,
        s: Stmt<'a>,
    ) -> impl Future<Output = Result<Option<Self::Record>, sqlx::Error>> + Send + 'a;

    /// Runs `s`; returns every row.
    fn fetch_all<'a>(
        on: On<'a, Self>,
        s: Stmt<'a>,
    ) -> impl Future<Output = Result<Vec<Self::Record>, sqlx::Error>> + Send + 'a;
}

macro_rules! dialect {
    ($db:ty, $row:ty) => {
        impl Dialect for $db {
            type Record = $row;

            fn execute<'a>(
                on: On<'a, Self>,
                s: Stmt<'a>,
            ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
                async move {
                    let q = query::<$db>(s);
                    let done = match on {
                        On::Pool(pool) => q.execute(pool).await?,
                        On::Conn(conn) => q.execute(conn).await?,
                    };
                    Ok(done.rows_affected())
                }
            }

            fn fetch_optional<'a>(
                on: On<'a, Self>,
                s: Stmt<'a>,
            ) -> impl Future<Output = Result<Option<$row>, sqlx::Error>> + Send + 'a {
                async move {
                    let q = query::<$db>(s);
                    match on {
                        On::Pool(pool) => q.fetch_optional(pool).await,
                        On::Conn(conn) => q.fetch_optional(conn).await,
                    }
                }
            }

            fn fetch_all<'a>(
                on: On<'a, Self>,
                s: Stmt<'a>,
            ) -> impl Future<Output = Result<Vec<$row>, sqlx::Error>> + Send + 'a {
                async move {
                    let q = query::<$db>(s);
                    match on {
                        On::Pool(pool) => q.fetch_all(pool).await,
                        On::Conn(conn) => q.fetch_all(conn).await,
                    }
                }
            }
        }
    };
}

dialect!(sqlx::Sqlite, sqlx::sqlite::SqliteRow);
dialect!(sqlx::Postgres, sqlx::postgres::PgRow);

/// The sqlx query of `s`, its arguments bound.
fn query<'q, DB>(s: Stmt<'_>) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments>
where
    DB: Database,
    for<'t> &'t str: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<&'t str>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'t [u8]: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> bool: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query::<DB>(s.sql);
    for arg in &s.args {
        q = match arg {
            Arg::Text(v) => q.bind(v.as_ref()),
            Arg::OptText(v) => q.bind(v.as_deref()),
            Arg::Int(v) => q.bind(*v),
            Arg::OptInt(v) => q.bind(*v),
            Arg::Bytes(v) => q.bind(v.as_ref()),
            Arg::Flag(v) => q.bind(*v),
        };
    }
    q
}
