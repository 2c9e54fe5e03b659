//! A differential oracle: the condition-operator cases of `tests/data` are also evaluated with
//! the `iam-rs` crate (pinned at 0.8.0), and the two engines must agree on whether the request
//! is allowed, except for the divergences listed in `KNOWN_DIVERGENCES`, each with the reason we
//! believe Kinko follows AWS there. A new divergence fails the test, so a change in either engine
//! is looked at by a person.
//!
//! Only cases written with the `condition` shortcut (an `Allow` for `*` on `*` with one Condition
//! element) are compared, and only when they do not depend on condition keys that Kinko derives
//! from the principal (`aws:PrincipalArn`, `aws:username`, `aws:PrincipalTag/...`), which iam-rs
//! does not derive.

use std::collections::HashMap;

use iam_rs::{Arn, Context, IAMPolicy, IAMRequest, Principal, PrincipalId};
use kinko_policy::{Decision, Policy, PolicyKind};
use serde_json::Value;

use crate::harness::{build_context, data_dir, merge, policy_text};

/// `(file, case name, check index)` of checks where iam-rs 0.8.0 and Kinko disagree, and why.
const KNOWN_DIVERGENCES: &[(&str, &str, usize, &str)] = &[
    (
        "operators_string.json",
        "multivalued key without a set operator: negated operators need no matching value",
        0,
        "AWS documents no semantics for a multivalued key without a set operator; Kinko makes a negated operator the negation of its positive form (no value may match), iam-rs is satisfied by one non-matching value",
    ),
    (
        "operators_string.json",
        "an empty multivalued key is absent",
        1,
        "AWS treats an empty multivalued key like a missing one (see the Null guidance for ForAllValues); iam-rs treats it as present, so ...IfExists does not apply",
    ),
    (
        "operators_numeric_date.json",
        "numbers compare exactly, beyond the precision of a double",
        1,
        "Kinko compares decimals exactly; iam-rs converts to f64, where 2^53 + 1 equals 2^53",
    ),
    (
        "operators_numeric_date.json",
        "DateLessThanEquals and DateGreaterThanEquals bound a window",
        2,
        "a date-only request value (2024-01-15) is a W3C ISO 8601 form, which AWS accepts; iam-rs parses only full timestamps",
    ),
    (
        "operators_other.json",
        "Bool with a string policy value",
        2,
        "Kinko reads true/false in any letter case; iam-rs only lower case",
    ),
    (
        "operators_other.json",
        "IpAddress with an IPv4 range",
        4,
        "Kinko reads an IPv4-mapped IPv6 request address as the IPv4 address it carries; iam-rs does not",
    ),
    (
        "operators_other.json",
        "ArnEquals is case-sensitive and also takes wildcards",
        2,
        "the IAM reference describes ArnEquals and ArnLike identically (wildcards allowed in each part); iam-rs treats ArnEquals as exact",
    ),
    (
        "operators_other.json",
        "Null false: the key must be present",
        2,
        "AWS: Null false guards against missing keys and keys with empty values; iam-rs counts an empty list as present",
    ),
    (
        "operators_other.json",
        "Null with both values is always true; key names are case-insensitive",
        1,
        "condition key names are case-insensitive in AWS; iam-rs looks them up exactly",
    ),
];

