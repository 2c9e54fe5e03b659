//! Durability across restarts: what a closed store acknowledged, a reopened store returns.

use kinko_core::{AccessKey, AccessKeyId, KeyState, UnixMillis};

use crate::backends::Backend;
use crate::fixtures::{alias, audit, create_account, create_key, material, tag, us_east_1};

/// Writes one of every record, closes, reopens, and reads each back unchanged.
pub async fn everything_survives_close_and_reopen(backend: &Backend) {
    let region = us_east_1();
    let db = backend.open().await;
    let store = &*db.store;
    let acct = create_account(store, 1).await;
    let access_key = AccessKey {
        id: AccessKeyId::parse("AKIAKINKODURABLE0001").expect("an access key id"),
        account: acct.clone(),
        principal_arn: format!("arn:aws:iam::{acct}:root"),
        wrapped_secret: vec![1, 2, 3, 0, 255],
        root_id: "test-root".to_owned(),
        active: true,
        created_at: UnixMillis(7),
    };
    store
        .create_access_key(&access_key)
        .await
        .expect("create access key");
    let k1 = create_key(
        store,
        &acct,
        &region,
        1,
        &[tag("env", "prod"), tag("team", "a")],
    )
    .await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    let mut k1_v2 = k1.clone();
    k1_v2.state = KeyState::Disabled;
    k1_v2.description = "updated before the restart".to_owned();
    k1_v2.version = 2;
    store.update_key(&k1_v2, audit()).await.expect("update");
    let a = alias(&acct, &region, "alias/durable", k2.id(), 5);
    store.create_alias(&a, audit()).await.expect("create alias");
    store
        .put_tags(&k1.id(), &[tag("env", "staging")], audit())
        .await
        .expect("put tags");
    store
        .put_setting("root_provider", "file")
        .await
        .expect("put setting");
    db.close().await;

    let db = backend.open().await;
    let store = &*db.store;
    assert_eq!(store.list_accounts().await.expect("list accounts").len(), 1);
    assert_eq!(
        store.get_access_key(&access_key.id).await.expect("get"),
        Some(access_key)
    );
    assert_eq!(
        store.get_key(&acct, &region, &k1.id()).await.expect("get"),
        Some(k1_v2.clone())
    );
    assert_eq!(
        store.get_key(&acct, &region, &k2.id()).await.expect("get"),
        Some(k2.clone())
    );
    assert_eq!(
        store
            .get_material(&k1.id(), &k1.current_material)
            .await
            .expect("get"),
        Some(material(&k1))
    );
    assert_eq!(
        store
            .get_material(&k2.id(), &k2.current_material)
            .await
            .expect("get"),
        Some(material(&k2))
    );
    assert_eq!(
        store.list_tags(&k1.id(), None, 100).await.expect("list"),
        vec![tag("env", "staging"), tag("team", "a")]
    );
    assert_eq!(
        store.get_alias(&acct, &region, &a.name).await.expect("get"),
        Some(a)
    );
    assert_eq!(
        store
            .get_setting("root_provider")
            .await
            .expect("get")
            .as_deref(),
        Some("file")
    );

    // The optimistic version survived too: the next writer must bring version 3.
    let mut stale = k1_v2.clone();
    stale.description = "stale".to_owned();
    assert!(
        store.update_key(&stale, audit()).await.is_err(),
        "version 2 is already stored"
    );
    stale.version = 3;
    store
        .update_key(&stale, audit())
        .await
        .expect("version 3 after the restart");
    db.close().await;
}

/// Opening an existing database again (migrations already applied) neither fails nor loses data.
pub async fn reopening_twice_is_harmless(backend: &Backend) {
    let region = us_east_1();
    let db = backend.open().await;
    let acct = create_account(&*db.store, 1).await;
    let k = create_key(&*db.store, &acct, &region, 1, &[]).await;
    db.close().await;
    for _ in 0..2 {
        let db = backend.open().await;
        assert_eq!(
            db.store
                .get_key(&acct, &region, &k.id())
                .await
                .expect("get"),
            Some(k.clone())
        );
        assert_eq!(
            db.store
                .list_keys(&acct, &region, None, 100)
                .await
                .expect("list")
                .len(),
            1
        );
        db.close().await;
    }
}
