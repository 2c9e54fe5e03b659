//! Rewrapping under a new root of trust: a row changes (bytes and root id together) only while it
//! is still under the root the caller names, so an interrupted migration can be rerun safely.

use kinko_core::{Material, MaterialId, Store};

use crate::backends::Backend;
use crate::fixtures::{create_account, create_key, eu_west_1, key_id, material, us_east_1};
use crate::installation::access_key;

const NEW_WRAPPING: &[u8] = &[0x02, 0x00, 0xff, b'n', b'e', b'w', 0x7f, 0x80];

/// With the right old root id: bytes and root id are replaced together, nothing else changes,
/// other materials are untouched, and a second identical call finds nothing to do. With a wrong
/// old root id, another key's id, or an unknown material id: false, and nothing changes.
pub async fn rewrap_material_replaces_only_under_the_old_root(store: &dyn Store) {
    let a1 = create_account(store, 1).await;
    let k1 = create_key(store, &a1, &us_east_1(), 1, &[]).await;
    let k2 = create_key(store, &a1, &eu_west_1(), 2, &[]).await;
    let m1 = material(&k1);
    let m2 = material(&k2);

    // Wrong old root: refused, nothing changes.
    assert!(
        !store
            .rewrap_material(&k1.id(), &m1.id, "other-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_material with a wrong old root"),
        "a material not under `other-root` is not rewrapped"
    );
    // The old root id must match exactly (no prefix or case folding).
    for near_miss in ["test-roo", "TEST-ROOT", "test-root ", ""] {
        assert!(
            !store
                .rewrap_material(&k1.id(), &m1.id, near_miss, NEW_WRAPPING, "new-root")
                .await
                .expect("rewrap_material with a near-miss old root"),
            "old root id {near_miss:?} must not match `test-root`"
        );
    }
    // Right root, but the material id belongs to another key / does not exist.
    assert!(
        !store
            .rewrap_material(&k2.id(), &m1.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_material naming another key"),
        "a material is addressed by key and material id together"
    );
    assert!(
        !store
            .rewrap_material(
                &key_id(77),
                &MaterialId([77; 32]),
                "test-root",
                NEW_WRAPPING,
                "new-root"
            )
            .await
            .expect("rewrap_material of an unknown material"),
        "an unknown material is not rewrapped"
    );
    assert_eq!(
        store
            .list_materials(&k1.id())
            .await
            .expect("list_materials"),
        vec![m1.clone()],
        "refused rewraps changed nothing"
    );
    assert_eq!(
        store.get_material(&k2.id(), &m2.id).await.expect("get"),
        Some(m2.clone())
    );

    // Right old root: replaced.
    assert!(
        store
            .rewrap_material(&k1.id(), &m1.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_material"),
        "a material under `test-root` is rewrapped"
    );
    let expected = Material {
        wrapped: NEW_WRAPPING.to_vec(),
        root_id: "new-root".to_owned(),
        ..m1.clone()
    };
    assert_eq!(
        store.get_material(&k1.id(), &m1.id).await.expect("get"),
        Some(expected.clone()),
        "bytes and root id replaced, every other field kept"
    );
    assert_eq!(
        store
            .list_materials(&k1.id())
            .await
            .expect("list_materials"),
        vec![expected.clone()]
    );
    assert_eq!(
        store.get_material(&k2.id(), &m2.id).await.expect("get"),
        Some(m2.clone()),
        "another key's material is untouched"
    );
    assert_eq!(
        store
            .get_key(&a1, &us_east_1(), &k1.id())
            .await
            .expect("get_key"),
        Some(k1.clone()),
        "the key record itself is untouched"
    );

    // A rerun of the same step (after an interruption) finds the row done and changes nothing.
    assert!(
        !store
            .rewrap_material(&k1.id(), &m1.id, "test-root", &[9, 9, 9], "third-root")
            .await
            .expect("rewrap_material again"),
        "a material already moved off `test-root` is not rewrapped again"
    );
    assert_eq!(
        store.get_material(&k1.id(), &m1.id).await.expect("get"),
        Some(expected.clone())
    );

    // It can move on again from its new root.
    assert!(
        store
            .rewrap_material(&k1.id(), &m1.id, "new-root", &[1, 2, 3], "third-root")
            .await
            .expect("rewrap_material from the new root"),
    );
    assert_eq!(
        store.get_material(&k1.id(), &m1.id).await.expect("get"),
        Some(Material {
            wrapped: vec![1, 2, 3],
            root_id: "third-root".to_owned(),
            ..m1
        })
    );
}

/// The same rule for access keys: replaced (secret and root id only) when still under the old
/// root, refused and unchanged otherwise; other access keys untouched.
pub async fn rewrap_access_key_replaces_only_under_the_old_root(store: &dyn Store) {
    let a1 = create_account(store, 1).await;
    let a2 = create_account(store, 2).await;
    let active = access_key("AKIAKINKOTESTAAAAAA2", &a1, true, "test-root");
    let inactive = access_key("AKIAKINKOTESTBBBBBB3", &a2, false, "test-root");
    for k in [&active, &inactive] {
        store
            .create_access_key(k)
            .await
            .expect("create an access key");
    }

    assert!(
        !store
            .rewrap_access_key(&active.id, "other-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_access_key with a wrong old root"),
        "an access key not under `other-root` is not rewrapped"
    );
    let unknown = kinko_core::AccessKeyId::parse("AKIAKINKOTESTCCCCCC4").expect("an id");
    assert!(
        !store
            .rewrap_access_key(&unknown, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_access_key of an unknown id"),
        "an unknown access key is not rewrapped"
    );
    assert_eq!(
        store.get_access_key(&active.id).await.expect("get"),
        Some(active.clone()),
        "refused rewraps changed nothing"
    );

    assert!(
        store
            .rewrap_access_key(&active.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_access_key"),
        "an access key under `test-root` is rewrapped"
    );
    let mut expected = active.clone();
    expected.wrapped_secret = NEW_WRAPPING.to_vec();
    expected.root_id = "new-root".to_owned();
    assert_eq!(
        store.get_access_key(&active.id).await.expect("get"),
        Some(expected.clone()),
        "secret and root id replaced; account, principal, active flag and date kept"
    );
    assert_eq!(
        store.get_access_key(&inactive.id).await.expect("get"),
        Some(inactive.clone()),
        "another access key is untouched"
    );

    assert!(
        !store
            .rewrap_access_key(&active.id, "test-root", &[7; 5], "third-root")
            .await
            .expect("rewrap_access_key again"),
        "an access key already moved off `test-root` is not rewrapped again"
    );
    assert_eq!(
        store.get_access_key(&active.id).await.expect("get"),
        Some(expected.clone())
    );

    // Inactive keys are rewrapped like any other.
    assert!(
        store
            .rewrap_access_key(&inactive.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap the inactive access key"),
    );
    let mut expected_inactive = inactive.clone();
    expected_inactive.wrapped_secret = NEW_WRAPPING.to_vec();
    expected_inactive.root_id = "new-root".to_owned();
    let mut listed = store.list_access_keys().await.expect("list_access_keys");
    listed.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(listed, vec![expected, expected_inactive]);
}

/// Rewrapped rows and a deleted setting stay that way after the store is closed and reopened.
pub async fn rewrap_and_delete_setting_survive_reopen(backend: &Backend) {
    let db = backend.open().await;
    let a1 = create_account(&*db.store, 1).await;
    let k1 = create_key(&*db.store, &a1, &us_east_1(), 1, &[]).await;
    let m1 = material(&k1);
    let ak = access_key("AKIAKINKOTESTAAAAAA2", &a1, true, "test-root");
    db.store.create_access_key(&ak).await.expect("create");
    db.store
        .put_setting("root.next", "provider=passphrase")
        .await
        .expect("put");
    db.store
        .put_setting("root", "provider=file")
        .await
        .expect("put");

    assert!(
        db.store
            .rewrap_material(&k1.id(), &m1.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_material")
    );
    assert!(
        db.store
            .rewrap_access_key(&ak.id, "test-root", NEW_WRAPPING, "new-root")
            .await
            .expect("rewrap_access_key")
    );
    db.store
        .delete_setting("root.next")
        .await
        .expect("delete_setting");
    db.close().await;

    let db = backend.open().await;
    let material = db
        .store
        .get_material(&k1.id(), &m1.id)
        .await
        .expect("get")
        .expect("the material is still there");
    assert_eq!(
        (material.wrapped.as_slice(), material.root_id.as_str()),
        (NEW_WRAPPING, "new-root")
    );
    let access = db
        .store
        .get_access_key(&ak.id)
        .await
        .expect("get")
        .expect("the access key is still there");
    assert_eq!(
        (access.wrapped_secret.as_slice(), access.root_id.as_str()),
        (NEW_WRAPPING, "new-root")
    );
    assert_eq!(db.store.get_setting("root.next").await.expect("get"), None);
    assert_eq!(
        db.store.get_setting("root").await.expect("get").as_deref(),
        Some("provider=file")
    );
    db.close().await;
}
