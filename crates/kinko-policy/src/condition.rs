//! The `Condition` element: operators, their compiled values and their evaluation.
//!
//! Semantics (IAM's, as documented):
//! - Operators in a block, and keys under one operator, are ANDed; the values listed for one key
//!   are ORed. A negated operator (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...) is true
//!   when *no* listed value matches (NOR).
//! - A key absent from the request makes a positive operator false and a negated one true.
//!   `...IfExists` makes any operator true on an absent key. `Null` tests presence itself.
//! - `ForAllValues:` is true when every request value matches (vacuously true when the key is
//!   absent or empty); `ForAnyValue:` is true when one does (false when absent or empty). With a
//!   negated operator the negation applies per request value.
//! - Without a set operator a multivalued request key matches a positive operator when any of its
//!   values matches, and a negated operator when none does.
//! - Key names are case-insensitive; values are compared case-sensitively except by the
//!   `IgnoreCase` operators. Operator names are matched case-insensitively.
//! - Policy variables are substituted in string and ARN operators only. A value whose variable
//!   has no value (and no default) matches nothing.
//! - A request value that cannot be read as the operator's type (a word for `NumericEquals`)
//!   matches no policy value.

use std::fmt;

use crate::context::{RequestContext, Val};
use crate::json::Json;
use crate::pattern::{Template, Tok, glob_match};
use crate::value::{self, Cidr, Decimal, Instant};

/// The base operators (without `IfExists` or a set prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringNotEquals", Op::StringNotEquals),
    ("StringEqualsIgnoreCase", Op::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Op::StringNotEqualsIgnoreCase),
    ("StringLike", Op::StringLike),
    ("StringNotLike", Op::StringNotLike),
    ("NumericEquals", Op::NumericEquals),
    ("NumericNotEquals", Op::NumericNotEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("DateEquals", Op::DateEquals),
    ("DateNotEquals", Op::DateNotEquals),
    ("DateLessThan", Op::DateLessThan),
    ("DateLessThanEquals", Op::DateLessThanEquals),
    ("DateGreaterThan", Op::DateGreaterThan),
    ("DateGreaterThanEquals", Op::DateGreaterThanEquals),
    ("Bool", Op::Bool),
    ("BinaryEquals", Op::BinaryEquals),
    ("IpAddress", Op::IpAddress),
    ("NotIpAddress", Op::NotIpAddress),
    ("ArnEquals", Op::ArnEquals),
    ("ArnLike", Op::ArnLike),
    ("ArnNotEquals", Op::ArnNotEquals),
    ("ArnNotLike", Op::ArnNotLike),
    ("Null", Op::Null),
];

impl Op {
    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::NumericNotEquals
                | Op::DateNotEquals
                | Op::NotIpAddress
                | Op::ArnNotEquals
                | Op::ArnNotLike
        )
    }
}

/// `ForAllValues:` or `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    ForAllValues,
    ForAnyValue,
}

/// The compiled values of one key under one operator.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// String operators (`wildcards` for the `Like` ones, `fold` for `IgnoreCase`).
    Text {
        templates: Vec<Template>,
        fold: bool,
    },
    /// ARN operators: compared segment by segment.
    Arns(Vec<Template>),
    Numbers(Vec<Decimal>),
    Instants(Vec<Instant>),
    Bools(Vec<bool>),
    Bytes(Vec<Vec<u8>>),
    Cidrs(Vec<Cidr>),
    /// `Null`: `true` means "the key must be absent".
    Null(Vec<bool>),
}

/// One `operator: { key: values }` entry, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    /// The operator as written in the policy (for explanations).
    operator: String,
    /// The key as written in the policy (for explanations).
    key: String,
    key_lower: String,
    op: Op,
    set: Option<SetOp>,
    if_exists: bool,
    values: Values,
}

impl Clause {
    /// Every lower-cased condition key the clause reads: its own key and the variables in its
    /// values.
    /// The condition key it tests, lower-cased.
    pub(crate) fn key_lower(&self) -> &str {
        &self.key_lower
    }

