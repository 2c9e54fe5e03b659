//! Grants: insert and read back (every field, constraints included), ordering by grant id,
//! duplicate ids, retirable grants scoped by account, region and retiring principal and paged,
//! deletion that reports whether the grant existed, and grants going with their key.

use std::collections::BTreeMap;

use kinko_core::{
    AccountId, Grant, GrantConstraints, GrantOperation, GrantPrincipal, Key, KeyState, Store,
    StoreError, UnixMillis,
};

use crate::fixtures::{audit, create_account, create_key, eu_west_1, us_east_1};

fn grant(key: &Key, n: u8, retiring: Option<&str>) -> Grant {
    Grant {
        grant_id: format!("{n:02x}").repeat(32),
        key_arn: key.arn.clone(),
        name: None,
        grantee: GrantPrincipal::Aws(format!("arn:aws:iam::{}:user/grantee-{n}", key.arn.account)),
        retiring: retiring.map(|r| GrantPrincipal::Aws(r.to_owned())),
        operations: vec![GrantOperation::Encrypt, GrantOperation::Decrypt],
        constraints: None,
        issuing_account: format!("arn:aws:iam::{}:root", key.arn.account),
        created_at: UnixMillis(1_000 + i64::from(n)),
    }
}

fn ids(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(|g| g.grant_id[..2].to_owned()).collect()
}

/// A grant reads back exactly as written, constraints and all; grants list by grant id and a
/// taken id is a conflict that writes nothing.
pub async fn grants_round_trip_and_list_by_id(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let k = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let other = create_key(store, &acct, &us_east_1(), 2, &[]).await;

    let mut full = grant(&k, 0x20, Some("arn:aws:iam::111111111111:role/retirer"));
    full.name = Some("my-grant:1/x_y-z".to_owned());
    full.operations = vec![
        GrantOperation::GenerateDataKey,
        GrantOperation::CreateGrant,
        GrantOperation::ReEncryptFrom,
    ];
    full.constraints = Some(GrantConstraints {
        encryption_context_equals: Some(BTreeMap::from([(
            "Dept".to_owned(),
            "ünïcode \"quoted\"".to_owned(),
        )])),
        encryption_context_subset: Some(BTreeMap::new()),
        source_arn: None,
    });
    let plain = grant(&k, 0x10, None);
    // A grant to a service principal, retired by one, with a SourceArn constraint.
    let mut service = grant(&k, 0x40, None);
    service.grantee = GrantPrincipal::Service("logs.us-east-1.amazonaws.com".to_owned());
    service.retiring = Some(GrantPrincipal::Service("logs.amazonaws.com".to_owned()));
    service.constraints = Some(GrantConstraints {
        source_arn: Some("arn:aws:logs:us-east-1:111111111111:log-group:g".to_owned()),
        ..GrantConstraints::default()
    });
    store.create_grant(&full, audit()).await.expect("create");
    store.create_grant(&plain, audit()).await.expect("create");
    store.create_grant(&service, audit()).await.expect("create");
    store
        .create_grant(&grant(&other, 0x30, None), audit())
        .await
        .expect("create on another key");

    let listed = store.list_grants(&k.id()).await.expect("list");
    assert_eq!(listed, vec![plain.clone(), full.clone(), service.clone()]);
    let by_service = store
        .list_retirable_grants(
            &acct,
            &us_east_1(),
            &GrantPrincipal::Service("logs.amazonaws.com".to_owned()),
            None,
            10,
        )
        .await
        .expect("list");
    assert_eq!(by_service, vec![service.clone()]);
    // The same text as an AWS principal is another retiring principal.
    assert!(
        store
            .list_retirable_grants(
                &acct,
                &us_east_1(),
                &GrantPrincipal::Aws("logs.amazonaws.com".to_owned()),
                None,
                10,
            )
            .await
            .expect("list")
            .is_empty()
    );

    let mut dup = grant(&other, 0x10, None);
    dup.name = Some("dup".to_owned());
    let result = store.create_grant(&dup, audit()).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(
        ids(&store.list_grants(&other.id()).await.expect("list")),
        vec!["30"]
    );
    assert!(
        store
            .list_grants(&crate::fixtures::key_id(9))
            .await
            .expect("list")
            .is_empty()
    );
}

