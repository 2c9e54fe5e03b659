//! The server processes the bench starts: the bare baseline and Kinko.
//!
//! Each child lives in a guard that kills it when dropped, so an error anywhere in a run (or a
//! finished run) never leaves a server behind. Kinko gets a fresh temporary data directory, removed
//! after the child is gone; its output goes to a log file beside that directory, shown on failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use hyper::StatusCode;
use tokio::time::Instant;

use crate::client::{Credentials, Endpoint, get_status};

/// How long Kinko may take to answer `GET /healthz` with 200.
const KINKO_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the baseline server may take to accept connections.
const BASELINE_START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
/// The file provider's root key in a data directory (kinko-server's `ROOT_KEY_FILE`).
const ROOT_KEY_FILE: &str = "root.key";

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    /// `Some(status)` once the child has exited.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Errors mean it has already exited; either way it is reaped below.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("kinko-bench-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, let it go.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .context("cannot bind 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The bare HTTP server, this binary re-executed as `baseline-server`.
#[derive(Debug)]
pub(crate) struct Baseline {
    endpoint: Endpoint,
    _child: ChildGuard,
}

impl Baseline {
    pub(crate) async fn start() -> Result<Baseline> {
        let exe = std::env::current_exe().context("cannot find this executable to re-run it")?;
        let endpoint = Endpoint::local(free_port()?);
        let child = Command::new(&exe)
            .arg("baseline-server")
            .arg("--listen")
            .arg(endpoint.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {} baseline-server", exe.display()))?;
        let mut child = ChildGuard { child };
        let deadline = Instant::now() + BASELINE_START_TIMEOUT;
        loop {
            if tokio::net::TcpStream::connect(endpoint.addr).await.is_ok() {
                return Ok(Baseline {
                    endpoint,
                    _child: child,
                });
            }
            if let Some(status) = child.exited() {
                bail!("the baseline server exited early ({status})");
            }
            if Instant::now() >= deadline {
                bail!(
                    "the baseline server did not listen on {} within {BASELINE_START_TIMEOUT:?}",
                    endpoint.addr
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// The root-of-trust provider a Kinko run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Root {
    /// Root key in a file in the data directory.
    File,
    /// Root key inside a throwaway SoftHSM2 token.
    Pkcs11,
}

const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// An environment variable for `kinko serve`: name and value.
type EnvVar = (String, String);

impl Root {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Root::File => "file root",
            Root::Pkcs11 => "pkcs11 root",
        }
    }

    /// Flags and environment for `kinko serve`; for `pkcs11`, initialises a token in `dir`.
    fn prepare(self, dir: &Path) -> Result<(Vec<String>, Vec<EnvVar>)> {
        match self {
            Root::File => Ok((Vec::new(), Vec::new())),
            Root::Pkcs11 => {
                let tokens = dir.join("softhsm-tokens");
                std::fs::create_dir(&tokens)
                    .with_context(|| format!("cannot create {}", tokens.display()))?;
                let conf = dir.join("softhsm2.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                        tokens.display()
                    ),
                )
                .with_context(|| format!("cannot write {}", conf.display()))?;
                let status = Command::new("softhsm2-util")
                    .args([
                        "--init-token",
                        "--free",
                        "--label",
                        "kinko-bench",
                        "--pin",
                        "bench-pin-1",
                        "--so-pin",
                        "bench-so-1",
                    ])
                    .env("SOFTHSM2_CONF", &conf)
                    .stdout(Stdio::null())
                    .status()
                    .context("cannot run softhsm2-util (install the softhsm2 package)")?;
                if !status.success() {
                    bail!("softhsm2-util --init-token failed ({status})");
                }
                Ok((
                    [
                        "--root",
                        "pkcs11",
                        "--pkcs11-module",
                        SOFTHSM_MODULE,
                        "--pkcs11-token",
                        "kinko-bench",
                    ]
                    .map(str::to_owned)
                    .to_vec(),
                    vec![
                        ("SOFTHSM2_CONF".to_owned(), conf.display().to_string()),
                        ("KINKO_PKCS11_PIN".to_owned(), "bench-pin-1".to_owned()),
                    ],
                ))
            }
        }
    }
}

/// Where a Kinko run's audit writer sends the records of read-only requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AuditSink {
    /// The durable group-commit writer (the product as shipped).
    Store,
    /// `--insecure-audit-memory-sink`: the writer batches, chains and encodes records of read-only
    /// requests as for the store, then drops them (benchmarks only).
    Memory,
}

impl AuditSink {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AuditSink::Store => "store",
            AuditSink::Memory => "memory",
        }
    }

    /// Flags for `kinko serve`.
    fn args(self) -> &'static [&'static str] {
        match self {
            AuditSink::Store => &[],
            AuditSink::Memory => &["--insecure-audit-memory-sink"],
        }
    }
}

/// A Kinko server started for this run, with its own data directory.
#[derive(Debug)]
pub(crate) struct Kinko {
    endpoint: Endpoint,
    credentials: Credentials,
    data_dir: PathBuf,
    // Fields drop in order: the server is killed before its directory is removed.
    server: ChildGuard,
    _dir: TempDir,
}

