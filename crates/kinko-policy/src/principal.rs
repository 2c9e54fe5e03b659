//! The `Principal` and `NotPrincipal` elements: parsing and matching against the caller.
//!
//! The rule that makes key policies different from other resource policies lives here: an
//! account principal (`arn:aws:iam::<account>:root` or the bare account id) in an `Allow`
//! statement does not allow the users and roles of that account. It delegates to IAM, and the
//! caller must also find an IAM identity policy that allows the request. In a `Deny` statement
//! the account principal does cover every principal of the account. Wildcards inside a principal
//! ARN are refused; `"*"` alone means everyone.

use crate::context::{ArnParts, PrincipalKind, RequestPrincipal};
use crate::effect::Effect;
use crate::json::Json;

/// A principal named in a policy, for callers that check that every named principal exists
/// (KMS refuses a key policy that names an unknown principal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedPrincipal<'a> {
    /// An account, from a bare 12-digit id or `arn:<partition>:iam::<account>:root`.
    Account(&'a str),
    /// A user, role, assumed-role session or other IAM/STS ARN.
    Arn(&'a str),
    /// A service principal such as `cloudtrail.amazonaws.com`.
    Service(&'a str),
    /// A `Federated` principal (accepted, never matches a Kinko caller).
    Federated(&'a str),
    /// A `CanonicalUser` principal (accepted, never matches a Kinko caller).
    CanonicalUser(&'a str),
}

/// The compiled value of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrincipalSet {
    /// `"*"` or `{"AWS": "*"}`.
    any: bool,
    accounts: Vec<String>,
    arns: Vec<String>,
    services: Vec<String>,
    federated: Vec<String>,
    canonical: Vec<String>,
}

/// How a `Principal` element relates to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalMatch {
    /// The statement names the caller (or everyone).
    Direct,
    /// An `Allow` statement names the caller's account: delegation to IAM.
    Account,
    /// The statement is about someone else.
    No,
}

pub(crate) const INVALID_PRINCIPAL: &str =
    "Policy contains a statement with one or more invalid principals.";

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn strings(value: &Json, what: &str) -> Result<Vec<String>, String> {
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

impl PrincipalSet {
    /// Whether the set names every principal (`"*"` or `{"AWS": "*"}`).
    pub(crate) fn is_any(&self) -> bool {
        self.any
    }

    /// Parses the element's value. `element` is `Principal` or `NotPrincipal`, for messages.
    pub(crate) fn parse(value: &Json, element: &str) -> Result<Self, String> {
        let mut set = PrincipalSet::default();
        let members = match value {
            Json::String(s) if s == "*" => {
                set.any = true;
                return Ok(set);
            }
            Json::String(s) => {
                return Err(format!(
                    "{element} must be \"*\" or an object such as {{\"AWS\": \"...\"}}, not the string \"{s}\"; {INVALID_PRINCIPAL}"
                ));
            }
            Json::Object(members) if !members.is_empty() => members,
            Json::Object(_) => return Err(format!("{element} must not be an empty object")),
            other => {
                return Err(format!(
                    "{element} must be \"*\" or an object, not {}",
                    other.type_name()
                ));
            }
        };
        for (kind, value) in members {
            let what = format!("{element}.{kind}");
            let values = strings(value, &what)?;
            match kind.as_str() {
                "AWS" => {
                    for v in values {
                        set.add_aws(&v, &what)?;
                    }
                }
                "Service" => {
                    for v in values {
                        if v.is_empty()
                            || v.contains(['*', '?'])
                            || v.chars().any(char::is_whitespace)
                        {
                            return Err(format!(
                                "{what} value \"{v}\" is not a service principal; {INVALID_PRINCIPAL}"
                            ));
                        }
                        set.services.push(v);
                    }
                }
                "Federated" => set.federated.extend(values),
                "CanonicalUser" => set.canonical.extend(values),
                other => {
                    return Err(format!(
                        "{element} has an unknown principal type \"{other}\" (expected AWS, Service, Federated or CanonicalUser)"
                    ));
                }
            }
        }
        Ok(set)
    }

    fn add_aws(&mut self, v: &str, what: &str) -> Result<(), String> {
        if v == "*" {
            self.any = true;
            return Ok(());
        }
        if is_account_id(v) {
            self.accounts.push(v.to_owned());
            return Ok(());
        }
        let invalid =
            || format!("{what} value \"{v}\" is not a valid principal; {INVALID_PRINCIPAL}");
        let parts = ArnParts::split(v).ok_or_else(invalid)?;
        let well_formed = !parts.partition.is_empty()
            && matches!(parts.service, "iam" | "sts")
            && parts.region.is_empty()
            && is_account_id(parts.account)
            && !parts.resource.is_empty()
            && !v.contains(['*', '?']);
        if !well_formed {
            return Err(invalid());
        }
        if parts.service == "iam" && parts.resource == "root" {
            self.accounts.push(parts.account.to_owned());
        } else {
            self.arns.push(v.to_owned());
        }
        Ok(())
    }

    /// How this `Principal` element relates to the caller, for a statement with `effect`.
    pub(crate) fn matches(&self, p: &RequestPrincipal, effect: Effect) -> PrincipalMatch {
        if self.any {
            return PrincipalMatch::Direct;
        }
        if p.kind == PrincipalKind::Service {
            return if self.names_service(&p.arn) {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::No
            };
        }
        if self.names_identity(p) {
            return PrincipalMatch::Direct;
        }
        if !p.account.is_empty() && self.accounts.contains(&p.account) {
            return if p.kind == PrincipalKind::Root || effect == Effect::Deny {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::Account
            };
        }
        PrincipalMatch::No
    }

    /// For `NotPrincipal`: whether the element exempts the caller. AWS checks every identity a
    /// request carries (the account, then the user or role), so the caller is exempt only when
    /// all of them are listed: naming a user without its account exempts nobody.
    pub(crate) fn exempts(&self, p: &RequestPrincipal) -> bool {
        if self.any {
            return true;
        }
        match p.kind {
            PrincipalKind::Service => self.names_service(&p.arn),
            PrincipalKind::Root => self.names_account(&p.account),
            _ => self.names_account(&p.account) && self.names_identity(p),
        }
    }

    /// Whether the element names the caller's account (as an account, not as `*`).
    pub(crate) fn names_account_of(&self, p: &RequestPrincipal) -> bool {
        p.kind != PrincipalKind::Service && self.names_account(&p.account)
    }

    fn names_account(&self, account: &str) -> bool {
        !account.is_empty() && self.accounts.iter().any(|a| a == account)
    }

    fn names_service(&self, name: &str) -> bool {
        self.services.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether the element names the caller's own ARN (or, for a role session, its role).
    fn names_identity(&self, p: &RequestPrincipal) -> bool {
        self.arns.iter().any(|a| {
            *a == p.arn
                || matches!(&p.kind, PrincipalKind::AssumedRole { role_arn } if a == role_arn)
        })
    }

    /// Every principal the element names (not `*`).
    pub(crate) fn named(&self) -> impl Iterator<Item = NamedPrincipal<'_>> {
        self.accounts
            .iter()
            .map(|a| NamedPrincipal::Account(a))
            .chain(self.arns.iter().map(|a| NamedPrincipal::Arn(a)))
            .chain(self.services.iter().map(|s| NamedPrincipal::Service(s)))
            .chain(self.federated.iter().map(|s| NamedPrincipal::Federated(s)))
            .chain(
                self.canonical
                    .iter()
                    .map(|s| NamedPrincipal::CanonicalUser(s)),
            )
    }
}
