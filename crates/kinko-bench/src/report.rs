//! Turns raw latencies into the table rows (req/s, p50, p99, errors, ratio to the ceiling), prints
//! them, compares Sign and GenerateMac through the server with aws-lc-rs's own rate, compares runs
//! with the durable audit against runs with the in-memory sink, and renders the same data as JSON
//! for `--json`.

use anyhow::{Result, bail};
use serde_json::json;
use std::time::Duration;

use crate::client::LoadResult;

/// How many failure samples the report prints in total.
const SAMPLES_SHOWN: usize = 5;
/// The narrowest the target column gets (wide enough for `GenerateDataKey [pkcs11 root]`).
pub(crate) const MIN_TARGET_WIDTH: usize = 28;
/// The budget for the durable audit: at most this share of the in-memory sink's req/s.
pub(crate) const AUDIT_COST_TARGET: f64 = 0.15;
/// The target for ECDSA P-256 Sign: through the server, at least this share of the rate
/// aws-lc-rs reaches alone on the same machine.
pub(crate) const SIGN_RAW_RATIO_TARGET: f64 = 0.5;

/// One measured target.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) target: String,
    pub(crate) requests: u64,
    pub(crate) req_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
    /// `req_per_s` divided by the bare ceiling's; 1.0 for the ceiling itself, `None` if not measured.
    pub(crate) ratio: Option<f64>,
    error_samples: Vec<String>,
}

impl Row {
    /// `ceiling` is the bare server's req/s; `None` makes this row the ceiling (or leaves the ratio
    /// out when `target` is not the baseline).
    pub(crate) fn from_load(
        target: &str,
        mut load: LoadResult,
        window: Duration,
        ceiling: Option<f64>,
    ) -> Row {
        load.latencies_us.sort_unstable();
        let requests = load.latencies_us.len() as u64;
        let req_per_s = requests as f64 / window.as_secs_f64();
        let ratio = match ceiling {
            Some(c) => Some(req_per_s / c),
            None if target == "bare-http" && requests > 0 => Some(1.0),
            None => None,
        };
        Row {
            target: target.to_owned(),
            requests,
            req_per_s,
            p50_ms: percentile_ms(&load.latencies_us, 0.50),
            p99_ms: percentile_ms(&load.latencies_us, 0.99),
            errors: load.errors,
            ratio,
            error_samples: load.error_samples,
        }
    }

    /// The row as a table line, aligned with [`table_header`] of the same `width`.
    pub(crate) fn line(&self, width: usize) -> String {
        let ratio = self
            .ratio
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        format!(
            "{:<width$} {:>9} {:>9.2} {:>9.2} {:>7} {:>17}",
            self.target,
            thousands(self.req_per_s.round() as u64),
            self.p50_ms,
            self.p99_ms,
            self.errors,
            ratio
        )
    }
}

/// The table's header; `width` is the target column's (at least [`MIN_TARGET_WIDTH`]).
pub(crate) fn table_header(width: usize) -> String {
    format!(
        "{:<width$} {:>9} {:>9} {:>9} {:>7} {:>17}",
        "target", "req/s", "p50 ms", "p99 ms", "errors", "ratio-to-ceiling"
    )
}

/// The same operation measured with the durable audit and with the in-memory sink.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditCost {
    /// The operation (and root, when several were measured), without the sink.
    pub(crate) target: String,
    /// req/s with the durable (store) audit writer.
    pub(crate) store_req_per_s: f64,
    /// req/s with `--insecure-audit-memory-sink`.
    pub(crate) memory_req_per_s: f64,
    /// What the store run used, when the bench started the server itself.
    pub(crate) store_use: Option<PerRequest>,
    /// What the memory run used.
    pub(crate) memory_use: Option<PerRequest>,
}

/// The server's CPU time per request and the machine's idle share over one measured window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PerRequest {
    pub(crate) cpu_us: f64,
    pub(crate) machine_idle: f64,
}

