//! A throwaway PostgreSQL database for one store of the `--stores` comparison: created on the
//! server `--postgres-url` names, dropped (`WITH (FORCE)`) when the comparison of that store ends.

use std::str::FromStr;

use anyhow::{Context as _, Result};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// A database of the bench's own.
#[derive(Debug)]
pub(crate) struct BenchDatabase {
    server: String,
    name: String,
    /// Its URL, for `kinko serve --store`.
    pub(crate) url: String,
}

impl BenchDatabase {
    /// Creates `kinko_bench_<pid>_<nanos>` on the server at `server` (a URL of any database
    /// there, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub(crate) async fn create(server: &str) -> Result<BenchDatabase> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("kinko_bench_{}_{nanos:x}", std::process::id());
        let mut admin = connect(server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE template0"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("cannot create database {name}"))?;
        let _ = admin.close().await;
        let url = with_database(server, &name);
        Ok(BenchDatabase {
            server: server.to_owned(),
            name,
            url,
        })
    }

    /// Drops the database (the Kinko nodes using it must be stopped).
    pub(crate) async fn drop_now(self) -> Result<()> {
        let mut admin = connect(&self.server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("cannot drop database {}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

async fn connect(server: &str) -> Result<PgConnection> {
    let options = PgConnectOptions::from_str(server).context("bad --postgres-url")?;
    PgConnection::connect_with(&options)
        .await
        .context("cannot connect to PostgreSQL at --postgres-url")
}

/// `url` naming `database` instead (`scheme://authority/database[?query]`).
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path.split_once('?').map(|(_, q)| q);
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_swapped_in_url() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
