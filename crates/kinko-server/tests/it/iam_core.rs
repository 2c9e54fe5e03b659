//! The IAM operations of `kinko-core` called directly, with no server in front: each checks its
//! own `iam:` action, so a caller without permission is refused (and nothing changes) whoever
//! calls the core.

use kinko_core::{
    AccountId, AuditDraft, Caller, Error, Kms, NewRole, PolicyOwner, PolicyOwnerKind, Principal,
    Region, UnixMillis,
};

use crate::harness::{Kinko, REGION};

/// The record of a change made straight through the core (or the store).
pub fn draft(name: &str) -> AuditDraft {
    AuditDraft {
        event_id: format!("direct-{name}"),
        request_id: None,
        time: UnixMillis(0),
        event_source: "iam.amazonaws.com".into(),
        event_name: name.into(),
        read_only: false,
        account: None,
        principal_arn: None,
        access_key_id: None,
        key_id: None,
        source_key_id: None,
        error_code: None,
        record: b"{}".to_vec(),
    }
}

fn caller(account: &AccountId, principal: Principal) -> Caller {
    Caller::new(
        account.clone(),
        Region::parse(REGION).expect("a region"),
        principal,
    )
}

/// The message of the AccessDenied `result` holds; panics on anything else.
fn denied<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::AccessDenied(message)) => message,
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

async fn user_policy(kms: &Kms, root: &Caller, user: &str, action: &str, resource: &str) {
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    );
    let owner = PolicyOwner {
        kind: PolicyOwnerKind::User,
        name: user.into(),
    };
    kms.put_inline_policy(
        root,
        &owner,
        Ok("p"),
        Ok(&document),
        &draft("PutUserPolicy"),
    )
    .await
    .expect("root may put a policy");
}

#[tokio::test]
async fn core_iam_operations_refuse_callers_without_permission() {
    let k = Kinko::start().await;
    let kms = k.kms();
    let account = AccountId::parse(&k.account).expect("an account");
    let root = caller(
        &account,
        Principal::Root {
            account: account.clone(),
        },
    );
    kms.create_user(&root, "bob", None, Ok(vec![]), &draft("CreateUser"))
        .await
        .expect("root may create a user");
    let bob = caller(
        &account,
        Principal::User {
            account: account.clone(),
            path: "/".into(),
            name: "bob".into(),
        },
    );
    let bob_arn = format!("arn:aws:iam::{}:user/bob", k.account);

    // Refused, with the action and resource named, before the members are looked at (a
    // malformed member still yields AccessDenied).
    let message = denied(
        kms.create_user(
            &bob,
            "eve",
            None,
            Err(Error::Validation("malformed tags".into())),
            &draft("CreateUser"),
        )
        .await,
    );
    assert_eq!(
        message,
        format!(
            "User: {bob_arn} is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{}:user/eve because no identity-based policy allows the iam:CreateUser action",
            k.account
        )
    );
    denied(kms.get_user(&bob, Some("bob")).await);
    // On oneself too.
    denied(kms.get_user(&bob, None).await);
    denied(kms.list_users(&bob, None).await);
    denied(
        kms.tag_user(&bob, "bob", Ok(vec![]), &draft("TagUser"))
            .await,
    );
    denied(kms.delete_user(&bob, "bob", &draft("DeleteUser")).await);
    denied(
        kms.create_user_access_key(&bob, None, &draft("CreateAccessKey"))
            .await,
    );
    denied(kms.list_user_access_keys(&bob, Some("bob")).await);
    let role = NewRole {
        path: None,
        trust_policy: Ok("{}"),
        tags: Ok(vec![]),
        description: None,
        max_session_duration: Ok(None),
    };
    denied(
        kms.create_role(&bob, "ops", role, &draft("CreateRole"))
            .await,
    );
    denied(kms.get_role(&bob, "ops").await);
    denied(kms.list_roles(&bob, None).await);
    let own = PolicyOwner {
        kind: PolicyOwnerKind::User,
        name: "bob".into(),
    };
    denied(
        kms.put_inline_policy(&bob, &own, Ok("p"), Ok("{}"), &draft("PutUserPolicy"))
            .await,
    );
    denied(kms.list_inline_policies(&bob, &own).await);

    // Nothing changed: eve does not exist, bob does and has no access key.
    assert!(matches!(
        kms.get_user(&root, Some("eve")).await,
        Err(Error::NotFound(_))
    ));
    assert!(kms.get_user(&root, Some("bob")).await.is_ok());
    assert!(
        kms.list_user_access_keys(&root, Some("bob"))
            .await
            .expect("root may list")
            .is_empty()
    );

    // The refusal is the missing permission: allowed iam:GetUser on himself, bob may read
    // himself (by name and without one) and still nobody else.
    user_policy(kms, &root, "bob", "iam:GetUser", &bob_arn).await;
    let me = kms.get_user(&bob, None).await.expect("allowed on himself");
    assert_eq!(me.map(|u| u.arn), Some(bob_arn.clone()));
    assert!(kms.get_user(&bob, Some("bob")).await.is_ok());
    denied(kms.get_user(&bob, Some("eve")).await);
    k.close().await;
}
