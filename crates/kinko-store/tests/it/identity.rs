//! Identity records: IAM users and roles (names unique per account regardless of case), inline
//! policies, user access keys and STS sessions, each change committed with its audit event.

use std::collections::BTreeMap;

use kinko_core::{
    AccessKey, AccessKeyId, IamRole, IamUser, InlinePolicy, PolicyOwner, PolicyOwnerKind, Session,
    Store, StoreError, UnixMillis,
};

use crate::fixtures::{CHAIN, account, audit, create_account};

fn user(n: u8, name: &str) -> IamUser {
    let mut tags = BTreeMap::new();
    tags.insert("team".to_owned(), "blue".to_owned());
    IamUser {
        account: account(n),
        name: name.to_owned(),
        path: "/ops/".to_owned(),
        id: format!("AIDA{n}{}", name.to_ascii_uppercase()),
        arn: format!("arn:aws:iam::{}:user/ops/{name}", account(n)),
        created_at: UnixMillis(1_767_225_600_000),
        tags,
    }
}

fn role(n: u8, name: &str) -> IamRole {
    IamRole {
        account: account(n),
        name: name.to_owned(),
        path: "/".to_owned(),
        id: format!("AROA{}", name.to_ascii_uppercase()),
        arn: format!("arn:aws:iam::{}:role/{name}", account(n)),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
        description: "a role".to_owned(),
        max_session_duration: 7200,
        created_at: UnixMillis(1_767_225_600_001),
        tags: BTreeMap::new(),
    }
}

async fn events(store: &dyn Store) -> i64 {
    store
        .audit_chains()
        .await
        .expect("audit_chains")
        .iter()
        .find(|h| h.chain == CHAIN)
        .map_or(0, |h| h.last_seq)
}

/// Users round-trip, names are unique per account regardless of case, updates replace tags,
/// deletes report whether the user existed; each successful change appends one event.
pub async fn iam_users_round_trip(store: &dyn Store) {
    create_account(store, 1).await;
    create_account(store, 2).await;
    let alice = user(1, "Alice");
    store
        .create_iam_user(&alice, audit())
        .await
        .expect("create");
    assert_eq!(events(store).await, 1);
    assert_eq!(
        store.get_iam_user(&account(1), "alice").await.expect("get"),
        Some(alice.clone()),
        "names match regardless of case"
    );
    let mut clash = user(1, "ALICE");
    clash.id = "AIDAOTHER".to_owned();
    clash.arn = "arn:aws:iam::111122223331:user/ALICE".to_owned();
    match store.create_iam_user(&clash, audit()).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a name differing only in case must be a Conflict, got {other:?}"),
    }
    assert_eq!(events(store).await, 1, "a refused change leaves no event");
    store
        .create_iam_user(&user(2, "alice"), audit())
        .await
        .expect("the same name in another account");
    store
        .create_iam_user(&user(1, "bob"), audit())
        .await
        .expect("create bob");
    let names: Vec<String> = store
        .list_iam_users(&account(1))
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, vec!["Alice".to_owned(), "bob".to_owned()]);

    let mut tagged = alice.clone();
    tagged.tags.insert("env".to_owned(), "prod".to_owned());
    assert!(
        store
            .update_iam_user(&tagged, audit())
            .await
            .expect("update")
    );
    assert_eq!(
        store.get_iam_user(&account(1), "Alice").await.expect("get"),
        Some(tagged)
    );
    let before = events(store).await;
    assert!(
        !store
            .update_iam_user(&user(1, "nobody"), audit())
            .await
            .expect("update")
    );
    assert!(
        !store
            .delete_iam_user(&account(1), "nobody", audit())
            .await
            .expect("delete")
    );
    assert_eq!(
        events(store).await,
        before,
        "changes of nothing leave no event"
    );
    assert!(
        store
            .delete_iam_user(&account(1), "ALICE", audit())
            .await
            .expect("delete")
    );
    assert_eq!(
        store.get_iam_user(&account(1), "Alice").await.expect("get"),
        None
    );
    assert_eq!(events(store).await, before + 1);
}

