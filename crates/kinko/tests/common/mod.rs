//! Helpers for tests that drive the real `kinko` binary: run a command with a deadline, start and
//! stop `kinko serve` on a data directory, talk to it with the AWS SDK, make throwaway SoftHSM2
//! tokens, and look for bytes in files.
//!
//! Every child gets a clean environment for Kinko (no `KINKO_*` variable leaks in from the
//! caller), `RUST_BACKTRACE=0` (so stderr holds only the error), stdin from /dev/null (so no
//! passphrase prompt can wait for a terminal) and stdout/stderr in files.

#[allow(dead_code, reason = "only the audit tests read the trail's storage")]
pub mod audit_db;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;

/// How long `kinko serve` may take to answer `GET /healthz` (debug build, Argon2id included).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a command that is expected to finish may take.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Where Debian's softhsm2 package puts the PKCS#11 module.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Environment variables the binary reads; removed from every child unless the test sets them.
const KINKO_ENV: &[&str] = &[
    "KINKO_CONFIG",
    "KINKO_DATA_DIR",
    "KINKO_STORE",
    "KINKO_LISTEN",
    "KINKO_REGION",
    "KINKO_ROOT",
    "KINKO_ROOT_PASSPHRASE",
    "KINKO_NEW_ROOT_PASSPHRASE",
    "KINKO_PKCS11_MODULE",
    "KINKO_PKCS11_TOKEN",
    "KINKO_PKCS11_PIN",
    "KINKO_LOG",
    "KINKO_TLS_CERT",
    "KINKO_TLS_KEY",
    "KINKO_MAX_CONNECTIONS",
    "SOFTHSM2_CONF",
];

static LOG_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A `kinko` command with `args` and exactly the Kinko-related environment `env`.
pub fn kinko(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kinko"));
    command.args(args);
    for name in KINKO_ENV {
        command.env_remove(name);
    }
    command
        .env("RUST_BACKTRACE", "0")
        .env("KINKO_LOG", "info")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// What a finished command did.
#[derive(Debug)]
pub struct Outcome {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stderr (the log and any error).
    pub stderr: String,
}

impl Outcome {
    /// Panics unless the command succeeded.
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed with {}:\n{}",
            self.status,
            self.stderr
        );
    }

    /// Panics unless the command failed and its stderr contains every one of `needles`;
    /// returns stderr.
    pub fn assert_refused(&self, what: &str, needles: &[&str]) -> &str {
        assert!(
            !self.status.success(),
            "{what} should have been refused, but succeeded:\n{}",
            self.stderr
        );
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{what} was refused ({}), but stderr does not say {needle:?}:\n{}",
                self.status,
                self.stderr
            );
        }
        &self.stderr
    }
}

/// A scratch file for a child's output, unique within this test process.
fn log_path(dir: &Path, name: &str) -> PathBuf {
    let n = LOG_COUNTER.fetch_add(1, Ordering::SeqCst);
    dir.join(format!("{name}-{n}.log"))
}

/// Spawns `command` with stdout and stderr going to a fresh file under `log_dir`.
pub fn spawn_logged(mut command: Command, log_dir: &Path, name: &str) -> (Child, PathBuf) {
    let log = log_path(log_dir, name);
    let file = File::create(&log).expect("create a log file");
    let child = command
        .stdout(Stdio::from(file.try_clone().expect("clone the log file")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("spawn the kinko binary");
    (child, log)
}

/// Waits for `child` up to `timeout`; kills it and panics if it is still running.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `kinko args` with `env` to completion.
pub fn run(args: &[&str], env: &[(&str, &str)], log_dir: &Path) -> Outcome {
    let (mut child, log) = spawn_logged(kinko(args, env), log_dir, "run");
    let status = wait_with_timeout(&mut child, RUN_TIMEOUT, &format!("kinko {args:?}"));
    Outcome {
        status,
        stderr: std::fs::read_to_string(log).unwrap_or_default(),
    }
}

/// A free loopback port (bound and released; a start retries if someone takes it meanwhile).
/// Never the same port twice in one test process: nodes started at once (multinode.rs) would
/// otherwise race for a port the kernel hands out again as soon as it is released.
pub fn free_loopback_addr() -> SocketAddr {
    static HANDED_OUT: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = listener.local_addr().expect("read the bound address");
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if handed_out.insert(addr.port()) {
            return addr;
        }
    }
}

/// A plain HTTP/1.1 `GET /healthz`; true on a 200 status line.
pub fn healthz_ok(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    response.starts_with(b"HTTP/1.1 200")
}

/// Whether the log of a `kinko serve` holds its "Kinko is listening" line for `addr`.
fn listens_on(log: &Path, addr: SocketAddr) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .any(|l| l.contains("Kinko is listening") && l.contains(&format!("://{addr} ")))
}

