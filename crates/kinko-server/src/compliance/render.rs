//! A report's two forms: JSON (`kinko report compliance --format json`) and HTML (the console's
//! page body, and a whole document for `--format html`), with the requirements' text and a
//! summary per requirement. Every value is escaped; a finding holds no secret to begin with.

use std::collections::BTreeMap;

use serde::Serialize;

use super::findings::{Finding, Status};
use crate::markup::{esc, table};

/// The requirements a finding may name, with their text (shortened).
pub const REQUIREMENTS: &[(&str, &str)] = &[
    (
        "PCI DSS 3.6.1",
        "Procedures are defined and implemented to protect cryptographic keys used to protect stored account data against disclosure and misuse.",
    ),
    (
        "PCI DSS 3.6.1.2",
        "Secret and private keys are stored encrypted with a key-encrypting key at least as strong and stored separately, or within a secure cryptographic device (SCD), or as key components.",
    ),
    (
        "PCI DSS 3.6.1.3",
        "Access to cleartext cryptographic key components is restricted to the fewest number of custodians necessary.",
    ),
    (
        "PCI DSS 3.7.4",
        "Cryptographic key changes for keys that have reached the end of their cryptoperiod.",
    ),
    (
        "PCI DSS 3.7.5",
        "Retirement, replacement or destruction of keys at the end of their cryptoperiod, or when weakened or suspected compromised.",
    ),
    (
        "PCI DSS 7.2.2",
        "Access is assigned based on job classification and function, with the least privileges necessary.",
    ),
    (
        "PCI DSS 10.2",
        "Audit logs are implemented to support the detection of anomalies and suspicious activity.",
    ),
    (
        "PCI DSS 10.2.1",
        "Audit logs are enabled and active for all system components and cardholder data.",
    ),
    (
        "PCI DSS 10.3.2",
        "Audit log files are protected to prevent modifications by individuals.",
    ),
    (
        "PCI DSS 10.5.1",
        "Audit log history is retained for at least 12 months, the most recent three months immediately available.",
    ),
    (
        "ISO 27001 A.8.24",
        "Use of cryptography: rules for the effective use of cryptography, including key management, are defined and implemented.",
    ),
];

/// The text of requirement `id`.
fn text(id: &str) -> &'static str {
    REQUIREMENTS
        .iter()
        .find(|(r, _)| *r == id)
        .map_or("", |(_, t)| t)
}

/// Per requirement: how many subjects pass and how many are findings.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementSummary {
    /// The requirement.
    pub requirement: &'static str,
    /// Its text.
    pub text: &'static str,
    /// Subjects that pass.
    pub pass: usize,
    /// Findings.
    pub findings: usize,
}

/// A whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it was computed (ISO 8601).
    pub generated: String,
    /// One line per requirement.
    pub summary: Vec<RequirementSummary>,
    /// Every check's result.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of `findings` computed at `generated`.
    pub fn new(generated: String, findings: Vec<Finding>) -> Report {
        Report {
            generated,
            summary: summary(&findings),
            findings,
        }
    }
}

/// The per-requirement summary of `findings`, in [`REQUIREMENTS`]' order.
pub(crate) fn summary(findings: &[Finding]) -> Vec<RequirementSummary> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for f in findings {
        for r in &f.requirements {
            let c = counts.entry(r).or_default();
            match f.status {
                Status::Pass => c.0 += 1,
                Status::Finding => c.1 += 1,
            }
        }
    }
    REQUIREMENTS
        .iter()
        .filter_map(|(r, t)| {
            counts.get(r).map(|(p, n)| RequirementSummary {
                requirement: r,
                text: t,
                pass: *p,
                findings: *n,
            })
        })
        .collect()
}

/// The report as pretty JSON.
pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned())
}

