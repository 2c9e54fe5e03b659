//! Aliases: unique names per account and region, retargeting, deletion, filtered and paged lists.

use kinko_core::{Alias, AliasName, Store, StoreError, UnixMillis};

use crate::fixtures::{alias, alias_name, audit, create_account, create_key, eu_west_1, us_east_1};

fn names(aliases: &[Alias]) -> Vec<&str> {
    aliases.iter().map(|a| a.name.as_str()).collect()
}

/// An alias reads back field for field; a second alias with the same name is a Conflict and
/// leaves the first as it was.
pub async fn aliases_create_get_and_duplicate(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;

    let a = alias(&acct, &region, "alias/app-key_1:v/2", k1.id(), 10);
    store
        .create_alias(&a, audit())
        .await
        .expect("create the alias");
    assert_eq!(
        store
            .get_alias(&acct, &region, &a.name)
            .await
            .expect("get_alias"),
        Some(a.clone())
    );
    assert_eq!(
        store
            .get_alias(&acct, &region, &alias_name("alias/other"))
            .await
            .expect("get_alias"),
        None
    );

    let duplicate = alias(&acct, &region, "alias/app-key_1:v/2", k2.id(), 20);
    let result = store.create_alias(&duplicate, audit()).await;
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "a taken alias name must be a Conflict, got {result:?}"
    );
    assert_eq!(
        store
            .get_alias(&acct, &region, &a.name)
            .await
            .expect("get_alias"),
        Some(a)
    );

    // Names are case-sensitive, as in AWS.
    let upper = alias(&acct, &region, "alias/APP-KEY_1:v/2", k2.id(), 30);
    store
        .create_alias(&upper, audit())
        .await
        .expect("a name differing only in case is another alias");
    assert_eq!(
        store
            .get_alias(&acct, &region, &upper.name)
            .await
            .expect("get_alias"),
        Some(upper)
    );
}

/// The same name may exist once in every account and region.
pub async fn alias_names_are_unique_per_account_and_region_only(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let other = create_account(store, 2).await;
    let here = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let there = create_key(store, &acct, &eu_west_1(), 2, &[]).await;
    let theirs = create_key(store, &other, &us_east_1(), 3, &[]).await;

    let a = alias(&acct, &us_east_1(), "alias/shared", here.id(), 1);
    let b = alias(&acct, &eu_west_1(), "alias/shared", there.id(), 2);
    let c = alias(&other, &us_east_1(), "alias/shared", theirs.id(), 3);
    for x in [&a, &b, &c] {
        store
            .create_alias(x, audit())
            .await
            .expect("the same name in another account or region");
    }
    assert_eq!(
        store
            .get_alias(&acct, &us_east_1(), &a.name)
            .await
            .expect("get"),
        Some(a)
    );
    assert_eq!(
        store
            .get_alias(&acct, &eu_west_1(), &b.name)
            .await
            .expect("get"),
        Some(b)
    );
    assert_eq!(
        store
            .get_alias(&other, &us_east_1(), &c.name)
            .await
            .expect("get"),
        Some(c)
    );
    assert_eq!(
        store
            .get_alias(&other, &eu_west_1(), &alias_name("alias/shared"))
            .await
            .expect("get"),
        None
    );
}

/// update_alias points an existing alias at another key and records when.
pub async fn update_alias_retargets(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    let a = alias(&acct, &region, "alias/moving", k1.id(), 100);
    store.create_alias(&a, audit()).await.expect("create");

    let moved = Alias {
        target: k2.id(),
        updated_at: UnixMillis(200),
        ..a.clone()
    };
    store.update_alias(&moved, audit()).await.expect("update");
    let read = store
        .get_alias(&acct, &region, &a.name)
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(read.target, k2.id());
    assert_eq!(read.updated_at, UnixMillis(200));
    assert_eq!(
        read.created_at,
        UnixMillis(100),
        "retargeting keeps the creation time"
    );
    assert_eq!(store.count_aliases(&k1.id()).await.expect("count"), 0);
    assert_eq!(store.count_aliases(&k2.id()).await.expect("count"), 1);
}