impl Kinko {
    /// Runs `bin serve --data-dir <tempdir>/data --listen 127.0.0.1:<port>` (plus the flags of
    /// `root` and `sink`), waits for `/healthz`, and reads the credentials the server wrote.
    pub(crate) async fn start(bin: &Path, root: Root, sink: AuditSink) -> Result<Kinko> {
        Self::start_node(bin, root, sink, &[], None).await
    }

    /// [`Kinko::start`] with `extra` flags (`--store`, `--node-id`); with `peer`, a further node
    /// of the peer's installation: the peer's root key file is copied into this node's data
    /// directory (the same root of trust) and the peer's credentials are used (the account and
    /// its access key are in the shared store already).
    pub(crate) async fn start_node(
        bin: &Path,
        root: Root,
        sink: AuditSink,
        extra: &[String],
        peer: Option<&Kinko>,
    ) -> Result<Kinko> {
        let dir = TempDir::new()?;
        let data_dir = dir.path.join("data");
        std::fs::create_dir(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        if let Some(peer) = peer {
            let from = peer.data_dir.join(ROOT_KEY_FILE);
            std::fs::copy(&from, data_dir.join(ROOT_KEY_FILE))
                .with_context(|| format!("cannot copy {}", from.display()))?;
        }
        let (root_args, root_env) = root.prepare(&dir.path)?;
        let log_path = dir.path.join("kinko.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .context("cannot duplicate the log file handle")?;
        let endpoint = Endpoint::local(free_port()?);
        eprintln!(
            "kinko-bench: starting {} serve on {} ({}, audit: {}){}",
            bin.display(),
            endpoint.addr,
            root.name(),
            sink.name(),
            sink.args()
                .iter()
                .fold(String::new(), |acc, f| acc + " " + f)
        );
        let child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(endpoint.addr.to_string())
            .args(&root_args)
            .args(sink.args())
            // The bench measures what the server can do, not AWS's request quotas (CreateKey's
            // is 5 per second).
            .args(["--quota", "all=off"])
            .args(extra)
            .envs(root_env)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut child = ChildGuard { child };
        let started = Instant::now();
        let deadline = started + KINKO_START_TIMEOUT;
        loop {
            let probe = tokio::time::timeout(POLL * 20, get_status(&endpoint, "/healthz")).await;
            if let Ok(Ok(StatusCode::OK)) = probe {
                break;
            }
            if let Some(status) = child.exited() {
                bail!(
                    "kinko exited before it was healthy ({status}); its output:\n{}",
                    log_tail(&log_path)
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "kinko did not answer GET /healthz with 200 within {KINKO_START_TIMEOUT:?}; its output:\n{}",
                    log_tail(&log_path)
                );
            }
            tokio::time::sleep(POLL).await;
        }
        eprintln!(
            "kinko-bench: kinko healthy after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if let Some(peer) = peer {
            return Ok(Kinko {
                endpoint,
                credentials: peer.credentials.clone(),
                data_dir,
                server: child,
                _dir: dir,
            });
        }
        // The server writes its credentials before it serves; allow a moment in case it does not.
        let cred_path = data_dir.join("credentials");
        let deadline = Instant::now() + Duration::from_secs(5);
        let text = loop {
            match std::fs::read_to_string(&cred_path) {
                Ok(text) => break text,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot read {}", cred_path.display()));
                }
            }
        };
        let credentials = parse_credentials(&text)
            .with_context(|| format!("in credentials file {}", cred_path.display()))?;
        Ok(Kinko {
            endpoint,
            credentials,
            data_dir,
            server: child,
            _dir: dir,
        })
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Its data directory (the SQLite database is `kinko.db` there).
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.server.child.id()
    }
}

/// The last 30 lines of a log file, or why it cannot be read.
fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(30);
            lines.get(from..).unwrap_or_default().join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Reads the `[default]` profile of an AWS shared-credentials file (INI: `key = value` lines,
/// `#` and `;` comments).
pub(crate) fn parse_credentials(text: &str) -> Result<Credentials> {
    let mut in_default = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_default = section.trim() == "default";
            continue;
        }
        if !in_default {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "aws_access_key_id" => id = Some(value),
            "aws_secret_access_key" => secret = Some(value),
            "aws_session_token" => token = Some(value),
            _ => {}
        }
    }
    Ok(Credentials {
        access_key_id: id.context("no aws_access_key_id in the [default] section")?,
        secret_access_key: secret.context("no aws_secret_access_key in the [default] section")?,
        session_token: token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_default_section() -> Result<()> {
        let c = parse_credentials(
            "# written by kinko\n[other]\naws_access_key_id = NOPE\n\n[default]\n\
             aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key=s3cr3t/+=\n",
        )?;
        assert_eq!(c.access_key_id, "AKIAEXAMPLE");
        assert_eq!(c.secret_access_key, "s3cr3t/+=");
        assert!(c.session_token.is_none());
        assert!(parse_credentials("[default]\naws_access_key_id = A\n").is_err());
        Ok(())
    }
}
