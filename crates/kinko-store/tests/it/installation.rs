//! Installation-wide reads and settings removal: what a root migration (and any job that must
//! visit every key) relies on. `list_all_keys` ignores account and region, `list_materials` and
//! `list_access_keys` return everything, inactive access keys included.

use kinko_core::{AccessKey, AccessKeyId, AccountId, Key, KeyId, Store, UnixMillis};

use crate::fixtures::{create_account, create_key, eu_west_1, key_id, material, us_east_1};

fn ids(keys: &[Key]) -> Vec<KeyId> {
    keys.iter().map(Key::id).collect()
}

/// An access key of `account` wrapped under `root_id`.
pub fn access_key(id: &str, account: &AccountId, active: bool, root_id: &str) -> AccessKey {
    AccessKey {
        id: AccessKeyId::parse(id).expect("an access key id"),
        account: account.clone(),
        principal_arn: format!("arn:aws:iam::{account}:root"),
        wrapped_secret: [b"secret of ".as_slice(), id.as_bytes(), &[0x00, 0xff]].concat(),
        root_id: root_id.to_owned(),
        active,
        created_at: UnixMillis(1_767_225_600_000),
    }
}

/// Keys of two accounts in two regions all come back, ordered by id, whole, and page with
/// `after` (exclusive, also an id that is not stored) and `limit`.
pub async fn list_all_keys_spans_accounts_and_regions_and_pages(store: &dyn Store) {
    assert_eq!(
        store.list_all_keys(None, 100).await.expect("list_all_keys"),
        vec![],
        "a fresh store has no keys"
    );
    let a1 = create_account(store, 1).await;
    let a2 = create_account(store, 2).await;
    // Inserted out of id order, spread over both accounts and both regions.
    let k9 = create_key(store, &a1, &eu_west_1(), 9, &[]).await;
    let k2 = create_key(store, &a2, &us_east_1(), 2, &[]).await;
    let k7 = create_key(store, &a1, &us_east_1(), 7, &[]).await;
    let k5 = create_key(store, &a2, &eu_west_1(), 5, &[]).await;
    let k3 = create_key(store, &a1, &us_east_1(), 3, &[]).await;

    let all = store.list_all_keys(None, 100).await.expect("list_all_keys");
    assert_eq!(
        all,
        vec![k2.clone(), k3.clone(), k5.clone(), k7.clone(), k9.clone()],
        "every key of every account and region, whole, ordered by id"
    );

    // Pages of two, each starting strictly after the last id of the previous one.
    let page1 = store
        .list_all_keys(None, 2)
        .await
        .expect("list_all_keys page 1");
    assert_eq!(ids(&page1), vec![k2.id(), k3.id()]);
    let page2 = store
        .list_all_keys(Some(&k3.id()), 2)
        .await
        .expect("list_all_keys page 2");
    assert_eq!(ids(&page2), vec![k5.id(), k7.id()]);
    let page3 = store
        .list_all_keys(Some(&k7.id()), 2)
        .await
        .expect("list_all_keys page 3");
    assert_eq!(ids(&page3), vec![k9.id()], "a short last page");
    assert_eq!(
        store
            .list_all_keys(Some(&k9.id()), 2)
            .await
            .expect("list_all_keys after the last"),
        vec![],
        "nothing after the last key"
    );

    // `after` need not be a stored id.
    assert_eq!(
        ids(&store
            .list_all_keys(Some(&key_id(4)), 100)
            .await
            .expect("list_all_keys after an absent id")),
        vec![k5.id(), k7.id(), k9.id()]
    );
    assert_eq!(
        ids(&store
            .list_all_keys(Some(&key_id(1)), 1)
            .await
            .expect("list_all_keys limit 1")),
        vec![k2.id()]
    );

    // Paging through with a small limit visits every key exactly once.
    let mut seen = Vec::new();
    let mut after: Option<KeyId> = None;
    loop {
        let page = store
            .list_all_keys(after.as_ref(), 3)
            .await
            .expect("list_all_keys while paging");
        assert!(page.len() <= 3, "a page holds at most `limit` keys");
        let Some(last) = page.last() else { break };
        after = Some(last.id());
        seen.extend(ids(&page));
    }
    assert_eq!(seen, vec![k2.id(), k3.id(), k5.id(), k7.id(), k9.id()]);

    // The per-account, per-region listing is unchanged by all this.
    assert_eq!(
        ids(&store
            .list_keys(&a1, &us_east_1(), None, 100)
            .await
            .expect("list_keys")),
        vec![k3.id(), k7.id()]
    );
}

