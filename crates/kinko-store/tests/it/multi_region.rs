//! Multi-Region keys: one row per region under the same `mrk-` id, each with its own material
//! rows, tags and aliases; the regions listed together; several keys changed in one transaction.

use kinko_core::{Key, KeyArn, KeyId, Store, StoreError};

use crate::fixtures::{
    alias, audit, create_account, eu_west_1, key, material, material_id, tag, us_east_1,
};

/// Key `n` as a multi-Region key of `region` whose primary is in `primary`.
fn mrk(account: &kinko_core::AccountId, region: &kinko_core::Region, n: u8) -> Key {
    let mut k = key(account, region, n);
    let id = KeyId::multi_region_from_random([n; 16]).in_region(region);
    k.arn = KeyArn {
        key_id: id,
        ..k.arn
    };
    k.primary_region = Some(us_east_1());
    k
}

/// The same `mrk-` id lives in two regions as two keys, with their own material, tags and
/// aliases; `list_key_regions` finds both; a replica already in a region is a Conflict.
pub async fn regions_of_one_multi_region_key_are_keys_of_their_own(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let (east, west) = (us_east_1(), eu_west_1());
    let primary = mrk(&acct, &east, 7);
    store
        .create_key(
            &primary,
            &material(&primary),
            &[tag("side", "east")],
            audit(),
        )
        .await
        .expect("create the primary");
    let replica = mrk(&acct, &west, 7);
    assert_eq!(replica.id().to_string(), primary.id().to_string());
    // The primary is written with the replica (its version bumped).
    let stale_primary = primary.clone();
    let mut primary = primary;
    primary.version = 2;
    assert_ne!(replica.id(), primary.id());
    let mut second = material(&replica);
    second.id = material_id(99);
    store
        .create_replica(
            &primary,
            &replica,
            &[material(&replica), second.clone()],
            &[tag("side", "west")],
            audit(),
        )
        .await
        .expect("create the replica");

    // Each region reads its own key by the id a client names (no scope).
    let unscoped = primary.id().unscoped_id();
    let got_east = store
        .get_key(&acct, &east, &unscoped)
        .await
        .expect("get east");
    let got_west = store
        .get_key(&acct, &west, &unscoped)
        .await
        .expect("get west");
    assert_eq!(got_east, Some(primary.clone()));
    assert_eq!(got_west, Some(replica.clone()));
    assert_eq!(
        store
            .list_materials(&primary.id())
            .await
            .expect("materials")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_materials(&replica.id())
            .await
            .expect("materials")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_tags(&primary.id(), None, 10)
            .await
            .expect("tags"),
        [tag("side", "east")]
    );
    assert_eq!(
        store
            .list_tags(&replica.id(), None, 10)
            .await
            .expect("tags"),
        [tag("side", "west")]
    );
    store
        .create_alias(&alias(&acct, &west, "alias/mrk", replica.id(), 1), audit())
        .await
        .expect("alias in the west");
    let listed = store
        .list_aliases(&acct, &west, Some(&replica.id()), None, 10)
        .await
        .expect("aliases");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target, replica.id());
    assert_eq!(store.count_aliases(&primary.id()).await.expect("count"), 0);

    let mut regions = store
        .list_key_regions(&acct, &unscoped)
        .await
        .expect("regions");
    regions.sort_by(|a, b| a.arn.region.cmp(&b.arn.region));
    assert_eq!(regions, vec![replica.clone(), primary.clone()]);
    // A single-Region key or another account has none.
    let other = create_account(store, 2).await;
    assert!(
        store
            .list_key_regions(&other, &unscoped)
            .await
            .expect("none")
            .is_empty()
    );

    let mut next = primary.clone();
    next.version = 3;
    let again = store
        .create_replica(&next, &replica, &[material(&replica)], &[], audit())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // A primary that changed since it was read (a racing rotation) is a Conflict too, and no
    // replica is written.
    let central = kinko_core::Region::parse("eu-central-1").expect("region");
    let third = mrk(&acct, &central, 7);
    let raced = store
        .create_replica(&stale_primary, &third, &[material(&third)], &[], audit())
        .await;
    assert!(matches!(raced, Err(StoreError::Conflict(_))), "{raced:?}");
    assert_eq!(
        store
            .get_key(&acct, &central, &unscoped)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store.get_key(&acct, &east, &unscoped).await.expect("get"),
        Some(primary.clone())
    );
}

/// `update_keys` writes every key and material it is given, or none of them when one key's
/// version is stale.
pub async fn update_keys_is_all_or_nothing(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let (east, west) = (us_east_1(), eu_west_1());
    let primary = mrk(&acct, &east, 8);
    let replica = mrk(&acct, &west, 8);
    store
        .create_key(&primary, &material(&primary), &[], audit())
        .await
        .expect("primary");
    let mut primary = primary;
    primary.version = 2;
    store
        .create_replica(&primary, &replica, &[material(&replica)], &[], audit())
        .await
        .expect("replica");

    let rotate = |k: &Key, version: i64| {
        let mut k = k.clone();
        k.current_material = material_id(50);
        k.version = version;
        k.primary_region = Some(west.clone());
        let mut m = material(&k);
        m.id = material_id(50);
        (k, Some(m))
    };
    // The replica's version is stale: nothing changes, the primary included.
    let stale = store
        .update_keys(&[rotate(&primary, 3), rotate(&replica, 5)], audit())
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        store
            .get_key(&acct, &east, &primary.id())
            .await
            .expect("get"),
        Some(primary.clone())
    );
    assert_eq!(
        store.list_materials(&primary.id()).await.expect("m").len(),
        1
    );

    store
        .update_keys(&[rotate(&primary, 3), rotate(&replica, 2)], audit())
        .await
        .expect("both");
    for (region, k, version) in [(&east, &primary, 3), (&west, &replica, 2)] {
        let got = store
            .get_key(&acct, region, &k.id())
            .await
            .expect("get")
            .expect("key");
        assert_eq!(
            (got.version, got.current_material),
            (version, material_id(50))
        );
        assert_eq!(got.primary_region, Some(west.clone()));
        assert!(
            store
                .get_material(&k.id(), &material_id(50))
                .await
                .expect("m")
                .is_some()
        );
    }
}
