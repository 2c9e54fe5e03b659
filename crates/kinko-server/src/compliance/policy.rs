//! Reads a key policy document for statements that grant too much: `Allow` to the `*` principal
//! without a `Condition`, and `kms:*` (or `*`) allowed to a principal other than an account's
//! root. Only principals and actions are quoted; a policy holds no secret.

use serde_json::Value;

/// One over-broad grant found in a key policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BroadGrant {
    /// The statement's `Sid`, or its position.
    pub statement: String,
    /// What it grants too widely, in words.
    pub what: String,
    /// True for the `*` principal without a condition (anyone may call), false for `kms:*` to
    /// a named principal that is not an account's root.
    pub everyone: bool,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The principals of a statement's `Principal` (`"*"`, `{"AWS": ...}`, other services).
fn principals(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Whether `p` names an account's root: `arn:aws:iam::123456789012:root` or a bare account id.
fn is_root(p: &str) -> bool {
    (p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()))
        || (p.starts_with("arn:") && p.ends_with(":root"))
}

/// The over-broad grants of `document`; an unreadable document yields none (the service
/// refused it when it was put).
pub(crate) fn broad_grants(document: &str) -> Vec<BroadGrant> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if s["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let name = s["Sid"]
            .as_str()
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("statement {}", i + 1));
        let who = principals(&s["Principal"]);
        let actions = strings(&s["Action"]);
        let conditioned = s["Condition"].as_object().is_some_and(|m| !m.is_empty());
        if who.iter().any(|p| p == "*") && !conditioned {
            out.push(BroadGrant {
                statement: name.clone(),
                what: format!(
                    "allows {} to the principal \"*\" without a condition",
                    actions.join(", ")
                ),
                everyone: true,
            });
            continue;
        }
        let all = actions.iter().any(|a| a == "kms:*" || a == "*");
        let named: Vec<&String> = who.iter().filter(|p| *p != "*" && !is_root(p)).collect();
        if all && !named.is_empty() {
            out.push(BroadGrant {
                statement: name,
                what: format!(
                    "allows kms:* to {}",
                    named
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                everyone: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_grants_nothing_too_broad() {
        let p = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
        assert!(broad_grants(p).is_empty());
    }

    #[test]
    fn star_principals_without_conditions_and_kms_star_to_users_are_found() {
        let p = r#"{"Statement":[
            {"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}},
            {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/bob","111122223333"]},"Action":["kms:*"],"Resource":"*"},
            {"Sid":"Deny","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;
        let found = broad_grants(p);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].everyone && found[0].statement == "Open");
        assert!(!found[1].everyone && found[1].what.contains("user/bob"));
        assert!(!found[1].what.contains(":root"));
    }
}