/// Roles round-trip with their trust policy, description and session limit.
pub async fn iam_roles_round_trip(store: &dyn Store) {
    create_account(store, 1).await;
    let ops = role(1, "Ops");
    store.create_iam_role(&ops, audit()).await.expect("create");
    assert_eq!(
        store.get_iam_role(&account(1), "OPS").await.expect("get"),
        Some(ops.clone())
    );
    match store.create_iam_role(&role(1, "ops"), audit()).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a taken role name must be a Conflict, got {other:?}"),
    }
    let mut changed = ops.clone();
    changed.description = "changed".to_owned();
    changed.max_session_duration = 3600;
    changed.tags.insert("k".to_owned(), String::new());
    assert!(
        store
            .update_iam_role(&changed, audit())
            .await
            .expect("update")
    );
    assert_eq!(
        store.list_iam_roles(&account(1)).await.expect("list"),
        vec![changed]
    );
    assert!(
        store
            .delete_iam_role(&account(1), "ops", audit())
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_iam_role(&account(1), "ops", audit())
            .await
            .expect("delete")
    );
}

/// Inline policies belong to one user or role; a put replaces the document.
pub async fn inline_policies_belong_to_their_owner(store: &dyn Store) {
    create_account(store, 1).await;
    let owner = PolicyOwner {
        kind: PolicyOwnerKind::User,
        name: "Alice".to_owned(),
    };
    let as_role = PolicyOwner {
        kind: PolicyOwnerKind::Role,
        name: "Alice".to_owned(),
    };
    let mut policy = InlinePolicy {
        account: account(1),
        owner: owner.clone(),
        name: "kms".to_owned(),
        document: "{\"v\":1}".to_owned(),
    };
    store
        .put_inline_policy(&policy, audit())
        .await
        .expect("put");
    policy.document = "{\"v\":2}".to_owned();
    store
        .put_inline_policy(&policy, audit())
        .await
        .expect("replace");
    assert_eq!(events(store).await, 2);
    let lower = PolicyOwner {
        kind: PolicyOwnerKind::User,
        name: "alice".to_owned(),
    };
    assert_eq!(
        store
            .get_inline_policy(&account(1), &lower, "kms")
            .await
            .expect("get")
            .map(|p| p.document),
        Some("{\"v\":2}".to_owned())
    );
    assert_eq!(
        store
            .list_inline_policies(&account(1), &as_role)
            .await
            .expect("list"),
        vec![],
        "a role of the same name has none"
    );
    assert_eq!(
        store
            .list_inline_policies(&account(1), &owner)
            .await
            .expect("list"),
        vec![policy]
    );
    assert!(
        !store
            .delete_inline_policy(&account(1), &as_role, "kms", audit())
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_inline_policy(&account(1), &owner, "kms", audit())
            .await
            .expect("delete")
    );
    assert_eq!(
        store
            .get_inline_policy(&account(1), &owner, "kms")
            .await
            .expect("get"),
        None
    );
}

