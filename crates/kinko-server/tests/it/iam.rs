//! IAM and STS over the AWS Query protocol: routing by the credential scope's service, XML
//! results and errors with IAM's statuses, policy documents URL-encoded as IAM returns them,
//! and the life of credentials at authentication (inactive keys, session tokens, expiry), also
//! when the signing key is already cached.

use axum::body::Body;
use http::{Request, StatusCode};

use crate::harness::{HOST, Kinko, REGION, Signer, expect_error};

/// Credentials to sign with: access key id, secret, and a session token for temporary ones.
#[derive(Clone, Copy)]
struct Creds<'a>(&'a str, &'a str, Option<&'a str>);

fn root(k: &Kinko) -> Creds<'_> {
    Creds(&k.access_key_id, &k.secret, None)
}

/// `POST /` with a form body for `service` (`iam` or `sts`), signed as SDKs sign it.
async fn query(k: &Kinko, service: &str, body: &str, creds: Creds<'_>) -> (StatusCode, String) {
    let headers = [
        ("host", HOST),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let params = kinko_sigv4::SignParams {
        access_key_id: creds.0,
        secret_access_key: creds.1,
        session_token: creds.2,
        region: REGION,
        service,
        now_epoch_secs: k.clock.now_secs(),
    };
    let mut builder = Request::builder().method("POST").uri("/");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    for (name, value) in kinko_sigv4::sign("POST", "/", "", &headers, body.as_bytes(), &params) {
        builder = builder.header(name, value);
    }
    let request = builder
        .header("content-length", body.len())
        .body(Body::from(body.to_owned()))
        .expect("a request");
    let (status, text, headers) = k.send_raw(request).await;
    let request_id = headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .expect("a request id header")
        .to_owned();
    assert!(
        text.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "the body names the request id: {text}"
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/xml")
    );
    (status, text)
}

/// The text of the first `<tag>` element.
fn element<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..]
        .find(&format!("</{tag}>"))
        .expect("a closing tag")
        + start;
    &xml[start..end]
}

fn assert_error(reply: &(StatusCode, String), status: u16, kind: &str, code: &str) {
    let (actual, body) = reply;
    assert_eq!(actual.as_u16(), status, "{body}");
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(
        body.contains(&format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>"
        )),
        "{body}"
    );
}

async fn ok(k: &Kinko, service: &str, body: &str, creds: Creds<'_>) -> String {
    let (status, text) = query(k, service, body, creds).await;
    assert_eq!(status, StatusCode::OK, "{body} -> {text}");
    text
}

fn kms_signer<'a>(k: &Kinko, creds: Creds<'a>) -> (Signer<'a>, Option<&'a str>) {
    (
        Signer {
            access_key_id: creds.0,
            secret: creds.1,
            region: REGION,
            service: "kms",
            now_secs: k.clock.now_secs(),
        },
        creds.2,
    )
}

/// ListKeys signed with `creds` (a session token too when they have one).
/// Puts an inline policy on user or role `name` (`owner` "User" or "Role") that allows
/// kms:ListKeys, the KMS call these tests use to check that credentials work.
async fn allow_list_keys(k: &Kinko, owner: &str, name: &str) {
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}"#;
    let encoded: String = document.bytes().map(|b| format!("%{b:02X}")).collect();
    ok(
        k,
        "iam",
        &format!(
            "Action=Put{owner}Policy&{owner}Name={name}&PolicyName=list&PolicyDocument={encoded}"
        ),
        root(k),
    )
    .await;
}

async fn list_keys(k: &Kinko, creds: Creds<'_>) -> crate::harness::Reply {
    kms_call(k, creds, "ListKeys", "{}").await
}