impl AuditCost {
    /// `1 - store/memory`: the share of throughput the durable audit costs (negative when the
    /// store run happened to be faster); `None` when the memory run completed nothing.
    pub(crate) fn cost(&self) -> Option<f64> {
        (self.memory_req_per_s > 0.0).then(|| 1.0 - self.store_req_per_s / self.memory_req_per_s)
    }

    /// One line of the summary printed after the table.
    pub(crate) fn line(&self, width: usize) -> String {
        let verdict = match self.cost() {
            // A hair of slack so that exactly 15% (1 - 8500/10000 in floating point) is within.
            Some(c) if c <= AUDIT_COST_TARGET + 1e-9 => {
                format!("{:>6.1}%  within target", c * 100.0)
            }
            Some(c) => format!("{:>6.1}%  OVER target", c * 100.0),
            None => "     -   (memory run completed nothing)".to_owned(),
        };
        let mut line = format!(
            "{:<width$} store {:>9} req/s  memory {:>9} req/s  cost {verdict}",
            self.target,
            thousands(self.store_req_per_s.round() as u64),
            thousands(self.memory_req_per_s.round() as u64),
        );
        if let (Some(store), Some(memory)) = (self.store_use, self.memory_use) {
            line.push_str(&format!(
                "\n{:<width$}   server CPU per request: store {:.1} us, memory {:.1} us; machine idle: store {:.0}%, memory {:.0}%",
                "",
                store.cpu_us,
                memory.cpu_us,
                store.machine_idle * 100.0,
                memory.machine_idle * 100.0,
            ));
        }
        line
    }
}

/// The heading of the audit-cost summary.
pub(crate) fn audit_cost_heading(concurrency: usize, rounds: u32) -> String {
    let median = if rounds > 1 {
        format!(", median of {rounds} rounds")
    } else {
        String::new()
    };
    format!(
        "durable audit cost = 1 - store/memory req/s (target: <= {:.0}% at 64 connections; this run: {concurrency}{median})",
        AUDIT_COST_TARGET * 100.0
    )
}

/// A Sign or GenerateMac row beside what aws-lc-rs alone does on the same machine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawComparison {
    /// The row's target, e.g. `Sign ECC_NIST_P256`.
    pub(crate) target: String,
    /// The KMS signing or MAC algorithm, e.g. `ECDSA_SHA_256`.
    pub(crate) algorithm: &'static str,
    /// The aws-lc-rs item the raw loop calls.
    pub(crate) primitive: &'static str,
    pub(crate) server_req_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Operations per second of aws-lc-rs alone, `raw_threads` threads together.
    pub(crate) raw_ops_per_s: f64,
    pub(crate) raw_threads: usize,
    /// The least `server/raw` the issue asks for, if it sets one for this operation.
    pub(crate) ratio_target: Option<f64>,
}

impl RawComparison {
    /// `server/raw`; `None` when the raw loop completed nothing.
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.raw_ops_per_s > 0.0).then(|| self.server_req_per_s / self.raw_ops_per_s)
    }

    /// Whether the ratio reaches its target; `None` when there is no target or no ratio.
    pub(crate) fn meets_target(&self) -> Option<bool> {
        let target = self.ratio_target?;
        // A hair of slack so that exactly the target (in floating point) is within.
        self.ratio().map(|r| r >= target - 1e-9)
    }

    /// One line of the summary printed after the table.
    pub(crate) fn line(&self, width: usize) -> String {
        let ratio = self
            .ratio()
            .map_or_else(|| "    -".to_owned(), |r| format!("{r:>5.2}"));
        let verdict = match (self.meets_target(), self.ratio_target) {
            (Some(true), Some(t)) => format!("  meets target (>= {t:.2})"),
            (Some(false), Some(t)) => format!("  BELOW target (>= {t:.2})"),
            _ => String::new(),
        };
        format!(
            "{:<width$} server {:>9} req/s  raw {:>9} ops/s  server/raw {ratio}{verdict}",
            self.target,
            thousands(self.server_req_per_s.round() as u64),
            thousands(self.raw_ops_per_s.round() as u64),
        )
    }
}

