//! Policy documents (KMS key policies, IAM identity policies, trust policies): parsed, then
//! evaluated against an arbitrary request context.

use kinko_policy::{
    ContextValue, ContextValues, Policy, PolicyKind, RequestContext, RequestPrincipal,
};

/// Parses a policy and evaluates it against a request context.
///
/// Input: the kind (`K`, `I` or `T`), the document, then after a `\0` line the context as
/// lines: principal ARN, action, resource, then `key=value` condition keys (`key=a|b` for many
/// values; `@N` is a time, N seconds after the epoch).
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut chars = text.chars();
    let kind = match chars.next() {
        Some('K') => PolicyKind::Key,
        Some('I') => PolicyKind::Identity,
        Some('T') => PolicyKind::Trust,
        _ => return,
    };
    let rest = chars.as_str();
    let (document, context) = rest.split_once("\n\0\n").unwrap_or((rest, ""));
    let Ok(policy) = Policy::parse(document, kind) else {
        return;
    };
    let _ = policy.read_keys().count();
    let _ = policy.named_principals().count();
    let mut lines = context.lines();
    let arn = lines
        .next()
        .unwrap_or("arn:aws:iam::111122223333:user/alice");
    let principal = RequestPrincipal::from_arn(arn)
        .unwrap_or_else(|| RequestPrincipal::root("111122223333"))
        .with_tag("team", "blue");
    let action = lines.next().unwrap_or("kms:Encrypt");
    let resource = lines.next().unwrap_or("*");
    let mut ctx = RequestContext::new(principal, action, resource);
    for line in lines {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let values: Vec<ContextValue> = value.split('|').map(condition_value).collect();
        let values = match <[ContextValue; 1]>::try_from(values) {
            Ok([one]) => ContextValues::One(one),
            Err(many) => ContextValues::Many(many),
        };
        ctx.keys.insert(key, values);
    }
    let _ = policy.evaluate(&ctx);
    let _ = policy.decide(&ctx);
    let _ = policy.account_delegation(&ctx);
}

/// A context value of the type its text suggests, so that every condition operator family meets
/// values of its own type and of others.
fn condition_value(text: &str) -> ContextValue {
    if let Ok(b) = text.parse::<bool>() {
        ContextValue::Bool(b)
    } else if let Ok(n) = text.parse::<i64>() {
        ContextValue::Integer(n)
    } else if let Ok(ip) = text.parse() {
        ContextValue::Ip(ip)
    } else if let Some(secs) = text.strip_prefix('@').and_then(|s| s.parse::<u32>().ok()) {
        ContextValue::Time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.into()))
    } else {
        ContextValue::String(text.to_owned())
    }
}