#[tokio::test]
async fn query_errors_are_xml_with_iam_statuses() {
    let k = Kinko::start().await;
    let reply = query(
        &k,
        "iam",
        "Action=NoSuchAction&Version=2010-05-08",
        root(&k),
    )
    .await;
    assert_error(&reply, 400, "Sender", "InvalidAction");
    let reply = query(
        &k,
        "iam",
        "Action=GetUser&UserName=nobody&Version=2010-05-08",
        root(&k),
    )
    .await;
    assert_error(&reply, 404, "Sender", "NoSuchEntity");
    let reply = query(&k, "iam", "Action=CreateUser&Version=2010-05-08", root(&k)).await;
    assert_error(&reply, 400, "Sender", "ValidationError");
    let reply = query(&k, "iam", "Action=CreateUser&UserName=a%zz", root(&k)).await;
    assert_error(&reply, 400, "Sender", "MalformedQueryString");
    let reply = query(
        &k,
        "sts",
        "Action=GetCallerIdentity",
        Creds("AKIAUNKNOWNUNKNOWN22", "x", None),
    )
    .await;
    assert_error(&reply, 403, "Sender", "InvalidClientTokenId");
    let reply = query(
        &k,
        "sts",
        "Action=GetCallerIdentity",
        Creds(&k.access_key_id, "wrong", None),
    )
    .await;
    assert_error(&reply, 403, "Sender", "SignatureDoesNotMatch");
    k.close().await;
}

