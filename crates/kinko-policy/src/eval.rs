//! Evaluating a compiled policy against a request context. Pure: no I/O, no clock, no
//! allocation beyond the result list and the occasional resolved policy variable.
//!
//! Within one policy: an explicit `Deny` that applies wins; otherwise an `Allow` that applies
//! allows; otherwise the policy does not apply. Combining the key policy with identity policies
//! and grants is the caller's job; [`Evaluation::account_delegation`] gives it the one extra fact
//! it needs from a key policy (does the policy delegate this request to the caller's account?).

use std::fmt;

use crate::condition::ConditionFailure;
use crate::context::RequestContext;
use crate::document::{PatternList, Policy, PolicyKind, PrincipalClause, Statement};
use crate::effect::Effect;
use crate::pattern::{Template, Tok, glob_match};
use crate::principal::PrincipalMatch;

/// The decision of one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A `Deny` statement applies. Nothing else can allow the request.
    ExplicitDeny,
    /// An `Allow` statement applies directly to the caller (and no `Deny` does).
    Allow,
    /// No statement applies (an `Allow` that only delegates to the caller's account is reported
    /// in [`Evaluation::account_delegation`], not here).
    NotApplicable,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::ExplicitDeny => "explicit deny",
            Decision::Allow => "allow",
            Decision::NotApplicable => "not applicable",
        })
    }
}

/// Points at one statement of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementRef<'p> {
    /// Zero-based position in the document's `Statement` list.
    pub index: usize,
    /// The statement's `Sid`, if any.
    pub sid: Option<&'p str>,
    /// The statement's effect.
    pub effect: Effect,
}

impl fmt::Display for StatementRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement[{}]", self.index)?;
        if let Some(sid) = self.sid {
            write!(f, " (Sid \"{sid}\")")?;
        }
        Ok(())
    }
}

/// Why a statement does not apply: the first element that failed, checked in the order
/// principal, action, resource, conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch<'p> {
    /// `Principal` does not name the caller, or `NotPrincipal` exempts it.
    Principal,
    /// `Action` does not cover the action, or `NotAction` excludes it.
    Action,
    /// `Resource` does not cover the resource, or `NotResource` excludes it.
    Resource,
    /// A condition does not hold.
    Condition(ConditionFailure<'p>),
    /// A key-policy statement without `Action` (or `Resource`) never applies.
    MissingElement(&'static str),
}

impl fmt::Display for Mismatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Principal => f.write_str("the principal does not match"),
            Mismatch::Action => f.write_str("the action does not match"),
            Mismatch::Resource => f.write_str("the resource does not match"),
            Mismatch::Condition(c) => c.fmt(f),
            Mismatch::MissingElement(e) => {
                write!(f, "the statement has no {e} element, so it never applies")
            }
        }
    }
}

/// What one statement made of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'p> {
    /// The statement applies to the request.
    Matched,
    /// An `Allow` statement whose principal is the caller's account (not the caller): it applies
    /// only if an identity policy of the caller also allows the request.
    DelegatedToAccount,
    /// The statement does not apply.
    NotMatched(Mismatch<'p>),
}

/// One statement's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementResult<'p> {
    /// Which statement.
    pub statement: StatementRef<'p>,
    /// What it made of the request.
    pub outcome: Outcome<'p>,
}

/// The full result of evaluating one policy, borrowing names from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation<'p> {
    /// The policy's decision.
    pub decision: Decision,
    /// The statement that decided: the first applying `Deny` for [`Decision::ExplicitDeny`], the
    /// first applying `Allow` for [`Decision::Allow`], `None` otherwise.
    pub deciding: Option<StatementRef<'p>>,
    /// The first `Allow` statement that names the caller's account and otherwise matches:
    /// the key policy delegates this request to IAM in the caller's account.
    pub account_delegation: Option<StatementRef<'p>>,
    /// Every statement's outcome, in document order.
    pub statements: Vec<StatementResult<'p>>,
}

impl fmt::Display for Evaluation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "decision: {}", self.decision)?;
        if let Some(s) = &self.deciding {
            write!(f, " by {s}")?;
        }
        if let Some(s) = &self.account_delegation {
            write!(f, "; delegated to the caller's account by {s}")?;
        }
        for r in &self.statements {
            write!(f, "\n{} ({}): ", r.statement, r.statement.effect)?;
            match r.outcome {
                Outcome::Matched => f.write_str("applies")?,
                Outcome::DelegatedToAccount => {
                    f.write_str("applies to the caller's account (delegation to IAM)")?;
                }
                Outcome::NotMatched(m) => write!(f, "does not apply: {m}")?,
            }
        }
        Ok(())
    }
}

fn action_matches(list: &PatternList<Vec<Tok>>, action: &str) -> bool {
    let hit = list.items.iter().any(|p| glob_match(p, action, true));
    hit != list.negated
}