/// A key's materials are exactly the ones stored for it (field for field, root id included);
/// another key's are not mixed in; an unknown key has none.
pub async fn list_materials_returns_the_materials_of_one_key(store: &dyn Store) {
    let a1 = create_account(store, 1).await;
    let a2 = create_account(store, 2).await;
    let k1 = create_key(store, &a1, &us_east_1(), 1, &[]).await;
    let k2 = create_key(store, &a2, &eu_west_1(), 2, &[]).await;

    assert_eq!(
        store
            .list_materials(&k1.id())
            .await
            .expect("list_materials"),
        vec![material(&k1)]
    );
    assert_eq!(
        store
            .list_materials(&k2.id())
            .await
            .expect("list_materials"),
        vec![material(&k2)]
    );
    assert_ne!(material(&k1).wrapped, material(&k2).wrapped);
    assert_eq!(
        store
            .list_materials(&key_id(42))
            .await
            .expect("list_materials of an unknown key"),
        vec![],
        "an unknown key has no materials"
    );
    let listed = store
        .list_materials(&k1.id())
        .await
        .expect("list_materials");
    assert_eq!(
        listed.first().map(|m| m.root_id.as_str()),
        Some("test-root")
    );
}

/// Every access key of every account comes back, inactive ones included (a root migration
/// must rewrap them too), each field for field.
pub async fn list_access_keys_returns_every_access_key(store: &dyn Store) {
    assert_eq!(
        store.list_access_keys().await.expect("list_access_keys"),
        vec![],
        "a fresh store has no access keys"
    );
    let a1 = create_account(store, 1).await;
    let a2 = create_account(store, 2).await;
    let keys = [
        access_key("AKIAKINKOTESTZZZZZZ2", &a1, true, "root-a"),
        access_key("AKIAKINKOTESTAAAAAA3", &a2, false, "root-a"),
        access_key("AKIAKINKOTESTMMMMMM4", &a2, true, "root-b"),
    ];
    for k in &keys {
        store
            .create_access_key(k)
            .await
            .expect("create an access key");
    }
    let mut listed = store.list_access_keys().await.expect("list_access_keys");
    listed.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut expected = keys.to_vec();
    expected.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(
        listed, expected,
        "every access key, of every account, active or not"
    );
}

/// delete_setting removes one setting and leaves the others; deleting a missing one is fine;
/// a deleted setting can be written again.
pub async fn delete_setting_removes_one_setting(store: &dyn Store) {
    store
        .delete_setting("never-written")
        .await
        .expect("deleting a missing setting is fine");
    store
        .put_setting("root", "provider=file")
        .await
        .expect("put");
    store
        .put_setting("root.next", "provider=passphrase")
        .await
        .expect("put");

    store
        .delete_setting("root.next")
        .await
        .expect("delete_setting");
    assert_eq!(
        store.get_setting("root.next").await.expect("get"),
        None,
        "the deleted setting is gone"
    );
    assert_eq!(
        store.get_setting("root").await.expect("get").as_deref(),
        Some("provider=file"),
        "the other setting is untouched"
    );

    store
        .delete_setting("root.next")
        .await
        .expect("deleting it again is fine");
    store
        .delete_setting("ROOT")
        .await
        .expect("a name differing in case is another (missing) setting");
    assert_eq!(
        store.get_setting("root").await.expect("get").as_deref(),
        Some("provider=file"),
        "names are case-sensitive: deleting `ROOT` left `root`"
    );

    store
        .put_setting("root.next", "provider=pkcs11")
        .await
        .expect("write the deleted setting again");
    assert_eq!(
        store
            .get_setting("root.next")
            .await
            .expect("get")
            .as_deref(),
        Some("provider=pkcs11")
    );
}
