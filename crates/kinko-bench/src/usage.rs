//! What a measured window cost the machine: the CPU time the server under load used (all its
//! threads) and the share of the machine's CPU time nobody used. Throughput on a machine the
//! load generator shares with the server varies from run to run; the server's CPU time per
//! request varies much less, and idle time says when the server waited rather than worked.
//! Read from `/proc`, so Linux only; `None` elsewhere or when a file cannot be read.

use std::time::Duration;

use crate::report::PerRequest;

/// `/proc` counts CPU time in ticks of `USER_HZ`, which is 100 on every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// Use over one measured window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usage {
    /// CPU seconds the server used (user and system, all threads).
    pub(crate) server_cpu_s: f64,
    /// Share of the machine's CPU time that was idle (idle and waiting for I/O), 0..=1.
    pub(crate) machine_idle: f64,
}

impl Usage {
    /// Per request, for `requests` counted in the window; `None` when there were none.
    pub(crate) fn per_request(&self, requests: f64) -> Option<PerRequest> {
        (requests > 0.0).then(|| PerRequest {
            cpu_us: self.server_cpu_s * 1e6 / requests,
            machine_idle: self.machine_idle,
        })
    }
}

/// Samples `pid` and the machine when the window of a load started now begins (after `warmup`)
/// and when it ends.
pub(crate) async fn during_window(pid: u32, warmup: Duration, duration: Duration) -> Option<Usage> {
    tokio::time::sleep(warmup).await;
    let start = Snapshot::take(pid)?;
    tokio::time::sleep(duration).await;
    let end = Snapshot::take(pid)?;
    let total = end.machine_total.checked_sub(start.machine_total)?;
    Some(Usage {
        server_cpu_s: end.server.checked_sub(start.server)? as f64 / TICKS_PER_SECOND,
        machine_idle: if total == 0 {
            0.0
        } else {
            end.machine_idle.checked_sub(start.machine_idle)? as f64 / total as f64
        },
    })
}

/// Use of several server processes (the nodes of a `--stores` setup) over one window, and the
/// CPU seconds of the processes named `postgres` that lived through the whole window (the
/// database's backends; on a shared machine they include other clients' work).
pub(crate) async fn during_window_of(
    pids: &[u32],
    warmup: Duration,
    duration: Duration,
) -> Option<(Usage, f64)> {
    tokio::time::sleep(warmup).await;
    let postgres = processes_named("postgres");
    let ticks = |pids: &[u32]| -> Vec<Option<u64>> {
        pids.iter()
            .map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                process_ticks(&stat)
            })
            .collect()
    };
    let machine = || machine_ticks(&std::fs::read_to_string("/proc/stat").ok()?);
    let (servers0, pg0, machine0) = (ticks(pids), ticks(&postgres), machine()?);
    tokio::time::sleep(duration).await;
    let (servers1, pg1, machine1) = (ticks(pids), ticks(&postgres), machine()?);
    let mut server = 0u64;
    for (a, b) in servers0.iter().zip(&servers1) {
        server += b.as_ref()?.checked_sub(*a.as_ref()?)?;
    }
    let pg: u64 = pg0
        .iter()
        .zip(&pg1)
        .filter_map(|(a, b)| b.as_ref()?.checked_sub(*a.as_ref()?))
        .sum();
    let total = machine1.1.checked_sub(machine0.1)?;
    let idle = machine1.0.checked_sub(machine0.0)?;
    let usage = Usage {
        server_cpu_s: server as f64 / TICKS_PER_SECOND,
        machine_idle: if total == 0 {
            0.0
        } else {
            idle as f64 / total as f64
        },
    };
    Some((usage, pg as f64 / TICKS_PER_SECOND))
}

/// The processes whose command name is `name`.
fn processes_named(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim_end() == name).then_some(pid)
    })
    .collect()
}

struct Snapshot {
    server: u64,
    machine_idle: u64,
    machine_total: u64,
}

impl Snapshot {
    fn take(pid: u32) -> Option<Snapshot> {
        let process = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let (machine_idle, machine_total) = machine_ticks(&machine)?;
        Some(Snapshot {
            server: process_ticks(&process)?,
            machine_idle,
            machine_total,
        })
    }
}

/// User plus system ticks from a `/proc/<pid>/stat` line (fields 14 and 15; the command name,
/// field 2, is in parentheses and may hold spaces and parentheses itself).
fn process_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// (idle + iowait, all) ticks from the first line of `/proc/stat`: `cpu user nice system idle
/// iowait irq softirq steal ...` (guest time is already counted in user).
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().next()?;
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if ticks.len() < 5 {
        return None;
    }
    Some((ticks[3] + ticks[4], ticks.iter().sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ticks_reads_user_and_system_past_an_odd_name() {
        let stat = "4242 (kinko (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 700 55 0 0 20 0 9 0";
        assert_eq!(process_ticks(stat), Some(755));
        assert_eq!(process_ticks("4242 (kinko) S 1 2"), None);
    }

    #[test]
    fn machine_ticks_counts_idle_and_iowait() {
        let stat = "cpu  100 5 50 800 40 1 2 2 0 0\ncpu0 50 2 25 400 20 0 1 1 0 0\n";
        assert_eq!(machine_ticks(stat), Some((840, 1000)));
        assert_eq!(machine_ticks("intr 1 2 3\n"), None);
    }

    #[tokio::test]
    async fn a_busy_process_is_seen_using_cpu() {
        let pid = std::process::id();
        let burn = std::thread::spawn(|| {
            let until = std::time::Instant::now() + Duration::from_millis(400);
            let mut x = 0u64;
            while std::time::Instant::now() < until {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
            }
        });
        let usage = during_window(pid, Duration::ZERO, Duration::from_millis(300))
            .await
            .expect("/proc is readable");
        burn.join().expect("the busy thread ends");
        assert!(usage.server_cpu_s > 0.0, "{usage:?}");
        assert!((0.0..=1.0).contains(&usage.machine_idle), "{usage:?}");
        assert_eq!(usage.per_request(0.0), None);
        let each = usage.per_request(10.0).expect("ten requests");
        assert!(each.cpu_us > 0.0, "{each:?}");
        assert_eq!(each.machine_idle, usage.machine_idle);
    }
}
