//! Secrets: create with a first version, lookup by name and ARN, versions upserted and labels
//! rewritten, optimistic versions, deletion with every version, and the deletion schedule.

use kinko_core::{AccountId, Secret, SecretVersion, Store, StoreError, UnixMillis};

use crate::fixtures::{audit, create_account, tag, us_east_1};

fn secret(account: &AccountId, name: &str) -> Secret {
    Secret {
        arn: format!("arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-AbC123"),
        account: account.clone(),
        region: us_east_1(),
        name: name.to_owned(),
        description: "d".to_owned(),
        kms_key_id: None,
        created_at: UnixMillis(1_000),
        last_changed_at: UnixMillis(1_000),
        deletion_date: None,
        tags: vec![tag("b", "2"), tag("a", "1")],
        resource_policy: None,
        rotation: None,
        version: 1,
    }
}

fn version(secret: &Secret, id: &str, stages: &[&str], at: i64) -> SecretVersion {
    SecretVersion {
        secret_arn: secret.arn.clone(),
        version_id: id.to_owned(),
        created_at: UnixMillis(at),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        key_arn: "arn:aws:kms:us-east-1:111122223333:key/x".to_owned(),
        wrapped_key: vec![1, 2, 3],
        sealed: vec![4, 5, 6, 7],
        is_binary: false,
    }
}

/// A secret and its versions round-trip; names are unique per account and region; updates are
/// optimistic; deletion removes every version.
pub async fn secrets_round_trip(store: &dyn Store) {
    let acct = create_account(store, 1).await;
    let s = secret(&acct, "db/pw");
    let v1 = version(&s, "v1", &["AWSCURRENT"], 1_000);
    store
        .create_secret(&s, Some(&v1), audit())
        .await
        .expect("create");
    let mut other = secret(&acct, "db/pw");
    other.arn.push('x');
    assert!(matches!(
        store.create_secret(&other, None, audit()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_secret(&s.arn).await.expect("get"),
        Some(s.clone())
    );
    assert_eq!(
        store
            .get_secret_by_name(&acct, &us_east_1(), "db/pw")
            .await
            .expect("by name"),
        Some(s.clone())
    );
    assert_eq!(
        store.secret_versions(&s.arn).await.expect("versions"),
        vec![v1.clone()]
    );

    let mut next = s.clone();
    next.version = 2;
    next.description = "changed".to_owned();
    next.deletion_date = Some(UnixMillis(9_000));
    next.resource_policy = Some(r#"{"Statement":[]}"#.to_owned());
    next.rotation = Some(kinko_core::SecretRotation {
        enabled: true,
        lambda_arn: "arn:aws:lambda:us-east-1:111122223333:function:rot".to_owned(),
        after_days: Some(30),
        schedule: None,
        duration: Some("3h".to_owned()),
        interval_ms: 30 * 86_400_000,
        last_rotated: Some(UnixMillis(5_000)),
        next_rotation: Some(UnixMillis(6_000)),
        last_failure: Some("step setSecret: HTTP 500".to_owned()),
    });
    let v1b = version(&s, "v1", &["AWSPREVIOUS"], 1_000);
    let v2 = version(&s, "v2", &["AWSCURRENT"], 2_000);
    store
        .update_secret(&next, &[v1b.clone(), v2.clone()], &[], audit())
        .await
        .expect("update");
    assert_eq!(
        store.get_secret(&s.arn).await.expect("get"),
        Some(next.clone())
    );
    assert_eq!(
        store.secret_versions(&s.arn).await.expect("versions"),
        vec![v1b, v2.clone()]
    );
    // A stale version changes nothing.
    assert!(matches!(
        store.update_secret(&next, &[], &[], audit()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .secrets_due(UnixMillis(8_999), 10)
            .await
            .expect("due")
            .len(),
        0
    );
    assert_eq!(
        store.secrets_due(UnixMillis(9_000), 10).await.expect("due"),
        vec![next.clone()]
    );
    assert_eq!(
        store.list_secrets(&acct, &us_east_1()).await.expect("list"),
        vec![next.clone()]
    );
    store.delete_secret(&next, audit()).await.expect("delete");
    assert_eq!(store.get_secret(&s.arn).await.expect("get"), None);
    assert!(
        store
            .secret_versions(&s.arn)
            .await
            .expect("versions")
            .is_empty()
    );
    store
        .create_secret(&secret(&acct, "db/pw"), None, audit())
        .await
        .expect("the name is free again");
}
