//! The checks: each reads the store (keys, materials, the audit indexes, settings) and yields
//! [`Finding`]s, a pass or a finding per subject, with the requirements it is evidence for.

use std::collections::HashMap;

use kinko_core::{
    AccountId, AuditFilter, ExpirationModel, Key, KeySpec, KeyState, Origin, Store, UnixMillis,
};
use serde::Serialize;
use serde_json::Value;

use super::ComplianceError;
use super::policy::broad_grants;

const DAY: i64 = 86_400_000;
/// A key with no cryptographic use for this long is reported unused.
pub(crate) const UNUSED_DAYS: i64 = 90;
/// Imported material expiring within this many days is reported.
pub(crate) const EXPIRY_DAYS: i64 = 30;
/// Audit retention shorter than this many days does not meet PCI DSS 10.5.1.
const RETENTION_DAYS: u32 = 365;

/// A finding's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Must be fixed before an assessment.
    High,
    /// Should be fixed.
    Medium,
    /// Worth a look.
    Low,
    /// Evidence only.
    Info,
}

/// Whether the subject meets the requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It does.
    Pass,
    /// It does not.
    Finding,
}

/// One check's result for one subject.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check's id (`rotation`, `policy-wide`, ...).
    pub id: &'static str,
    /// PCI DSS v4.0 requirement numbers and ISO/IEC 27001:2022 controls.
    pub requirements: Vec<&'static str>,
    /// How much it matters.
    pub severity: Severity,
    /// What it is about: a key ARN, `root of trust`, an audit chain. Never material.
    pub subject: String,
    /// What was seen.
    pub evidence: String,
    /// Pass or finding.
    pub status: Status,
}

/// The audit trail's verification, run by the caller (the server with its signing key's public
/// half, the command line with the installation's published key).
#[derive(Debug, Clone)]
pub struct AuditCheck {
    /// True when every hash, link and digest signature checked out.
    pub intact: bool,
    /// The verifier's summary or the break it found.
    pub detail: String,
}

/// What a report is computed from.
pub struct Inputs<'a> {
    /// The installation's store.
    pub store: &'a dyn Store,
    /// Now.
    pub now: UnixMillis,
    /// Only this account's keys, or every account's.
    pub account: Option<&'a AccountId>,
    /// The audit verification's outcome.
    pub audit: AuditCheck,
    /// The configured audit retention (`None`: kept forever), when known.
    pub retention_days: Option<Option<u32>>,
}

