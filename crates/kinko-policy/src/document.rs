//! Parsing a policy document into its compiled form.
//!
//! Parsing happens once (at CreateKey / PutKeyPolicy time); everything the evaluator needs is
//! precomputed here: actions lower-cased and tokenised, resources and condition values compiled
//! into templates, numbers, instants and CIDR ranges already parsed. A document that parses is
//! fully valid: evaluation never meets a grammar error.
//!
//! Grammar errors name the statement (`Statement[1] (Sid "AllowUse")`) and the element at fault,
//! and reuse the wording of AWS's MalformedPolicyDocument messages where one exists.

use std::fmt;

use crate::PolicyError;
use crate::condition::{Clause, OverlyPermissiveCheck};
use crate::effect::Effect;
use crate::json::Json;
use crate::pattern::{Template, Tok, compile_plain};
use crate::principal::{NamedPrincipal, PrincipalSet};

/// The largest accepted document, in bytes: the KMS key-policy quota (32 KiB, not adjustable).
pub const MAX_POLICY_BYTES: usize = 32_768;

/// Which kind of policy a document is; the grammar differs slightly between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A KMS key policy: every statement names a `Principal` or `NotPrincipal`; a statement
    /// without `Action` or `Resource` is accepted but never applies; `ForAllValues` on
    /// `kms:EncryptionContext:<key>` or `aws:RequestTag/<key>` is refused; only the characters
    /// KMS allows in a key policy (tab, newline, carriage return, U+0020 to U+00FF) may appear.
    Key,
    /// An identity (IAM) policy attached to a user or role: no `Principal`; `Action` and
    /// `Resource` are required; a `Sid` is alphanumeric and unique within the policy.
    Identity,
    /// A role trust policy: `Principal` is required, `NotPrincipal` is not allowed, `Resource`
    /// is optional (it is implicitly the role); `Sid`s are unique.
    Trust,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::Key => "key policy",
            PolicyKind::Identity => "identity policy",
            PolicyKind::Trust => "trust policy",
        })
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17` (also the default when `Version` is absent): `${...}` is literal text.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version string as it appears in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }
}

/// The principal element of a compiled statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalClause {
    /// Identity policies: the statement is about whoever the policy is attached to.
    Implicit,
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: a list of patterns, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternList<T> {
    pub(crate) negated: bool,
    pub(crate) items: Vec<T>,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: PrincipalClause,
    /// `None`: the element is missing (only possible in key policies, where it makes the
    /// statement inert).
    pub(crate) action: Option<PatternList<Vec<Tok>>>,
    /// `None`: missing. Inert in a key policy; "the role itself" in a trust policy.
    pub(crate) resource: Option<PatternList<Template>>,
    pub(crate) conditions: Vec<Clause>,
}

/// A parsed, compiled policy document. Immutable; evaluate it as often as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    pub(crate) version: PolicyVersion,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
}

fn malformed(message: impl Into<String>) -> PolicyError {
    PolicyError::Malformed(message.into())
}

fn string_list(value: &Json, what: &str) -> Result<Vec<String>, String> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Json::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{what} must be a string or a list of strings, found {} in the list",
                    other.type_name()
                )),
            })
            .collect(),
        Json::Array(_) => Err(format!("{what} must not be an empty list")),
        other => Err(format!(
            "{what} must be a string or a list of strings, not {}",
            other.type_name()
        )),
    }
}

impl Policy {
    /// Parses and compiles a policy document of the given kind.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        if json.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge {
                size: json.len(),
                limit: MAX_POLICY_BYTES,
            });
        }
        if kind == PolicyKind::Key
            && let Some((at, c)) = json
                .char_indices()
                .find(|(_, c)| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            return Err(malformed(format!(
                "Policy contains the character U+{:04X} at byte {at}; a key policy may contain only printable ASCII and Latin-1 characters, tab, newline and carriage return",
                u32::from(c)
            )));
        }
        let root: Json = serde_json::from_str(json)
            .map_err(|e| malformed(format!("Syntax errors in policy: {e}")))?;
        let Json::Object(members) = root else {
            return Err(malformed(format!(
                "Syntax errors in policy: the document must be a JSON object, not {}",
                root.type_name()
            )));
        };

        let mut version = None;
        let mut id = None;
        let mut statement_json = None;
        for (name, value) in &members {
            match name.as_str() {
                "Version" => {
                    version = Some(match value {
                        Json::String(v) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
                        Json::String(v) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
                        Json::String(v) => {
                            return Err(malformed(format!(
                                "Version \"{v}\" is not valid; use \"2012-10-17\" (or \"2008-10-17\")"
                            )));
                        }
                        other => {
                            return Err(malformed(format!(
                                "Version must be a string, not {}",
                                other.type_name()
                            )));
                        }
                    });
                }
                "Id" => match value {
                    Json::String(v) => id = Some(v.clone()),
                    other => {
                        return Err(malformed(format!(
                            "Id must be a string, not {}",
                            other.type_name()
                        )));
                    }
                },
                "Statement" => statement_json = Some(value),
                other => {
                    return Err(malformed(format!(
                        "Policy has an unknown element \"{other}\" (expected Version, Id, Statement)"
                    )));
                }
            }
        }
        let version = version.unwrap_or(PolicyVersion::V2008_10_17);
        let variables = version == PolicyVersion::V2012_10_17;
        let statement_json =
            statement_json.ok_or_else(|| malformed("Missing required field Statement"))?;
        let raw_statements: Vec<&Json> = match statement_json {
            Json::Array(items) if items.is_empty() => {
                return Err(malformed("Statement must contain at least one statement"));
            }
            Json::Array(items) => items.iter().collect(),
            Json::Object(_) => vec![statement_json],
            other => {
                return Err(malformed(format!(
                    "Statement must be an object or a list of objects, not {}",
                    other.type_name()
                )));
            }
        };
        let mut statements = Vec::with_capacity(raw_statements.len());
        for (index, raw) in raw_statements.into_iter().enumerate() {
            statements.push(parse_statement(index, raw, kind, variables)?);
        }
        if kind != PolicyKind::Key {
            for (i, s) in statements.iter().enumerate() {
                let Some(sid) = s.sid.as_deref().filter(|sid| !sid.is_empty()) else {
                    continue;
                };
                if statements
                    .iter()
                    .take(i)
                    .any(|earlier| earlier.sid.as_deref() == Some(sid))
                {
                    return Err(malformed(format!(
                        "Statement[{i}] (Sid \"{sid}\"): Statement IDs (SID) in a single policy must be unique."
                    )));
                }
            }
        }
        Ok(Policy {
            kind,
            version,
            id,
            statements,
        })
    }

    /// The kind the document was parsed as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The language version (`2008-10-17` when the document has no `Version`).
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The document's `Id`, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// How many statements the document has.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The `Sid` of statement `index`, if it has one.
    pub fn sid(&self, index: usize) -> Option<&str> {
        self.statements.get(index).and_then(|s| s.sid.as_deref())
    }

    /// Every condition key the document can read (lower-cased, possibly repeated): the keys its
    /// conditions test and the policy variables in its resources and condition values. A caller
    /// may leave every other key out of the request context: evaluation never looks at it.
    /// Keys derived from the principal (`aws:PrincipalArn`, …) need not be set either way.
    pub fn read_keys(&self) -> impl Iterator<Item = &str> {
        self.statements.iter().flat_map(|s| {
            let resources = s
                .resource
                .iter()
                .flat_map(|list| list.items.iter())
                .flat_map(|t| t.variables());
            s.conditions.iter().flat_map(|c| c.reads()).chain(resources)
        })
    }

    /// Whether some `Allow` statement applies to every principal (`"*"`, `{"AWS": "*"}`, or
    /// any `NotPrincipal`) without testing one of the condition keys `confining` (lower-case):
    /// a policy that grants broad ("public") access, for Secrets Manager's BlockPublicPolicy.
    pub fn allows_everyone_unless(&self, confining: &[&str]) -> bool {
        self.statements.iter().any(|s| {
            let everyone = match &s.principal {
                PrincipalClause::Principal(set) => set.is_any(),
                PrincipalClause::NotPrincipal(_) => true,
                PrincipalClause::Implicit => false,
            };
            s.effect == Effect::Allow
                && everyone
                && !s
                    .conditions
                    .iter()
                    .any(|c| confining.contains(&c.key_lower()))
        })
    }

    /// Every principal named in `Principal` or `NotPrincipal` elements (not `"*"`), in document
    /// order, possibly with repeats.
    pub fn named_principals(&self) -> impl Iterator<Item = NamedPrincipal<'_>> {
        self.statements.iter().flat_map(|s| {
            match &s.principal {
                PrincipalClause::Principal(set) | PrincipalClause::NotPrincipal(set) => {
                    Some(set.named())
                }
                PrincipalClause::Implicit => None,
            }
            .into_iter()
            .flatten()
        })
    }
}

fn label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("Statement[{index}] (Sid \"{sid}\")"),
        None => format!("Statement[{index}]"),
    }
}

fn parse_action(text: &str) -> Result<Vec<Tok>, String> {
    if text == "*" {
        return Ok(vec![Tok::Any]);
    }
    let Some((vendor, action)) = text.split_once(':') else {
        return Err(format!(
            "Action \"{text}\": Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        ));
    };
    if action.contains(':') {
        return Err(format!(
            "Action \"{text}\": Actions/Condition can contain only one colon."
        ));
    }
    if vendor.is_empty()
        || !vendor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "Action \"{text}\": \"{vendor}\" is not a valid vendor prefix"
        ));
    }
    if action.is_empty() || action.chars().any(char::is_whitespace) {
        return Err(format!(
            "Action \"{text}\" has an empty or malformed action name"
        ));
    }
    Ok(compile_plain(&text.to_lowercase(), true))
}

fn parse_resource(text: &str, variables: bool) -> Result<Template, String> {
    let arn_like = text.starts_with("arn:") && text.matches(':').count() >= 5;
    if text != "*" && !arn_like {
        return Err(format!("Resource {text} must be in ARN format or \"*\"."));
    }
    Template::compile(text, true, variables).map_err(|e| format!("Resource: {e}"))
}

fn parse_statement(
    index: usize,
    raw: &Json,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let Json::Object(members) = raw else {
        return Err(malformed(format!(
            "Statement[{index}] must be an object, not {}",
            raw.type_name()
        )));
    };
    let sid = match members.iter().find(|(n, _)| n == "Sid").map(|(_, v)| v) {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(malformed(format!(
                "Statement[{index}]: Sid must be a string, not {}",
                other.type_name()
            )));
        }
    };
    let at = label(index, sid.as_deref());
    let fail = |message: String| malformed(format!("{at}: {message}"));

    if kind == PolicyKind::Identity
        && let Some(s) = sid.as_deref()
        && !s.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(fail(format!(
            "Sid \"{s}\" may contain only ASCII letters and digits in an identity policy"
        )));
    }

    let mut effect = None;
    let mut principal = None;
    let mut not_principal = None;
    let mut action = None;
    let mut not_action = None;
    let mut resource = None;
    let mut not_resource = None;
    let mut conditions = Vec::new();

    for (name, value) in members {
        match name.as_str() {
            "Sid" => {}
            "Effect" => {
                effect = Some(match value {
                    Json::String(e) if e == "Allow" => Effect::Allow,
                    Json::String(e) if e == "Deny" => Effect::Deny,
                    Json::String(e) => {
                        return Err(fail(format!(
                            "Effect must be \"Allow\" or \"Deny\", not \"{e}\""
                        )));
                    }
                    other => {
                        return Err(fail(format!(
                            "Effect must be a string, not {}",
                            other.type_name()
                        )));
                    }
                });
            }
            "Principal" => principal = Some(PrincipalSet::parse(value, "Principal").map_err(fail)?),
            "NotPrincipal" => {
                not_principal = Some(PrincipalSet::parse(value, "NotPrincipal").map_err(fail)?);
            }
            "Action" | "NotAction" => {
                let items = string_list(value, name)
                    .map_err(fail)?
                    .iter()
                    .map(|a| parse_action(a))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(fail)?;
                if name == "Action" {
                    action = Some(items);
                } else {
                    not_action = Some(items);
                }
            }
            "Resource" | "NotResource" => {
                let items = string_list(value, name)
                    .map_err(fail)?
                    .iter()
                    .map(|r| parse_resource(r, variables))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(fail)?;
                if name == "Resource" {
                    resource = Some(items);
                } else {
                    not_resource = Some(items);
                }
            }
            "Condition" => {
                let Json::Object(blocks) = value else {
                    return Err(fail(format!(
                        "Condition must be an object, not {}",
                        value.type_name()
                    )));
                };
                let check = if kind == PolicyKind::Key {
                    OverlyPermissiveCheck::Refuse
                } else {
                    OverlyPermissiveCheck::Allow
                };
                for (operator, block) in blocks {
                    conditions.extend(
                        Clause::parse_block(operator, block, variables, check).map_err(fail)?,
                    );
                }
            }
            other => {
                return Err(fail(format!(
                    "unknown element \"{other}\" (expected Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)"
                )));
            }
        }
    }

    let effect = effect.ok_or_else(|| fail("Missing required field Effect".to_owned()))?;
    let principal = match (principal, not_principal) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "Principal and NotPrincipal cannot both be present".to_owned(),
            ));
        }
        (Some(p), None) => {
            if kind == PolicyKind::Identity {
                return Err(fail(
                    "Has prohibited field Principal: an identity policy applies to the identity it is attached to and must not name a principal".to_owned(),
                ));
            }
            PrincipalClause::Principal(p)
        }
        (None, Some(np)) => {
            match kind {
                PolicyKind::Identity => {
                    return Err(fail(
                        "Has prohibited field NotPrincipal: an identity policy must not name a principal".to_owned(),
                    ));
                }
                PolicyKind::Trust => {
                    return Err(fail(
                        "Has prohibited field NotPrincipal: NotPrincipal is not supported in a trust policy".to_owned(),
                    ));
                }
                PolicyKind::Key => {}
            }
            if effect == Effect::Allow {
                return Err(fail(
                    "NotPrincipal must be used with \"Effect\": \"Deny\"; using it with \"Allow\" is not supported".to_owned(),
                ));
            }
            PrincipalClause::NotPrincipal(np)
        }
        (None, None) => match kind {
            PolicyKind::Identity => PrincipalClause::Implicit,
            PolicyKind::Key | PolicyKind::Trust => {
                return Err(fail(format!(
                    "Missing required field Principal: every statement of a {kind} must name a Principal"
                )));
            }
        },
    };
    let action = match (action, not_action) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "Action and NotAction cannot both be present".to_owned(),
            ));
        }
        (Some(items), None) => Some(PatternList {
            negated: false,
            items,
        }),
        (None, Some(items)) => Some(PatternList {
            negated: true,
            items,
        }),
        (None, None) if kind == PolicyKind::Key => None,
        (None, None) => {
            return Err(fail("Policy statement must contain actions.".to_owned()));
        }
    };
    let resource = match (resource, not_resource) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "Resource and NotResource cannot both be present".to_owned(),
            ));
        }
        (Some(items), None) => Some(PatternList {
            negated: false,
            items,
        }),
        (None, Some(items)) => Some(PatternList {
            negated: true,
            items,
        }),
        (None, None) if kind == PolicyKind::Identity => {
            return Err(fail("Policy statement must contain resources.".to_owned()));
        }
        (None, None) => None,
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}
