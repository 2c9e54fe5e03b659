//! Grants over the wire: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
//! RevokeGrant, with every error code they can produce here and their limits. Whether a grant
//! allows anything is authorization's business and not tested here.

use serde_json::{Value, json};

use crate::harness::{Kinko, REGION, Signer, str_at};

fn root(kinko: &Kinko) -> String {
    format!("arn:aws:iam::{}:root", kinko.account)
}

fn user(kinko: &Kinko, name: &str) -> String {
    format!("arn:aws:iam::{}:user/{name}", kinko.account)
}

async fn grant(kinko: &Kinko, body: Value) -> (String, String) {
    let reply = kinko.ok("CreateGrant", body).await;
    (
        str_at(&reply, "/GrantId").to_owned(),
        str_at(&reply, "/GrantToken").to_owned(),
    )
}

async fn grant_ids(kinko: &Kinko, key_id: &str) -> Vec<String> {
    let reply = kinko
        .ok("ListGrants", json!({"KeyId": key_id, "Limit": 100}))
        .await;
    reply["Grants"]
        .as_array()
        .expect("Grants")
        .iter()
        .map(|g| g["GrantId"].as_str().expect("GrantId").to_owned())
        .collect()
}

/// CreateGrant answers a 64-hex grant id and a token; ListGrants shows every field as AWS does.
#[tokio::test]
async fn create_and_list_show_every_field() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let alice = user(&kinko, "alice");
    let (id, token) = grant(
        &kinko,
        json!({
            "KeyId": key_id,
            "GranteePrincipal": alice,
            "RetiringPrincipal": root(&kinko),
            "Operations": ["Encrypt", "Decrypt", "Encrypt"],
            "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}},
            "Name": "app-grant",
        }),
    )
    .await;
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert!(!token.is_empty() && token.len() <= 8192);

    let reply = kinko.ok("ListGrants", json!({"KeyId": key_id})).await;
    assert_eq!(reply["Truncated"], json!(false));
    assert!(reply.get("NextMarker").is_none());
    let entry = &reply["Grants"][0];
    let arn = format!("arn:aws:kms:{REGION}:{}:key/{key_id}", kinko.account);
    assert_eq!(entry["KeyId"], json!(arn));
    assert_eq!(entry["GrantId"], json!(id));
    assert_eq!(entry["Name"], json!("app-grant"));
    assert_eq!(entry["GranteePrincipal"], json!(alice));
    assert_eq!(entry["RetiringPrincipal"], json!(root(&kinko)));
    assert_eq!(entry["IssuingAccount"], json!(root(&kinko)));
    assert_eq!(entry["Operations"], json!(["Encrypt", "Decrypt"]));
    assert_eq!(
        entry["Constraints"],
        json!({"EncryptionContextSubset": {"Dept": "IT"}})
    );
    assert!(entry["CreationDate"].is_number());

    // The token is accepted wherever GrantTokens are.
    kinko
        .ok(
            "Encrypt",
            json!({"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": [token],
                   "EncryptionContext": {"Dept": "IT"}}),
        )
        .await;
}

/// A Name retry with the same parameters returns the same grant (with a fresh token, as AWS);
/// other parameters under the same name make a new grant.
#[tokio::test]
async fn name_makes_create_grant_idempotent() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let body = json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "a"),
                      "Operations": ["Decrypt", "Encrypt"], "Name": "n1"});
    let (first, token1) = grant(&kinko, body.clone()).await;
    let mut reordered = body.clone();
    reordered["Operations"] = json!(["Encrypt", "Decrypt"]);
    let (second, token2) = grant(&kinko, reordered).await;
    assert_eq!(first, second);
    assert_ne!(token1, token2);
    assert_eq!(grant_ids(&kinko, &key_id).await, vec![first.clone()]);

    let mut other = body.clone();
    other["Operations"] = json!(["Encrypt"]);
    let (third, _) = grant(&kinko, other).await;
    assert_ne!(third, first);
    // Without a name every call is a new grant.
    let mut unnamed = body;
    unnamed.as_object_mut().expect("object").remove("Name");
    let (a, _) = grant(&kinko, unnamed.clone()).await;
    let (b, _) = grant(&kinko, unnamed).await;
    assert_ne!(a, b);
    assert_eq!(grant_ids(&kinko, &key_id).await.len(), 4);
}