fn resource_matches(list: &PatternList<Template>, ctx: &RequestContext) -> bool {
    let hit = list.items.iter().any(|t| {
        t.resolve(|key| ctx.variable(key))
            .is_some_and(|toks| glob_match(&toks, &ctx.resource, false))
    });
    hit != list.negated
}

fn statement_outcome<'p>(kind: PolicyKind, s: &'p Statement, ctx: &RequestContext) -> Outcome<'p> {
    let via = match &s.principal {
        PrincipalClause::Implicit => PrincipalMatch::Direct,
        PrincipalClause::Principal(set) => set.matches(&ctx.principal, s.effect),
        PrincipalClause::NotPrincipal(set) => {
            if set.exempts(&ctx.principal) {
                PrincipalMatch::No
            } else {
                PrincipalMatch::Direct
            }
        }
    };
    if via == PrincipalMatch::No {
        return Outcome::NotMatched(Mismatch::Principal);
    }
    let Some(action) = &s.action else {
        return Outcome::NotMatched(Mismatch::MissingElement("Action"));
    };
    if !action_matches(action, &ctx.action) {
        return Outcome::NotMatched(Mismatch::Action);
    }
    match &s.resource {
        Some(resource) => {
            if !resource_matches(resource, ctx) {
                return Outcome::NotMatched(Mismatch::Resource);
            }
        }
        None if kind == PolicyKind::Trust => {}
        None => return Outcome::NotMatched(Mismatch::MissingElement("Resource")),
    }
    for clause in &s.conditions {
        if let Err(failure) = clause.check(ctx) {
            return Outcome::NotMatched(Mismatch::Condition(failure));
        }
    }
    match via {
        PrincipalMatch::Account => Outcome::DelegatedToAccount,
        _ => Outcome::Matched,
    }
}

impl Policy {
    /// Evaluates every statement against the request and decides.
    pub fn evaluate(&self, ctx: &RequestContext) -> Evaluation<'_> {
        let mut statements = Vec::with_capacity(self.statements.len());
        let mut deny = None;
        let mut allow = None;
        let mut delegation = None;
        for (index, s) in self.statements.iter().enumerate() {
            let statement = StatementRef {
                index,
                sid: s.sid.as_deref(),
                effect: s.effect,
            };
            let outcome = statement_outcome(self.kind, s, ctx);
            match (s.effect, outcome) {
                (Effect::Deny, Outcome::Matched) => {
                    deny.get_or_insert(statement);
                }
                (Effect::Allow, Outcome::Matched) => {
                    allow.get_or_insert(statement);
                    // A statement that applies and also names the caller's account (the root
                    // caller, or a principal named both directly and through its account)
                    // delegates to that account as well.
                    if names_callers_account(s, ctx) {
                        delegation.get_or_insert(statement);
                    }
                }
                (Effect::Allow, Outcome::DelegatedToAccount) => {
                    delegation.get_or_insert(statement);
                }
                _ => {}
            }
            statements.push(StatementResult { statement, outcome });
        }
        let (decision, deciding) = match (deny, allow) {
            (Some(d), _) => (Decision::ExplicitDeny, Some(d)),
            (None, Some(a)) => (Decision::Allow, Some(a)),
            (None, None) => (Decision::NotApplicable, None),
        };
        Evaluation {
            decision,
            deciding,
            account_delegation: delegation,
            statements,
        }
    }

    /// The decision alone, and whether the policy delegates the request to the caller's account:
    /// what [`Policy::evaluate`] decides, without recording every statement's outcome (the
    /// request path's form; explanations use `evaluate`).
    pub fn decide(&self, ctx: &RequestContext) -> (Decision, bool) {
        let mut allow = false;
        let mut delegation = false;
        for s in &self.statements {
            match (s.effect, statement_outcome(self.kind, s, ctx)) {
                (Effect::Deny, Outcome::Matched) => return (Decision::ExplicitDeny, delegation),
                (Effect::Allow, Outcome::Matched) => {
                    allow = true;
                    delegation = delegation || names_callers_account(s, ctx);
                }
                (Effect::Allow, Outcome::DelegatedToAccount) => delegation = true,
                _ => {}
            }
        }
        let decision = if allow {
            Decision::Allow
        } else {
            Decision::NotApplicable
        };
        (decision, delegation)
    }

    /// The first `Allow` statement that delegates this request to the caller's account (names
    /// `arn:aws:iam::<account>:root` or the bare account id, and its action, resource and
    /// conditions hold). The caller then also needs an identity policy that allows the request.
    pub fn account_delegation(&self, ctx: &RequestContext) -> Option<StatementRef<'_>> {
        self.evaluate(ctx).account_delegation
    }
}

/// Whether a statement's `Principal` names the caller's account.
fn names_callers_account(s: &Statement, ctx: &RequestContext) -> bool {
    match &s.principal {
        PrincipalClause::Principal(set) => set.names_account_of(&ctx.principal),
        _ => false,
    }
}