/// The heading of the server-versus-raw summary.
pub(crate) fn raw_heading(concurrency: usize, threads: usize, message_size: usize) -> String {
    format!(
        "server/raw = Kinko's req/s ({concurrency} connections, client on the same cores) over aws-lc-rs alone \
         ({threads} threads, Kinko idle), {message_size}-byte RAW messages; \
         target: ECDSA P-256 Sign through the server >= {:.0}% of the raw rate",
        SIGN_RAW_RATIO_TARGET * 100.0
    )
}

/// Everything one run measured.
#[derive(Debug)]
pub(crate) struct Report {
    concurrency: usize,
    duration_s: u64,
    warmup_s: u64,
    plaintext_size: usize,
    /// Bytes of each Sign and GenerateMac message, when the run has any.
    message_size: Option<usize>,
    cores: usize,
    started_at: String,
    rows: Vec<Row>,
    raw_comparisons: Vec<RawComparison>,
    audit_costs: Vec<AuditCost>,
}

impl Report {
    pub(crate) fn new(
        concurrency: usize,
        duration_s: u64,
        warmup_s: u64,
        plaintext_size: usize,
        cores: usize,
    ) -> Report {
        let started_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Report {
            concurrency,
            duration_s,
            warmup_s,
            plaintext_size,
            message_size: None,
            cores,
            started_at,
            rows: Vec::new(),
            raw_comparisons: Vec::new(),
            audit_costs: Vec::new(),
        }
    }

    /// Records that the run sends Sign or GenerateMac requests with messages of `bytes`.
    pub(crate) fn set_message_size(&mut self, bytes: usize) {
        self.message_size = Some(bytes);
    }

    pub(crate) fn banner(&self) -> String {
        let message = self
            .message_size
            .map_or_else(String::new, |n| format!(", {n}-byte messages"));
        format!(
            "kinko-bench: {} connections, {} s per target after {} s warm-up, {}-byte plaintext{message}, {} cores",
            self.concurrency, self.duration_s, self.warmup_s, self.plaintext_size, self.cores
        )
    }

    pub(crate) fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub(crate) fn push_raw_comparison(&mut self, comparison: RawComparison) {
        self.raw_comparisons.push(comparison);
    }

    pub(crate) fn push_audit_cost(&mut self, cost: AuditCost) {
        self.audit_costs.push(cost);
    }

    /// Prints (to stderr) a few of the failures behind the error counts, if any.
    pub(crate) fn print_error_samples(&self) {
        for row in self.rows.iter().filter(|r| !r.error_samples.is_empty()) {
            eprintln!("kinko-bench: {} failures, first ones:", row.target);
            for sample in row.error_samples.iter().take(SAMPLES_SHOWN) {
                eprintln!("  {sample}");
            }
        }
    }

    /// Fails the run if any target had errors or completed nothing, so scripts and tests notice.
    pub(crate) fn check(&self) -> Result<()> {
        let bad: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.errors > 0 || r.requests == 0)
            .map(|r| r.target.as_str())
            .collect();
        if !bad.is_empty() {
            bail!(
                "failed requests (or none completed) for: {}",
                bad.join(", ")
            );
        }
        Ok(())
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "target": r.target,
                    "requests": r.requests,
                    "req_per_s": r.req_per_s,
                    "p50_ms": r.p50_ms,
                    "p99_ms": r.p99_ms,
                    "errors": r.errors,
                    "ratio_to_ceiling": r.ratio,
                })
            })
            .collect();
        let audit_costs: Vec<serde_json::Value> = self
            .audit_costs
            .iter()
            .map(|c| {
                json!({
                    "target": c.target,
                    "store_req_per_s": c.store_req_per_s,
                    "memory_req_per_s": c.memory_req_per_s,
                    "cost": c.cost(),
                    "store_server_cpu_us_per_request": c.store_use.map(|u| u.cpu_us),
                    "memory_server_cpu_us_per_request": c.memory_use.map(|u| u.cpu_us),
                    "store_machine_idle": c.store_use.map(|u| u.machine_idle),
                    "memory_machine_idle": c.memory_use.map(|u| u.machine_idle),
                })
            })
            .collect();
        let server_vs_raw: Vec<serde_json::Value> = self
            .raw_comparisons
            .iter()
            .map(|c| {
                json!({
                    "target": c.target,
                    "algorithm": c.algorithm,
                    "raw_primitive": c.primitive,
                    "server_req_per_s": c.server_req_per_s,
                    "p50_ms": c.p50_ms,
                    "p99_ms": c.p99_ms,
                    "raw_ops_per_s": c.raw_ops_per_s,
                    "raw_threads": c.raw_threads,
                    "ratio": c.ratio(),
                    "ratio_target": c.ratio_target,
                    "meets_target": c.meets_target(),
                })
            })
            .collect();
        json!({
            "started_at": self.started_at,
            "concurrency": self.concurrency,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "plaintext_size": self.plaintext_size,
            "message_size": self.message_size,
            "cores": self.cores,
            "results": rows,
            "server_vs_raw": server_vs_raw,
            "audit_cost": audit_costs,
        })
    }
}