/// ListGrants pages with Limit and Marker (Truncated with NextMarker), filters by GrantId and
/// GranteePrincipal, and refuses markers it did not issue.
#[tokio::test]
async fn list_grants_pages_and_filters() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let mut created = Vec::new();
    for n in 0..5 {
        let who = user(&kinko, if n == 3 { "special" } else { "someone" });
        created.push(
            grant(
                &kinko,
                json!({"KeyId": key_id, "GranteePrincipal": who, "Operations": ["Encrypt"]}),
            )
            .await
            .0,
        );
    }
    created.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"KeyId": key_id, "Limit": 2});
        if let Some(m) = &marker {
            body["Marker"] = json!(m);
        }
        let reply = kinko.ok("ListGrants", body).await;
        pages += 1;
        for g in reply["Grants"].as_array().expect("Grants") {
            seen.push(g["GrantId"].as_str().expect("id").to_owned());
        }
        if reply["Truncated"] == json!(true) {
            marker = Some(str_at(&reply, "/NextMarker").to_owned());
        } else {
            assert!(reply.get("NextMarker").is_none());
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);

    let reply = kinko
        .ok(
            "ListGrants",
            json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "special")}),
        )
        .await;
    assert_eq!(reply["Grants"].as_array().expect("Grants").len(), 1);
    let reply = kinko
        .ok(
            "ListGrants",
            json!({"KeyId": key_id, "GrantId": created[2]}),
        )
        .await;
    assert_eq!(reply["Grants"][0]["GrantId"], json!(created[2]));
    let reply = kinko
        .ok(
            "ListGrants",
            json!({"KeyId": key_id, "GrantId": "ab".repeat(32)}),
        )
        .await;
    assert_eq!(reply["Grants"], json!([]));

    kinko
        .fails(
            "ListGrants",
            json!({"KeyId": key_id, "Marker": "not-a-marker"}),
            "InvalidMarkerException",
        )
        .await;
    kinko
        .fails(
            "ListGrants",
            json!({"KeyId": key_id, "GrantId": "nope"}),
            "InvalidGrantIdException",
        )
        .await;
    for limit in [0, 101] {
        kinko
            .fails(
                "ListGrants",
                json!({"KeyId": key_id, "Limit": limit}),
                "ValidationException",
            )
            .await;
    }
    kinko
        .fails(
            "ListGrants",
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails("ListGrants", json!({}), "ValidationException")
        .await;
}

/// ListRetirableGrants lists the account's grants with that retiring principal, across keys.
#[tokio::test]
async fn list_retirable_grants_across_keys() {
    let kinko = Kinko::start().await;
    let retirer = user(&kinko, "retirer");
    let mut expected = Vec::new();
    for _ in 0..3 {
        let key_id = kinko.create_key().await;
        expected.push(
            grant(
                &kinko,
                json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "g"),
                       "RetiringPrincipal": retirer, "Operations": ["Decrypt"]}),
            )
            .await
            .0,
        );
        grant(
            &kinko,
            json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "g"), "Operations": ["Decrypt"]}),
        )
        .await;
    }
    expected.sort();
    let reply = kinko
        .ok(
            "ListRetirableGrants",
            json!({"RetiringPrincipal": retirer, "Limit": 2}),
        )
        .await;
    assert_eq!(reply["Truncated"], json!(true));
    let marker = str_at(&reply, "/NextMarker").to_owned();
    let mut seen: Vec<String> = reply["Grants"]
        .as_array()
        .expect("Grants")
        .iter()
        .map(|g| g["GrantId"].as_str().expect("id").to_owned())
        .collect();
    let reply = kinko
        .ok(
            "ListRetirableGrants",
            json!({"RetiringPrincipal": retirer, "Limit": 2, "Marker": marker}),
        )
        .await;
    assert_eq!(reply["Truncated"], json!(false));
    seen.extend(
        reply["Grants"]
            .as_array()
            .expect("Grants")
            .iter()
            .map(|g| g["GrantId"].as_str().expect("id").to_owned()),
    );
    assert_eq!(seen, expected);
    kinko
        .fails("ListRetirableGrants", json!({}), "ValidationException")
        .await;
    kinko
        .fails(
            "ListRetirableGrants",
            json!({"RetiringPrincipal": "nobody"}),
            "InvalidArnException",
        )
        .await;
    kinko
        .fails(
            "ListRetirableGrants",
            json!({"RetiringPrincipal": retirer, "Marker": "zz"}),
            "InvalidMarkerException",
        )
        .await;
}

