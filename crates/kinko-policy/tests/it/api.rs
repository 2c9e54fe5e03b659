//! Rust-side tests of the public API: what the data files cannot express (the size limit, the
//! explanation text, accessors, principal parsing, derived condition keys).

use std::net::IpAddr;

use kinko_policy::{
    ConditionKeys, ContextValue, ContextValues, Decision, Effect, MAX_POLICY_BYTES, Mismatch,
    NamedPrincipal, Outcome, Policy, PolicyError, PolicyKind, PolicyVersion, PrincipalKind,
    RequestContext, RequestPrincipal,
};

use crate::harness::at_epoch;

const KEY_ARN: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn user(name: &str) -> RequestPrincipal {
    RequestPrincipal::from_arn(&format!("arn:aws:iam::111122223333:user/{name}"))
        .expect("a user ARN")
}

fn parse(json: &str, kind: PolicyKind) -> Policy {
    Policy::parse(json, kind).expect("the policy parses")
}

#[test]
fn size_limit_is_32_kib() {
    let statement = r#"{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}"#;
    let build = |pad: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Id":"{}","Statement":[{statement}]}}"#,
            "x".repeat(pad)
        )
    };
    let base = build(0).len();
    let exactly = build(MAX_POLICY_BYTES - base);
    assert_eq!(exactly.len(), MAX_POLICY_BYTES);
    assert!(Policy::parse(&exactly, PolicyKind::Key).is_ok());
    let over = build(MAX_POLICY_BYTES - base + 1);
    assert_eq!(
        Policy::parse(&over, PolicyKind::Key),
        Err(PolicyError::TooLarge {
            size: MAX_POLICY_BYTES + 1,
            limit: MAX_POLICY_BYTES
        })
    );
    // Whitespace counts: the limit is on the document as submitted.
    let padded = format!("{}{}", " ".repeat(MAX_POLICY_BYTES), build(0));
    assert!(matches!(
        Policy::parse(&padded, PolicyKind::Identity),
        Err(PolicyError::TooLarge { .. })
    ));
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let json = format!(r#"{{"Statement":{deep}}}"#);
    match Policy::parse(&json, PolicyKind::Key) {
        Err(PolicyError::Malformed(m)) => assert!(m.contains("Syntax errors in policy"), "{m}"),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn error_messages_display_as_the_message() {
    let err = Policy::parse("{}", PolicyKind::Key).expect_err("no Statement");
    assert_eq!(err.to_string(), "Missing required field Statement");
    let big = PolicyError::TooLarge {
        size: 40_000,
        limit: MAX_POLICY_BYTES,
    };
    assert_eq!(
        big.to_string(),
        "policy document is 40000 bytes; the limit is 32768 bytes"
    );
}

#[test]
fn accessors() {
    let p = parse(
        r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[
            {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#,
        PolicyKind::Key,
    );
    assert_eq!(p.kind(), PolicyKind::Key);
    assert_eq!(p.version(), PolicyVersion::V2012_10_17);
    assert_eq!(p.version().as_str(), "2012-10-17");
    assert_eq!(p.id(), Some("key-default-1"));
    assert_eq!(p.statement_count(), 2);
    assert_eq!(p.sid(0), Some("Enable IAM User Permissions"));
    assert_eq!(p.sid(1), None);
    assert_eq!(p.sid(2), None);

    let old = parse(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        PolicyKind::Key,
    );
    assert_eq!(old.version(), PolicyVersion::V2008_10_17);
    assert_eq!(old.id(), None);
}

#[test]
fn named_principals_lists_everything_but_star() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","arn:aws:iam::111122223333:role/Ops"]},"Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"},
            {"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"kms:Encrypt","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:sts::111122223333:assumed-role/Ops/alice"},"Action":"kms:Decrypt","Resource":"*"}]}"#,
        PolicyKind::Key,
    );
    let named: Vec<NamedPrincipal<'_>> = p.named_principals().collect();
    assert_eq!(
        named,
        vec![
            NamedPrincipal::Account("111122223333"),
            NamedPrincipal::Account("444455556666"),
            NamedPrincipal::Arn("arn:aws:iam::111122223333:role/Ops"),
            NamedPrincipal::Service("logs.amazonaws.com"),
            NamedPrincipal::Federated("cognito-identity.amazonaws.com"),
            NamedPrincipal::CanonicalUser(
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
            ),
            NamedPrincipal::Arn("arn:aws:sts::111122223333:assumed-role/Ops/alice"),
        ]
    );
    let identity = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#,
        PolicyKind::Identity,
    );
    assert_eq!(identity.named_principals().count(), 0);
}

#[test]
fn principals_from_arns() {
    let root = RequestPrincipal::from_arn("arn:aws:iam::111122223333:root").expect("root");
    assert_eq!(root.kind, PrincipalKind::Root);
    assert_eq!(root, RequestPrincipal::root("111122223333"));
    let u =
        RequestPrincipal::from_arn("arn:aws:iam::111122223333:user/division/alice").expect("user");
    assert_eq!(
        (u.kind.clone(), u.account.as_str()),
        (PrincipalKind::User, "111122223333")
    );
    let r = RequestPrincipal::from_arn("arn:aws:iam::111122223333:role/Ops").expect("role");
    assert_eq!(r.kind, PrincipalKind::Role);
    let s = RequestPrincipal::from_arn("arn:aws-cn:sts::111122223333:assumed-role/Ops/alice")
        .expect("session");
    assert_eq!(
        s.kind,
        PrincipalKind::AssumedRole {
            role_arn: "arn:aws-cn:iam::111122223333:role/Ops".into()
        }
    );
    for bad in [
        "arn:aws:iam::11112222333:user/x",
        "arn:aws:s3:::bucket",
        "arn:aws:sts::111122223333:assumed-role/Ops",
        "arn:aws:iam::111122223333:group/admins",
        "111122223333",
        "",
    ] {
        assert_eq!(RequestPrincipal::from_arn(bad), None, "{bad}");
    }
    let svc = RequestPrincipal::service("logs.amazonaws.com");
    assert_eq!(
        (svc.kind, svc.account.as_str()),
        (PrincipalKind::Service, "")
    );
}

#[test]
fn condition_keys_are_case_insensitive_and_replaceable() {
    let mut keys = ConditionKeys::new();
    assert!(keys.is_empty());
    assert_eq!(
        keys.insert("kms:ViaService", "s3.us-east-1.amazonaws.com"),
        None
    );
    assert_eq!(
        keys.get("KMS:VIASERVICE"),
        Some(&ContextValues::One(ContextValue::String(
            "s3.us-east-1.amazonaws.com".into()
        )))
    );
    assert!(
        keys.insert("kms:viaservice", "ec2.us-east-1.amazonaws.com")
            .is_some()
    );
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        ["kms:viaservice"]
    );
    assert!(keys.remove("Kms:ViaService").is_some());
    assert!(keys.is_empty());
}

#[test]
fn context_value_conversions() {
    let ip: IpAddr = "192.0.2.1".parse().expect("an ip");
    assert_eq!(
        ContextValues::from(ip),
        ContextValues::One(ContextValue::Ip(ip))
    );
    assert_eq!(
        ContextValues::from(true),
        ContextValues::One(ContextValue::Bool(true))
    );
    assert_eq!(
        ContextValues::from(7_i64),
        ContextValues::One(ContextValue::Integer(7))
    );
    assert_eq!(
        ContextValues::from(vec!["a", "b"]),
        ContextValues::Many(vec![
            ContextValue::String("a".into()),
            ContextValue::String("b".into())
        ])
    );
    assert_eq!(
        ContextValues::from(at_epoch(5)),
        ContextValues::One(ContextValue::Time(at_epoch(5)))
    );
}

#[test]
fn explicit_keys_override_derived_ones() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalType":"User","aws:username":"alice","aws:PrincipalAccount":"111122223333"},
                         "Bool":{"aws:PrincipalIsAWSService":"false"}}}}"#,
        PolicyKind::Identity,
    );
    let ctx = RequestContext::new(user("alice"), "kms:Encrypt", KEY_ARN);
    assert_eq!(p.evaluate(&ctx).decision, Decision::Allow);
    let overridden = ctx.clone().with_key("aws:username", "mallory");
    assert_eq!(p.evaluate(&overridden).decision, Decision::NotApplicable);
    let root = RequestContext::new(
        RequestPrincipal::root("111122223333"),
        "kms:Encrypt",
        KEY_ARN,
    );
    assert_eq!(p.evaluate(&root).decision, Decision::NotApplicable);
}