/// Retirable grants: only the account's and region's, only the retiring principal's, ordered
/// by grant id and paged with `after` and `limit`.
pub async fn retirable_grants_are_scoped_and_paged(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let acct2 = create_account(store, 2).await;
    let retirer = "arn:aws:iam::111111111111:user/retirer";
    let retiring = GrantPrincipal::Aws(retirer.to_owned());
    let k = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let k2 = create_key(store, &acct, &us_east_1(), 2, &[]).await;
    let eu = create_key(store, &acct, &eu_west_1(), 3, &[]).await;
    let foreign = create_key(store, &acct2, &us_east_1(), 4, &[]).await;
    for (key, n, who) in [
        (&k, 0x05, Some(retirer)),
        (&k2, 0x01, Some(retirer)),
        (&k, 0x03, Some(retirer)),
        (
            &k,
            0x02,
            Some("arn:aws:iam::111111111111:user/someone-else"),
        ),
        (&k2, 0x04, None),
        (&eu, 0x06, Some(retirer)),
        (&foreign, 0x07, Some(retirer)),
    ] {
        store
            .create_grant(&grant(key, n, who), audit())
            .await
            .expect("create");
    }
    let acct_ref = &acct;
    let retiring_ref = &retiring;
    let page = |after: Option<&'static str>, limit| async move {
        let after = after.map(|a| a.repeat(32));
        ids(&store
            .list_retirable_grants(
                acct_ref,
                &us_east_1(),
                retiring_ref,
                after.as_deref(),
                limit,
            )
            .await
            .expect("list"))
    };
    assert_eq!(page(None, 10).await, vec!["01", "03", "05"]);
    assert_eq!(page(None, 2).await, vec!["01", "03"]);
    assert_eq!(page(Some("03"), 2).await, vec!["05"]);
    assert_eq!(page(Some("05"), 2).await, Vec::<String>::new());
    let other_account: AccountId = acct2.clone();
    assert_eq!(
        ids(&store
            .list_retirable_grants(&other_account, &us_east_1(), &retiring, None, 10)
            .await
            .expect("list")),
        vec!["07"]
    );
}

/// delete_grant removes only the named grant of the named key and says whether it existed.
pub async fn delete_grant_reports_whether_it_existed(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let k = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let other = create_key(store, &acct, &us_east_1(), 2, &[]).await;
    store
        .create_grant(&grant(&k, 1, None), audit())
        .await
        .expect("create");
    store
        .create_grant(&grant(&k, 2, None), audit())
        .await
        .expect("create");

    let id = "01".repeat(32);
    assert!(
        !store
            .delete_grant(&other.id(), &id, audit())
            .await
            .expect("delete"),
        "a grant is deleted only through its own key"
    );
    assert!(
        store
            .delete_grant(&k.id(), &id, audit())
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_grant(&k.id(), &id, audit())
            .await
            .expect("delete")
    );
    assert_eq!(
        ids(&store.list_grants(&k.id()).await.expect("list")),
        vec!["02"]
    );
}

/// Deleting a key deletes its grants and no other key's.
pub async fn grants_go_with_their_key(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let mut k = create_key(store, &acct, &us_east_1(), 1, &[]).await;
    let other = create_key(store, &acct, &us_east_1(), 2, &[]).await;
    store
        .create_grant(
            &grant(&k, 1, Some("arn:aws:iam::111111111111:root")),
            audit(),
        )
        .await
        .expect("create");
    store
        .create_grant(&grant(&other, 2, None), audit())
        .await
        .expect("create");
    k.state = KeyState::PendingDeletion;
    k.deletion_date = Some(UnixMillis(5_000));
    k.version += 1;
    store.update_key(&k, audit()).await.expect("schedule");
    store.delete_key(&k, audit()).await.expect("delete");
    assert!(store.list_grants(&k.id()).await.expect("list").is_empty());
    assert!(
        store
            .list_retirable_grants(
                &acct,
                &us_east_1(),
                &GrantPrincipal::Aws("arn:aws:iam::111111111111:root".to_owned()),
                None,
                10
            )
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        ids(&store.list_grants(&other.id()).await.expect("list")),
        vec!["02"]
    );
}