/// RetireGrant by token or by key and grant id; RevokeGrant by key and grant id. Unknown grants
/// are NotFoundException, malformed ids InvalidGrantIdException, malformed tokens
/// InvalidGrantTokenException.
#[tokio::test]
async fn retire_and_revoke() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let arn = format!("arn:aws:kms:{REGION}:{}:key/{key_id}", kinko.account);
    let body =
        json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "g"), "Operations": ["Encrypt"]});
    let (by_token, token) = grant(&kinko, body.clone()).await;
    let (by_id, _) = grant(&kinko, body.clone()).await;
    let (revoked, _) = grant(&kinko, body.clone()).await;

    kinko.ok("RetireGrant", json!({"GrantToken": token})).await;
    kinko
        .ok("RetireGrant", json!({"KeyId": arn, "GrantId": by_id}))
        .await;
    kinko
        .ok("RevokeGrant", json!({"KeyId": key_id, "GrantId": revoked}))
        .await;
    assert!(grant_ids(&kinko, &key_id).await.is_empty());

    kinko
        .fails(
            "RetireGrant",
            json!({"GrantToken": token}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key_id, "GrantId": revoked}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "RetireGrant",
            json!({"KeyId": key_id, "GrantId": by_token}),
            "NotFoundException",
        )
        .await;
    for bad in ["abc", &"G".repeat(64)] {
        kinko
            .fails(
                "RevokeGrant",
                json!({"KeyId": key_id, "GrantId": bad}),
                "InvalidGrantIdException",
            )
            .await;
        kinko
            .fails(
                "RetireGrant",
                json!({"KeyId": key_id, "GrantId": bad}),
                "InvalidGrantIdException",
            )
            .await;
    }
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key_id, "GrantId": "a".repeat(129)}),
            "ValidationException",
        )
        .await;
    for bad in ["nope", "00", &"0".repeat(130)] {
        kinko
            .fails(
                "RetireGrant",
                json!({"GrantToken": bad}),
                "InvalidGrantTokenException",
            )
            .await;
    }
    kinko
        .fails("RetireGrant", json!({}), "ValidationException")
        .await;
    kinko
        .fails(
            "RetireGrant",
            json!({"KeyId": key_id}),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key_id}),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "GrantId": revoked}),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "RevokeGrant",
            json!({"KeyId": key_id, "GrantId": revoked, "DryRun": true}),
            "NotFoundException",
        )
        .await;
}

/// Only the retiring principal, the grantee of a grant that includes RetireGrant, or the key's
/// account root may retire a grant.
#[tokio::test]
async fn who_may_retire() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let (bob_id, bob_secret) = kinko.access_key_for(&user(&kinko, "bob")).await;
    let (carol_id, carol_secret) = kinko.access_key_for(&user(&kinko, "carol")).await;
    let as_user = |id: &'static str, secret: &'static str| Signer {
        access_key_id: id,
        secret,
        ..kinko.signer()
    };
    let bob = as_user(bob_id.leak(), bob_secret.leak());
    let carol = as_user(carol_id.leak(), carol_secret.leak());

    // Bob is the grantee without RetireGrant; carol the retiring principal.
    let (first, token) = grant(
        &kinko,
        json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "bob"),
               "RetiringPrincipal": user(&kinko, "carol"), "Operations": ["Encrypt"]}),
    )
    .await;
    crate::harness::expect_error(
        &kinko
            .check_as("RetireGrant", json!({"GrantToken": token}), bob)
            .await,
        400,
        "AccessDeniedException",
    );
    let (status, _, _) = kinko
        .check_as("RetireGrant", json!({"GrantToken": token}), carol)
        .await;
    assert_eq!(status, 200);
    assert!(!grant_ids(&kinko, &key_id).await.contains(&first));

    // With RetireGrant in the grant, the grantee may retire it.
    let (_, token) = grant(
        &kinko,
        json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "bob"),
               "Operations": ["Encrypt", "RetireGrant"]}),
    )
    .await;
    crate::harness::expect_error(
        &kinko
            .check_as("RetireGrant", json!({"GrantToken": token}), carol)
            .await,
        400,
        "AccessDeniedException",
    );
    let (status, _, _) = kinko
        .check_as("RetireGrant", json!({"GrantToken": token}), bob)
        .await;
    assert_eq!(status, 200);
    assert!(grant_ids(&kinko, &key_id).await.is_empty());
}