/// How a `kinko serve` attempt ended.
#[derive(Debug)]
pub enum Start {
    /// It answers `/healthz`.
    Up(Server),
    /// It exited (status, stderr).
    Exited(Outcome),
}

/// A running `kinko serve`; killed (SIGKILL) if dropped without [`Server::stop`].
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Server {
    /// Starts `kinko serve --data-dir data_dir` with `extra` flags and `env`; waits until it
    /// answers `/healthz` or exits. A lost race for the port is retried.
    pub fn try_start(
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        log_dir: &Path,
    ) -> Start {
        for _attempt in 0..3 {
            let addr = free_loopback_addr();
            let addr_text = addr.to_string();
            let data = data_dir.to_str().expect("a UTF-8 path");
            // AWS's request quotas off: the tests create keys faster than CreateKey's 5/s.
            let mut args = vec![
                "serve",
                "--data-dir",
                data,
                "--listen",
                &addr_text,
                "--quota",
                "all=off",
            ];
            args.extend_from_slice(extra);
            let (mut child, log) = spawn_logged(kinko(&args, env), log_dir, "serve");
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Some(status) = child.try_wait().expect("poll the server") {
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    if stderr.contains("binding") && stderr.contains("in use") {
                        break; // Someone took the port: try another one.
                    }
                    return Start::Exited(Outcome { status, stderr });
                }
                // Up only once this child says it listens on `addr`: another server that won
                // the port would answer /healthz while this one fails to bind.
                if healthz_ok(addr) && listens_on(&log, addr) {
                    return Start::Up(Server {
                        child,
                        addr,
                        data_dir: data_dir.to_owned(),
                        log,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "kinko serve neither answered /healthz nor exited within {START_TIMEOUT:?}:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        panic!("kinko serve lost the race for a free port three times");
    }

    /// [`Server::try_start`] that must come up.
    pub fn start(data_dir: &Path, extra: &[&str], env: &[(&str, &str)], log_dir: &Path) -> Server {
        match Self::try_start(data_dir, extra, env, log_dir) {
            Start::Up(server) => server,
            Start::Exited(outcome) => panic!(
                "kinko serve {extra:?} exited with {} instead of serving:\n{}",
                outcome.status, outcome.stderr
            ),
        }
    }

    /// [`Server::try_start`] that must refuse to start; returns how it exited.
    pub fn refused(
        data_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        log_dir: &Path,
    ) -> Outcome {
        match Self::try_start(data_dir, extra, env, log_dir) {
            Start::Exited(outcome) => outcome,
            Start::Up(server) => {
                let log = server.log_text();
                server.stop();
                panic!("kinko serve {extra:?} started, but it must refuse to:\n{log}");
            }
        }
    }

    /// The server's process id.
    #[allow(
        dead_code,
        reason = "the fault campaign's; not every test binary uses it"
    )]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the process exited, if it has.
    #[allow(
        dead_code,
        reason = "the fault campaign's; not every test binary uses it"
    )]
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The server's output so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `http://addr`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK client with the credentials file of its own data directory.
    pub fn client(&self) -> Client {
        self.client_with(&self.data_dir.join("credentials"))
    }

    /// An SDK client with the credentials in `credentials_file`.
    pub fn client_with(&self, credentials_file: &Path) -> Client {
        let (id, secret) = read_credentials(credentials_file);
        client(&self.endpoint(), &id, &secret)
    }

    /// Stops the server with SIGTERM, as an operator would, and checks it exits cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(30), "kinko serve");
        assert!(
            status.success(),
            "kinko serve exited with {status} on SIGTERM:\n{}",
            self.log_text()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            if std::thread::panicking() {
                eprintln!("--- kinko serve log ---\n{}", self.log_text());
            }
        }
    }
}

