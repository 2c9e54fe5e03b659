//! The fault campaign through the real binary (issue 19): kill -9 at random points under mixed
//! load on SQLite and on PostgreSQL (`kill`), a file-size limit standing in for a full disk
//! (`disk`) and a really full tmpfs (`tmpfs`), an audit store that refuses every write
//! (`audit_store`), and a PostgreSQL of the test's own stopped and started under load
//! (`pg_restart`).
//!
//! Short by default (a few kills per store, well under a minute). `KINKO_FAULT_ROUNDS=N` (set by
//! `cargo xtask faults N`) makes the long run. Every test prints its figures on stderr as lines
//! that start with `faults:` (`docs/faults.md` holds the long run's).

#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code, reason = "shared helpers; this binary uses part of them")]
#[path = "../common/pg.rs"]
mod pg;

mod audit_store;
mod disk;
mod iam;
mod kill;
mod load;
mod pg_restart;
mod tmpfs;

/// Kills per store: `KINKO_FAULT_ROUNDS`, else the short run's.
fn rounds(short: usize) -> usize {
    std::env::var("KINKO_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(short)
}
