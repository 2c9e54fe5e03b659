//! The key lifecycle part of the contract: adding and replacing material versions with the key
//! in one transaction, deleting a key with everything that hangs off it, finding due work, and
//! import parameters.

use kinko_core::{
    ExpirationModel, ImportParameters, KeyState, Material, RotationType, Store, StoreError,
    UnixMillis,
};

use crate::fixtures::{
    alias, audit, create_account, create_key, key_id, material_id, tag, us_east_1,
};

/// A rotation: a new material version and the key pointing at it commit together; a stale key
/// version writes neither.
pub async fn add_material_rotates_atomically(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let mut key = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let rotated = Material::generated(
        key.id(),
        material_id(50),
        vec![5; 60],
        "test-root".to_owned(),
        UnixMillis(2_000),
        Some(RotationType::OnDemand),
    );
    key.current_material = rotated.id;
    key.on_demand_rotations = 1;
    key.version += 1;
    store
        .add_material(&key, &rotated, audit())
        .await
        .expect("add a material");
    let stored = store
        .get_key(&acct, &us_east_1(), &key.id())
        .await
        .expect("get")
        .expect("the key");
    assert_eq!(stored, key, "key fields written with the material");
    assert_eq!(
        store
            .get_material(&key.id(), &rotated.id)
            .await
            .expect("get"),
        Some(rotated.clone())
    );
    assert_eq!(
        store.list_materials(&key.id()).await.expect("list").len(),
        2
    );

    // Stale version: nothing written.
    let again = Material::generated(
        key.id(),
        material_id(51),
        vec![6; 60],
        "test-root".to_owned(),
        UnixMillis(3_000),
        Some(RotationType::Automatic),
    );
    let mut stale = key.clone();
    stale.current_material = again.id;
    let result = store.add_material(&stale, &again, audit()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(
        store.get_material(&key.id(), &again.id).await.expect("get"),
        None
    );
    assert_eq!(
        store.list_materials(&key.id()).await.expect("list").len(),
        2
    );
}

/// Import-style replacement of a material row's bytes and fields, with the key.
pub async fn put_material_replaces_the_row_and_the_key(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let mut key = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let mut material = store
        .get_material(&key.id(), &key.current_material)
        .await
        .expect("get")
        .expect("material");
    material.wrapped = vec![9; 70];
    material.root_id = "other-root".to_owned();
    material.description = "imported".to_owned();
    material.valid_to = Some(UnixMillis(9_000));
    material.expiration_model = Some(ExpirationModel::KeyMaterialExpires);
    material.fingerprint = Some("00ff".to_owned());
    key.valid_to = Some(UnixMillis(9_000));
    key.expiration_model = Some(ExpirationModel::KeyMaterialExpires);
    key.version += 1;
    store
        .put_material(&key, &material, audit())
        .await
        .expect("put material");
    assert_eq!(
        store
            .get_material(&key.id(), &material.id)
            .await
            .expect("get"),
        Some(material.clone())
    );
    assert_eq!(
        store
            .get_key(&acct, &us_east_1(), &key.id())
            .await
            .expect("get"),
        Some(key.clone())
    );
    let mut missing = material.clone();
    missing.id = material_id(77);
    key.version += 1;
    let result = store.put_material(&key, &missing, audit()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
}

/// Deleting a key takes its material, aliases, tags and import parameters with it, only while
/// it is PendingDeletion at the version the caller saw, and only once.
pub async fn delete_key_removes_everything_once(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let mut key = create_key(store, &acct, &region, 1, &[tag("a", "b")]).await;
    let other = create_key(store, &acct, &region, 2, &[]).await;
    store
        .create_alias(&alias(&acct, &region, "alias/doomed", key.id(), 1), audit())
        .await
        .expect("alias");
    store
        .create_alias(&alias(&acct, &region, "alias/kept", other.id(), 1), audit())
        .await
        .expect("alias");
    store
        .put_import_parameters(&import_parameters("token-1", &key))
        .await
        .expect("import parameters");

    // Not pending deletion: refused.
    let result = store.delete_key(&key, audit()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");

    key.state = KeyState::PendingDeletion;
    key.deletion_date = Some(UnixMillis(5_000));
    key.version += 1;
    store.update_key(&key, audit()).await.expect("schedule");
    store.delete_key(&key, audit()).await.expect("delete");
    assert_eq!(
        store.get_key(&acct, &region, &key.id()).await.expect("get"),
        None
    );
    assert!(
        store
            .list_materials(&key.id())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_tags(&key.id(), None, 10)
            .await
            .expect("tags")
            .is_empty()
    );
    assert_eq!(store.count_aliases(&key.id()).await.expect("count"), 0);
    assert!(
        store
            .get_import_parameters("token-1")
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(store.count_aliases(&other.id()).await.expect("count"), 1);
    // A second runner with the same view finds nothing to do.
    let result = store.delete_key(&key, audit()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
}

/// Due work: passed deletion dates, due rotations of Enabled keys, expired imported material.
pub async fn keys_due_finds_exactly_the_due_keys(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let region = us_east_1();
    let now = UnixMillis(10_000);
    let mut deleting = create_key(store, &acct, &region, 1, &[]).await;
    deleting.state = KeyState::PendingDeletion;
    deleting.deletion_date = Some(UnixMillis(9_999));
    deleting.version += 1;
    store.update_key(&deleting, audit()).await.expect("update");
    let mut later = create_key(store, &acct, &region, 2, &[]).await;
    later.state = KeyState::PendingDeletion;
    later.deletion_date = Some(UnixMillis(10_001));
    later.version += 1;
    store.update_key(&later, audit()).await.expect("update");
    let mut rotating = create_key(store, &acct, &region, 3, &[]).await;
    rotating.rotation_period_days = Some(90);
    rotating.next_rotation = Some(UnixMillis(10_000));
    rotating.version += 1;
    store.update_key(&rotating, audit()).await.expect("update");
    let mut disabled = create_key(store, &acct, &region, 4, &[]).await;
    disabled.state = KeyState::Disabled;
    disabled.rotation_period_days = Some(90);
    disabled.next_rotation = Some(UnixMillis(1));
    disabled.version += 1;
    store.update_key(&disabled, audit()).await.expect("update");
    let mut expiring = create_key(store, &acct, &region, 5, &[]).await;
    expiring.valid_to = Some(UnixMillis(5));
    expiring.version += 1;
    store.update_key(&expiring, audit()).await.expect("update");
    create_key(store, &acct, &region, 6, &[]).await;

    let due: Vec<_> = store
        .keys_due(now, 100)
        .await
        .expect("due")
        .iter()
        .map(|k| k.id())
        .collect();
    assert_eq!(due, vec![key_id(1), key_id(3), key_id(5)]);
    assert_eq!(store.keys_due(now, 2).await.expect("due").len(), 2);
}

/// Import parameters round-trip and are found by token only.
pub async fn import_parameters_round_trip(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let key = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let params = import_parameters("token-x", &key);
    store
        .put_import_parameters(&params)
        .await
        .expect("put import parameters");
    assert_eq!(
        store.get_import_parameters("token-x").await.expect("get"),
        Some(params.clone())
    );
    assert_eq!(
        store.get_import_parameters("token-y").await.expect("get"),
        None
    );
    let duplicate = store.put_import_parameters(&params).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
}

fn import_parameters(token: &str, key: &kinko_core::Key) -> ImportParameters {
    ImportParameters {
        token_id: token.to_owned(),
        key_id: key.id(),
        wrapping_algorithm: "RSA_AES_KEY_WRAP_SHA_256".to_owned(),
        wrapping_key_spec: "RSA_4096".to_owned(),
        wrapped_private_key: vec![3; 100],
        root_id: "test-root".to_owned(),
        created_at: UnixMillis(100),
        expires_at: UnixMillis(86_400_100),
    }
}