    pub(crate) fn reads(&self) -> impl Iterator<Item = &str> {
        let templates: &[Template] = match &self.values {
            Values::Text { templates, .. } | Values::Arns(templates) => templates,
            _ => &[],
        };
        std::iter::once(self.key_lower.as_str()).chain(templates.iter().flat_map(|t| t.variables()))
    }
}

/// Why a condition clause failed, borrowed from the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionFailure<'p> {
    /// The operator as written, e.g. `ForAnyValue:StringEquals`.
    pub operator: &'p str,
    /// The condition key as written, e.g. `kms:EncryptionContextKeys`.
    pub key: &'p str,
    /// Whether the request had a (non-empty) value for the key.
    pub key_present: bool,
}

impl fmt::Display for ConditionFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "condition {} on {} is not satisfied",
            self.operator, self.key
        )?;
        if !self.key_present {
            write!(f, " ({} is absent from the request)", self.key)?;
        }
        Ok(())
    }
}

/// Parses an operator name with its optional set prefix and `IfExists` suffix.
fn parse_operator(name: &str) -> Result<(Option<SetOp>, Op, bool), String> {
    let (set, rest) = match name.split_once(':') {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
            (Some(SetOp::ForAllValues), rest)
        }
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
            (Some(SetOp::ForAnyValue), rest)
        }
        Some((prefix, _)) => {
            return Err(format!(
                "invalid condition operator \"{name}\": unknown set operator \"{prefix}\" (expected ForAllValues or ForAnyValue)"
            ));
        }
        None => (None, name),
    };
    let lower = rest.to_ascii_lowercase();
    let (base, if_exists) = match lower.strip_suffix("ifexists") {
        Some(base) => (base, true),
        None => (lower.as_str(), false),
    };
    let op = OPERATORS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(base))
        .map(|(_, op)| *op)
        .ok_or_else(|| format!("invalid condition operator \"{name}\""))?;
    if op == Op::Null && (set.is_some() || if_exists) {
        return Err(format!(
            "invalid condition operator \"{name}\": Null takes neither a set operator nor IfExists"
        ));
    }
    Ok((set, op, if_exists))
}

fn scalars(value: &Json, what: &str) -> Result<Vec<String>, String> {
    fn scalar(v: &Json, what: &str) -> Result<String, String> {
        match v {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            other => Err(format!(
                "{what} must be a string, number or boolean, not {}",
                other.type_name()
            )),
        }
    }
    match value {
        Json::Array(items) if items.is_empty() => {
            Err(format!("{what} has an empty list of values"))
        }
        Json::Array(items) => items.iter().map(|v| scalar(v, what)).collect(),
        other => Ok(vec![scalar(other, what)?]),
    }
}

fn each<T>(
    raw: &[String],
    what: &str,
    kind: &str,
    f: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    raw.iter()
        .map(|v| f(v).ok_or_else(|| format!("{what} value \"{v}\" is not {kind}")))
        .collect()
}

/// Whether the policy kind refuses `ForAllValues` on single-valued keys that KMS singles out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverlyPermissiveCheck {
    Refuse,
    Allow,
}

impl Clause {
    /// Compiles one operator block (`{"StringEquals": {"k": "v", ...}}` → one clause per key).
    pub(crate) fn parse_block(
        operator: &str,
        block: &Json,
        variables: bool,
        check: OverlyPermissiveCheck,
    ) -> Result<Vec<Clause>, String> {
        let (set, op, if_exists) = parse_operator(operator)?;
        let Json::Object(keys) = block else {
            return Err(format!(
                "Condition operator {operator} must map condition keys to values, not {}",
                block.type_name()
            ));
        };
        let mut clauses = Vec::with_capacity(keys.len());
        for (key, value) in keys {
            let what = format!("Condition {operator} key {key}");
            match key.split_once(':') {
                Some((vendor, name)) if !vendor.is_empty() && !name.is_empty() => {}
                _ => {
                    return Err(format!(
                        "Condition key \"{key}\" must be prefaced by a vendor, e.g. aws: or kms: (Actions/Conditions must be prefaced by a vendor)"
                    ));
                }
            }
            let key_lower = key.to_lowercase();
            if check == OverlyPermissiveCheck::Refuse && set == Some(SetOp::ForAllValues) {
                if key_lower.starts_with("kms:encryptioncontext:") {
                    return Err(format!(
                        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues. (Condition {operator} key {key})"
                    ));
                }
                if key_lower.starts_with("aws:requesttag/") {
                    return Err(format!(
                        "OverlyPermissiveCondition:RequestTag: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified tag or with an unspecified tag. To fix, remove ForAllValues. (Condition {operator} key {key})"
                    ));
                }
            }
            let raw = scalars(value, &what)?;
            let values = compile_values(op, &raw, &what, variables)?;
            clauses.push(Clause {
                operator: operator.to_owned(),
                key: key.clone(),
                key_lower,
                op,
                set,
                if_exists,
                values,
            });
        }
        Ok(clauses)
    }

