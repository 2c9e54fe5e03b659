//! Installation settings: a small name → value table (e.g. which root-of-trust provider).

use kinko_core::Store;

/// get of a missing setting is `None`; put inserts, put again overwrites; names are independent.
pub async fn settings_get_put_and_overwrite(store: &dyn Store) {
    assert_eq!(store.get_setting("root_provider").await.expect("get"), None);

    store
        .put_setting("root_provider", "file")
        .await
        .expect("put");
    assert_eq!(
        store
            .get_setting("root_provider")
            .await
            .expect("get")
            .as_deref(),
        Some("file")
    );

    store
        .put_setting("root_provider", "pkcs11")
        .await
        .expect("overwrite");
    assert_eq!(
        store
            .get_setting("root_provider")
            .await
            .expect("get")
            .as_deref(),
        Some("pkcs11")
    );

    store
        .put_setting("other", "")
        .await
        .expect("an empty value");
    assert_eq!(
        store.get_setting("other").await.expect("get").as_deref(),
        Some("")
    );
    assert_eq!(
        store
            .get_setting("root_provider")
            .await
            .expect("get")
            .as_deref(),
        Some("pkcs11")
    );
    assert_eq!(
        store.get_setting("Root_Provider").await.expect("get"),
        None,
        "names are case-sensitive"
    );
}