#[tokio::test]
async fn users_policies_and_keys_round_trip() {
    let k = Kinko::start().await;
    let created = ok(
        &k,
        "iam",
        "Action=CreateUser&UserName=Alice&Path=%2Fops%2F&Tags.member.1.Key=team&Tags.member.1.Value=a%26b&Version=2010-05-08",
        root(&k),
    )
    .await;
    assert!(created.starts_with("<?xml"));
    assert!(created.contains(r#"<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User>"#));
    assert_eq!(
        element(&created, "Arn"),
        format!("arn:aws:iam::{}:user/ops/Alice", k.account)
    );
    assert!(element(&created, "UserId").starts_with("AIDA"));
    assert!(
        created.contains("<Tags><member><Key>team</Key><Value>a&amp;b</Value></member></Tags>")
    );

    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    let encoded: String = document.bytes().map(|b| format!("%{b:02X}")).collect();
    ok(
        &k,
        "iam",
        &format!("Action=PutUserPolicy&UserName=alice&PolicyName=kms&PolicyDocument={encoded}"),
        root(&k),
    )
    .await;
    let got = ok(
        &k,
        "iam",
        "Action=GetUserPolicy&UserName=Alice&PolicyName=kms",
        root(&k),
    )
    .await;
    assert_eq!(
        element(&got, "PolicyDocument"),
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D",
        "IAM returns policy documents URL-encoded"
    );
    let identity = k
        .kms()
        .principal_identity(&format!("arn:aws:iam::{}:user/ops/Alice", k.account))
        .await
        .expect("read the identity")
        .expect("the user exists");
    assert_eq!(identity.policies.len(), 1);
    assert!(identity.allows("kms:Encrypt", "arn:aws:kms:us-east-1:111122223333:key/x"));
    assert!(!identity.allows("iam:CreateUser", "*"));

    let reply = query(&k, "iam", "Action=DeleteUser&UserName=alice", root(&k)).await;
    assert_error(&reply, 409, "Sender", "DeleteConflict");
    let key = ok(&k, "iam", "Action=CreateAccessKey&UserName=alice", root(&k)).await;
    ok(&k, "iam", "Action=CreateAccessKey&UserName=alice", root(&k)).await;
    let reply = query(&k, "iam", "Action=CreateAccessKey&UserName=alice", root(&k)).await;
    assert_error(&reply, 409, "Sender", "LimitExceeded");

    let id = element(&key, "AccessKeyId").to_owned();
    let secret = element(&key, "SecretAccessKey").to_owned();
    let alice = Creds(&id, &secret, None);
    let me = ok(
        &k,
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15",
        alice,
    )
    .await;
    assert!(me.contains(
        r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">"#
    ));
    assert_eq!(
        element(&me, "Arn"),
        format!("arn:aws:iam::{}:user/ops/Alice", k.account)
    );
    // Alice's policy allows kms:* only: IAM is denied in IAM's form.
    let reply = query(&k, "iam", "Action=ListUsers", alice).await;
    assert_error(&reply, 403, "Sender", "AccessDenied");
    k.close().await;
}

#[tokio::test]
async fn inactive_keys_stop_at_once_here_and_within_seconds_elsewhere() {
    let k = Kinko::start().await;
    ok(&k, "iam", "Action=CreateUser&UserName=bob", root(&k)).await;
    allow_list_keys(&k, "User", "bob").await;
    let key = ok(&k, "iam", "Action=CreateAccessKey&UserName=bob", root(&k)).await;
    let id = element(&key, "AccessKeyId").to_owned();
    let secret = element(&key, "SecretAccessKey").to_owned();
    let bob = Creds(&id, &secret, None);
    assert_eq!(list_keys(&k, bob).await.0, StatusCode::OK, "cached now");

    ok(
        &k,
        "iam",
        &format!("Action=UpdateAccessKey&UserName=bob&AccessKeyId={id}&Status=Inactive"),
        root(&k),
    )
    .await;
    expect_error(
        &list_keys(&k, bob).await,
        400,
        "UnrecognizedClientException",
    );
    ok(
        &k,
        "iam",
        &format!("Action=UpdateAccessKey&UserName=bob&AccessKeyId={id}&Status=Active"),
        root(&k),
    )
    .await;
    assert_eq!(list_keys(&k, bob).await.0, StatusCode::OK);

    // Another node deactivates it (straight in the store): the cached signing key is rechecked
    // within a few seconds.
    let draft = crate::iam_core::draft("UpdateAccessKey");
    let key_id = kinko_core::AccessKeyId::parse(&id).expect("an access key id");
    assert!(
        k.kms()
            .store()
            .set_access_key_active(
                &key_id,
                false,
                kinko_core::AuditAppend {
                    chain: "node-2",
                    draft: &draft,
                },
            )
            .await
            .expect("deactivate")
    );
    k.clock.advance(6_000);
    expect_error(
        &list_keys(&k, bob).await,
        400,
        "UnrecognizedClientException",
    );
    k.close().await;
}

#[tokio::test]
async fn session_credentials_live_until_they_expire() {
    let k = Kinko::start().await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        k.account
    );
    let encoded: String = trust.bytes().map(|b| format!("%{b:02X}")).collect();
    ok(
        &k,
        "iam",
        &format!("Action=CreateRole&RoleName=ops&AssumeRolePolicyDocument={encoded}"),
        root(&k),
    )
    .await;
    let role_arn = format!("arn:aws:iam::{}:role/ops", k.account);
    allow_list_keys(&k, "Role", "ops").await;
    let reply = query(
        &k,
        "sts",
        &format!("Action=AssumeRole&RoleArn={role_arn}&RoleSessionName=s1&DurationSeconds=899"),
        root(&k),
    )
    .await;
    assert_error(&reply, 400, "Sender", "ValidationError");
    let assumed = ok(
        &k,
        "sts",
        &format!("Action=AssumeRole&RoleArn={role_arn}&RoleSessionName=s1&DurationSeconds=900"),
        root(&k),
    )
    .await;
    let id = element(&assumed, "AccessKeyId").to_owned();
    let secret = element(&assumed, "SecretAccessKey").to_owned();
    let token = element(&assumed, "SessionToken").to_owned();
    assert!(id.starts_with("ASIA"));
    assert_eq!(element(&assumed, "Expiration"), "2026-01-01T00:15:00Z");
    let session = Creds(&id, &secret, Some(&token));

    let me = ok(&k, "sts", "Action=GetCallerIdentity", session).await;
    assert_eq!(
        element(&me, "Arn"),
        format!("arn:aws:sts::{}:assumed-role/ops/s1", k.account)
    );
    assert_eq!(list_keys(&k, session).await.0, StatusCode::OK, "cached now");

    // Without the token, or with another one, the key is unknown.
    expect_error(
        &list_keys(&k, Creds(&id, &secret, None)).await,
        400,
        "UnrecognizedClientException",
    );
    // The last character changed (to one it is not: a token ending in `A` stays valid under
    // "replace it with A").
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    assert_ne!(forged, token);
    expect_error(
        &list_keys(&k, Creds(&id, &secret, Some(&forged))).await,
        400,
        "UnrecognizedClientException",
    );
    // A token sent with a long-term key is refused too.
    expect_error(
        &list_keys(&k, Creds(&k.access_key_id, &k.secret, Some(&token))).await,
        400,
        "UnrecognizedClientException",
    );

    k.clock.advance(900_000);
    expect_error(&list_keys(&k, session).await, 400, "ExpiredTokenException");
    let reply = query(&k, "sts", "Action=GetCallerIdentity", session).await;
    assert_error(&reply, 400, "Sender", "ExpiredToken");
    k.close().await;
}

/// KMS operation `op` with JSON `body`, signed with `creds` (a session token too when they have
/// one).
async fn kms_call(k: &Kinko, creds: Creds<'_>, op: &str, body: &str) -> crate::harness::Reply {
    let (signer, token) = kms_signer(k, creds);
    let target = format!("TrentService.{op}");
    let headers = [
        ("host", HOST),
        ("content-type", crate::harness::JSON_1_1),
        ("x-amz-target", target.as_str()),
    ];
    let params = kinko_sigv4::SignParams {
        access_key_id: signer.access_key_id,
        secret_access_key: signer.secret,
        session_token: token,
        region: signer.region,
        service: signer.service,
        now_epoch_secs: signer.now_secs,
    };
    let mut builder = Request::builder().method("POST").uri("/");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    for (name, value) in kinko_sigv4::sign("POST", "/", "", &headers, body.as_bytes(), &params) {
        builder = builder.header(name, value);
    }
    let request = builder
        .header("content-length", body.len())
        .body(Body::from(body.to_owned()))
        .expect("a request");
    k.send(request).await
}

/// A session belongs to the role that issued it, not to the role's name: once the role is
/// deleted, a new role created under the same name with wider permissions lends nothing to the
/// old session, which is refused as AWS refuses credentials it no longer knows.
#[tokio::test]
async fn sessions_are_bound_to_the_role_not_its_name() {
    let k = Kinko::start().await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        k.account
    );
    let encoded: String = trust.bytes().map(|b| format!("%{b:02X}")).collect();
    let create_role =
        format!("Action=CreateRole&RoleName=tmprole&AssumeRolePolicyDocument={encoded}");
    ok(&k, "iam", &create_role, root(&k)).await;
    allow_list_keys(&k, "Role", "tmprole").await;
    let role_arn = format!("arn:aws:iam::{}:role/tmprole", k.account);
    let assumed = ok(
        &k,
        "sts",
        &format!("Action=AssumeRole&RoleArn={role_arn}&RoleSessionName=s1"),
        root(&k),
    )
    .await;
    let id = element(&assumed, "AccessKeyId").to_owned();
    let secret = element(&assumed, "SecretAccessKey").to_owned();
    let token = element(&assumed, "SessionToken").to_owned();
    let session = Creds(&id, &secret, Some(&token));
    assert_eq!(list_keys(&k, session).await.0, StatusCode::OK);
    expect_error(
        &kms_call(&k, session, "CreateKey", "{}").await,
        400,
        "AccessDeniedException",
    );

    // The role goes; a new one takes its name, allowed everything in KMS.
    ok(
        &k,
        "iam",
        "Action=DeleteRolePolicy&RoleName=tmprole&PolicyName=list",
        root(&k),
    )
    .await;
    ok(&k, "iam", "Action=DeleteRole&RoleName=tmprole", root(&k)).await;
    ok(&k, "iam", &create_role, root(&k)).await;
    let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    let encoded: String = everything.bytes().map(|b| format!("%{b:02X}")).collect();
    ok(
        &k,
        "iam",
        &format!("Action=PutRolePolicy&RoleName=tmprole&PolicyName=all&PolicyDocument={encoded}"),
        root(&k),
    )
    .await;

    let keys_before = list_keys(&k, root(&k)).await.1["Keys"]
        .as_array()
        .map(Vec::len);
    for op in ["CreateKey", "ListKeys"] {
        expect_error(
            &kms_call(&k, session, op, "{}").await,
            400,
            "UnrecognizedClientException",
        );
    }
    let reply = query(&k, "sts", "Action=GetCallerIdentity", session).await;
    assert_error(&reply, 403, "Sender", "InvalidClientTokenId");
    assert_eq!(
        list_keys(&k, root(&k)).await.1["Keys"]
            .as_array()
            .map(Vec::len),
        keys_before,
        "the old session created no key"
    );

    // A session of the new role works, with the new role's permissions.
    let assumed = ok(
        &k,
        "sts",
        &format!("Action=AssumeRole&RoleArn={role_arn}&RoleSessionName=s2"),
        root(&k),
    )
    .await;
    let id = element(&assumed, "AccessKeyId").to_owned();
    let secret = element(&assumed, "SecretAccessKey").to_owned();
    let token = element(&assumed, "SessionToken").to_owned();
    let fresh = Creds(&id, &secret, Some(&token));
    let (status, json, _) = kms_call(&k, fresh, "CreateKey", "{}").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    k.close().await;
}