    /// Evaluates the clause; `Err` carries the explanation of a failure.
    pub(crate) fn check<'p>(&'p self, ctx: &RequestContext) -> Result<(), ConditionFailure<'p>> {
        let found = ctx.lookup(&self.key_lower).filter(|f| !f.is_empty());
        let holds = match (&self.values, found) {
            (Values::Null(expected), found) => {
                let absent = found.is_none();
                expected.contains(&absent)
            }
            (_, None) => {
                self.if_exists
                    || match self.set {
                        Some(SetOp::ForAllValues) => true,
                        Some(SetOp::ForAnyValue) => false,
                        None => self.op.negated(),
                    }
            }
            (_, Some(found)) => {
                let negated = self.op.negated();
                match self.set {
                    None => found.any(|v| self.positive(v, ctx)) != negated,
                    Some(SetOp::ForAllValues) => found.all(|v| self.positive(v, ctx) != negated),
                    Some(SetOp::ForAnyValue) => found.any(|v| self.positive(v, ctx) != negated),
                }
            }
        };
        if holds {
            Ok(())
        } else {
            Err(ConditionFailure {
                operator: &self.operator,
                key: &self.key,
                key_present: found.is_some(),
            })
        }
    }

    /// Whether one request value matches any policy value under the positive form of the operator.
    fn positive(&self, v: Val<'_>, ctx: &RequestContext) -> bool {
        match &self.values {
            Values::Text { templates, fold } => {
                let text = v.text();
                templates.iter().any(|t| {
                    t.resolve(|key| ctx.variable(key))
                        .is_some_and(|toks| glob_match(&toks, &text, *fold))
                })
            }
            Values::Arns(templates) => {
                let text = v.text();
                templates.iter().any(|t| {
                    t.resolve(|key| ctx.variable(key))
                        .is_some_and(|toks| arn_match(&toks, &text))
                })
            }
            Values::Numbers(policy) => v.number().is_some_and(|n| {
                policy.iter().any(|p| match self.op {
                    Op::NumericLessThan => n < *p,
                    Op::NumericLessThanEquals => n <= *p,
                    Op::NumericGreaterThan => n > *p,
                    Op::NumericGreaterThanEquals => n >= *p,
                    _ => n == *p,
                })
            }),
            Values::Instants(policy) => v.instant().is_some_and(|t| {
                policy.iter().any(|p| match self.op {
                    Op::DateLessThan => t < *p,
                    Op::DateLessThanEquals => t <= *p,
                    Op::DateGreaterThan => t > *p,
                    Op::DateGreaterThanEquals => t >= *p,
                    _ => t == *p,
                })
            }),
            Values::Bools(policy) => v.boolean().is_some_and(|b| policy.contains(&b)),
            Values::Bytes(policy) => v
                .bytes()
                .is_some_and(|b| policy.iter().any(|p| p.as_slice() == b.as_ref())),
            Values::Cidrs(policy) => v
                .ip()
                .is_some_and(|ip| policy.iter().any(|c| c.contains(ip))),
            Values::Null(_) => false,
        }
    }
}

