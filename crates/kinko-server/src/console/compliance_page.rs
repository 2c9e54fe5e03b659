//! The Compliance page: the findings of `crate::compliance` for the signed-in account's keys,
//! the root of trust and the audit trail (verified now with the server's signing key), with a
//! summary per requirement. An account's root may read it; anyone else gets AccessDenied. The
//! read is recorded as `GetComplianceReport`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use kinko_api::ErrorCode;
use kinko_core::Principal;

use super::call::record_direct;
use super::ctx::{Console, page_ctx};
use super::html::{html, page, refused};
use crate::compliance::{AuditCheck, Inputs, Report, compute, fragment};
use crate::errors::ApiError;

const EVENT: &str = "GetComplianceReport";
/// Passes listed on the page (findings are all listed): a large installation's passes are
/// three rows per key.
const PAGE_PASSES: usize = 200;

/// `GET /console/compliance`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (session, conn) = (&ctx.session, &ctx.conn);
    let source = "kms.amazonaws.com";
    if !matches!(session.caller.principal, Principal::Root { .. }) {
        let e = ApiError::new(
            ErrorCode::AccessDeniedException,
            format!(
                "{} may not read the compliance report: an account's root may.",
                session.caller.principal.arn()
            ),
        );
        record_direct(&c.app, session, conn, source, EVENT, Some(&e)).await;
        let body = refused(
            "The compliance report was refused",
            e.code.as_str(),
            &e.message,
        );
        return html(
            StatusCode::FORBIDDEN,
            page(session, "compliance", "Compliance", &body),
        );
    }
    let store = c.app.kms.store();
    let audit = match kinko_audit::verify(&**store, &c.app.audit_public_key).await {
        Ok(report) => AuditCheck {
            intact: true,
            detail: report.summary_lines().join("; "),
        },
        Err(e) => AuditCheck {
            intact: false,
            detail: e.to_string(),
        },
    };
    let now = c.app.kms.clock().now();
    let inputs = Inputs {
        store: &**store,
        now,
        account: Some(&session.caller.account),
        audit,
        retention_days: Some(c.app.audit_retention_days),
    };
    let body = match compute(&inputs).await {
        Ok(findings) => {
            record_direct(&c.app, session, conn, source, EVENT, None).await;
            let report = Report::new(kinko_audit::iso8601(now), findings);
            format!(
                "{}<p class=\"hint\">The same report offline: <code>kinko report compliance --data-dir DIR --format html|json</code> (every account).</p>",
                fragment(&report, Some(PAGE_PASSES))
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "console: compliance report failed");
            let e = ApiError::new(ErrorCode::KMSInternalException, String::new());
            record_direct(&c.app, session, conn, source, EVENT, Some(&e)).await;
            refused(
                "The compliance report could not be computed",
                e.code.as_str(),
                "the store did not answer",
            )
        }
    };
    html(
        StatusCode::OK,
        page(session, "compliance", "Compliance", &body),
    )
}
