//! Accounts and access keys: what authentication reads back on every cold start.

use kinko_core::{AccessKey, AccessKeyId, Account, Store, StoreError, UnixMillis};

use crate::fixtures::account;

/// Accounts come back oldest first whatever the insertion or id order; an id is inserted once.
pub async fn accounts_list_oldest_first_and_reject_duplicates(store: &dyn Store) {
    assert_eq!(
        store.list_accounts().await.expect("list accounts"),
        vec![],
        "a fresh store has no accounts"
    );

    // The newer account has the smaller id and is inserted first.
    let newer = Account {
        id: account(1),
        created_at: UnixMillis(2_000),
    };
    let older = Account {
        id: account(2),
        created_at: UnixMillis(1_000),
    };
    store
        .create_account(&newer)
        .await
        .expect("create the newer account");
    store
        .create_account(&older)
        .await
        .expect("create the older account");
    assert_eq!(
        store.list_accounts().await.expect("list accounts"),
        vec![older.clone(), newer.clone()]
    );

    let again = Account {
        id: account(2),
        created_at: UnixMillis(3_000),
    };
    match store.create_account(&again).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a second account with a taken id must be a Conflict, got {other:?}"),
    }
    assert_eq!(
        store.list_accounts().await.expect("list accounts"),
        vec![older, newer],
        "the refused insert changed nothing"
    );
}

fn access_key(id: &str, active: bool) -> AccessKey {
    AccessKey {
        id: AccessKeyId::parse(id).expect("an access key id"),
        account: account(1),
        principal_arn: format!("arn:aws:iam::{}:root", account(1)),
        // Opaque bytes, including a NUL and non-UTF-8, must round-trip exactly.
        wrapped_secret: vec![0x01, 0x00, 0xfe, 0xff, b'k', b'i', b'n', b'k', b'o'],
        root_id: "test-root".to_owned(),
        active,
        created_at: UnixMillis(1_767_225_600_123),
    }
}

/// An access key reads back field for field; unknown ids are `None`; ids are unique.
pub async fn access_keys_round_trip(store: &dyn Store) {
    store
        .create_account(&Account {
            id: account(1),
            created_at: UnixMillis(1),
        })
        .await
        .expect("create the account");
    let active = access_key("AKIAKINKOTESTAAAAAA2", true);
    let inactive = access_key("AKIAKINKOTESTBBBBBB3", false);
    store
        .create_access_key(&active)
        .await
        .expect("create the active key");
    store
        .create_access_key(&inactive)
        .await
        .expect("create the inactive key");

    assert_eq!(
        store.get_access_key(&active.id).await.expect("get"),
        Some(active.clone())
    );
    assert_eq!(
        store.get_access_key(&inactive.id).await.expect("get"),
        Some(inactive.clone())
    );
    let unknown = AccessKeyId::parse("AKIAKINKOTESTCCCCCC4").expect("an access key id");
    assert_eq!(store.get_access_key(&unknown).await.expect("get"), None);

    let mut duplicate = access_key("AKIAKINKOTESTAAAAAA2", false);
    duplicate.wrapped_secret = vec![9, 9, 9];
    match store.create_access_key(&duplicate).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a second access key with a taken id must be a Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_access_key(&active.id).await.expect("get"),
        Some(active),
        "the refused insert changed nothing"
    );
}
