//! The web console's sessions: stored by the hash of their id, touched (never past their
//! absolute expiry), deleted, and swept once ended.

use kinko_core::{ConsoleSessionRecord, Store, StoreError};

fn session(id_hash: &str, idle: i64, absolute: i64) -> ConsoleSessionRecord {
    ConsoleSessionRecord {
        id_hash: id_hash.to_owned(),
        account_id: "111122223333".to_owned(),
        region: "us-east-1".to_owned(),
        principal_arn: "arn:aws:iam::111122223333:user/alice".to_owned(),
        access_key_id: "AKIAEXAMPLE".to_owned(),
        csrf_hash: "c".repeat(64),
        created_ms: 1_000,
        idle_expires_ms: idle,
        absolute_expires_ms: absolute,
        credentials_expire_ms: None,
    }
}

/// Put, get, a duplicate refused, touch capped at the absolute expiry, delete, expired swept.
pub async fn console_sessions_round_trip_touch_and_sweep(store: &dyn Store) {
    assert_eq!(store.get_console_session("a").await.expect("get"), None);
    let a = session("a", 10_000, 50_000);
    store.put_console_session(&a).await.expect("put");
    assert_eq!(
        store.get_console_session("a").await.expect("get"),
        Some(a.clone())
    );
    assert!(matches!(
        store.put_console_session(&a).await,
        Err(StoreError::Conflict(_))
    ));

    store
        .touch_console_session("a", 20_000)
        .await
        .expect("touch");
    let got = store
        .get_console_session("a")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(got.idle_expires_ms, 20_000);
    // Never backwards, never past the absolute expiry.
    store
        .touch_console_session("a", 15_000)
        .await
        .expect("touch");
    assert_eq!(
        store
            .get_console_session("a")
            .await
            .expect("get")
            .expect("kept")
            .idle_expires_ms,
        20_000
    );
    store
        .touch_console_session("a", 90_000)
        .await
        .expect("touch");
    assert_eq!(
        store
            .get_console_session("a")
            .await
            .expect("get")
            .expect("kept")
            .idle_expires_ms,
        50_000
    );

    let mut role = session("b", 25_000, 30_000);
    role.credentials_expire_ms = Some(30_000);
    store.put_console_session(&role).await.expect("put");
    assert_eq!(
        store.get_console_session("b").await.expect("get"),
        Some(role)
    );
    store
        .put_console_session(&session("c", 5_000, 60_000))
        .await
        .expect("put");

    // At 10,000: c is idle-expired; a and b live.
    assert_eq!(
        store
            .delete_expired_console_sessions(10_000)
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(store.get_console_session("c").await.expect("get"), None);
    // At 30,000: b reached its absolute expiry (its credentials' end).
    assert_eq!(
        store
            .delete_expired_console_sessions(30_000)
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(store.get_console_session("b").await.expect("get"), None);
    store.delete_console_session("a").await.expect("delete");
    store
        .delete_console_session("a")
        .await
        .expect("missing is fine");
    assert_eq!(store.get_console_session("a").await.expect("get"), None);
}
