//! The command line of `kinko`: every command, subcommand and flag (clap), as data. `main.rs`
//! carries them out.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use kinko_server::Provider;

#[derive(Debug, Parser)]
#[command(
    name = "kinko",
    version,
    about = "Kinko: a self-hosted key management service that speaks the AWS KMS API"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server (KMS API on POST /, health on GET /healthz).
    Serve(ServeArgs),
    /// Root-of-trust administration.
    Root {
        #[command(subcommand)]
        command: RootCommand,
    },
    /// Write a consistent backup of the database (key material stays wrapped) while the server runs.
    Backup {
        #[command(flatten)]
        location: Location,
        /// The backup file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty data directory; refuses a different root of trust.
    Restore {
        /// The backup file.
        #[arg(long = "in")]
        input: PathBuf,
        #[command(flatten)]
        location: Location,
        #[command(flatten)]
        root: RootArgs,
    },
    /// The audit trail: verify its tamper evidence, query, follow and export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Accounts: create one with its administrator (root) access key.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Store administration: move an installation to another store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Authorization: why a request would be allowed or denied.
    Authz {
        #[command(subcommand)]
        command: AuthzCommand,
    },
    /// Reports read from an installation's store.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// HTTPS certificates for development.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TlsCommand {
    /// Make a local CA and a server certificate for localhost, 127.0.0.1 and ::1 in
    /// <data-dir>/tls/ (ca.pem, server.pem, server-key.pem); refuses to overwrite them. The CA's
    /// key is not kept. Prints the serve flags and the AWS_CA_BUNDLE line for clients.
    Init {
        /// Data directory [default: kinko-data].
        #[arg(long, env = "KINKO_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Another DNS name or IP address for the server certificate (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Compliance findings (PCI DSS v4.0, ISO/IEC 27001:2022 A.8.24) of every account's keys, the
    /// root of trust and the audit trail, as on the console's Compliance page. Reads the store
    /// (the server may be running); opens no root of trust. Pass --config for the configured
    /// audit retention.
    Compliance {
        #[command(flatten)]
        location: Location,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: ReportFormat,
    },
}

/// A report's output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One JSON document: generated, summary, findings.
    Json,
    /// One HTML document.
    Html,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthzCommand {
    /// Evaluate a request against an installation's key policy (or a secret's resource policy),
    /// identity policies and grants, and show every statement and grant that took part. Exits 0 when the request would be
    /// allowed, 1 when denied.
    Explain {
        #[command(flatten)]
        location: Location,
        /// The caller's ARN (`arn:aws:iam::<account>:root`, a user, role or role session).
        #[arg(long)]
        principal: String,
        /// The action, such as kms:Decrypt.
        #[arg(long)]
        action: String,
        /// The key: id, key ARN, alias name or alias ARN (none for account-level actions).
        #[arg(long)]
        key: Option<String>,
        /// The secret of a secretsmanager: action: name, partial ARN or full ARN.
        #[arg(long, conflicts_with = "key")]
        secret: Option<String>,
        /// The region the request is signed for.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// An encryption context pair, KEY=VALUE (repeatable).
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// The client address, for aws:SourceIp.
        #[arg(long)]
        source_ip: Option<std::net::IpAddr>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create a new account and write its root access key to a shared-credentials file
    /// (profile `default`, mode 0600) [default: <data-dir>/credentials-<account>].
    Create {
        #[command(flatten)]
        location: Location,
        #[command(flatten)]
        root: RootArgs,
        /// Where to write the credentials file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Copy every table of a stopped installation's store into a new, empty store (e.g. SQLite to
    /// PostgreSQL), then check row counts and audit chain heads. Serve the copy with the same
    /// root of trust (same data directory, passphrase or token).
    Copy {
        /// The store to copy: sqlite://PATH (e.g. sqlite:///var/lib/kinko/kinko.db) or postgres://...
        #[arg(long)]
        from: String,
        /// The empty store to create the copy in (migrated first): postgres://... or sqlite://PATH.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the hash chains, the signed digests and the published public key; exit 1 and name
    /// the first break if the trail was modified, cut, extended or reordered.
    Verify {
        #[command(flatten)]
        location: Location,
        /// The audit public key to trust (SPKI PEM) [default: the key the store records, which
        /// <data-dir>/audit-public-key.pem must match]. Required with --export.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Verify an export directory (`kinko audit export --out`) instead of the data directory.
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Print matching CloudTrail records, one JSON object per line, newest first.
    Query {
        #[command(flatten)]
        location: Location,
        #[command(flatten)]
        filters: AuditFilterArgs,
        /// Print at most this many records [default: all].
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Print the last matching records oldest first; with --follow, keep printing new ones.
    Tail {
        #[command(flatten)]
        location: Location,
        #[command(flatten)]
        filters: AuditFilterArgs,
        /// How many records to print first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Poll for new records every 500 ms until stopped.
        #[arg(long)]
        follow: bool,
    },
    /// Export matching records in CloudTrail's log-file layout with signed digest files.
    Export {
        #[command(flatten)]
        location: Location,
        /// The directory to write (must not hold an export already).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        filters: AuditFilterArgs,
        #[command(flatten)]
        root: RootArgs,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct AuditFilterArgs {
    /// Records at or after this time (RFC 3339 or epoch seconds).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Records at or before this time (RFC 3339 or epoch seconds).
    #[arg(long)]
    pub(crate) to: Option<String>,
    /// Records about this key (key id or key ARN).
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Records of this principal ARN.
    #[arg(long)]
    pub(crate) principal: Option<String>,
    /// Records of this operation, e.g. Encrypt.
    #[arg(long)]
    pub(crate) operation: Option<String>,
    /// Only successes or only failures.
    #[arg(long, value_enum)]
    pub(crate) result: Option<AuditResult>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AuditResult {
    Success,
    Failure,
}

impl AuditFilterArgs {
    pub(crate) fn selection(&self) -> kinko_audit::AuditSelection {
        kinko_audit::AuditSelection {
            from: self.from.clone(),
            to: self.to.clone(),
            key: self.key.clone(),
            principal: self.principal.clone(),
            operation: self.operation.clone(),
            failed: self.result.map(|r| matches!(r, AuditResult::Failure)),
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum RootCommand {
    /// Rewrap every key under a new root of trust. Interrupted, rerun it to finish.
    Migrate {
        #[command(flatten)]
        location: Location,
        /// The new provider.
        #[arg(long, value_enum)]
        to: RootChoice,
        #[command(flatten)]
        root: RootArgs,
        /// File holding the NEW passphrase (else KINKO_NEW_ROOT_PASSPHRASE, else a prompt).
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RootChoice {
    File,
    Passphrase,
    Pkcs11,
}

impl From<RootChoice> for Provider {
    fn from(c: RootChoice) -> Provider {
        match c {
            RootChoice::File => Provider::File,
            RootChoice::Passphrase => Provider::Passphrase,
            RootChoice::Pkcs11 => Provider::Pkcs11,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Location {
    /// TOML config file with any of: data_dir, listen, region, store.
    #[arg(long, env = "KINKO_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory: database, root key (file provider) and the credentials file.
    #[arg(long, env = "KINKO_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Storage URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite file <data-dir>/kinko.db].
    #[arg(long, env = "KINKO_STORE")]
    pub(crate) store: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RootArgs {
    /// Root-of-trust provider [default: what the data directory records; `file` on a new one].
    #[arg(long = "root", value_enum, env = "KINKO_ROOT")]
    pub(crate) provider: Option<RootChoice>,
    /// File holding the passphrase (else KINKO_ROOT_PASSPHRASE, else a prompt on a terminal).
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. The PIN comes from KINKO_PKCS11_PIN.
    #[arg(long, env = "KINKO_PKCS11_MODULE")]
    pub(crate) pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    #[arg(long, env = "KINKO_PKCS11_TOKEN")]
    pub(crate) pkcs11_token: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) location: Location,
    /// Address to listen on [default: 127.0.0.1:7700].
    #[arg(long, env = "KINKO_LISTEN")]
    pub(crate) listen: Option<String>,
    /// Default region [default: us-east-1]; requests use the region of their SigV4 scope.
    #[arg(long, env = "KINKO_REGION")]
    pub(crate) region: Option<String>,
    #[command(flatten)]
    pub(crate) root: RootArgs,
    /// This node's name; its audit chain is named after it [default: node-1].
    #[arg(long, env = "KINKO_NODE_ID")]
    pub(crate) node_id: Option<String>,
    /// Seconds between signed digests of the audit chain [default: 10].
    #[arg(long, env = "KINKO_AUDIT_DIGEST_SECONDS")]
    pub(crate) audit_digest_seconds: Option<u64>,
    /// Prune audit events older than this many days [default: keep forever].
    #[arg(long, env = "KINKO_AUDIT_RETENTION_DAYS")]
    pub(crate) audit_retention_days: Option<u32>,
    /// BENCHMARKS ONLY: the audit writer batches, chains and encodes records of read-only requests
    /// as usual, then drops them instead of storing them. Warns at start.
    #[arg(
        long = "insecure-audit-memory-sink",
        env = "KINKO_INSECURE_AUDIT_MEMORY_SINK"
    )]
    pub(crate) insecure_audit_memory_sink: bool,
    /// Seconds between passes of the key scheduler (rotations, deletions, expiry) [default: 10].
    #[arg(long, env = "KINKO_JOBS_INTERVAL_SECONDS")]
    pub(crate) jobs_interval_seconds: Option<u64>,
    /// END-TO-END TESTS ONLY: a clock that `POST /insecure/clock` moves forward. Refused unless
    /// KINKO_INSECURE_TEST_MODE=1 is set; warns at start.
    #[arg(long = "insecure-test-clock")]
    pub(crate) insecure_test_clock: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key). SIGHUP reloads both files.
    #[arg(long, env = "KINKO_TLS_CERT")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "KINKO_TLS_KEY")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Connections served at once; past it new ones are closed at once
    /// [default: the open-file limit less 256, at most 16384].
    #[arg(long, env = "KINKO_MAX_CONNECTIONS")]
    pub(crate) max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers (and, on a kept-alive connection, to
    /// start the next request) [default: 20].
    #[arg(long, env = "KINKO_HEADER_TIMEOUT_SECONDS")]
    pub(crate) header_timeout_seconds: Option<u64>,
    /// Seconds a client has to send a request's body [default: 30].
    #[arg(long, env = "KINKO_BODY_TIMEOUT_SECONDS")]
    pub(crate) body_timeout_seconds: Option<u64>,
    /// Seconds a connection with no request in flight may stay silent [default: 15].
    #[arg(long, env = "KINKO_IDLE_TIMEOUT_SECONDS")]
    pub(crate) idle_timeout_seconds: Option<u64>,
    /// Seconds a shutdown waits for requests in flight [default: 20].
    #[arg(long, env = "KINKO_SHUTDOWN_TIMEOUT_SECONDS")]
    pub(crate) shutdown_timeout_seconds: Option<u64>,
    /// A request quota, per account and region: NAME=RATE (requests per second, or `off`);
    /// repeatable. `all=RATE` sets every quota. Names: README, "Quotas" [default: AWS's].
    #[arg(long = "quota", value_name = "NAME=RATE")]
    pub(crate) quotas: Vec<String>,
    /// A Secrets Manager rotation function: the Lambda ARN RotateSecret names, and the HTTP URL
    /// that serves its rotation events (POSTed JSON); repeatable.
    #[arg(
        long = "rotation-function",
        value_name = "ARN=URL",
        env = "KINKO_ROTATION_FUNCTIONS",
        value_delimiter = ','
    )]
    pub(crate) rotation_functions: Vec<String>,
    /// Most requests in progress at once; past it, requests are refused at once with
    /// ThrottlingException [default: 1024].
    #[arg(long, env = "KINKO_MAX_REQUESTS_IN_FLIGHT")]
    pub(crate) max_requests_in_flight: Option<usize>,
    /// Serve Prometheus metrics at GET /metrics on this address [default: off].
    #[arg(long, env = "KINKO_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<String>,
    /// Log format: text or json [default: text]; json lines carry the request id as
    /// `span.request_id`.
    #[arg(long, value_enum, env = "KINKO_LOG_FORMAT")]
    pub(crate) log_format: Option<LogFormat>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}