#[test]
fn service_principals_derive_their_own_keys() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
            "Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"},"StringEquals":{"aws:PrincipalServiceName":"cloudtrail.amazonaws.com"},"Null":{"aws:PrincipalAccount":"true"}}}}"#,
        PolicyKind::Key,
    );
    let svc = RequestContext::new(
        RequestPrincipal::service("cloudtrail.amazonaws.com"),
        "kms:GenerateDataKey",
        KEY_ARN,
    );
    assert_eq!(p.evaluate(&svc).decision, Decision::Allow);
    let person = RequestContext::new(user("alice"), "kms:GenerateDataKey", KEY_ARN);
    assert_eq!(p.evaluate(&person).decision, Decision::NotApplicable);
}

#[test]
fn evaluation_reports_every_statement() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
            {"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"},
            {"Sid":"ViaS3","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-west-2.amazonaws.com"}}},
            {"Sid":"Admin","Effect":"Allow","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"},
            {"Sid":"OtherKey","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-west-2:111122223333:key/other"},
            {"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#,
        PolicyKind::Key,
    );
    let ctx = RequestContext::new(user("alice"), "kms:Decrypt", KEY_ARN);
    let eval = p.evaluate(&ctx);
    assert_eq!(eval.decision, Decision::NotApplicable);
    assert_eq!(eval.deciding, None);
    let delegation = eval.account_delegation.expect("delegated to the account");
    assert_eq!((delegation.index, delegation.sid), (0, Some("Root")));
    assert_eq!(delegation.effect, Effect::Allow);
    let outcomes: Vec<Outcome<'_>> = eval.statements.iter().map(|s| s.outcome).collect();
    assert_eq!(outcomes.len(), 6);
    assert_eq!(outcomes[0], Outcome::DelegatedToAccount);
    assert_eq!(outcomes[1], Outcome::NotMatched(Mismatch::Principal));
    match outcomes[2] {
        Outcome::NotMatched(Mismatch::Condition(c)) => {
            assert_eq!(
                (c.operator, c.key, c.key_present),
                ("StringEquals", "kms:ViaService", false)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(outcomes[3], Outcome::NotMatched(Mismatch::Action));
    assert_eq!(outcomes[4], Outcome::NotMatched(Mismatch::Resource));
    assert_eq!(outcomes[5], Outcome::NotMatched(Mismatch::Action));
    assert_eq!(p.account_delegation(&ctx), Some(delegation));

    let expected = "decision: not applicable; delegated to the caller's account by Statement[0] (Sid \"Root\")
Statement[0] (Sid \"Root\") (Allow): applies to the caller's account (delegation to IAM)
Statement[1] (Sid \"Bob\") (Allow): does not apply: the principal does not match
Statement[2] (Sid \"ViaS3\") (Allow): does not apply: condition StringEquals on kms:ViaService is not satisfied (kms:ViaService is absent from the request)
Statement[3] (Sid \"Admin\") (Allow): does not apply: the action does not match
Statement[4] (Sid \"OtherKey\") (Allow): does not apply: the resource does not match
Statement[5] (Sid \"NoDelete\") (Deny): does not apply: the action does not match";
    assert_eq!(eval.to_string(), expected);

    let with_key = ctx.with_key("kms:ViaService", "s3.us-west-2.amazonaws.com");
    let eval = p.evaluate(&with_key);
    assert_eq!(eval.decision, Decision::Allow);
    assert_eq!(eval.deciding.map(|d| d.index), Some(2));

    let delete = RequestContext::new(user("bob"), "kms:ScheduleKeyDeletion", KEY_ARN);
    let eval = p.evaluate(&delete);
    assert_eq!(eval.decision, Decision::ExplicitDeny);
    assert_eq!(eval.deciding.and_then(|d| d.sid), Some("NoDelete"));
    assert!(
        eval.to_string()
            .starts_with("decision: explicit deny by Statement[5] (Sid \"NoDelete\")")
    );
}

#[test]
fn encryption_context_helper_sets_both_keys() {
    let mut ctx = RequestContext::new(user("alice"), "kms:Encrypt", KEY_ARN);
    ctx.set_encryption_context([("AppName", "ExampleApp"), ("Stage", "Test")]);
    assert_eq!(
        ctx.keys.get("kms:encryptioncontext:appname"),
        Some(&ContextValues::One(ContextValue::String(
            "ExampleApp".into()
        )))
    );
    assert_eq!(
        ctx.keys.get("kms:EncryptionContextKeys"),
        Some(&ContextValues::from(vec!["AppName", "Stage"]))
    );
    let mut empty = RequestContext::new(user("alice"), "kms:Encrypt", KEY_ARN);
    empty.set_encryption_context(std::iter::empty::<(&str, &str)>());
    assert!(empty.keys.is_empty());
}

#[test]
fn policies_are_reusable_and_evaluation_is_deterministic() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}"#,
        PolicyKind::Key,
    );
    let clone = p.clone();
    assert_eq!(p, clone);
    let ctx = RequestContext::new(user("alice"), "kms:Encrypt", KEY_ARN)
        .with_key("aws:SourceIp", "10.2.3.4".parse::<IpAddr>().expect("an ip"))
        .with_key("aws:CurrentTime", at_epoch(1_800_000_000));
    let first = p.evaluate(&ctx);
    for _ in 0..100 {
        assert_eq!(clone.evaluate(&ctx), first);
    }
    assert_eq!(first.decision, Decision::Allow);
    let late = ctx.with_key("aws:CurrentTime", at_epoch(1_900_000_000));
    assert_eq!(p.evaluate(&late).decision, Decision::NotApplicable);
}

#[test]
fn hostile_request_values_never_panic() {
    let p = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/${aws:PrincipalTag/k}*",
            "Condition":{"StringLike":{"aws:RequestTag/x":"*a*b*c*d*e*"},"NumericLessThan":{"aws:MultiFactorAuthAge":"1"},
                         "DateLessThan":{"aws:CurrentTime":"2030-01-01"},"IpAddress":{"aws:SourceIp":"::/0"},
                         "ArnLike":{"aws:SourceArn":"arn:*:*:*:*:*"},"BinaryEquals":{"kms:B":"AAAA"},"Bool":{"aws:SecureTransport":"true"}}}}"#,
        PolicyKind::Key,
    );
    let weird = [
        "",
        ":",
        "::::::",
        "${",
        "\u{0}",
        "ß\u{301}é",
        "-",
        "+",
        ".",
        "1e999999",
        "99999999999999999999999999999999999999999.9",
        "9999-99-99T99:99:99Z",
        "2024-01-01T00:00:00+99:99",
        "::ffff:",
        "=",
        "====",
    ];
    for w in weird {
        let long = w.repeat(200);
        for value in [w, long.as_str()] {
            let ctx = RequestContext::new(user("alice"), value, value)
                .with_key("aws:RequestTag/x", value)
                .with_key("aws:MultiFactorAuthAge", value)
                .with_key("aws:CurrentTime", value)
                .with_key("aws:SourceIp", value)
                .with_key("aws:SourceArn", value)
                .with_key("kms:B", value)
                .with_key("aws:SecureTransport", value);
            let mut tagged = ctx.clone();
            tagged.principal = tagged.principal.with_tag("k", value);
            assert_eq!(p.evaluate(&ctx).decision, Decision::NotApplicable);
            assert_eq!(p.evaluate(&tagged).decision, Decision::NotApplicable);
        }
    }
}
