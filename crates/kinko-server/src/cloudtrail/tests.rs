//! Unit tests of LookupEvents' validation, tokens and responses.

use kinko_api::{self as wire, ErrorCode};
use kinko_core::{AuditCursor, AuditFilter, Caller};

use super::MODEL_OPERATIONS;
use super::request::*;
use super::response::*;
use super::token::*;

fn caller(account: &str) -> Caller {
    let account = kinko_core::AccountId::parse(account).expect("an account id");
    Caller::new(
        account.clone(),
        kinko_core::Region::parse("us-east-1").expect("a region"),
        kinko_core::Principal::Root { account },
    )
}

#[test]
fn user_names_are_the_last_segment_of_the_principal() {
    assert_eq!(user_name("arn:aws:iam::111122223333:root"), "root");
    assert_eq!(user_name("arn:aws:iam::111122223333:user/alice"), "alice");
    assert_eq!(
        user_name("arn:aws:iam::111122223333:user/division/team/bob"),
        "bob"
    );
}

#[test]
fn time_bounds_compare_whole_seconds_and_reject_inverted_ranges() {
    assert_eq!(
        time_bounds(Some(10.0), Some(12.0)).expect("a range"),
        (Some(10_000), Some(12_999))
    );
    assert_eq!(
        time_bounds(Some(10.2), Some(12.7)).expect("a range"),
        (Some(11_000), Some(12_999))
    );
    assert_eq!(time_bounds(None, None).expect("no range"), (None, None));
    let e = time_bounds(Some(13.0), Some(12.0)).expect_err("inverted");
    assert_eq!(e.code, ErrorCode::InvalidTimeRangeException);
    assert_eq!(
        time_bounds(Some(12.0), Some(12.0)).expect("a point"),
        (Some(12_000), Some(12_999))
    );
}

#[test]
fn tokens_round_trip_and_bind_to_the_query() {
    let me = caller("111122223333");
    let fp = fingerprint(
        &me,
        Some(&Attribute::EventName("Encrypt".into())),
        None,
        None,
    );
    let cursor: AuditCursor = (1_767_225_600_123, "node-1".into(), 42);
    let token = encode_token(&fp, &cursor);
    assert_eq!(decode_token(&token, &fp).expect("valid"), cursor);

    let other_query = fingerprint(
        &me,
        Some(&Attribute::EventName("Decrypt".into())),
        None,
        None,
    );
    let other_account = fingerprint(
        &caller("444455556666"),
        Some(&Attribute::EventName("Encrypt".into())),
        None,
        None,
    );
    let other_time = fingerprint(
        &me,
        Some(&Attribute::EventName("Encrypt".into())),
        Some(1.0),
        None,
    );
    for fp2 in [other_query, other_account, other_time] {
        assert_ne!(fp2, fp);
        let e = decode_token(&token, &fp2).expect_err("another query");
        assert_eq!(e.code, ErrorCode::InvalidNextTokenException);
    }
    for bad in ["", "not a token!", "Y3Qx", &token[..token.len() - 3]] {
        let e = decode_token(bad, &fp).expect_err(bad);
        assert_eq!(e.code, ErrorCode::InvalidNextTokenException, "{bad:?}");
    }
}

#[test]
fn attributes_are_validated() {
    let one = |k: &str, v: &str| {
        Some(vec![wire::LookupAttribute {
            attribute_key: Some(k.into()),
            attribute_value: Some(v.into()),
        }])
    };
    assert_eq!(
        attribute(one("ReadOnly", "TRUE")).expect("ok"),
        Some(Attribute::ReadOnly(true))
    );
    assert_eq!(attribute(None).expect("ok"), None);
    assert_eq!(attribute(Some(vec![])).expect("ok"), None);
    let bad = [
        one("ReadOnly", "yes"),
        one("Colour", "blue"),
        one("EventName", ""),
        one("EventName", &"x".repeat(2001)),
        Some(vec![wire::LookupAttribute::default()]),
        Some(vec![
            one("EventName", "Encrypt").unwrap_or_default().remove(0),
            one("EventName", "Decrypt").unwrap_or_default().remove(0),
        ]),
    ];
    for b in bad {
        let e = attribute(b).expect_err("invalid");
        assert_eq!(e.code, ErrorCode::InvalidLookupAttributesException);
    }
}

#[test]
fn resource_names_are_key_ids_or_key_arns() {
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{id}");
    assert_eq!(
        resource_key_id(id).map(|k| k.to_string()).as_deref(),
        Some(id)
    );
    assert_eq!(
        resource_key_id(&arn).map(|k| k.to_string()).as_deref(),
        Some(id)
    );
    assert!(resource_key_id("alias/mine").is_none());
    assert!(resource_key_id("bucket-name").is_none());
    let mut f = AuditFilter::default();
    assert!(!Attribute::ResourceName("alias/mine".into()).push_down(&mut f));
    assert!(!Attribute::ResourceType("AWS::S3::Bucket".into()).push_down(&mut f));
    assert_eq!(f, AuditFilter::default());
    assert!(Attribute::ResourceType(KEY_RESOURCE_TYPE.into()).push_down(&mut f));
    assert_eq!(
        f,
        AuditFilter {
            names_a_key: true,
            ..AuditFilter::default()
        }
    );
}

#[test]
fn every_error_is_a_client_fault() {
    for code in [
        ErrorCode::InvalidLookupAttributesException,
        ErrorCode::InvalidTimeRangeException,
        ErrorCode::InvalidMaxResultsException,
        ErrorCode::InvalidNextTokenException,
        ErrorCode::InvalidEventCategoryException,
    ] {
        assert_eq!(code.status(), 400, "{code:?}");
    }
    assert!(MODEL_OPERATIONS.contains(&"LookupEvents"));
    assert_eq!(MODEL_OPERATIONS.len(), 60);
}
