//! Tags: upsert by tag key, deletion that ignores missing keys, ordered and paged lists, counts.

use kinko_core::Store;

use crate::fixtures::{audit, create_account, create_key, tag, us_east_1};

/// put_tags inserts new tag keys and overwrites the values of existing ones.
pub async fn put_tags_inserts_and_overwrites(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let k = create_key(store, &acct, &us_east_1(), 1, &[tag("b", "1")]).await;

    store
        .put_tags(&k.id(), &[tag("a", "2"), tag("b", "overwritten")], audit())
        .await
        .expect("put");
    assert_eq!(
        store.list_tags(&k.id(), None, 100).await.expect("list"),
        vec![tag("a", "2"), tag("b", "overwritten")]
    );
    store
        .put_tags(&k.id(), &[tag("c", ""), tag("a", "3")], audit())
        .await
        .expect("put");
    assert_eq!(
        store.list_tags(&k.id(), None, 100).await.expect("list"),
        vec![tag("a", "3"), tag("b", "overwritten"), tag("c", "")]
    );
    assert_eq!(store.count_tags(&k.id()).await.expect("count"), 3);
    store
        .put_tags(&k.id(), &[], audit())
        .await
        .expect("putting nothing is fine");
    assert_eq!(store.count_tags(&k.id()).await.expect("count"), 3);
}

/// delete_tags removes the named tags and ignores names that are not there.
pub async fn delete_tags_ignores_missing_keys(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let k = create_key(
        store,
        &acct,
        &us_east_1(),
        1,
        &[tag("a", "1"), tag("b", "2"), tag("c", "3")],
    )
    .await;

    store
        .delete_tags(&k.id(), &["b".to_owned(), "missing".to_owned()], audit())
        .await
        .expect("delete");
    assert_eq!(
        store.list_tags(&k.id(), None, 100).await.expect("list"),
        vec![tag("a", "1"), tag("c", "3")]
    );
    store
        .delete_tags(&k.id(), &["missing".to_owned()], audit())
        .await
        .expect("deleting only missing tags is fine");
    store
        .delete_tags(&k.id(), &[], audit())
        .await
        .expect("deleting nothing is fine");
    assert_eq!(store.count_tags(&k.id()).await.expect("count"), 2);
    store
        .delete_tags(&k.id(), &["a".to_owned(), "c".to_owned()], audit())
        .await
        .expect("delete");
    assert_eq!(
        store.list_tags(&k.id(), None, 100).await.expect("list"),
        vec![]
    );
    assert_eq!(store.count_tags(&k.id()).await.expect("count"), 0);
}

/// list_tags: ordered by tag key, strictly after `after`, at most `limit`.
pub async fn list_tags_orders_by_key_and_pages(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let tags = [
        tag("e", "5"),
        tag("a", "1"),
        tag("d", "4"),
        tag("b", "2"),
        tag("c", "3"),
    ];
    let k = create_key(store, &acct, &us_east_1(), 1, &tags).await;

    let keys = |page: Vec<kinko_core::Tag>| page.into_iter().map(|t| t.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list_tags(&k.id(), None, 100).await.expect("list")),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        keys(store.list_tags(&k.id(), None, 2).await.expect("list")),
        ["a", "b"]
    );
    assert_eq!(
        keys(store.list_tags(&k.id(), Some("b"), 2).await.expect("list")),
        ["c", "d"]
    );
    assert_eq!(
        keys(store.list_tags(&k.id(), Some("d"), 2).await.expect("list")),
        ["e"]
    );
    assert_eq!(
        keys(store.list_tags(&k.id(), Some("e"), 2).await.expect("list")),
        Vec::<String>::new()
    );
    assert_eq!(
        keys(
            store
                .list_tags(&k.id(), Some("bb"), 100)
                .await
                .expect("list")
        ),
        ["c", "d", "e"]
    );
    assert_eq!(
        keys(store.list_tags(&k.id(), None, 0).await.expect("list")),
        Vec::<String>::new()
    );
    assert_eq!(
        store.list_tags(&k.id(), Some("c"), 1).await.expect("list"),
        vec![tag("d", "4")],
        "values come along"
    );
}

/// Tags of one key are invisible to, and untouched by, operations on another.
pub async fn tags_belong_to_one_key(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let k1 = create_key(store, &acct, &us_east_1(), 1, &[tag("same", "one")]).await;
    let k2 = create_key(store, &acct, &us_east_1(), 2, &[tag("same", "two")]).await;

    store
        .put_tags(&k1.id(), &[tag("same", "ONE")], audit())
        .await
        .expect("put");
    store
        .delete_tags(&k2.id(), &["other".to_owned()], audit())
        .await
        .expect("delete");
    assert_eq!(
        store.list_tags(&k1.id(), None, 100).await.expect("list"),
        vec![tag("same", "ONE")]
    );
    assert_eq!(
        store.list_tags(&k2.id(), None, 100).await.expect("list"),
        vec![tag("same", "two")]
    );
    store
        .delete_tags(&k1.id(), &["same".to_owned()], audit())
        .await
        .expect("delete");
    assert_eq!(store.count_tags(&k1.id()).await.expect("count"), 0);
    assert_eq!(store.count_tags(&k2.id()).await.expect("count"), 1);
}
