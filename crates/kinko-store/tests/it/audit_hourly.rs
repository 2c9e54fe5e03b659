//! `AuditStore::audit_hourly_counts`: the console overview's requests per hour, counted from the
//! store's indexes.

use kinko_core::{AuditDraft, Store, UnixMillis};

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
