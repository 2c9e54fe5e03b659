//! The backends the contract suite runs on. Each [`fresh`] call yields one empty database per
//! backend; a test owns it and it disappears with the test.
//!
//! SQLite always runs. PostgreSQL runs against the server named by `KINKO_TEST_POSTGRES_URL`
//! (default [`DEFAULT_POSTGRES_URL`]): every [`fresh`] call creates a database of its own there
//! (`kinko_test_<random hex>`) and drops it when the backend is dropped, so tests running in
//! parallel never see each other's data. If that server cannot be reached, the suite fails when
//! `CI` is set; otherwise it runs on SQLite alone and says so once on stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use kinko_core::Store;
use kinko_store::{PgStore, SqliteStore};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};
use tempfile::TempDir;

/// Where the PostgreSQL arm runs when `KINKO_TEST_POSTGRES_URL` is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One empty database of one backend.
#[derive(Debug)]
pub enum Backend {
    /// `kinko.db` in its own temporary directory.
    Sqlite(TempDir),
    /// A database of its own on the test PostgreSQL server.
    Postgres(PgDatabase),
}

/// A fresh, empty database of every backend.
pub async fn fresh() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite(
        tempfile::tempdir().expect("create a temporary directory"),
    )];
    if let Some(server) = postgres_server() {
        backends.push(Backend::Postgres(PgDatabase::create(server).await));
    }
    backends
}

/// The PostgreSQL server URL if it is reachable; `None` (after one line on stderr) if it is not
/// and `CI` is unset; a panic if it is not and `CI` is set.
fn postgres_server() -> Option<&'static str> {
    static REACHABLE: OnceLock<(String, Result<(), String>)> = OnceLock::new();
    static WARNED: Once = Once::new();
    let (url, reachable) = REACHABLE.get_or_init(|| {
        let url = std::env::var("KINKO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let reachable = reach(&url);
        (url, reachable)
    });
    match reachable {
        Ok(()) => Some(url.as_str()),
        Err(why) if std::env::var_os("CI").is_some() => panic!(
            "PostgreSQL at {url} unreachable ({why}): CI is set, so the PostgreSQL contract suite must run; start PostgreSQL or point KINKO_TEST_POSTGRES_URL at one"
        ),
        Err(why) => {
            // Straight to the process's stderr, past the test harness's output capture.
            WARNED.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL at {url} unreachable ({why}): the PostgreSQL contract suite did NOT run"
                );
            });
            None
        }
    }
}

/// Whether something accepts connections where `url` points (TCP, or a Unix socket directory).
fn reach(url: &str) -> Result<(), String> {
    let options = PgConnectOptions::from_str(url).map_err(|e| format!("bad URL: {e}"))?;
    let (host, port) = (options.get_host(), options.get_port());
    if host.starts_with('/') {
        let socket = PathBuf::from(host).join(format!(".s.PGSQL.{port}"));
        return std::os::unix::net::UnixStream::connect(&socket)
            .map(drop)
            .map_err(|e| format!("{}: {e}", socket.display()));
    }
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

/// A database created for one test on the test server, dropped with this value.
#[derive(Debug)]
pub struct PgDatabase {
    /// The server's URL (its own database, used to create and drop ours).
    server: String,
    /// This database's name.
    name: String,
    /// This database's URL.
    url: String,
}

impl PgDatabase {
    async fn create(server: &str) -> PgDatabase {
        let bytes: [u8; 8] = kinko_crypto::random_array().expect("random bytes");
        let name = format!("kinko_test_{}", kinko_crypto::hex::encode(&bytes));
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
            url: with_database(server, &name),
            name,
        }
    }

    /// Every value stored in a column that can hold bytes or text, with where it is
    /// (`table.column`), read straight from the database rather than through the store.
    async fn stored_values(&self) -> Vec<(String, Vec<u8>)> {
        let mut conn = PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        let columns = sqlx::query(
            "SELECT table_name::TEXT AS t, column_name::TEXT AS c, data_type::TEXT AS d \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND data_type IN ('bytea', 'text', 'character varying') ORDER BY 1, 2",
        )
        .fetch_all(&mut conn)
        .await
        .expect("list the columns");
        let mut out = Vec::new();
        for column in columns {
            let (table, name, kind): (String, String, String) =
                (column.get("t"), column.get("c"), column.get("d"));
            let as_bytes = if kind == "bytea" {
                format!("\"{name}\"")
            } else {
                format!("convert_to(\"{name}\", 'UTF8')")
            };
            let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {as_bytes} FROM \"{table}\""
            )))
            .fetch_all(&mut conn)
            .await
            .expect("read a column");
            out.extend(
                values
                    .into_iter()
                    .flatten()
                    .map(|v| (format!("{table}.{name}"), v)),
            );
        }
        let _ = conn.close().await;
        out
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs inside a test's runtime, which cannot block on another future: drop the
        // database from a thread with a runtime of its own.
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| "panicked".to_owned()) {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop test database {}: {e}",
                self.name
            );
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// An open store and what it takes to close it cleanly.
#[derive(Debug)]
pub struct Opened {
    /// The store, as the core sees it.
    pub store: Arc<dyn Store>,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    /// A short name for failure output.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens (the first time: creates and migrates) this backend's database.
    pub async fn open(&self) -> Opened {
        match self {
            Backend::Sqlite(dir) => {
                let store = SqliteStore::open(&dir.path().join("kinko.db"))
                    .await
                    .expect("open the SQLite store");
                Opened {
                    store: Arc::new(store.clone()),
                    handle: Handle::Sqlite(store),
                }
            }
            Backend::Postgres(db) => {
                let store = PgStore::open(&db.url)
                    .await
                    .expect("open the PostgreSQL store");
                Opened {
                    store: Arc::new(store.clone()),
                    handle: Handle::Postgres(store),
                }
            }
        }
    }

    /// Everything the backend keeps, as bytes, each with where it is. SQLite: every file in its
    /// directory (`kinko.db`, `kinko.db-wal`, `kinko.db-shm`, ...), whole. PostgreSQL: every
    /// value of every bytea and text column of the database, read with a connection of its own
    /// (the server's data directory is not ours to scan; what the store wrote is what is stored).
    pub async fn raw_contents(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Backend::Sqlite(dir) => std::fs::read_dir(dir.path())
                .expect("list the database directory")
                .map(|entry| entry.expect("read a directory entry").path())
                .filter(|p| p.is_file())
                .map(|p| {
                    let bytes = std::fs::read(&p).expect("read a database file");
                    (p.display().to_string(), bytes)
                })
                .collect(),
            Backend::Postgres(db) => db.stored_values().await,
        }
    }
}

impl Opened {
    /// Closes the store: every acknowledged write must be durable afterwards.
    pub async fn close(self) {
        drop(self.store);
        match self.handle {
            Handle::Sqlite(store) => store.close().await,
            Handle::Postgres(store) => store.close().await,
        }
    }
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}
