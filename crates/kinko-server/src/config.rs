//! Server configuration: defaults, then a TOML file, then `KINKO_*` environment variables, then
//! flags. The binary's argument parser puts flags over the environment; [`Config::merge`] puts
//! that over the file and the file over the defaults, in one place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7700";
/// Default data directory (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "kinko-data";
/// Default node id (audit chain name).
pub const DEFAULT_NODE_ID: &str = "node-1";
/// Default region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Why the configuration could not be read or is invalid; names the file or the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("reading config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("parsing config file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error (line, column and key).
        #[source]
        source: toml::de::Error,
    },
    /// `region` is not a region name.
    #[error("invalid region {0:?}: expected something like us-east-1")]
    Region(String),
    /// `listen` is not an address and port.
    #[error("invalid listen address {address:?}")]
    Listen {
        /// What was given.
        address: String,
        /// The parser's error.
        #[source]
        source: std::net::AddrParseError,
    },
    /// The listener's settings (TLS files, limits) are not usable.
    #[error(transparent)]
    Listener(#[from] crate::listener::ListenerError),
    /// A quota name or rate is not valid.
    #[error(transparent)]
    Quota(#[from] crate::quota::QuotaError),
    /// `metrics_listen` is not an address and port.
    #[error("invalid metrics listen address {address:?}")]
    MetricsListen {
        /// What was given.
        address: String,
        /// The parser's error.
        #[source]
        source: std::net::AddrParseError,
    },
}

/// Everything `kinko serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database, root key and credentials live.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Region printed in the credentials file's companion config and used for Kinko's own
    /// records; requests take their region from the SigV4 credential scope.
    pub region: String,
    /// Storage URL (`sqlite://`, `postgres://`, `postgresql://`); `None` is the embedded SQLite
    /// file `<data_dir>/kinko.db`.
    pub store: Option<String>,
    /// This node's name: its audit chain is named after it.
    pub node_id: String,
    /// Seconds between signed digests of the audit chain.
    pub audit_digest_seconds: u64,
    /// Audit events older than this many days are pruned (kept forever when unset).
    pub audit_retention_days: Option<u32>,
    /// Benchmarks only: audit records of read-only requests go nowhere. Warns at start.
    pub insecure_audit_memory_sink: bool,
    /// Seconds between passes of the scheduler (due rotations, deletions, expired material).
    pub jobs_interval_seconds: u64,
    /// End-to-end tests only: a clock that `POST /insecure/clock` moves forward. Refused unless
    /// the environment has `KINKO_INSECURE_TEST_MODE=1`; warns at start.
    pub insecure_test_clock: bool,
    /// TLS and the listener's limits (the `[listener]` table).
    pub listener: crate::listener::ListenerSettings,
    /// AWS's request quotas with the configured overrides (`[quotas]`, `--quota NAME=RATE`).
    pub quotas: crate::quota::QuotaSettings,
    /// Most requests in progress at once; past it, requests are refused at once.
    pub max_requests_in_flight: usize,
    /// Where Prometheus metrics are served (`GET /metrics`), if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Secrets Manager rotation functions: Lambda ARN → the HTTP URL that serves it.
    pub rotation_functions: std::collections::BTreeMap<String, String>,
}

/// The optional keys of a TOML config file; the same shape holds the flags and environment
/// that override it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `data_dir = "..."`.
    pub data_dir: Option<PathBuf>,
    /// `listen = "127.0.0.1:7700"`.
    pub listen: Option<String>,
    /// `region = "us-east-1"`.
    pub region: Option<String>,
    /// `store = "sqlite://..."` or `"postgres://user@host/db"`.
    pub store: Option<String>,
    /// `node_id = "node-1"`.
    pub node_id: Option<String>,
    /// `audit_digest_seconds = 10`.
    pub audit_digest_seconds: Option<u64>,
    /// `audit_retention_days = 365`.
    pub audit_retention_days: Option<u32>,
    /// `jobs_interval_seconds = 10`.
    pub jobs_interval_seconds: Option<u64>,
    /// `[listener]`: `tls_cert`, `tls_key`, `max_connections` and the `*_timeout_seconds`.
    #[serde(default)]
    pub listener: crate::listener::ListenerFileConfig,
    /// `[quotas]` with `NAME = RATE` (requests per second, or `"off"`); `all` sets every quota.
    pub quotas: Option<std::collections::BTreeMap<String, crate::quota::QuotaRate>>,
    /// `max_requests_in_flight = 1024`.
    pub max_requests_in_flight: Option<usize>,
    /// `metrics_listen = "127.0.0.1:9100"`.
    pub metrics_listen: Option<String>,
    /// `[rotation_functions]` with `"LAMBDA-ARN" = "http://host:port/path"`.
    pub rotation_functions: Option<std::collections::BTreeMap<String, String>>,
    /// `log_format = "json"` (or `"text"`); read by the binary.
    pub log_format: Option<String>,
}

