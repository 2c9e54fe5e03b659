//! The listener's limits: how many connections it holds, how long a client may take to send a
//! request's head and body, how long a connection may sit silent, and how long a shutdown waits
//! for requests in flight. Defaults, and the TOML keys / flags that override them.

use std::time::Duration;

/// Seconds a client has to send a request's head (request line and headers). The clock starts
/// when the server begins waiting for a head, so on a kept-alive connection it also bounds the
/// wait for the next request.
pub const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 20;
/// Seconds a client has to send a request's whole body once its head is in.
pub const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 30;
/// Seconds a connection with no request in flight may send and receive nothing.
pub const DEFAULT_IDLE_TIMEOUT_SECONDS: u64 = 15;
/// Seconds a shutdown waits for requests in flight before it closes what is left.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS: u64 = 20;
/// File descriptors kept back from the connection limit for the store, the audit trail, the
/// PostgreSQL pool and logs.
pub const RESERVED_FILE_DESCRIPTORS: u64 = 256;
/// The connection limit never defaults above this (each connection holds buffers).
pub const MAX_DEFAULT_CONNECTIONS: u64 = 16_384;
/// Largest request head (request line and headers) hyper buffers; past it the answer is 431.
/// AWS's front ends refuse heads much smaller than hyper's 400 KiB default.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The listener's limits, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; past it a new connection is accepted and closed at once.
    pub max_connections: usize,
    /// See [`DEFAULT_HEADER_TIMEOUT_SECONDS`].
    pub header_timeout: Duration,
    /// See [`DEFAULT_BODY_TIMEOUT_SECONDS`].
    pub body_timeout: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT_SECONDS`].
    pub idle_timeout: Duration,
    /// See [`DEFAULT_SHUTDOWN_TIMEOUT_SECONDS`].
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECONDS),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECONDS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECONDS),
            shutdown_timeout: Duration::from_secs(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS),
        }
    }
}

/// The default connection limit: the process's open-file limit less
/// [`RESERVED_FILE_DESCRIPTORS`], at least 64 and at most [`MAX_DEFAULT_CONNECTIONS`]. So the
/// limit, not the file-descriptor table, is what a flood of connections runs into, and the
/// store can still open files.
pub fn default_max_connections() -> usize {
    let files = open_files_limit().unwrap_or(1024);
    let connections = files
        .saturating_sub(RESERVED_FILE_DESCRIPTORS)
        .clamp(64, MAX_DEFAULT_CONNECTIONS);
    usize::try_from(connections).unwrap_or(64)
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (Linux; `None` elsewhere or when
/// unlimited).
fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files(&text)
}

fn parse_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_files_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_files(text), Some(1024));
        assert_eq!(
            parse_open_files("Max open files  unlimited  unlimited  files"),
            None
        );
        assert_eq!(parse_open_files("nothing here"), None);
    }

    #[test]
    fn the_default_limit_leaves_room_for_the_store() {
        let n = default_max_connections() as u64;
        assert!((64..=MAX_DEFAULT_CONNECTIONS).contains(&n));
        if let Some(files) = open_files_limit().filter(|f| *f > 64 + RESERVED_FILE_DESCRIPTORS) {
            assert!(n <= files - RESERVED_FILE_DESCRIPTORS);
        }
    }
}