/// CreateGrant's validation: operations that do not fit the key, constraints on operations
/// that take no encryption context, principals, names, lists and limits.
#[tokio::test]
async fn create_grant_validation() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let signing = str_at(
        &kinko
            .ok(
                "CreateKey",
                json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
            )
            .await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    let hmac = str_at(
        &kinko
            .ok(
                "CreateKey",
                json!({"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}),
            )
            .await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    let g = user(&kinko, "g");
    let base =
        |key: &str, ops: Value| json!({"KeyId": key, "GranteePrincipal": g, "Operations": ops});

    for (key, ops) in [
        (&key_id, json!(["Sign"])),
        (&key_id, json!(["GenerateMac"])),
        (&key_id, json!(["GetPublicKey"])),
        (&signing, json!(["Encrypt"])),
        (&signing, json!(["GenerateDataKey"])),
        (&hmac, json!(["Decrypt"])),
        (&hmac, json!(["GetPublicKey"])),
    ] {
        kinko
            .fails("CreateGrant", base(key, ops), "ValidationException")
            .await;
    }
    for (key, ops) in [
        (
            &signing,
            json!(["Sign", "Verify", "GetPublicKey", "DescribeKey"]),
        ),
        (
            &hmac,
            json!(["GenerateMac", "VerifyMac", "CreateGrant", "RetireGrant"]),
        ),
        (
            &key_id,
            json!([
                "GenerateDataKeyPair",
                "GenerateDataKeyPairWithoutPlaintext",
                "ReEncryptTo"
            ]),
        ),
    ] {
        kinko.ok("CreateGrant", base(key, ops)).await;
    }
    kinko
        .fails(
            "CreateGrant",
            base(&key_id, json!(["Frobnicate"])),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "CreateGrant",
            base(&key_id, json!([])),
            "ValidationException",
        )
        .await;

    // Constraints: only with operations that take an encryption context, at most 8 pairs.
    let constrained = |ops: Value, c: Value| {
        let mut b = base(&key_id, ops);
        b["Constraints"] = c;
        b
    };
    kinko
        .fails(
            "CreateGrant",
            constrained(
                json!(["Encrypt", "DescribeKey"]),
                json!({"EncryptionContextEquals": {"a": "b"}}),
            ),
            "ValidationException",
        )
        .await;
    let nine: serde_json::Map<String, Value> =
        (0..9).map(|i| (format!("k{i}"), json!("v"))).collect();
    kinko
        .fails(
            "CreateGrant",
            constrained(json!(["Encrypt"]), json!({"EncryptionContextSubset": nine})),
            "ValidationException",
        )
        .await;
    kinko
        .fails(
            "CreateGrant",
            constrained(
                json!(["Encrypt"]),
                json!({"EncryptionContextSubset": {"a": "x".repeat(385)}}),
            ),
            "ValidationException",
        )
        .await;
    let mut signed = base(&signing, json!(["Sign"]));
    signed["Constraints"] = json!({"EncryptionContextSubset": {"a": "b"}});
    kinko
        .fails("CreateGrant", signed, "ValidationException")
        .await;
    kinko
        .fails(
            "CreateGrant",
            // Shorter than the model's 20 characters, and no account.
            constrained(json!(["Encrypt"]), json!({"SourceArn": "arn:aws:s3:::b"})),
            "ValidationException",
        )
        .await;
    let reply = kinko
        .ok(
            "CreateGrant",
            constrained(
                json!(["Encrypt", "Decrypt", "CreateGrant"]),
                json!({"EncryptionContextEquals": {"a": "b"}, "EncryptionContextSubset": {"c": "d"}}),
            ),
        )
        .await;
    assert!(reply["GrantId"].is_string());

    // Principals and names.
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["GranteePrincipal"] = json!("bob");
    kinko
        .fails("CreateGrant", body, "InvalidArnException")
        .await;
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["RetiringPrincipal"] = json!("arn:aws:s3:::bucket");
    kinko
        .fails("CreateGrant", body, "InvalidArnException")
        .await;
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["GranteePrincipal"] = json!("has space");
    kinko
        .fails("CreateGrant", body, "ValidationException")
        .await;
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["GranteePrincipal"] = json!(format!(
        "arn:aws:iam::{}:user/{}",
        kinko.account,
        "u".repeat(250)
    ));
    kinko
        .fails("CreateGrant", body, "ValidationException")
        .await;
    let mut body = base(&key_id, json!(["Encrypt"]));
    // GranteePrincipal and GranteeServicePrincipal together: one of them, not both.
    body["GranteeServicePrincipal"] = json!("s3.amazonaws.com");
    kinko
        .fails("CreateGrant", body, "ValidationException")
        .await;
    for name in ["", "bad name", &"n".repeat(257)] {
        let mut body = base(&key_id, json!(["Encrypt"]));
        body["Name"] = json!(name);
        kinko
            .fails("CreateGrant", body, "ValidationException")
            .await;
    }
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["GrantTokens"] = json!(vec!["t"; 11]);
    kinko
        .fails("CreateGrant", body, "ValidationException")
        .await;
    let mut body = base(&key_id, json!(["Encrypt"]));
    body["DryRun"] = json!(true);
    kinko
        .fails("CreateGrant", body, "DryRunOperationException")
        .await;
    for missing in ["KeyId", "GranteePrincipal", "Operations"] {
        let mut body = base(&key_id, json!(["Encrypt"]));
        body.as_object_mut().expect("object").remove(missing);
        kinko
            .fails("CreateGrant", body, "ValidationException")
            .await;
    }
    // An alias is not a KeyId CreateGrant takes.
    kinko
        .ok(
            "CreateAlias",
            json!({"AliasName": "alias/g", "TargetKeyId": key_id}),
        )
        .await;
    kinko
        .fails(
            "CreateGrant",
            base("alias/g", json!(["Encrypt"])),
            "NotFoundException",
        )
        .await;
    kinko
        .fails(
            "CreateGrant",
            base("1234abcd-12ab-34cd-56ef-1234567890ab", json!(["Encrypt"])),
            "NotFoundException",
        )
        .await;
}

/// Key states: CreateGrant needs an Enabled key (DisabledException, KMSInvalidStateException
/// otherwise); listing, retiring and revoking work in every state.
#[tokio::test]
async fn key_states() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let body =
        json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "g"), "Operations": ["Encrypt"]});
    let (first, _) = grant(&kinko, body.clone()).await;
    let (second, token) = grant(&kinko, body.clone()).await;

    kinko.ok("DisableKey", json!({"KeyId": key_id})).await;
    kinko
        .fails("CreateGrant", body.clone(), "DisabledException")
        .await;
    assert_eq!(grant_ids(&kinko, &key_id).await.len(), 2);

    kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": key_id, "PendingWindowInDays": 7}),
        )
        .await;
    kinko
        .fails("CreateGrant", body.clone(), "KMSInvalidStateException")
        .await;
    kinko
        .ok("RevokeGrant", json!({"KeyId": key_id, "GrantId": first}))
        .await;
    kinko.ok("RetireGrant", json!({"GrantToken": token})).await;
    assert!(!grant_ids(&kinko, &key_id).await.contains(&second));

    let external = str_at(
        &kinko.ok("CreateKey", json!({"Origin": "EXTERNAL"})).await,
        "/KeyMetadata/KeyId",
    )
    .to_owned();
    let mut pending = body;
    pending["KeyId"] = json!(external);
    kinko
        .fails("CreateGrant", pending, "KMSInvalidStateException")
        .await;
}

/// A deleted key's grants go with it.
#[tokio::test]
async fn grants_go_with_the_key() {
    let kinko = Kinko::start().await;
    let key_id = kinko.create_key().await;
    let retirer = user(&kinko, "r");
    grant(
        &kinko,
        json!({"KeyId": key_id, "GranteePrincipal": user(&kinko, "g"),
               "RetiringPrincipal": retirer, "Operations": ["Encrypt"]}),
    )
    .await;
    kinko
        .ok(
            "ScheduleKeyDeletion",
            json!({"KeyId": key_id, "PendingWindowInDays": 7}),
        )
        .await;
    kinko.clock.advance(8 * 86_400_000);
    kinko.run_jobs().await;
    kinko
        .fails("ListGrants", json!({"KeyId": key_id}), "NotFoundException")
        .await;
    let reply = kinko
        .ok("ListRetirableGrants", json!({"RetiringPrincipal": retirer}))
        .await;
    assert_eq!(reply["Grants"], json!([]));
}
