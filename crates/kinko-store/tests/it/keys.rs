//! Keys and their material: atomic creation, scoping, ordering and paging, optimistic updates.

use kinko_core::{KeyId, KeyState, Material, Store, StoreError, UnixMillis};

use crate::fixtures::{
    audit, create_account, create_key, eu_west_1, key, key_id, material, material_id, tag,
    us_east_1,
};

fn ids(keys: &[kinko_core::Key]) -> Vec<KeyId> {
    keys.iter().map(|k| k.id()).collect()
}

/// A created key reads back field for field, with its material and its tags.
pub async fn create_key_round_trips_key_material_and_tags(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let mut k = key(&acct, &region, 7);
    k.deletion_date = Some(UnixMillis(42));
    k.pending_window_days = Some(9);
    k.description = "naïve description with \"quotes\" and a\nnewline".to_owned();
    let m = material(&k);
    let tags = [
        tag("team", "crypto"),
        tag("env", ""),
        tag("Ünïcode", "välue"),
    ];
    store
        .create_key(&k, &m, &tags, audit())
        .await
        .expect("create the key");

    assert_eq!(
        store
            .get_key(&acct, &region, &k.id())
            .await
            .expect("get_key"),
        Some(k.clone())
    );
    assert_eq!(
        store
            .get_material(&k.id(), &m.id)
            .await
            .expect("get_material"),
        Some(m)
    );
    let mut sorted = tags.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(
        store
            .list_tags(&k.id(), None, 100)
            .await
            .expect("list_tags"),
        sorted
    );
    assert_eq!(store.count_tags(&k.id()).await.expect("count_tags"), 3);
}

