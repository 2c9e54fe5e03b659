//! Process hardening for a program that holds key material in memory: no core dumps (they would
//! write unwrapped keys to disk), not dumpable by other processes of the same user, and all
//! memory locked against swapping where the OS allows it; and SIGXFSZ ignored, so that a file
//! size limit (`ulimit -f`, a full quota) makes a write fail with `EFBIG`, answered as an
//! internal error, instead of killing the server.
//!
//! This is the one module of Kinko with `unsafe`: a few libc calls, each with its contract below.
#![allow(unsafe_code)]

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy)]
struct Outcome {
    core_dumps_off: bool,
    not_dumpable: bool,
    memory_locked: bool,
    memlock_limit: Option<u64>,
}

static OUTCOME: OnceLock<Outcome> = OnceLock::new();

/// Applies the hardening; call first thing in `main`, before secrets exist.
pub(crate) fn harden_process() {
    let _ = OUTCOME.set(apply());
}

#[cfg(target_os = "linux")]
fn apply() -> Outcome {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: SIG_IGN is a valid disposition for SIGXFSZ; no handler code runs. Called first
    // thing in `main`, before other threads exist.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    // SAFETY: setrlimit reads a valid, initialised rlimit struct that outlives the call.
    let core_dumps_off = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0;
    // SAFETY: PR_SET_DUMPABLE takes one integer argument; the rest are ignored and passed as 0.
    let not_dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a valid rlimit struct we own.
    let have_limit = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0;
    // Locking future mappings under a small RLIMIT_MEMLOCK would make later allocations fail,
    // so lock only when the limit is unlimited or the process may exceed it (root, CAP_IPC_LOCK).
    // SAFETY: geteuid has no preconditions.
    let privileged = unsafe { libc::geteuid() } == 0;
    let unlimited = have_limit && limit.rlim_cur == libc::RLIM_INFINITY;
    let memory_locked = (unlimited || privileged)
        // SAFETY: mlockall takes flags only; MCL_ONFAULT locks pages as they are touched.
        && unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) } == 0;
    Outcome {
        core_dumps_off,
        not_dumpable,
        memory_locked,
        memlock_limit: (have_limit && !unlimited).then_some(limit.rlim_cur),
    }
}

#[cfg(not(target_os = "linux"))]
fn apply() -> Outcome {
    Outcome {
        core_dumps_off: false,
        not_dumpable: false,
        memory_locked: false,
        memlock_limit: None,
    }
}

/// Logs what the hardening achieved (after logging is set up).
pub(crate) fn report() {
    let Some(o) = OUTCOME.get() else { return };
    if o.core_dumps_off && o.not_dumpable {
        tracing::debug!("core dumps disabled; process not dumpable");
    } else {
        tracing::warn!(
            core_dumps_off = o.core_dumps_off,
            not_dumpable = o.not_dumpable,
            "could not fully disable core dumps"
        );
    }
    if o.memory_locked {
        tracing::debug!("process memory locked against swapping");
    } else {
        tracing::warn!(
            memlock_limit = ?o.memlock_limit,
            "process memory is not locked: key material in memory could be swapped to disk (raise RLIMIT_MEMLOCK or grant CAP_IPC_LOCK)"
        );
    }
}