/// Nearest-rank percentile of sorted microsecond latencies, in milliseconds (0 when empty).
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    sorted_us
        .get(index)
        .map_or(0.0, |&us| f64::from(us) / 1000.0)
}

/// `27113` → `27,113`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.50), 50.0);
        assert_eq!(percentile_ms(&v, 0.99), 99.0);
        assert_eq!(percentile_ms(&[7000], 0.99), 7.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(27_113), "27,113");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn ratio_against_ceiling() {
        let load = LoadResult {
            latencies_us: vec![1000; 500],
            ..LoadResult::default()
        };
        let row = Row::from_load("Encrypt", load, Duration::from_secs(1), Some(1000.0));
        assert_eq!(row.ratio, Some(0.5));
        assert!(row.line(MIN_TARGET_WIDTH).ends_with("0.50"));
        assert_eq!(
            table_header(MIN_TARGET_WIDTH).len(),
            row.line(MIN_TARGET_WIDTH).len()
        );
    }

    #[test]
    fn long_targets_widen_the_column() {
        let row = Row::from_load(
            "GenerateDataKey [pkcs11 root] [audit: memory]",
            LoadResult::default(),
            Duration::from_secs(1),
            None,
        );
        let width = row.target.len();
        assert!(width > MIN_TARGET_WIDTH);
        assert_eq!(table_header(width).len(), row.line(width).len());
        assert!(row.line(width).starts_with(&row.target));
    }

    #[test]
    fn audit_cost_is_one_minus_store_over_memory() {
        let cost = |store: f64, memory: f64| AuditCost {
            target: "Encrypt".to_owned(),
            store_req_per_s: store,
            memory_req_per_s: memory,
            store_use: None,
            memory_use: None,
        };
        let c = cost(8_500.0, 10_000.0);
        assert!(c.cost().is_some_and(|x| (x - 0.15).abs() < 1e-9));
        assert!(
            c.line(10).contains("15.0%  within target"),
            "{}",
            c.line(10)
        );
        assert!(
            c.line(10).contains("store     8,500 req/s"),
            "{}",
            c.line(10)
        );
        let c = cost(8_000.0, 10_000.0);
        assert!(c.line(10).contains("20.0%  OVER target"), "{}", c.line(10));
        let c = cost(10_500.0, 10_000.0);
        assert!(c.cost().is_some_and(|x| (x + 0.05).abs() < 1e-9));
        assert!(
            c.line(10).contains("-5.0%  within target"),
            "{}",
            c.line(10)
        );
        assert_eq!(cost(1.0, 0.0).cost(), None);
    }

    #[test]
    fn raw_comparison_ratio_and_target() {
        let cmp = |server: f64, raw: f64, ratio_target| RawComparison {
            target: "Sign ECC_NIST_P256".to_owned(),
            algorithm: "ECDSA_SHA_256",
            primitive: "EcdsaKeyPair",
            server_req_per_s: server,
            p50_ms: 1.0,
            p99_ms: 2.0,
            raw_ops_per_s: raw,
            raw_threads: 2,
            ratio_target,
        };
        let c = cmp(45_000.0, 90_000.0, Some(SIGN_RAW_RATIO_TARGET));
        assert!(c.ratio().is_some_and(|r| (r - 0.5).abs() < 1e-9));
        assert_eq!(c.meets_target(), Some(true));
        let line = c.line(MIN_TARGET_WIDTH);
        assert!(line.contains("server    45,000 req/s"), "{line}");
        assert!(line.contains("raw    90,000 ops/s"), "{line}");
        assert!(
            line.ends_with("server/raw  0.50  meets target (>= 0.50)"),
            "{line}"
        );
        let c = cmp(20_000.0, 90_000.0, Some(SIGN_RAW_RATIO_TARGET));
        assert_eq!(c.meets_target(), Some(false));
        assert!(
            c.line(MIN_TARGET_WIDTH)
                .ends_with("0.22  BELOW target (>= 0.50)")
        );
        let c = cmp(900.0, 1_000.0, None);
        assert_eq!(c.meets_target(), None);
        assert!(c.line(MIN_TARGET_WIDTH).ends_with("server/raw  0.90"));
        let c = cmp(900.0, 0.0, Some(SIGN_RAW_RATIO_TARGET));
        assert_eq!((c.ratio(), c.meets_target()), (None, None));
        assert!(c.line(MIN_TARGET_WIDTH).ends_with("server/raw     -"));
    }

    #[test]
    fn raw_comparisons_reach_the_json_report() {
        let mut report = Report::new(64, 10, 2, 64, 2);
        assert!(!report.banner().contains("messages"));
        report.set_message_size(32);
        assert!(report.banner().contains("32-byte messages"));
        report.push_raw_comparison(RawComparison {
            target: "Sign ECC_NIST_P256".to_owned(),
            algorithm: "ECDSA_SHA_256",
            primitive: "EcdsaKeyPair",
            server_req_per_s: 30_000.0,
            p50_ms: 1.5,
            p99_ms: 4.0,
            raw_ops_per_s: 80_000.0,
            raw_threads: 2,
            ratio_target: Some(SIGN_RAW_RATIO_TARGET),
        });
        let json = report.to_json();
        let f = |p: &str| json.pointer(p).and_then(serde_json::Value::as_f64);
        assert_eq!(f("/message_size"), Some(32.0));
        assert_eq!(f("/server_vs_raw/0/raw_ops_per_s"), Some(80_000.0));
        assert_eq!(f("/server_vs_raw/0/p99_ms"), Some(4.0));
        assert!(f("/server_vs_raw/0/ratio").is_some_and(|r| (r - 0.375).abs() < 1e-9));
        assert_eq!(
            json.pointer("/server_vs_raw/0/meets_target"),
            Some(&serde_json::Value::Bool(false))
        );
    }

    #[test]
    fn audit_costs_reach_the_json_report() {
        let mut report = Report::new(64, 10, 2, 64, 2);
        report.push_audit_cost(AuditCost {
            target: "Encrypt".to_owned(),
            store_req_per_s: 900.0,
            memory_req_per_s: 1000.0,
            store_use: Some(PerRequest {
                cpu_us: 90.0,
                machine_idle: 0.1,
            }),
            memory_use: Some(PerRequest {
                cpu_us: 80.0,
                machine_idle: 0.02,
            }),
        });
        let json = report.to_json();
        let cost = json
            .pointer("/audit_cost/0/cost")
            .and_then(serde_json::Value::as_f64);
        assert!(cost.is_some_and(|c| (c - 0.1).abs() < 1e-9), "{json}");
        assert_eq!(
            json.pointer("/audit_cost/0/target")
                .and_then(|t| t.as_str()),
            Some("Encrypt")
        );
        let f = |p: &str| json.pointer(p).and_then(serde_json::Value::as_f64);
        assert_eq!(
            f("/audit_cost/0/store_server_cpu_us_per_request"),
            Some(90.0)
        );
        assert_eq!(f("/audit_cost/0/memory_machine_idle"), Some(0.02));
        let line = report.audit_costs[0].line(10);
        assert!(
            line.contains("store 90.0 us, memory 80.0 us; machine idle: store 10%, memory 2%"),
            "{line}"
        );
    }
}