/// A create_key whose key id exists fails with Conflict; no material or tag of the second attempt
/// is written, and the first key is untouched.
pub async fn create_key_with_taken_id_is_conflict_and_writes_nothing(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let first = create_key(store, &acct, &region, 1, &[tag("round", "first")]).await;

    let mut second = key(&acct, &region, 1);
    second.description = "second attempt".to_owned();
    second.current_material = material_id(99);
    let second_material = Material::generated(
        second.id(),
        material_id(99),
        vec![2; 61],
        "test-root".to_owned(),
        UnixMillis(5),
        None,
    );
    let result = store
        .create_key(
            &second,
            &second_material,
            &[tag("round", "second"), tag("extra", "x")],
            audit(),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected Conflict, got {result:?}"
    );

    assert_eq!(
        store
            .get_key(&acct, &region, &first.id())
            .await
            .expect("get_key"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_material(&first.id(), &material_id(99))
            .await
            .expect("get_material"),
        None
    );
    assert_eq!(
        store
            .get_material(&first.id(), &first.current_material)
            .await
            .expect("get_material"),
        Some(material(&first))
    );
    assert_eq!(
        store
            .list_tags(&first.id(), None, 100)
            .await
            .expect("list_tags"),
        vec![tag("round", "first")]
    );
    assert_eq!(store.count_tags(&first.id()).await.expect("count_tags"), 1);
}

/// A create_key that fails after its key row could have been written (its material collides with
/// an existing one) leaves no trace: no key, no tags.
pub async fn create_key_failing_midway_leaves_no_key(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let first = create_key(store, &acct, &region, 1, &[]).await;

    // Key 2 arrives with a material record that is exactly key 1's (same key id and version).
    let second = key(&acct, &region, 2);
    let result = store
        .create_key(&second, &material(&first), &[tag("orphan", "yes")], audit())
        .await;
    assert!(
        result.is_err(),
        "a material that collides with an existing one must fail the whole create_key"
    );

    assert_eq!(
        store
            .get_key(&acct, &region, &second.id())
            .await
            .expect("get_key"),
        None
    );
    assert_eq!(
        store
            .list_keys(&acct, &region, None, 100)
            .await
            .expect("list_keys")
            .len(),
        1
    );
    assert_eq!(store.count_tags(&second.id()).await.expect("count_tags"), 0);
    assert_eq!(
        store
            .get_material(&first.id(), &first.current_material)
            .await
            .expect("get_material"),
        Some(material(&first))
    );
}

/// get_key finds a key only in its own account and region.
pub async fn get_key_is_scoped_by_account_and_region(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let other = create_account(store, 2).await;
    let k = create_key(store, &acct, &us_east_1(), 3, &[]).await;

    assert_eq!(
        store
            .get_key(&acct, &us_east_1(), &k.id())
            .await
            .expect("get_key"),
        Some(k.clone())
    );
    assert_eq!(
        store
            .get_key(&acct, &eu_west_1(), &k.id())
            .await
            .expect("get_key"),
        None,
        "another region"
    );
    assert_eq!(
        store
            .get_key(&other, &us_east_1(), &k.id())
            .await
            .expect("get_key"),
        None,
        "another account"
    );
    assert_eq!(
        store
            .get_key(&acct, &us_east_1(), &key_id(4))
            .await
            .expect("get_key"),
        None,
        "an unknown id"
    );
}

/// list_keys: only the account's keys in the region, ordered by id, strictly after `after`, at
/// most `limit`.
pub async fn list_keys_orders_by_id_and_pages_with_after_and_limit(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let other = create_account(store, 2).await;
    let region = us_east_1();
    for n in [5, 1, 4, 2, 3] {
        create_key(store, &acct, &region, n, &[]).await;
    }
    // Noise that must never show up.
    create_key(store, &acct, &eu_west_1(), 6, &[]).await;
    create_key(store, &other, &region, 7, &[]).await;

    let all = store
        .list_keys(&acct, &region, None, 100)
        .await
        .expect("list_keys");
    assert_eq!(ids(&all), (1..=5).map(key_id).collect::<Vec<_>>());
    assert_eq!(
        all.first(),
        Some(&key(&acct, &region, 1)),
        "listed keys are whole records"
    );

    let page = store
        .list_keys(&acct, &region, None, 2)
        .await
        .expect("list_keys");
    assert_eq!(ids(&page), vec![key_id(1), key_id(2)]);
    let page = store
        .list_keys(&acct, &region, Some(&key_id(2)), 2)
        .await
        .expect("list_keys");
    assert_eq!(ids(&page), vec![key_id(3), key_id(4)]);
    let page = store
        .list_keys(&acct, &region, Some(&key_id(4)), 2)
        .await
        .expect("list_keys");
    assert_eq!(ids(&page), vec![key_id(5)]);
    let page = store
        .list_keys(&acct, &region, Some(&key_id(5)), 2)
        .await
        .expect("list_keys");
    assert_eq!(ids(&page), vec![]);

    // `after` need not exist: everything strictly greater comes back.
    let between = KeyId::from_bytes([
        2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    let page = store
        .list_keys(&acct, &region, Some(&between), 100)
        .await
        .expect("list_keys");
    assert_eq!(ids(&page), vec![key_id(3), key_id(4), key_id(5)]);

    assert_eq!(
        store
            .list_keys(&acct, &region, None, 0)
            .await
            .expect("list_keys"),
        vec![]
    );
    assert_eq!(
        ids(&store
            .list_keys(&acct, &eu_west_1(), None, 100)
            .await
            .expect("list_keys")),
        vec![key_id(6)]
    );
    assert_eq!(
        ids(&store
            .list_keys(&other, &region, None, 100)
            .await
            .expect("list_keys")),
        vec![key_id(7)]
    );
}

/// update_key with version = stored + 1 replaces every mutable field.
pub async fn update_key_replaces_mutable_fields(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let v1 = create_key(store, &acct, &region, 1, &[]).await;

    let mut v2 = v1.clone();
    v2.description = "changed".to_owned();
    v2.state = KeyState::PendingDeletion;
    v2.deletion_date = Some(UnixMillis(1_767_830_400_000));
    v2.pending_window_days = Some(7);
    v2.policy = "{\"Statement\":[]}".into();
    v2.current_material = material_id(50);
    v2.version = 2;
    store
        .update_key(&v2, audit())
        .await
        .expect("update to version 2");
    assert_eq!(
        store
            .get_key(&acct, &region, &v1.id())
            .await
            .expect("get_key"),
        Some(v2.clone())
    );

    // And back: optional fields can be cleared.
    let mut v3 = v2.clone();
    v3.state = KeyState::Disabled;
    v3.deletion_date = None;
    v3.pending_window_days = None;
    v3.version = 3;
    store
        .update_key(&v3, audit())
        .await
        .expect("update to version 3");
    assert_eq!(
        store
            .get_key(&acct, &region, &v1.id())
            .await
            .expect("get_key"),
        Some(v3)
    );
}

/// update_key whose version is not stored + 1 is a Conflict and changes nothing.
pub async fn update_key_with_stale_version_is_conflict_and_changes_nothing(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let v1 = create_key(store, &acct, &region, 1, &[]).await;

    let mut winner = v1.clone();
    winner.description = "winner".to_owned();
    winner.version = 2;
    store
        .update_key(&winner, audit())
        .await
        .expect("the first writer wins");

    // A second writer that also read version 1.
    let mut loser = v1.clone();
    loser.description = "loser".to_owned();
    loser.state = KeyState::Disabled;
    loser.version = 2;
    let result = store.update_key(&loser, audit()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a stale version must be a Conflict, got {result:?}"
    );

    // A writer that skips versions.
    let mut ahead = v1.clone();
    ahead.description = "ahead".to_owned();
    ahead.version = 4;
    let result = store.update_key(&ahead, audit()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a version that skips must be a Conflict, got {result:?}"
    );

    assert_eq!(
        store
            .get_key(&acct, &region, &v1.id())
            .await
            .expect("get_key"),
        Some(winner)
    );

    // The contract's "otherwise Conflict" covers a key that is not stored at all.
    let mut missing = key(&acct, &region, 9);
    missing.version = 2;
    let result = store.update_key(&missing, audit()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "updating a missing key must be a Conflict, got {result:?}"
    );
    assert_eq!(
        store
            .get_key(&acct, &region, &key_id(9))
            .await
            .expect("get_key"),
        None,
        "update never inserts"
    );
}

/// get_material finds one version of one key.
pub async fn get_material_is_scoped_by_key_and_version(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;

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
        store
            .get_material(&k1.id(), &k2.current_material)
            .await
            .expect("get"),
        None,
        "another key's version"
    );
    assert_eq!(
        store
            .get_material(&k1.id(), &material_id(77))
            .await
            .expect("get"),
        None,
        "an unknown version"
    );
    assert_eq!(
        store
            .get_material(&key_id(3), &k1.current_material)
            .await
            .expect("get"),
        None,
        "an unknown key"
    );
}