/// delete_alias says whether there was something to delete.
pub async fn delete_alias_reports_whether_it_existed(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k = create_key(store, &acct, &region, 1, &[]).await;
    let a = alias(&acct, &region, "alias/doomed", k.id(), 1);
    let kept = alias(&acct, &region, "alias/kept", k.id(), 1);
    store.create_alias(&a, audit()).await.expect("create");
    store.create_alias(&kept, audit()).await.expect("create");

    assert!(
        !store
            .delete_alias(&acct, &eu_west_1(), &a.name, audit())
            .await
            .expect("delete"),
        "not in that region"
    );
    assert!(
        store
            .delete_alias(&acct, &region, &a.name, audit())
            .await
            .expect("delete"),
        "it existed"
    );
    assert_eq!(
        store.get_alias(&acct, &region, &a.name).await.expect("get"),
        None
    );
    assert!(
        !store
            .delete_alias(&acct, &region, &a.name, audit())
            .await
            .expect("delete"),
        "already gone"
    );
    assert_eq!(
        store
            .get_alias(&acct, &region, &kept.name)
            .await
            .expect("get"),
        Some(kept.clone())
    );

    // The name is free again.
    store
        .create_alias(&a, audit())
        .await
        .expect("re-create a deleted name");
    assert_eq!(
        store.get_alias(&acct, &region, &a.name).await.expect("get"),
        Some(a)
    );
}

/// list_aliases: the account's aliases in the region ordered by name, optionally of one key,
/// strictly after `after`, at most `limit`.
pub async fn list_aliases_filters_by_target_and_pages(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    for (name, target) in [
        ("alias/e", &k1),
        ("alias/a", &k2),
        ("alias/d", &k2),
        ("alias/b", &k1),
        ("alias/c", &k1),
    ] {
        store
            .create_alias(&alias(&acct, &region, name, target.id(), 1), audit())
            .await
            .expect("create");
    }
    let elsewhere = create_key(store, &acct, &eu_west_1(), 3, &[]).await;
    store
        .create_alias(
            &alias(&acct, &eu_west_1(), "alias/a0", elsewhere.id(), 1),
            audit(),
        )
        .await
        .expect("create");

    let all = store
        .list_aliases(&acct, &region, None, None, 100)
        .await
        .expect("list");
    assert_eq!(
        names(&all),
        ["alias/a", "alias/b", "alias/c", "alias/d", "alias/e"]
    );
    assert_eq!(
        all.first(),
        Some(&alias(&acct, &region, "alias/a", k2.id(), 1)),
        "listed aliases are whole records"
    );

    let of_k1 = store
        .list_aliases(&acct, &region, Some(&k1.id()), None, 100)
        .await
        .expect("list");
    assert_eq!(names(&of_k1), ["alias/b", "alias/c", "alias/e"]);
    let of_k2 = store
        .list_aliases(&acct, &region, Some(&k2.id()), None, 100)
        .await
        .expect("list");
    assert_eq!(names(&of_k2), ["alias/a", "alias/d"]);

    let page = store
        .list_aliases(&acct, &region, None, None, 2)
        .await
        .expect("list");
    assert_eq!(names(&page), ["alias/a", "alias/b"]);
    let page = store
        .list_aliases(&acct, &region, None, Some(&alias_name("alias/b")), 2)
        .await
        .expect("list");
    assert_eq!(names(&page), ["alias/c", "alias/d"]);
    let page = store
        .list_aliases(&acct, &region, None, Some(&alias_name("alias/d")), 2)
        .await
        .expect("list");
    assert_eq!(names(&page), ["alias/e"]);
    let page = store
        .list_aliases(&acct, &region, None, Some(&alias_name("alias/e")), 2)
        .await
        .expect("list");
    assert_eq!(names(&page), Vec::<&str>::new());

    // Filter and paging together; `after` need not exist.
    let after: AliasName = alias_name("alias/bb");
    let page = store
        .list_aliases(&acct, &region, Some(&k1.id()), Some(&after), 1)
        .await
        .expect("list");
    assert_eq!(names(&page), ["alias/c"]);

    let there = store
        .list_aliases(&acct, &eu_west_1(), None, None, 100)
        .await
        .expect("list");
    assert_eq!(names(&there), ["alias/a0"]);
}

/// count_aliases counts the aliases pointing at one key.
pub async fn count_aliases_counts_per_target(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let k1 = create_key(store, &acct, &region, 1, &[]).await;
    let k2 = create_key(store, &acct, &region, 2, &[]).await;
    assert_eq!(store.count_aliases(&k1.id()).await.expect("count"), 0);
    for i in 0..3 {
        store
            .create_alias(
                &alias(&acct, &region, &format!("alias/one-{i}"), k1.id(), 1),
                audit(),
            )
            .await
            .expect("create");
    }
    store
        .create_alias(&alias(&acct, &region, "alias/two", k2.id(), 1), audit())
        .await
        .expect("create");
    assert_eq!(store.count_aliases(&k1.id()).await.expect("count"), 3);
    assert_eq!(store.count_aliases(&k2.id()).await.expect("count"), 1);
    assert!(
        store
            .delete_alias(&acct, &region, &alias_name("alias/one-0"), audit())
            .await
            .expect("delete")
    );
    assert_eq!(store.count_aliases(&k1.id()).await.expect("count"), 2);
}