fn f(
    id: &'static str,
    requirements: &[&'static str],
    severity: Severity,
    subject: String,
    evidence: String,
    status: Status,
) -> Finding {
    Finding {
        id,
        requirements: requirements.to_vec(),
        severity,
        subject,
        evidence,
        status,
    }
}

fn day(t: UnixMillis) -> String {
    kinko_audit::iso8601(t).chars().take(10).collect()
}

/// Failed events read for refused calls to disabled keys (newest first).
const REFUSED_SCAN: usize = 10_000;

/// Calls to one disabled key that were refused.
pub(crate) struct Refused {
    count: usize,
    last: UnixMillis,
    principal: String,
}

/// Calls refused with `DisabledException` in the last [`UNUSED_DAYS`] days, by key id. A
/// refused call's event names no key resource (the key was not used), so the key comes from
/// the request's `keyId` when it is a key id or ARN, else from the error message, which names
/// the key's ARN.
async fn refused_as_disabled(i: &Inputs<'_>) -> Result<HashMap<String, Refused>, ComplianceError> {
    let filter = AuditFilter {
        failed: Some(true),
        account: i.account.cloned(),
        event_source: Some("kms.amazonaws.com".to_owned()),
        from: Some(UnixMillis(i.now.0 - UNUSED_DAYS * DAY)),
        ..AuditFilter::default()
    };
    let mut out: HashMap<String, Refused> = HashMap::new();
    let events = i
        .store
        .query_audit(&filter, None, REFUSED_SCAN)
        .await
        .map_err(ComplianceError::Store)?;
    for e in events {
        if e.draft.error_code.as_deref() != Some("DisabledException") {
            continue;
        }
        let Ok(record) = serde_json::from_slice::<Value>(&e.draft.record) else {
            continue;
        };
        let named = |s: &str| {
            let id = s.rsplit('/').next().unwrap_or(s);
            kinko_core::KeyId::parse(id).map(|k| k.to_string())
        };
        let key = record["requestParameters"]["keyId"]
            .as_str()
            .and_then(named)
            .or_else(|| {
                record["errorMessage"]
                    .as_str()
                    .and_then(|m| m.split_whitespace().next())
                    .and_then(named)
            });
        let Some(key) = key else { continue };
        let entry = out.entry(key).or_insert_with(|| Refused {
            count: 0,
            last: e.draft.time,
            principal: e
                .draft
                .principal_arn
                .clone()
                .unwrap_or_else(|| "an unknown principal".to_owned()),
        });
        entry.count += 1;
    }
    Ok(out)
}

/// Every finding of the installation, keys first (by ARN), then the root of trust and the trail.
pub async fn compute(i: &Inputs<'_>) -> Result<Vec<Finding>, ComplianceError> {
    let refused = refused_as_disabled(i).await?;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = i
            .store
            .list_all_keys(after.as_ref(), 500)
            .await
            .map_err(ComplianceError::Store)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id());
        for key in &page {
            if i.account.is_some_and(|a| a != &key.arn.account)
                || matches!(
                    key.state,
                    KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
                )
            {
                continue;
            }
            key_findings(i, key, &refused, &mut out).await?;
        }
    }
    root_finding(i, &mut out).await?;
    audit_findings(i, &mut out).await?;
    Ok(out)
}

const ROTATION_REQ: &[&str] = &["PCI DSS 3.6.1", "PCI DSS 3.7.4", "ISO 27001 A.8.24"];

/// A rotating key's finding: past its cryptoperiod when its newest material (`last`) is more
/// whole days old than its rotation period (a day's slack for the scheduler's pass).
fn rotation(arn: String, period: u32, last: UnixMillis, now: UnixMillis) -> Finding {
    let age = (now.0 - last.0) / DAY;
    if age > i64::from(period) {
        f(
            "rotation",
            ROTATION_REQ,
            Severity::High,
            arn,
            format!(
                "rotation period {period} days, last rotated {} ({age} days ago): past its cryptoperiod",
                day(last)
            ),
            Status::Finding,
        )
    } else {
        f(
            "rotation",
            ROTATION_REQ,
            Severity::Info,
            arn,
            format!(
                "rotated automatically every {period} days; material from {} ({age} days old)",
                day(last)
            ),
            Status::Pass,
        )
    }
}