/// An epoch second as `YYYY-MM-DDThh:mm:ssZ` text, the form iam-rs reads for date operators
/// (this crate does not depend on chrono, which iam-rs uses for its `DateTime` values).
fn epoch_to_iso(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn iam_context(spec: &Value) -> Option<Context> {
    let mut ctx = Context::new();
    if let Some(ec) = spec.get("ec").and_then(Value::as_object) {
        let mut names = Vec::new();
        for (k, v) in ec {
            ctx.insert(
                format!("kms:EncryptionContext:{k}"),
                iam_rs::ContextValue::String(v.as_str()?.to_owned()),
            );
            names.push(k.clone());
        }
        ctx.insert(
            "kms:EncryptionContextKeys".to_owned(),
            iam_rs::ContextValue::StringList(names),
        );
    }
    for (k, v) in spec
        .get("keys")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let value = match v {
            Value::Null => continue,
            Value::String(s) => iam_rs::ContextValue::String(s.clone()),
            Value::Bool(b) => iam_rs::ContextValue::Boolean(*b),
            Value::Number(n) => iam_rs::ContextValue::Number(n.as_f64()?),
            Value::Array(items) => iam_rs::ContextValue::StringList(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Value::Object(o) => {
                if let Some(ip) = o.get("ip").and_then(Value::as_str) {
                    iam_rs::ContextValue::String(ip.to_owned())
                } else if let Some(secs) = o.get("epoch").and_then(Value::as_i64) {
                    iam_rs::ContextValue::String(epoch_to_iso(secs))
                } else {
                    return None;
                }
            }
        };
        ctx.insert(k.clone(), value);
    }
    Some(ctx)
}

fn iam_allows(policy_json: &str, spec: &Value) -> Result<bool, String> {
    let policy = IAMPolicy::from_json(policy_json).map_err(|e| format!("iam-rs parse: {e}"))?;
    let principal = spec
        .get("principal")
        .and_then(Value::as_str)
        .ok_or("principal")?;
    let resource = spec
        .get("resource")
        .and_then(Value::as_str)
        .ok_or("resource")?;
    let action = spec.get("action").and_then(Value::as_str).ok_or("action")?;
    let context = iam_context(spec).ok_or("context not expressible in iam-rs")?;
    let request = IAMRequest {
        principal: Principal::Aws(PrincipalId::String(principal.to_owned())),
        action: action.to_owned(),
        resource: Arn::parse(resource).map_err(|e| format!("iam-rs arn: {e:?}"))?,
        context,
    };
    let decision = iam_rs::evaluate_policy(&policy, &request)
        .map_err(|e| format!("iam-rs evaluate: {e:?}"))?;
    Ok(decision == iam_rs::Decision::Allow)
}

#[test]
fn iam_rs_agrees_on_condition_operators() {
    let files = [
        "operators_string.json",
        "operators_numeric_date.json",
        "operators_other.json",
        "set_operators.json",
    ];
    let known: HashMap<(&str, &str, usize), &str> = KNOWN_DIVERGENCES
        .iter()
        .map(|(f, c, i, why)| ((*f, *c, *i), *why))
        .collect();
    let mut compared = 0usize;
    let mut unexpected = Vec::new();
    let mut seen_known: Vec<String> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(data_dir().join(file)).expect("read a data file");
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        let base = doc
            .get("defaults")
            .and_then(|d| d.get("ctx"))
            .cloned()
            .unwrap_or(Value::Null);
        for case in doc
            .get("cases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(case) = case.as_object() else {
                continue;
            };
            let Some(condition) = case.get("condition") else {
                continue;
            };
            let condition_text = condition.to_string().to_lowercase();
            if condition_text.contains("aws:principal") || condition_text.contains("aws:username") {
                continue;
            }
            let name = case.get("name").and_then(Value::as_str).unwrap_or_default();
            let policy_json = policy_text(case).expect("policy text");
            let policy = Policy::parse(&policy_json, PolicyKind::Key).expect("parses");
            let case_ctx = merge(&base, case.get("ctx").unwrap_or(&Value::Null));
            for (i, check) in case
                .get("checks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let spec = merge(&case_ctx, check.get("ctx").unwrap_or(&Value::Null));
                let ctx = build_context(&spec).expect("context");
                let kinko = policy.evaluate(&ctx).decision == Decision::Allow;
                let Ok(iam) = iam_allows(&policy_json, &spec) else {
                    continue;
                };
                compared += 1;
                match (kinko == iam, known.get(&(file, name, i))) {
                    (true, None) => {}
                    (false, Some(_)) => seen_known.push(format!("{file} {name} {i}")),
                    (false, None) => unexpected.push(format!(
                        "{file} \"{name}\" check {i}: kinko allows={kinko}, iam-rs allows={iam}"
                    )),
                    (true, Some(_)) => unexpected.push(format!(
                        "{file} \"{name}\" check {i}: listed as a divergence but the engines agree now"
                    )),
                }
            }
        }
    }
    eprintln!(
        "iam-rs oracle: {compared} checks compared, {} known divergences",
        seen_known.len()
    );
    assert!(compared >= 100, "only {compared} checks compared");
    assert!(
        unexpected.is_empty(),
        "{} unexpected differences from iam-rs:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert_eq!(
        seen_known.len(),
        KNOWN_DIVERGENCES.len(),
        "a listed divergence was not compared"
    );
}