impl FileConfig {
    /// Reads a TOML config file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

impl Config {
    /// Builds the config from `overrides` (flags or environment, already merged by the caller)
    /// over `file` over the defaults.
    pub fn merge(file: FileConfig, overrides: FileConfig) -> Result<Config, ConfigError> {
        let listener =
            crate::listener::ListenerSettings::merge(&file.listener, &overrides.listener)?;
        let listen = overrides
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let region = overrides
            .region
            .or(file.region)
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let quotas = quota_entries(file.quotas.as_ref(), overrides.quotas.as_ref())?;
        let metrics_listen = match overrides.metrics_listen.or(file.metrics_listen) {
            Some(addr) => Some(addr.parse().map_err(|source| ConfigError::MetricsListen {
                address: addr.clone(),
                source,
            })?),
            None => None,
        };
        if kinko_core::Region::parse(&region).is_none() {
            return Err(ConfigError::Region(region));
        }
        Ok(Config {
            data_dir: overrides
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            listen: listen.parse().map_err(|source| ConfigError::Listen {
                address: listen.clone(),
                source,
            })?,
            region,
            store: overrides.store.or(file.store),
            node_id: overrides
                .node_id
                .or(file.node_id)
                .unwrap_or_else(|| DEFAULT_NODE_ID.to_owned()),
            audit_digest_seconds: overrides
                .audit_digest_seconds
                .or(file.audit_digest_seconds)
                .unwrap_or(10)
                .max(1),
            audit_retention_days: overrides.audit_retention_days.or(file.audit_retention_days),
            insecure_audit_memory_sink: false,
            jobs_interval_seconds: overrides
                .jobs_interval_seconds
                .or(file.jobs_interval_seconds)
                .unwrap_or(10)
                .max(1),
            insecure_test_clock: false,
            listener,
            quotas,
            max_requests_in_flight: overrides
                .max_requests_in_flight
                .or(file.max_requests_in_flight)
                .unwrap_or(crate::inflight::DEFAULT_MAX_IN_FLIGHT)
                .max(1),
            metrics_listen,
            rotation_functions: file
                .rotation_functions
                .into_iter()
                .chain(overrides.rotation_functions)
                .flatten()
                .collect(),
        })
    }

    /// [`Config::merge`] with overrides of the location, listen address and region only.
    pub fn resolve(
        file: FileConfig,
        data_dir: Option<PathBuf>,
        listen: Option<String>,
        region: Option<String>,
        store: Option<String>,
    ) -> Result<Config, ConfigError> {
        let overrides = FileConfig {
            data_dir,
            listen,
            region,
            store,
            ..FileConfig::default()
        };
        Config::merge(file, overrides)
    }
}

/// The quota settings of the file, then of the flags (`all` first within each, so that a name
/// given beside it wins).
fn quota_entries(
    file: Option<&std::collections::BTreeMap<String, crate::quota::QuotaRate>>,
    flags: Option<&std::collections::BTreeMap<String, crate::quota::QuotaRate>>,
) -> Result<crate::quota::QuotaSettings, crate::quota::QuotaError> {
    let mut entries = Vec::new();
    for map in [file, flags].into_iter().flatten() {
        let (all, named): (Vec<_>, Vec<_>) =
            map.iter().partition(|(name, _)| *name == crate::quota::ALL);
        entries.extend(all.into_iter().chain(named).map(|(n, r)| (n.as_str(), *r)));
    }
    crate::quota::QuotaSettings::from_entries(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_functions_come_from_the_file_and_the_flags_win() {
        let arn = "arn:aws:lambda:us-east-1:111122223333:function:rot";
        let other = "arn:aws:lambda:us-east-1:111122223333:function:other";
        let file: FileConfig = toml::from_str(&format!(
            "[rotation_functions]\n\"{arn}\" = \"http://127.0.0.1:9000/\"\n\"{other}\" = \"http://127.0.0.1:9001/\"\n"
        ))
        .expect("a valid file");
        let overrides = FileConfig {
            rotation_functions: Some([(arn.to_owned(), "http://10.0.0.1/".to_owned())].into()),
            ..FileConfig::default()
        };
        let config = Config::merge(file, overrides).expect("a valid config");
        assert_eq!(config.rotation_functions.len(), 2);
        assert_eq!(config.rotation_functions[arn], "http://10.0.0.1/");
        assert_eq!(config.rotation_functions[other], "http://127.0.0.1:9001/");
        let none = Config::merge(FileConfig::default(), FileConfig::default()).expect("defaults");
        assert!(none.rotation_functions.is_empty());
    }
}
