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

/// What PostgreSQL did for one database over a measured window: the closing note's model of
/// where PostgreSQL saturates is built from these (commits, WAL bytes and rows per request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PgWork {
    /// Transactions committed in the database.
    pub(crate) commits: i64,
    /// WAL bytes the whole server wrote (`pg_current_wal_lsn` difference; other databases'
    /// writes included, so measure on a quiet server).
    pub(crate) wal_bytes: i64,
    /// WAL flushes to disk (`pg_stat_wal.wal_sync`, server-wide).
    pub(crate) wal_syncs: i64,
    /// Rows inserted, updated and deleted in the database.
    pub(crate) rows: i64,
}

impl PgWork {
    /// The per-request figures for `requests` served in the window, as one line.
    pub(crate) fn describe(&self, requests: f64, seconds: f64) -> String {
        let per = |n: i64| {
            if requests > 0.0 {
                n as f64 / requests
            } else {
                0.0
            }
        };
        format!(
            "{:.0} commits/s ({:.3} per request, {:.1} requests per commit), {:.0} WAL flushes/s, \
             {:.0} WAL bytes per request ({:.1} MB/s), {:.2} rows per request",
            self.commits as f64 / seconds,
            per(self.commits),
            if self.commits > 0 {
                requests / self.commits as f64
            } else {
                0.0
            },
            self.wal_syncs as f64 / seconds,
            per(self.wal_bytes),
            self.wal_bytes as f64 / seconds / 1e6,
            per(self.rows),
        )
    }
}

/// A sample of the counters [`PgWork`] is the difference of.
async fn pg_counters(conn: &mut PgConnection, database: &str) -> Result<PgWork> {
    // The statistics collector's counters lag by up to a second; clearing the snapshot makes
    // this read the current shared values.
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    let (commits, rows, wal_bytes, wal_syncs): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT d.xact_commit, d.tup_inserted + d.tup_updated + d.tup_deleted, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::BIGINT, w.wal_sync \
         FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = $1",
    )
    .bind(database)
    .fetch_one(&mut *conn)
    .await?;
    Ok(PgWork {
        commits,
        wal_bytes,
        wal_syncs,
        rows,
    })
}

impl BenchDatabase {
    /// What PostgreSQL did for this database between `warmup` from now and `duration` after
    /// that (the window a load plan measures); `None` if the counters cannot be read.
    pub(crate) async fn work_during(
        &self,
        warmup: std::time::Duration,
        duration: std::time::Duration,
    ) -> Option<PgWork> {
        let mut conn = connect(&self.server).await.ok()?;
        tokio::time::sleep(warmup).await;
        let a = pg_counters(&mut conn, &self.name).await.ok()?;
        tokio::time::sleep(duration).await;
        // Backends publish their statistics up to a second late, at both ends of the window
        // alike: on a steady load the difference is the window's.
        let b = pg_counters(&mut conn, &self.name).await.ok()?;
        let _ = conn.close().await;
        Some(PgWork {
            commits: b.commits - a.commits,
            wal_bytes: b.wal_bytes - a.wal_bytes,
            wal_syncs: b.wal_syncs - a.wal_syncs,
            rows: b.rows - a.rows,
        })
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
