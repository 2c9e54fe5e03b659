//! Unfiltered audit queries over a trail whose newest batches hold one event each and whose older
//! ones hold hundreds (a quiet server after a busy one): a query reads batches round by round,
//! and every page must still be whole and newest first.

use kinko_core::{AuditCursor, AuditDraft, AuditEvent, AuditFilter, Store};

use crate::fixtures::draft;

const CHAIN: &str = "node-rounds";
const LARGE_BATCHES: u32 = 4;
const LARGE: u32 = 150;
const SMALL_BATCHES: u32 = 70;

fn position(e: &AuditEvent) -> AuditCursor {
    (e.draft.time.0, e.chain.clone(), e.seq)
}

/// Pages of 50 over the whole trail give every event once, newest first, and the first page is
/// the 50 newest.
pub async fn unfiltered_pages_span_small_and_large_batches(store: &dyn Store) {
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        draft("Encrypt", n)
    };
    for _ in 0..LARGE_BATCHES {
        let drafts: Vec<AuditDraft> = (0..LARGE).map(|_| next()).collect();
        store.append_audit(CHAIN, &drafts).await.expect("append");
    }
    for _ in 0..SMALL_BATCHES {
        store.append_audit(CHAIN, &[next()]).await.expect("append");
    }
    let total = (LARGE_BATCHES * LARGE + SMALL_BATCHES) as usize;

    let mut seen: Vec<AuditEvent> = Vec::new();
    loop {
        let before = seen.last().map(position);
        let page = store
            .query_audit(&AuditFilter::default(), before.as_ref(), 50)
            .await
            .expect("query_audit");
        assert!(page.len() <= 50);
        if page.is_empty() {
            break;
        }
        if seen.is_empty() {
            let newest: Vec<i64> = page.iter().map(|e| e.seq).collect();
            let expected: Vec<i64> = (0..50).map(|k| total as i64 - k).collect();
            assert_eq!(newest, expected, "the first page is the 50 newest events");
        }
        seen.extend(page);
        assert!(seen.len() <= total, "paging does not end");
    }
    let ours: Vec<&AuditEvent> = seen.iter().filter(|e| e.chain == CHAIN).collect();
    assert_eq!(ours.len(), total, "every event once");
    assert!(
        seen.windows(2).all(|w| position(&w[0]) > position(&w[1])),
        "newest first, no repeats"
    );
}