/// Reads `aws_access_key_id` / `aws_secret_access_key` from the `[default]` profile.
pub fn read_credentials(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read the credentials file {}: {e}", path.display()));
    let mut section = String::new();
    let mut values = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.trim().clone_into(&mut section);
            continue;
        }
        if section == "default"
            && let Some((key, value)) = line.split_once('=')
        {
            values.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    let id = values
        .get("aws_access_key_id")
        .cloned()
        .expect("aws_access_key_id in [default]");
    let secret = values
        .get("aws_secret_access_key")
        .cloned()
        .expect("aws_secret_access_key in [default]");
    (id, secret)
}

/// An SDK client for `endpoint` in us-east-1.
pub fn client(endpoint: &str, id: &str, secret: &str) -> Client {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(id, secret, None, None, "kinko"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

/// A ciphertext and everything needed to check it still decrypts.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The key that encrypted it.
    pub key_id: String,
    /// Its encryption context.
    pub context: Vec<(String, String)>,
    /// What went in.
    pub plaintext: Vec<u8>,
    /// What came out.
    pub ciphertext: Vec<u8>,
}

/// CreateKey; returns the key id.
pub async fn create_key(kms: &Client, description: &str) -> String {
    kms.create_key()
        .description(description)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey: {e:?}"))
        .key_metadata
        .expect("KeyMetadata")
        .key_id
}

/// Encrypt `plaintext` under `key_id` with `context`.
pub async fn encrypt(
    kms: &Client,
    key_id: &str,
    plaintext: &[u8],
    context: &[(&str, &str)],
) -> Sealed {
    let mut request = kms
        .encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(plaintext.to_vec()));
    for (k, v) in context {
        request = request.encryption_context(*k, *v);
    }
    let out = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("Encrypt under {key_id}: {e:?}"));
    Sealed {
        key_id: key_id.to_owned(),
        context: context
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        plaintext: plaintext.to_vec(),
        ciphertext: out.ciphertext_blob.expect("CiphertextBlob").into_inner(),
    }
}

/// Decrypts `sealed` (without naming the key, with its context); returns the plaintext, or the
/// error code.
pub async fn try_decrypt(kms: &Client, sealed: &Sealed) -> Result<Vec<u8>, String> {
    use aws_sdk_kms::error::ProvideErrorMetadata;
    let mut request = kms
        .decrypt()
        .ciphertext_blob(Blob::new(sealed.ciphertext.clone()));
    for (k, v) in &sealed.context {
        request = request.encryption_context(k, v);
    }
    match request.send().await {
        Ok(out) => {
            let key = out.key_id.unwrap_or_default();
            assert!(
                key.ends_with(&format!("key/{}", sealed.key_id)),
                "Decrypt names key {key}, the ciphertext was made under {}",
                sealed.key_id
            );
            Ok(out.plaintext.expect("Plaintext").into_inner())
        }
        Err(e) => Err(e
            .as_service_error()
            .and_then(|s| s.code())
            .map_or_else(|| format!("{e:?}"), str::to_owned)),
    }
}

/// Every ciphertext in `sealed` decrypts to its plaintext (`when` says at which step).
pub async fn assert_all_decrypt(kms: &Client, sealed: &[Sealed], when: &str) {
    assert!(!sealed.is_empty(), "nothing to check {when}");
    for (i, s) in sealed.iter().enumerate() {
        match try_decrypt(kms, s).await {
            Ok(plaintext) => assert_eq!(
                plaintext, s.plaintext,
                "{when}: ciphertext #{i} decrypted to other bytes"
            ),
            Err(code) => panic!(
                "{when}: ciphertext #{i} (key {}) does not decrypt: {code}",
                s.key_id
            ),
        }
    }
}

/// Initialises a SoftHSM2 token `label` with user PIN `pin` in a fresh token directory under
/// `dir`; returns the `softhsm2.conf` to pass as `SOFTHSM2_CONF`.
pub fn softhsm_token(dir: &Path, label: &str, pin: &str) -> PathBuf {
    assert!(
        Path::new(SOFTHSM_MODULE).exists(),
        "PKCS#11 module {SOFTHSM_MODULE} not found: install SoftHSM2 (apt-get install -y softhsm2)"
    );
    let token_dir = dir.join("tokens");
    std::fs::create_dir_all(&token_dir).expect("create the token directory");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            token_dir.display()
        ),
    )
    .expect("write softhsm2.conf");
    let output = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", pin, "--so-pin", "5678"])
        .output()
        .expect("run softhsm2-util (install SoftHSM2: apt-get install -y softhsm2)");
    assert!(
        output.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    conf
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("list {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
