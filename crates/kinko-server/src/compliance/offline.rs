//! `kinko report compliance`: the report of an existing installation (a stopped or running
//! server's), read from its store. The audit trail is verified against the installation's
//! published public key, as `kinko audit verify` does; no root of trust is opened.

use kinko_core::{Clock, SystemClock};

use super::ComplianceError;
use super::findings::{AuditCheck, Inputs, compute};
use super::render::Report;
use crate::Config;
use crate::installation::with_installation;

/// The compliance report of the installation `config` names, every account's keys included.
pub async fn compliance_installation(config: &Config) -> Result<Report, ComplianceError> {
    with_installation(config, async |store| {
        let audit =
            match kinko_audit::verify_installation(store, &config.data_dir, &config.node_id, None)
                .await
            {
                Ok(kinko_audit::Verdict::Intact(report)) => AuditCheck {
                    intact: true,
                    detail: report.summary_lines().join("; "),
                },
                Ok(kinko_audit::Verdict::Broken(at)) => AuditCheck {
                    intact: false,
                    detail: at.to_string(),
                },
                Ok(kinko_audit::Verdict::Untrusted(why)) => AuditCheck {
                    intact: false,
                    detail: why,
                },
                Err(e) => AuditCheck {
                    intact: false,
                    detail: format!("verification could not run: {e}"),
                },
            };
        let now = SystemClock.now();
        let findings = compute(&Inputs {
            store,
            now,
            account: None,
            audit,
            retention_days: Some(config.audit_retention_days),
        })
        .await?;
        Ok(Report::new(kinko_audit::iso8601(now), findings))
    })
    .await
}