async fn key_findings(
    i: &Inputs<'_>,
    key: &Key,
    refused: &HashMap<String, Refused>,
    out: &mut Vec<Finding>,
) -> Result<(), ComplianceError> {
    let arn = key.arn.to_string();
    let store = i.store;
    // Rotation: symmetric, Enabled keys whose material Kinko made.
    if key.spec == KeySpec::SymmetricDefault
        && key.state == KeyState::Enabled
        && key.origin == Origin::AwsKms
    {
        match key.rotation_period_days {
            None => out.push(f(
                "rotation",
                ROTATION_REQ,
                Severity::Medium,
                arn.clone(),
                "automatic rotation is off: the key has no cryptoperiod".into(),
                Status::Finding,
            )),
            Some(period) => {
                let materials = store
                    .list_materials(&key.id())
                    .await
                    .map_err(ComplianceError::Store)?;
                let last = materials
                    .iter()
                    .map(|m| m.created_at)
                    .max()
                    .unwrap_or(key.created_at);
                out.push(rotation(arn.clone(), period, last, i.now));
            }
        }
    }
    // Key policy.
    const POLICY_REQ: &[&str] = &["PCI DSS 3.6.1", "PCI DSS 7.2.2", "ISO 27001 A.8.24"];
    let broad = broad_grants(&key.policy);
    if broad.is_empty() {
        out.push(f(
            "policy",
            POLICY_REQ,
            Severity::Info,
            arn.clone(),
            "the key policy grants neither \"*\" without a condition nor kms:* to a principal other than an account root".into(),
            Status::Pass,
        ));
    }
    for b in broad {
        out.push(f(
            "policy",
            POLICY_REQ,
            if b.everyone {
                Severity::High
            } else {
                Severity::Medium
            },
            arn.clone(),
            format!("policy statement \"{}\" {}", b.statement, b.what),
            Status::Finding,
        ));
    }
    // Use: Enabled keys unused for 90 days; Disabled keys still called.
    const USE_REQ: &[&str] = &["PCI DSS 3.7.5", "PCI DSS 10.2.1", "ISO 27001 A.8.24"];
    if key.state == KeyState::Enabled {
        let last = store
            .key_last_usage(&key.id())
            .await
            .map_err(ComplianceError::Store)?;
        let since = last.as_ref().map_or(key.created_at, |u| u.time);
        let idle = (i.now.0 - since.0) / DAY;
        let what = match &last {
            Some(u) => format!("last used by {} on {}", u.operation, day(u.time)),
            None => format!("never used since its creation on {}", day(key.created_at)),
        };
        let (severity, status) = if idle >= UNUSED_DAYS {
            (Severity::Low, Status::Finding)
        } else {
            (Severity::Info, Status::Pass)
        };
        out.push(f(
            "unused",
            USE_REQ,
            severity,
            arn.clone(),
            format!("{what} ({idle} days; reported from {UNUSED_DAYS})"),
            status,
        ));
    }
    if key.state == KeyState::Disabled {
        let calls = refused.get(&key.id().to_string());
        let status = if calls.is_some() {
            Status::Finding
        } else {
            Status::Pass
        };
        let evidence = match calls {
            Some(c) => format!(
                "disabled, yet called {} time(s) in the last {UNUSED_DAYS} days (refused with DisabledException), last {} by {}",
                c.count,
                kinko_audit::iso8601(c.last),
                c.principal
            ),
            None => format!(
                "disabled; no call refused with DisabledException in the last {UNUSED_DAYS} days"
            ),
        };
        out.push(f(
            "disabled-called",
            USE_REQ,
            if calls.is_some() {
                Severity::Medium
            } else {
                Severity::Info
            },
            arn.clone(),
            evidence,
            status,
        ));
    }
    // Imported material expiring soon.
    if key.origin == Origin::External
        && key.expiration_model == Some(ExpirationModel::KeyMaterialExpires)
        && let Some(valid_to) = key.valid_to
    {
        // Whole days, a part-day counted: 24 days and 23 hours is "25 days left".
        let left = ((valid_to.0 - i.now.0).max(0) + DAY - 1) / DAY;
        let soon = valid_to.0 - i.now.0 <= EXPIRY_DAYS * DAY;
        out.push(f(
            "import-expiry",
            &["PCI DSS 3.7.4", "ISO 27001 A.8.24"],
            if soon {
                Severity::Medium
            } else {
                Severity::Info
            },
            arn,
            format!(
                "imported material valid to {} ({left} days left; reported from {EXPIRY_DAYS})",
                day(valid_to)
            ),
            if soon { Status::Finding } else { Status::Pass },
        ));
    }
    Ok(())
}

