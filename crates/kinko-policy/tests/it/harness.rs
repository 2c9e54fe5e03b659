//! Runs the table-driven cases in `tests/data/*.json`.
//!
//! A data file is `{"defaults": {"kind": .., "ctx": ..}, "cases": [..]}`. Each case gives a policy
//! in one of four forms (`policy`: the whole document, as JSON or as a raw string; `statements`: a
//! list of statements; `statement`: one statement; `condition`: one Condition element, wrapped in
//! an `Allow` for everyone on everything) and then either `error` (a fragment of the expected
//! parse error; `"TooLarge"` for the size limit) or `checks`. A check merges its `ctx` over the
//! case's and the file's, and expects a decision (`expect`: Allow, Deny, NotApplicable; or
//! `holds`: true = Allow, false = NotApplicable), optionally `delegated` (whether the policy
//! delegates to the caller's account), `deciding` (the Sid that decided) and `why` (a fragment
//! of the explanation text).
//!
//! Context JSON: `principal` (an ARN, `{"service": name}` or `{"root": account}`), `tags`,
//! `action`, `resource`, `ec` (an encryption context) and `keys`: strings, booleans and integers
//! map to the same context types, a list is a multivalued key, `{"ip": ..}`, `{"epoch": secs}` (a
//! `SystemTime`) and `{"binary": base64}` are typed values, and `null` removes an inherited key.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kinko_policy::{
    ContextValue, ContextValues, Decision, Policy, PolicyError, PolicyKind, RequestContext,
    RequestPrincipal,
};
use serde_json::{Map, Value, json};

/// The result of running one file: how many cases ran and what failed.
#[derive(Debug, Default)]
pub struct Tally {
    pub cases: usize,
    pub failures: Vec<String>,
}

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Every data file, sorted by name.
pub fn data_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .expect("read tests/data")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

pub fn merge(base: &Value, over: &Value) -> Value {
    let (Some(base), Some(over)) = (base.as_object(), over.as_object()) else {
        return if over.is_null() {
            base.clone()
        } else {
            over.clone()
        };
    };
    let mut out = base.clone();
    for (k, v) in over {
        let merged = match (k.as_str(), out.get(k)) {
            ("keys" | "tags" | "ec", Some(Value::Object(inner))) => {
                let mut inner = inner.clone();
                for (ik, iv) in v.as_object().into_iter().flatten() {
                    inner.insert(ik.clone(), iv.clone());
                }
                Value::Object(inner)
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

fn kind_of(v: Option<&Value>) -> Result<PolicyKind, String> {
    match v.and_then(Value::as_str).unwrap_or("key") {
        "key" => Ok(PolicyKind::Key),
        "identity" => Ok(PolicyKind::Identity),
        "trust" => Ok(PolicyKind::Trust),
        other => Err(format!("unknown kind {other}")),
    }
}

pub fn policy_text(case: &Map<String, Value>) -> Result<String, String> {
    let doc = if let Some(p) = case.get("policy") {
        return Ok(match p {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        });
    } else if let Some(s) = case.get("statements") {
        json!({"Version": "2012-10-17", "Statement": s})
    } else if let Some(s) = case.get("statement") {
        json!({"Version": "2012-10-17", "Statement": [s]})
    } else if let Some(c) = case.get("condition") {
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Probe", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": c
        }]})
    } else {
        return Err("case has no policy, statements, statement or condition".into());
    };
    Ok(doc.to_string())
}

fn context_value(v: &Value) -> Result<ContextValue, String> {
    Ok(match v {
        Value::String(s) => ContextValue::String(s.clone()),
        Value::Bool(b) => ContextValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ContextValue::Integer(i),
            None => ContextValue::String(n.to_string()),
        },
        Value::Object(o) => {
            if let Some(ip) = o.get("ip").and_then(Value::as_str) {
                ContextValue::Ip(ip.parse().map_err(|e| format!("bad ip {ip}: {e}"))?)
            } else if let Some(secs) = o.get("epoch").and_then(Value::as_i64) {
                let t = if secs >= 0 {
                    UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
                } else {
                    UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                };
                ContextValue::Time(t)
            } else if let Some(b64) = o.get("binary").and_then(Value::as_str) {
                ContextValue::Binary(decode_base64(b64)?)
            } else {
                return Err(format!("unknown typed value {v}"));
            }
        }
        other => return Err(format!("unsupported context value {other}")),
    })
}

fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|c| *c == b)
            .ok_or_else(|| format!("bad base64 {s}"))?;
        acc = (acc << 6) | u32::try_from(v).map_err(|e| e.to_string())?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

pub fn build_context(spec: &Value) -> Result<RequestContext, String> {
    let principal = match spec.get("principal") {
        Some(Value::String(arn)) => {
            RequestPrincipal::from_arn(arn).ok_or_else(|| format!("unreadable principal {arn}"))?
        }
        Some(Value::Object(o)) => {
            if let Some(name) = o.get("service").and_then(Value::as_str) {
                RequestPrincipal::service(name)
            } else if let Some(account) = o.get("root").and_then(Value::as_str) {
                RequestPrincipal::root(account)
            } else {
                return Err(format!("unknown principal form {o:?}"));
            }
        }
        other => return Err(format!("context needs a principal, got {other:?}")),
    };
    let mut principal = principal;
    for (k, v) in spec
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        principal = principal.with_tag(k, v.as_str().unwrap_or_default());
    }
    let action = spec
        .get("action")
        .and_then(Value::as_str)
        .ok_or("context needs an action")?;
    let resource = spec
        .get("resource")
        .and_then(Value::as_str)
        .ok_or("context needs a resource")?;
    let mut ctx = RequestContext::new(principal, action, resource);
    if let Some(ec) = spec.get("ec").and_then(Value::as_object) {
        ctx.set_encryption_context(
            ec.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
        );
    }
    for (k, v) in spec
        .get("keys")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match v {
            Value::Null => {}
            Value::Array(items) => {
                let values = items
                    .iter()
                    .map(context_value)
                    .collect::<Result<Vec<_>, _>>()?;
                ctx.keys.insert(k, ContextValues::Many(values));
            }
            other => {
                ctx.keys
                    .insert(k, ContextValues::One(context_value(other)?));
            }
        }
    }
    Ok(ctx)
}