/// The summary and findings tables (an HTML fragment, for the console page and the document):
/// every finding, then at most `max_passes` passes (all when `None`) and how many were left out.
pub(crate) fn fragment(report: &Report, max_passes: Option<usize>) -> String {
    let summary_rows: Vec<Vec<String>> = report
        .summary
        .iter()
        .map(|s| {
            vec![
                esc(s.requirement),
                format!("<small>{}</small>", esc(s.text)),
                s.pass.to_string(),
                if s.findings > 0 {
                    format!("<span class=\"error\">{}</span>", s.findings)
                } else {
                    "0".to_owned()
                },
            ]
        })
        .collect();
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // Findings first, the most severe first; then the installation's passes (root of trust, audit),
    // then the keys' passes, the only ones the page may leave out.
    findings.sort_by_key(|f| {
        (
            f.status == Status::Pass,
            f.subject.starts_with("arn:"),
            f.severity,
        )
    });
    let passes = findings.iter().filter(|f| f.status == Status::Pass).count();
    let left_out = max_passes.map_or(0, |m| passes.saturating_sub(m));
    findings.truncate(findings.len() - left_out);
    let rows: Vec<Vec<String>> = findings
        .iter()
        .map(|f| {
            let reqs = f
                .requirements
                .iter()
                .map(|r| format!("<abbr title=\"{}\">{}</abbr>", esc(text(r)), esc(r)))
                .collect::<Vec<_>>()
                .join("<br>");
            let status = match f.status {
                Status::Pass => "<span class=\"ok\">pass</span>",
                Status::Finding => "<span class=\"error\">finding</span>",
            };
            vec![
                status.to_owned(),
                format!("{:?}", f.severity).to_lowercase(),
                esc(f.id),
                reqs,
                format!("<code>{}</code>", esc(&f.subject)),
                esc(&f.evidence),
            ]
        })
        .collect();
    format!(
        "<p id=\"generated\">Computed {}.</p>\
         <section aria-labelledby=\"h-summary\"><h2 id=\"h-summary\">Summary per requirement</h2>{}</section>\
         <section aria-labelledby=\"h-findings\"><h2 id=\"h-findings\">Findings</h2>{}{}</section>",
        esc(&report.generated),
        table(
            "summary",
            "Subjects passing and findings per requirement",
            &["Requirement", "Text", "Pass", "Findings"],
            &summary_rows,
            "Nothing to check.",
        ),
        table(
            "findings",
            "Findings first, most severe first, then passes",
            &[
                "Status",
                "Severity",
                "Check",
                "Requirements",
                "Subject",
                "Evidence"
            ],
            &rows,
            "Nothing to check.",
        ),
        if left_out > 0 {
            format!(
                "<p class=\"hint\" id=\"passes-left-out\">{left_out} more passes not listed here; every one is in <code>kinko report compliance</code>.</p>"
            )
        } else {
            String::new()
        }
    )
}

/// The report as a whole HTML document (no script, styles inline).
pub fn to_html_document(report: &Report) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kinko compliance report</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}\
         td,th{{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}}\
         .error{{color:#a00;font-weight:bold}}.ok{{color:#060}}</style></head>\
         <body><h1>Kinko compliance report</h1>{}</body></html>",
        fragment(report, None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::findings::Severity;

    #[test]
    fn the_summary_counts_per_requirement_and_html_is_escaped() {
        let findings = vec![
            Finding {
                id: "policy",
                requirements: vec!["PCI DSS 7.2.2"],
                severity: Severity::High,
                subject: "<k>".into(),
                evidence: "a & b".into(),
                status: Status::Finding,
            },
            Finding {
                id: "policy",
                requirements: vec!["PCI DSS 7.2.2"],
                severity: Severity::Info,
                subject: "k2".into(),
                evidence: "ok".into(),
                status: Status::Pass,
            },
        ];
        let r = Report::new("now".into(), findings);
        assert_eq!(r.summary.len(), 1);
        assert_eq!((r.summary[0].pass, r.summary[0].findings), (1, 1));
        let html = to_html_document(&r);
        assert!(html.contains("&lt;k&gt;") && html.contains("a &amp; b") && !html.contains("<k>"));
        assert!(to_json(&r).contains("\"status\": \"finding\""));
        // The page may leave passes out, never findings, and says how many it left out.
        let page = fragment(&r, Some(0));
        assert!(page.contains("&lt;k&gt;") && !page.contains("k2"));
        assert!(page.contains("1 more passes not listed"));
        assert!(!fragment(&r, Some(1)).contains("passes-left-out"));
    }

    #[test]
    fn the_installations_passes_are_never_left_out_before_a_keys() {
        let pass = |id: &'static str, subject: &str| Finding {
            id,
            requirements: vec!["PCI DSS 3.6.1.2"],
            severity: Severity::Info,
            subject: subject.into(),
            evidence: "ok".into(),
            status: Status::Pass,
        };
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let r = Report::new(
            "now".into(),
            vec![
                pass("rotation", key),
                pass("root-of-trust", "root of trust"),
            ],
        );
        let page = fragment(&r, Some(1));
        assert!(page.contains("root of trust") && !page.contains(key));
    }
}
