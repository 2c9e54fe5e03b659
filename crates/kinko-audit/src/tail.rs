//! `kinko audit query` and `tail`: CloudTrail records of an installation's store, one JSON
//! object per line, handed to a writer the caller gives (the binary's stdout). A reader that
//! goes away (`| head`) ends the output without an error.

use std::collections::BTreeMap;
use std::time::Duration;

use kinko_core::{AuditEvent, AuditFilter, Store};

use crate::select::matches;
use crate::trail_error::TrailError;

/// Events read per store call.
const PAGE: usize = 1000;
/// How often `tail --follow` looks for new events.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// True when writing failed because the reader went away (`| head`): not an error.
fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// `kinko audit query`: records matching `filter`, newest first, at most `limit`, each passed
/// to `out`. Returns how many.
pub async fn query(
    store: &dyn Store,
    filter: &AuditFilter,
    limit: Option<usize>,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64, TrailError> {
    let mut remaining = limit.unwrap_or(usize::MAX);
    let mut cursor = None;
    let mut written = 0u64;
    while remaining > 0 {
        let page = store
            .query_audit(filter, cursor.as_ref(), remaining.min(PAGE))
            .await
            .map_err(TrailError::store("querying the audit trail"))?;
        let Some(last) = page.last() else { break };
        cursor = Some((last.draft.time.0, last.chain.clone(), last.seq));
        for e in &page {
            match out(&e.draft.record) {
                Ok(()) => written += 1,
                Err(e) if is_broken_pipe(&e) => return Ok(written),
                Err(e) => return Err(TrailError::Write(e)),
            }
        }
        remaining = remaining.saturating_sub(page.len());
    }
    Ok(written)
}

/// `kinko audit tail`: the last `last` records matching `filter`, oldest first; with `follow`,
/// then every new matching record as it is appended, until the process is stopped (or the
/// reader goes away).
pub async fn tail(
    store: &dyn Store,
    filter: &AuditFilter,
    last: usize,
    follow: bool,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), TrailError> {
    // Heads first: what the query shows beyond them is left to the follow loop, so nothing is
    // printed twice and nothing is missed.
    let mut seen: BTreeMap<String, i64> = store
        .audit_chains()
        .await
        .map_err(TrailError::store("reading chain heads"))?
        .into_iter()
        .map(|h| (h.chain, h.last_seq))
        .collect();
    let mut initial = store
        .query_audit(filter, None, last)
        .await
        .map_err(TrailError::store("querying the audit trail"))?;
    initial.retain(|e| seen.get(&e.chain).is_some_and(|s| e.seq <= *s));
    initial.reverse();
    if !emit(&initial, out)? || !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let heads = store
            .audit_chains()
            .await
            .map_err(TrailError::store("reading chain heads"))?;
        let mut fresh = Vec::new();
        for head in heads {
            let mut after = seen.get(&head.chain).copied().unwrap_or(0);
            while after < head.last_seq {
                let page = store
                    .audit_events(&head.chain, after, PAGE)
                    .await
                    .map_err(TrailError::store("reading new events"))?;
                let Some(tail) = page.last() else { break };
                after = tail.seq;
                fresh.extend(page.into_iter().filter(|e| matches(filter, e)));
            }
            seen.insert(head.chain, after);
        }
        fresh.sort_by(|a, b| (a.draft.time, &a.chain, a.seq).cmp(&(b.draft.time, &b.chain, b.seq)));
        if !emit(&fresh, out)? {
            return Ok(());
        }
    }
}

/// Writes records; false when the reader went away.
fn emit(
    events: &[AuditEvent],
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<bool, TrailError> {
    for e in events {
        match out(&e.draft.record) {
            Ok(()) => {}
            Err(err) if is_broken_pipe(&err) => return Ok(false),
            Err(err) => return Err(TrailError::Write(err)),
        }
    }
    Ok(true)
}