fn compile_values(op: Op, raw: &[String], what: &str, variables: bool) -> Result<Values, String> {
    let templates = |wildcards: bool| -> Result<Vec<Template>, String> {
        raw.iter()
            .map(|v| Template::compile(v, wildcards, variables).map_err(|e| format!("{what}: {e}")))
            .collect()
    };
    Ok(match op {
        Op::StringEquals | Op::StringNotEquals => Values::Text {
            templates: templates(false)?,
            fold: false,
        },
        Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => Values::Text {
            templates: templates(false)?,
            fold: true,
        },
        Op::StringLike | Op::StringNotLike => Values::Text {
            templates: templates(true)?,
            fold: false,
        },
        Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
            Values::Arns(templates(true)?)
        }
        Op::NumericEquals
        | Op::NumericNotEquals
        | Op::NumericLessThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThan
        | Op::NumericGreaterThanEquals => {
            Values::Numbers(each(raw, what, "a number", Decimal::parse)?)
        }
        Op::DateEquals
        | Op::DateNotEquals
        | Op::DateLessThan
        | Op::DateLessThanEquals
        | Op::DateGreaterThan
        | Op::DateGreaterThanEquals => Values::Instants(each(
            raw,
            what,
            "an ISO 8601 date or epoch time",
            value::parse_instant,
        )?),
        Op::Bool => Values::Bools(each(raw, what, "true or false", value::parse_bool)?),
        Op::BinaryEquals => Values::Bytes(each(raw, what, "base64", value::base64_decode)?),
        Op::IpAddress | Op::NotIpAddress => Values::Cidrs(each(
            raw,
            what,
            "an IPv4 or IPv6 address or CIDR range",
            Cidr::parse,
        )?),
        Op::Null => Values::Null(each(raw, what, "true or false", value::parse_bool)?),
    })
}

/// ARN matching: the six colon-separated parts (`arn`, partition, service, region, account,
/// resource) are matched separately, so a wildcard never spans a colon outside the resource part.
/// A pattern with fewer than six parts is not an ARN and matches nothing, except a lone `*`,
/// which matches any value.
fn arn_match(pattern: &[Tok], text: &str) -> bool {
    let mut segments: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while segments.len() < 5 {
        match rest.iter().position(|t| *t == Tok::Lit(':')) {
            Some(i) => {
                segments.push(rest.get(..i).unwrap_or(&[]));
                rest = rest.get(i + 1..).unwrap_or(&[]);
            }
            None => break,
        }
    }
    if segments.len() < 5 {
        return pattern == [Tok::Any];
    }
    segments.push(rest);
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    parts.len() == 6
        && segments
            .iter()
            .zip(parts.iter())
            .all(|(seg, part)| glob_match(seg, part, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::compile_plain;

    #[test]
    fn operator_names() {
        assert_eq!(
            parse_operator("ForAnyValue:StringLikeIfExists"),
            Ok((Some(SetOp::ForAnyValue), Op::StringLike, true))
        );
        assert_eq!(
            parse_operator("stringequals"),
            Ok((None, Op::StringEquals, false))
        );
        assert!(parse_operator("NullIfExists").is_err());
        assert!(parse_operator("ForAllValues:Null").is_err());
        assert!(parse_operator("StringEqualz").is_err());
        assert!(parse_operator("ForSomeValues:StringEquals").is_err());
    }

    #[test]
    fn arn_segments() {
        let p = |s: &str| compile_plain(s, true);
        assert!(arn_match(
            &p("arn:aws:iam::*:role/*"),
            "arn:aws:iam::111122223333:role/a/b"
        ));
        assert!(!arn_match(
            &p("arn:aws:iam::*:role/*"),
            "arn:aws:iam:us-east-1:111122223333:role/x"
        ));
        assert!(arn_match(&p("arn:*:*:*:*:*"), "arn:aws:kms:r:1:key/a:b"));
        assert!(!arn_match(&p("arn:aws:kms:*"), "arn:aws:kms:r:1:key/x"));
        assert!(arn_match(&p("*"), "arn:aws:kms:r:1:key/x"));
        assert!(!arn_match(&p("arn:aws:s3:::b"), "arn:aws:s3::b"));
    }
}
