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

/// put_setting_if_absent writes a missing setting and returns it; on an existing one it writes
/// nothing and returns what is there (nodes racing to create a first-start record agree).
pub async fn put_setting_if_absent_keeps_the_first_value(store: &dyn Store) {
    let first = store
        .put_setting_if_absent("default_account", "111111111111")
        .await
        .expect("first claim");
    assert_eq!(first, "111111111111");
    let second = store
        .put_setting_if_absent("default_account", "222222222222")
        .await
        .expect("second claim");
    assert_eq!(second, "111111111111", "the first value stays");
    assert_eq!(
        store
            .get_setting("default_account")
            .await
            .expect("get")
            .as_deref(),
        Some("111111111111")
    );
    let (a, b) = tokio::join!(
        store.put_setting_if_absent("race", "a"),
        store.put_setting_if_absent("race", "b"),
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    assert_eq!(a, b, "concurrent claims see one winner");
}

/// The job lock is granted when nobody holds it, and again after it was released.
pub async fn job_lock_is_granted_again_after_release(store: &dyn Store) {
    let lock = store
        .try_job_lock()
        .await
        .expect("try_job_lock")
        .expect("granted when nobody holds it");
    lock.release().await;
    let again = store
        .try_job_lock()
        .await
        .expect("try_job_lock")
        .expect("granted again after release");
    again.release().await;
}