/// User access keys: listed per principal, deactivated and deleted with an event each.
pub async fn user_access_keys_activate_and_delete(store: &dyn Store) {
    create_account(store, 1).await;
    let arn = format!("arn:aws:iam::{}:user/alice", account(1));
    let key = |id: &str, at: i64| AccessKey {
        id: AccessKeyId::parse(id).expect("an access key id"),
        account: account(1),
        principal_arn: arn.clone(),
        wrapped_secret: vec![1, 2, 3],
        root_id: "test-root".to_owned(),
        active: true,
        created_at: UnixMillis(at),
    };
    let first = key("AKIAKINKOTESTAAAAAA2", 1);
    let second = key("AKIAKINKOTESTBBBBBB3", 2);
    store
        .create_access_key_audited(&second, audit())
        .await
        .expect("create");
    store
        .create_access_key_audited(&first, audit())
        .await
        .expect("create");
    assert_eq!(
        store.list_principal_access_keys(&arn).await.expect("list"),
        vec![first.clone(), second.clone()],
        "oldest first"
    );
    assert!(
        store
            .set_access_key_active(&first.id, false, audit())
            .await
            .expect("deactivate")
    );
    assert_eq!(
        store
            .get_access_key(&first.id)
            .await
            .expect("get")
            .map(|k| k.active),
        Some(false)
    );
    assert!(
        store
            .delete_access_key(&second.id, audit())
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_access_key(&second.id, audit())
            .await
            .expect("delete")
    );
    assert_eq!(store.get_access_key(&second.id).await.expect("get"), None);
    assert_eq!(events(store).await, 4);

    // A user with an access key (or a policy) is not deleted, and its event is not written.
    let mut alice = user(1, "alice");
    alice.arn = arn.clone();
    store
        .create_iam_user(&alice, audit())
        .await
        .expect("create");
    assert!(
        !store
            .delete_iam_user(&account(1), "alice", audit())
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_access_key(&first.id, audit())
            .await
            .expect("delete")
    );
    let policy = InlinePolicy {
        account: account(1),
        owner: PolicyOwner {
            kind: PolicyOwnerKind::User,
            name: "alice".to_owned(),
        },
        name: "p".to_owned(),
        document: "{}".to_owned(),
    };
    store
        .put_inline_policy(&policy, audit())
        .await
        .expect("put");
    assert!(
        !store
            .delete_iam_user(&account(1), "alice", audit())
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_inline_policy(&account(1), &policy.owner, "p", audit())
            .await
            .expect("delete")
    );
    assert!(
        store
            .delete_iam_user(&account(1), "alice", audit())
            .await
            .expect("delete")
    );
    assert_eq!(events(store).await, 9);
}

/// Sessions round-trip, rewrap under a compare-and-set on the root id, and expire.
pub async fn sessions_round_trip_rewrap_and_expire(store: &dyn Store) {
    create_account(store, 1).await;
    let session = |id: &str, expires: i64| Session {
        access_key_id: AccessKeyId::parse(id).expect("an access key id"),
        account: account(1),
        principal_arn: format!("arn:aws:sts::{}:assumed-role/ops/s", account(1)),
        role_arn: format!("arn:aws:iam::{}:role/ops", account(1)),
        role_id: "AROAEXAMPLEROLE12345".into(),
        wrapped_secret: vec![0, 0xff, 7],
        root_id: "old-root".to_owned(),
        token_hash: [7; 32],
        created_at: UnixMillis(1),
        expires_at: UnixMillis(expires),
    };
    let live = session("ASIAKINKOTESTAAAAAA2", 10_000);
    let old = session("ASIAKINKOTESTBBBBBB3", 100);
    store.create_session(&live, audit()).await.expect("create");
    store.create_session(&old, audit()).await.expect("create");
    assert_eq!(
        store.get_session(&live.access_key_id).await.expect("get"),
        Some(live.clone())
    );
    assert!(
        store
            .rewrap_session(&live.access_key_id, "old-root", &[9, 9], "new-root")
            .await
            .expect("rewrap")
    );
    assert!(
        !store
            .rewrap_session(&live.access_key_id, "old-root", &[8], "new-root")
            .await
            .expect("rewrap twice")
    );
    let rewrapped = store
        .get_session(&live.access_key_id)
        .await
        .expect("get")
        .expect("still there");
    assert_eq!(
        (rewrapped.wrapped_secret, rewrapped.root_id.as_str()),
        (vec![9, 9], "new-root")
    );
    assert_eq!(store.list_sessions().await.expect("list").len(), 2);
    assert_eq!(
        store
            .delete_expired_sessions(UnixMillis(5_000))
            .await
            .expect("expire"),
        1
    );
    assert_eq!(
        store.get_session(&old.access_key_id).await.expect("get"),
        None
    );
}