fn check_case(
    defaults: &Value,
    case: &Map<String, Value>,
    tally: &mut Tally,
) -> Result<(), String> {
    let kind = kind_of(case.get("kind").or_else(|| defaults.get("kind")))?;
    let text = policy_text(case)?;
    let parsed = Policy::parse(&text, kind);

    if let Some(expected) = case.get("error") {
        tally.cases += 1;
        let fragment = expected.as_str().unwrap_or_default();
        return match (&parsed, fragment) {
            (Err(PolicyError::TooLarge { .. }), "TooLarge") => Ok(()),
            (Err(PolicyError::Malformed(message)), fragment) if message.contains(fragment) => {
                Ok(())
            }
            (Err(other), _) => Err(format!(
                "expected an error containing {fragment:?}, got {other:?}"
            )),
            (Ok(_), _) => Err(format!(
                "expected an error containing {fragment:?}, but the policy parsed"
            )),
        };
    }

    let policy = parsed.map_err(|e| format!("policy does not parse: {e}"))?;
    let checks = case
        .get("checks")
        .and_then(Value::as_array)
        .ok_or("case has neither error nor checks")?;
    let base = merge(
        defaults.get("ctx").unwrap_or(&Value::Null),
        case.get("ctx").unwrap_or(&Value::Null),
    );
    let mut problems = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        tally.cases += 1;
        let label = check
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("check {i}"), str::to_owned);
        let ctx = match build_context(&merge(&base, check.get("ctx").unwrap_or(&Value::Null))) {
            Ok(ctx) => ctx,
            Err(e) => {
                problems.push(format!("{label}: bad context: {e}"));
                continue;
            }
        };
        let eval = policy.evaluate(&ctx);
        // The request path's short form decides the same, with the same delegation (which
        // only matters when nothing denies).
        let (decision, delegated) = policy.decide(&ctx);
        if decision != eval.decision
            || (decision != Decision::ExplicitDeny
                && delegated != eval.account_delegation.is_some())
        {
            problems.push(format!(
                "{label}: decide() says {decision:?} (delegated {delegated}), evaluate() {:?}\n{eval}",
                eval.decision
            ));
        }
        let expected = match (check.get("expect"), check.get("holds")) {
            (Some(Value::String(s)), _) => match s.as_str() {
                "Allow" => Decision::Allow,
                "Deny" => Decision::ExplicitDeny,
                "NotApplicable" => Decision::NotApplicable,
                other => {
                    problems.push(format!("{label}: unknown expectation {other}"));
                    continue;
                }
            },
            (_, Some(Value::Bool(true))) => Decision::Allow,
            (_, Some(Value::Bool(false))) => Decision::NotApplicable,
            _ => {
                problems.push(format!("{label}: no expectation"));
                continue;
            }
        };
        if eval.decision != expected {
            problems.push(format!(
                "{label}: expected {expected:?}, got {:?}\n{eval}",
                eval.decision
            ));
            continue;
        }
        if let Some(Value::Bool(want)) = check.get("delegated")
            && eval.account_delegation.is_some() != *want
        {
            problems.push(format!(
                "{label}: expected delegated={want}, got {:?}\n{eval}",
                eval.account_delegation
            ));
        }
        if let Some(Value::String(sid)) = check.get("deciding")
            && eval.deciding.and_then(|d| d.sid) != Some(sid.as_str())
        {
            problems.push(format!(
                "{label}: expected the decision from Sid {sid:?}, got {:?}",
                eval.deciding
            ));
        }
        if let Some(Value::String(why)) = check.get("why") {
            let text = eval.to_string();
            if !text.contains(why.as_str()) {
                problems.push(format!("{label}: explanation lacks {why:?}:\n{text}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Runs every case of one data file.
pub fn run_file(file: &str) -> Tally {
    let path = data_dir().join(file);
    let text = std::fs::read_to_string(&path).expect("read a data file");
    let doc: Value = serde_json::from_str(&text).expect("a data file is JSON");
    let defaults = doc.get("defaults").cloned().unwrap_or(Value::Null);
    let mut tally = Tally::default();
    for (i, case) in doc
        .get("cases")
        .and_then(Value::as_array)
        .expect("a data file has cases")
        .iter()
        .enumerate()
    {
        let Some(case) = case.as_object() else {
            tally
                .failures
                .push(format!("{file} case {i}: not an object"));
            continue;
        };
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        if let Err(e) = check_case(&defaults, case, &mut tally) {
            tally
                .failures
                .push(format!("{file} case {i} \"{name}\":\n{e}"));
        }
    }
    tally
}

/// Asserts that a file ran at least one case and that none failed.
pub fn assert_file(file: &str) {
    let tally = run_file(file);
    assert!(tally.cases > 0, "{file} has no cases");
    assert!(
        tally.failures.is_empty(),
        "{} of the cases in {file} failed:\n\n{}",
        tally.failures.len(),
        tally.failures.join("\n\n")
    );
}

/// A `SystemTime` for an epoch second, for Rust-side tests.
pub fn at_epoch(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