async fn root_finding(i: &Inputs<'_>, out: &mut Vec<Finding>) -> Result<(), ComplianceError> {
    // A record that does not parse is reported as a finding, not as a failed report.
    let kind = crate::root::recorded_provider(i.store)
        .await
        .ok()
        .flatten()
        .map_or("unknown", crate::root::Provider::as_str);
    let (severity, evidence, status) = match kind {
        "pkcs11" => (
            Severity::Info,
            "key material is wrapped under a key held in a PKCS#11 token (a secure cryptographic device)".to_owned(),
            Status::Pass,
        ),
        "passphrase" => (
            Severity::Low,
            "key material is wrapped under a key-encrypting key derived from an operator passphrase, not stored with the data; no secure cryptographic device".to_owned(),
            Status::Pass,
        ),
        "file" => (
            Severity::High,
            "root of trust \"file\": the key-encrypting key is a file in the data directory, next to the keys it protects; development only".to_owned(),
            Status::Finding,
        ),
        other => (
            Severity::High,
            format!("root of trust \"{other}\": the installation's record of its root does not name a known provider"),
            Status::Finding,
        ),
    };
    out.push(f(
        "root-of-trust",
        &["PCI DSS 3.6.1.2", "PCI DSS 3.6.1.3", "ISO 27001 A.8.24"],
        severity,
        "root of trust".into(),
        evidence,
        status,
    ));
    Ok(())
}

async fn audit_findings(i: &Inputs<'_>, out: &mut Vec<Finding>) -> Result<(), ComplianceError> {
    out.push(f(
        "audit-integrity",
        &["PCI DSS 10.3.2", "PCI DSS 10.2"],
        if i.audit.intact {
            Severity::Info
        } else {
            Severity::High
        },
        "audit trail".into(),
        if i.audit.intact {
            format!("intact: {}", i.audit.detail)
        } else {
            format!("NOT intact: {}", i.audit.detail)
        },
        if i.audit.intact {
            Status::Pass
        } else {
            Status::Finding
        },
    ));
    for chain in i
        .store
        .audit_chains()
        .await
        .map_err(ComplianceError::Store)?
    {
        let last = i
            .store
            .list_digests(&chain.chain)
            .await
            .map_err(ComplianceError::Store)?
            .into_iter()
            .rfind(|d| !d.prune_anchor);
        let (evidence, status) = match &last {
            Some(d) => (
                format!(
                    "{} events; last sealed digest {} covers events through {}",
                    chain.last_seq,
                    kinko_audit::iso8601(d.time),
                    d.last_seq
                ),
                Status::Pass,
            ),
            None => (
                format!("{} events; no sealed digest yet", chain.last_seq),
                Status::Finding,
            ),
        };
        out.push(f(
            "audit-sealed",
            &["PCI DSS 10.3.2", "PCI DSS 10.2"],
            if status == Status::Pass {
                Severity::Info
            } else {
                Severity::Medium
            },
            format!("audit chain {}", chain.chain),
            evidence,
            status,
        ));
    }
    if let Some(retention) = i.retention_days {
        let (evidence, status) = match retention {
            None => (
                "audit_retention_days not set: events are kept until removed by hand".to_owned(),
                Status::Pass,
            ),
            Some(d) if d >= RETENTION_DAYS => (format!("audit_retention_days = {d}"), Status::Pass),
            Some(d) => (
                format!("audit_retention_days = {d}: shorter than the 12 months PCI DSS asks for"),
                Status::Finding,
            ),
        };
        out.push(f(
            "audit-retention",
            &["PCI DSS 10.5.1"],
            if status == Status::Pass {
                Severity::Info
            } else {
                Severity::High
            },
            "audit retention".into(),
            evidence,
            status,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_older_than_the_rotation_period_is_past_its_cryptoperiod() {
        let last = UnixMillis(1_700_000_000_000);
        let at = |days: i64| UnixMillis(last.0 + days * DAY);
        let on_time = rotation("k".into(), 90, last, at(90));
        assert_eq!(on_time.status, Status::Pass);
        let late = rotation("k".into(), 90, last, at(91));
        assert_eq!(
            (late.status, late.severity),
            (Status::Finding, Severity::High)
        );
        assert!(
            late.evidence.contains("91 days ago") && late.requirements.contains(&"PCI DSS 3.7.4")
        );
    }
}
