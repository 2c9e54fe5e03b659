//! The Overview page: keys by state and by spec, requests per hour over the last 24 hours (an
//! inline SVG chart), recent denied and failed requests, when each audit chain was last sealed,
//! the root-of-trust kind and the version.
//!
//! Key counts come from the core's ListKeys (authorized as `kms:ListKeys`, one audit record per
//! page read) and show only totals; the trail figures need `cloudtrail:LookupEvents` (one audit
//! record) and come from the store's audit indexes of the caller's account
//! (`AuditStore::audit_hourly_counts`), without decoding the events they count.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use kinko_core::{Action, AuditFilter, UnixMillis};

use super::call::record_direct;
use super::ctx::{Console, Ctx, page_ctx};
use super::html::{esc, html, page, refused, table};
use super::key_detail::bar_chart;
use crate::errors::{ApiError, from_core};

async fn key_counts(
    c: &Console,
    ctx: &Ctx,
) -> Result<(BTreeMap<String, u64>, BTreeMap<String, u64>), ApiError> {
    let (mut states, mut specs) = (BTreeMap::new(), BTreeMap::new());
    let mut marker: Option<String> = None;
    loop {
        let page = c
            .app
            .kms
            .list_keys(&ctx.session.caller, 1000, marker.as_deref())
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = from_core(e, "");
                record_direct(
                    &c.app,
                    &ctx.session,
                    &ctx.conn,
                    "kms.amazonaws.com",
                    "ListKeys",
                    Some(&e),
                )
                .await;
                return Err(e);
            }
        };
        record_direct(
            &c.app,
            &ctx.session,
            &ctx.conn,
            "kms.amazonaws.com",
            "ListKeys",
            None,
        )
        .await;
        for k in &page.items {
            *states.entry(format!("{:?}", k.state)).or_insert(0) += 1;
            *specs.entry(k.spec.as_str().to_owned()).or_insert(0) += 1;
        }
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => return Ok((states, specs)),
        }
    }
}

fn counts_table(id: &str, caption: &str, head: &str, counts: &BTreeMap<String, u64>) -> String {
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(k, n)| vec![esc(k), n.to_string()])
        .collect();
    table(id, caption, &[head, "Keys"], &rows, "No keys.")
}

/// `GET /console/overview`.
pub(crate) async fn show(State(c): State<Arc<Console>>, request: Request) -> Response {
    let ctx = match page_ctx(&c, &request).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let mut body = String::from("<div class=\"cards\">");
    match key_counts(&c, &ctx).await {
        Ok((states, specs)) => {
            body.push_str(&format!("<section aria-labelledby=\"h-states\"><h2 id=\"h-states\">Keys by state</h2>{}</section>", counts_table("by-state", "Keys by state", "State", &states)));
            body.push_str(&format!("<section aria-labelledby=\"h-specs\"><h2 id=\"h-specs\">Keys by spec</h2>{}</section>", counts_table("by-spec", "Keys by spec", "Key spec", &specs)));
        }
        Err(e) => body.push_str(&refused(
            "ListKeys was refused",
            e.code.as_str(),
            &e.message,
        )),
    }
    body.push_str("</div>");
    body.push_str(&trail(&c, &ctx).await);
    let root = crate::root::recorded_provider(c.app.kms.store().as_ref())
        .await
        .ok()
        .flatten()
        .map_or("unknown", crate::root::Provider::as_str)
        .to_owned();
    body.push_str(&format!(
        "<section aria-labelledby=\"h-about\"><h2 id=\"h-about\">Installation</h2><dl class=\"config\">\
         <dt>Root of trust</dt><dd id=\"root-kind\">{}</dd><dt>Version</dt><dd id=\"version\">{}</dd></dl></section>",
        esc(&root),
        env!("CARGO_PKG_VERSION")
    ));
    html(
        StatusCode::OK,
        page(&ctx.session, "overview", "Overview", &body),
    )
}

/// The trail's figures, or the refusal.
async fn trail(c: &Console, ctx: &Ctx) -> String {
    let caller = &ctx.session.caller;
    if let Err(e) = c
        .app
        .kms
        .authorize_in_account(caller, Action::CloudTrailLookupEvents, "*")
        .await
    {
        let e = from_core(e, "");
        record_direct(
            &c.app,
            &ctx.session,
            &ctx.conn,
            "cloudtrail.amazonaws.com",
            "LookupEvents",
            Some(&e),
        )
        .await;
        return refused("LookupEvents was refused", e.code.as_str(), &e.message);
    }
    record_direct(
        &c.app,
        &ctx.session,
        &ctx.conn,
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        None,
    )
    .await;
    let store = c.app.kms.store();
    let now = c.app.kms.clock().now().0;
    // 24 clock hours, the current one last.
    let from = now - now.rem_euclid(3_600_000) - 23 * 3_600_000;
    let mut hours = [0u64; 24];
    for (hour, n) in store
        .audit_hourly_counts(&caller.account, UnixMillis(from))
        .await
        .unwrap_or_default()
    {
        let h = ((hour - from).max(0) / 3_600_000).min(23) as usize;
        // The store answers whole hours from `from` on.
        hours[h] += n;
    }
    let s0 = format!(
        "<section aria-labelledby=\"h-hours\" id=\"requests\"><h2 id=\"h-hours\">Requests per hour, last 24 hours</h2>{}</section>",
        bar_chart("hours-chart", "Requests per hour, oldest first", &hours),
    );
    let mut s = s0;
    let failed = AuditFilter {
        account: Some(caller.account.clone()),
        failed: Some(true),
        ..AuditFilter::default()
    };
    let rows: Vec<Vec<String>> = store
        .query_audit(&failed, None, 10)
        .await
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let d = &e.draft;
            vec![
                esc(&kinko_audit::iso8601(d.time)),
                esc(&d.event_name),
                esc(d.principal_arn.as_deref().unwrap_or("")),
                esc(d.error_code.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    s.push_str(&format!(
        "<section aria-labelledby=\"h-failed\"><h2 id=\"h-failed\">Recent denied and failed requests</h2>{}</section>",
        table("failed", "Recent denied and failed requests", &["Time", "Event", "Principal", "Error"], &rows, "No failed requests.")
    ));
    let mut seals = Vec::new();
    for chain in store.audit_chains().await.unwrap_or_default() {
        let last = store
            .list_digests(&chain.chain)
            .await
            .unwrap_or_default()
            .into_iter()
            .rfind(|d| !d.prune_anchor);
        seals.push(vec![
            esc(&chain.chain),
            chain.last_seq.to_string(),
            last.as_ref()
                .map(|d| esc(&kinko_audit::iso8601(d.time)))
                .unwrap_or_else(|| "never".into()),
            last.map(|d| d.last_seq.to_string()).unwrap_or_default(),
        ]);
    }
    s.push_str(&format!(
        "<section aria-labelledby=\"h-seals\"><h2 id=\"h-seals\">Audit chains</h2>{}<p class=\"hint\">Verify the chains and digests with <code>kinko audit verify --data-dir DIR</code>.</p></section>",
        table("chains", "Audit chains and their last sealed digest", &["Chain", "Events", "Last sealed", "Sealed through event"], &seals, "No audit chain yet.")
    ));
    s
}
