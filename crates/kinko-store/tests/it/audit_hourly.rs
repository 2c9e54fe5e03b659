//! `AuditStore::audit_hourly_counts`: the console overview's requests per hour, counted from the
//! store's indexes.

use kinko_core::{AuditDigest, AuditDraft, Store, UnixMillis};

use crate::fixtures::{account, draft};

const HOUR: i64 = 3_600_000;
/// A whole hour, in the fixtures' time range.
const T0: i64 = 1_767_225_600_000;

fn event(n: u32, time: i64, acct: u8) -> AuditDraft {
    AuditDraft {
        time: UnixMillis(time),
        account: Some(account(acct)),
        ..draft("Encrypt", n)
    }
}

/// Each group commit of one account is counted in its hour; an older one and another account's
/// are not.
pub async fn hourly_counts_count_an_accounts_events_per_hour(store: &dyn Store) {
    let none = store
        .audit_hourly_counts(&account(1), UnixMillis(T0))
        .await
        .expect("counts");
    assert_eq!(none, vec![]);
    // One commit before `from`, two in the first hour, one in the third; another account's.
    for (batch, acct) in [
        (vec![event(1, T0 - HOUR, 1)], 1),
        (vec![event(2, T0 + 10, 1), event(3, T0 + 20, 1)], 1),
        (vec![event(4, T0 + 30, 1)], 1),
        (vec![event(5, T0 + 2 * HOUR + 5, 1)], 1),
        (vec![event(6, T0 + 40, 2), event(7, T0 + 50, 2)], 2),
    ] {
        let chain = format!("node-{acct}");
        store.append_audit(&chain, &batch).await.expect("append");
    }
    let counts = store
        .audit_hourly_counts(&account(1), UnixMillis(T0))
        .await
        .expect("counts");
    assert_eq!(counts, vec![(T0, 3), (T0 + 2 * HOUR, 1)]);
    let other = store
        .audit_hourly_counts(&account(2), UnixMillis(T0))
        .await
        .expect("counts");
    assert_eq!(other, vec![(T0, 2)]);
}

/// Nodes append to chains of their own: one account's events of one hour on two chains are
/// counted together. Pruning a chain takes its events out of the counts, and an hour left with
/// none is not answered at all.
pub async fn hourly_counts_sum_the_chains_and_forget_pruned_events(store: &dyn Store) {
    let mut a = Vec::new();
    for (n, time) in [
        (1, T0 + 10),
        (2, T0 + 20),
        (3, T0 + 30),
        (4, T0 + HOUR + 40),
    ] {
        let appended = store
            .append_audit("node-a", &[event(n, time, 1)])
            .await
            .expect("append");
        a.extend(appended);
    }
    for n in [5, 6] {
        store
            .append_audit("node-b", &[event(n, T0 + 50, 1)])
            .await
            .expect("append");
    }
    assert_eq!(counts_of_1(store).await, vec![(T0, 5), (T0 + HOUR, 1)]);

    let anchor = |through: usize| {
        let last = &a[through - 1];
        AuditDigest {
            chain: "node-a".to_owned(),
            first_seq: 1,
            last_seq: last.seq,
            last_hash: last.hash,
            time: UnixMillis(T0 + 2 * HOUR),
            prev_signature: Vec::new(),
            prune_anchor: true,
            signature: format!("anchor {through}").into_bytes(),
        }
    };
    assert_eq!(store.prune_audit(&anchor(2)).await.expect("prune"), 2);
    assert_eq!(counts_of_1(store).await, vec![(T0, 3), (T0 + HOUR, 1)]);
    assert_eq!(store.prune_audit(&anchor(4)).await.expect("prune"), 2);
    assert_eq!(
        counts_of_1(store).await,
        vec![(T0, 2)],
        "node-b's two are left"
    );
    // Appending after a prune counts again from what is left.
    store
        .append_audit("node-a", &[event(7, T0 + HOUR + 60, 1)])
        .await
        .expect("append");
    assert_eq!(counts_of_1(store).await, vec![(T0, 2), (T0 + HOUR, 1)]);
}

async fn counts_of_1(store: &dyn Store) -> Vec<(i64, u64)> {
    store
        .audit_hourly_counts(&account(1), UnixMillis(T0))
        .await
        .expect("counts")
}
