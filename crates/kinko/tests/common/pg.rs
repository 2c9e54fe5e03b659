//! A PostgreSQL database of its own per test, on the server named by `KINKO_TEST_POSTGRES_URL`
//! (default [`DEFAULT_POSTGRES_URL`]), created on demand and dropped (`WITH (FORCE)`) with the
//! value. As in kinko-store's contract suite: if the server cannot be reached, a test fails when
//! `CI` is set, and otherwise says on stderr that it did NOT run and returns.
//!
//! Included with `#[path = "common/pg.rs"] mod pg;` by the tests that need PostgreSQL.

use std::io::Write as _;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Where the tests look for PostgreSQL when `KINKO_TEST_POSTGRES_URL` is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL if it is reachable; `None` (after saying so on stderr) if it is not and
/// `CI` is unset; a panic if it is not and `CI` is set.
pub fn server_url(test: &str) -> Option<String> {
    let url = std::env::var("KINKO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    match reach(&url) {
        Ok(()) => Some(url),
        Err(why) if std::env::var_os("CI").is_some() => panic!(
            "PostgreSQL at {url} unreachable ({why}): CI is set, so {test} must run; start PostgreSQL or point KINKO_TEST_POSTGRES_URL at one"
        ),
        Err(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL at {url} unreachable ({why}): {test} did NOT run"
            );
            None
        }
    }
}

/// The server's host and port (TCP only).
pub fn host_port(url: &str) -> (String, u16) {
    let options = PgConnectOptions::from_str(url).expect("a PostgreSQL URL");
    (options.get_host().to_owned(), options.get_port())
}

fn reach(url: &str) -> Result<(), String> {
    let options = PgConnectOptions::from_str(url).map_err(|e| format!("bad URL: {e}"))?;
    let (host, port) = (options.get_host(), options.get_port());
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let mut last = format!("{host}:{port}: no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// `url` with its host and port replaced by `host_port` and its database by `database`
/// (`scheme://[user[:password]@]host[:port]/database[?query]`).
pub fn rewrite(url: &str, host_port: Option<&str>, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path.split_once('?').map(|(_, q)| q);
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let host = host_port.unwrap_or(host);
    let mut out = format!("{scheme}://");
    if let Some(user) = user {
        out.push_str(user);
        out.push('@');
    }
    out.push_str(host);
    out.push('/');
    out.push_str(database);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database created for one test, dropped with this value.
#[derive(Debug)]
pub struct PgDatabase {
    server: String,
    /// The database's name.
    pub name: String,
    /// Its URL on the test server.
    pub url: String,
}

impl PgDatabase {
    /// Creates `kinko_test_<random>` on the server at `server`.
    pub async fn create(server: &str) -> PgDatabase {
        #[allow(clippy::disallowed_methods)] // a unique name, not a time anything reads
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos();
        let name = format!("kinko_test_{}_{nanos:x}", std::process::id());
        let mut admin = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL at {server}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE template0"
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let _ = admin.close().await;
        PgDatabase {
            server: server.to_owned(),
            url: rewrite(server, None, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: this may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&server).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