/// A parameter given twice is refused, never resolved by taking one: `Action=ListUsers&…&
/// Action=CreateUser` creates nobody.
#[tokio::test]
async fn repeated_query_parameters_are_refused() {
    let k = Kinko::start().await;
    let reply = query(
        &k,
        "iam",
        "Action=ListUsers&Version=2010-05-08&Action=CreateUser&UserName=dup",
        root(&k),
    )
    .await;
    assert_error(&reply, 400, "Sender", "MalformedQueryString");
    assert!(
        reply
            .1
            .contains("The parameter &apos;Action&apos; appears more than once"),
        "{}",
        reply.1
    );
    let reply = query(&k, "iam", "Action=GetUser&UserName=dup", root(&k)).await;
    assert_error(&reply, 404, "Sender", "NoSuchEntity");
    k.close().await;
}

/// A control character from the request echoed in an error message (a policy's Sid) cannot make
/// the XML body unparseable: XML 1.0 cannot carry U+0000, so it is replaced.
#[tokio::test]
async fn errors_never_echo_characters_xml_cannot_carry() {
    let k = Kinko::start().await;
    ok(&k, "iam", "Action=CreateUser&UserName=sid", root(&k)).await;
    let document = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a\\u0000b\\u0001c\",\"Effect\":\"Maybe\",\"Action\":\"kms:ListKeys\",\"Resource\":\"*\"}]}";
    let encoded: String = document.bytes().map(|b| format!("%{b:02X}")).collect();
    let (status, body) = query(
        &k,
        "iam",
        &format!("Action=PutUserPolicy&UserName=sid&PolicyName=p&PolicyDocument={encoded}"),
        root(&k),
    )
    .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    assert!(
        !body
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "no character XML 1.0 cannot carry: {body:?}"
    );
    assert!(
        body.contains("<Code>MalformedPolicyDocument</Code>"),
        "{body}"
    );
    assert!(
        body.contains("(Sid &quot;a\u{FFFD}b\u{FFFD}c&quot;)"),
        "the Sid is echoed, its control characters replaced: {body}"
    );
    k.close().await;
}

/// GetUser on oneself needs `iam:GetUser` on one's own ARN, as on AWS.
#[tokio::test]
async fn get_user_on_oneself_needs_permission() {
    let k = Kinko::start().await;
    ok(&k, "iam", "Action=CreateUser&UserName=self", root(&k)).await;
    let created = ok(&k, "iam", "Action=CreateAccessKey&UserName=self", root(&k)).await;
    let id = element(&created, "AccessKeyId").to_owned();
    let secret = element(&created, "SecretAccessKey").to_owned();
    let me = Creds(&id, &secret, None);
    let reply = query(&k, "iam", "Action=GetUser", me).await;
    assert_error(&reply, 403, "Sender", "AccessDenied");
    let own = format!("arn:aws:iam::{}:user/self", k.account);
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetUser","Resource":"{own}"}}]}}"#
    );
    let encoded: String = document.bytes().map(|b| format!("%{b:02X}")).collect();
    ok(
        &k,
        "iam",
        &format!("Action=PutUserPolicy&UserName=self&PolicyName=p&PolicyDocument={encoded}"),
        root(&k),
    )
    .await;
    let got = ok(&k, "iam", "Action=GetUser", me).await;
    assert_eq!(element(&got, "Arn"), own);
    k.close().await;
}
