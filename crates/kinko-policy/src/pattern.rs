//! Wildcard patterns and policy-variable templates.
//!
//! A pattern is a sequence of tokens: literal characters, `*` (any run of characters, including
//! none) and `?` (exactly one character). Whether `*` and `?` in the policy text are wildcards
//! depends on where the text sits (Action, Resource and the `...Like`/`Arn...` operators: yes;
//! `StringEquals`: no), so templates are compiled with that knowledge.
//!
//! A template is a pattern that may contain policy variables (`${aws:username}`,
//! `${aws:PrincipalTag/team, 'default'}`) and the escapes `${*}`, `${?}`, `${$}`. Text that a
//! variable or escape produces is always literal: a tag value containing `*` never acts as a
//! wildcard. Variables only exist in policies with `"Version": "2012-10-17"`; in older policies
//! the same text is literal.

use std::borrow::Cow;

/// One token of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    /// `*`: any run of characters, including an empty one.
    Any,
    /// `?`: exactly one character.
    One,
}

/// Compiles literal policy text into tokens; `*` and `?` become wildcards when `wildcards` is set.
pub(crate) fn compile_plain(text: &str, wildcards: bool) -> Vec<Tok> {
    text.chars()
        .map(|c| match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            other => Tok::Lit(other),
        })
        .collect()
}

fn chars_eq(pattern: char, text: char, fold: bool) -> bool {
    if pattern == text {
        return true;
    }
    if !fold {
        return false;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return pattern.eq_ignore_ascii_case(&text);
    }
    pattern.to_lowercase().eq(text.to_lowercase())
}

/// Matches `text` against `pattern`; `fold` makes literal comparisons case-insensitive.
///
/// The classic greedy algorithm with one backtrack point: linear for patterns with a single `*`,
/// and never worse than `pattern.len() * text.len()` steps.
pub(crate) fn glob_match(pattern: &[Tok], text: &str, fold: bool) -> bool {
    let mut pi = 0usize;
    let mut ti = 0usize;
    // After a `*`: the pattern position following it and the text position it has swallowed up to.
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let rest = text.get(ti..).unwrap_or("");
        let Some(tc) = rest.chars().next() else {
            return pattern
                .get(pi..)
                .unwrap_or(&[])
                .iter()
                .all(|t| *t == Tok::Any);
        };
        match pattern.get(pi) {
            Some(Tok::Any) => {
                // A trailing run of `*` takes whatever text is left (`"Resource": "*"`, `kms:*`).
                if pattern
                    .get(pi + 1..)
                    .unwrap_or(&[])
                    .iter()
                    .all(|t| *t == Tok::Any)
                {
                    return true;
                }
                backtrack = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += tc.len_utf8();
                continue;
            }
            Some(Tok::Lit(pc)) if chars_eq(*pc, tc, fold) => {
                pi += 1;
                ti += tc.len_utf8();
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((after_star, swallowed)) => {
                let Some(c) = text.get(swallowed..).and_then(|s| s.chars().next()) else {
                    return false;
                };
                let swallowed = swallowed + c.len_utf8();
                backtrack = Some((after_star, swallowed));
                pi = after_star;
                ti = swallowed;
            }
            None => return false,
        }
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Tok(Tok),
    /// A policy variable: the lower-cased condition key and an optional default.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// Policy text that may contain variables, compiled once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// No variables: the tokens are final.
    Static(Vec<Tok>),
    /// Resolved against the request context at evaluation time.
    Dynamic(Vec<Part>),
}

impl Template {
    /// The lower-cased condition keys this template's variables read.
    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        let parts: &[Part] = match self {
            Template::Static(_) => &[],
            Template::Dynamic(parts) => parts,
        };
        parts.iter().filter_map(|p| match p {
            Part::Var { key, .. } => Some(key.as_str()),
            Part::Tok(_) => None,
        })
    }
}

impl Template {
    /// Compiles `text`. With `variables` off (version 2008-10-17 policies, or elements that do not
    /// support variables) the text is taken literally. Errors describe a broken `${...}`.
    pub(crate) fn compile(text: &str, wildcards: bool, variables: bool) -> Result<Self, String> {
        if !variables || !text.contains("${") {
            return Ok(Template::Static(compile_plain(text, wildcards)));
        }
        let mut parts = Vec::new();
        let mut has_var = false;
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let (before, after_dollar) = rest.split_at(start);
            parts.extend(compile_plain(before, wildcards).into_iter().map(Part::Tok));
            let inner_and_more = after_dollar.get(2..).unwrap_or("");
            let Some(end) = find_variable_end(inner_and_more) else {
                return Err(format!(
                    "policy variable in \"{text}\" is missing its closing '}}'"
                ));
            };
            let inner = inner_and_more.get(..end).unwrap_or("");
            rest = inner_and_more.get(end + 1..).unwrap_or("");
            match inner.trim() {
                "*" => parts.push(Part::Tok(Tok::Lit('*'))),
                "?" => parts.push(Part::Tok(Tok::Lit('?'))),
                "$" => parts.push(Part::Tok(Tok::Lit('$'))),
                _ => {
                    let (key, default) = parse_variable(inner).map_err(|why| {
                        format!("invalid policy variable \"${{{inner}}}\" in \"{text}\": {why}")
                    })?;
                    has_var = true;
                    parts.push(Part::Var { key, default });
                }
            }
        }
        parts.extend(compile_plain(rest, wildcards).into_iter().map(Part::Tok));
        if has_var {
            Ok(Template::Dynamic(parts))
        } else {
            let toks = parts
                .into_iter()
                .filter_map(|p| match p {
                    Part::Tok(t) => Some(t),
                    Part::Var { .. } => None,
                })
                .collect();
            Ok(Template::Static(toks))
        }
    }

    /// The tokens with variables substituted, or `None` when a variable has no value and no
    /// default (AWS: the element or condition value then matches nothing).
    pub(crate) fn resolve<'t>(
        &'t self,
        mut lookup: impl FnMut(&str) -> Option<Cow<'t, str>>,
    ) -> Option<Cow<'t, [Tok]>> {
        match self {
            Template::Static(toks) => Some(Cow::Borrowed(toks.as_slice())),
            Template::Dynamic(parts) => {
                let mut out = Vec::with_capacity(parts.len() + 16);
                for part in parts {
                    match part {
                        Part::Tok(t) => out.push(*t),
                        Part::Var { key, default } => {
                            let value =
                                lookup(key).or_else(|| default.as_deref().map(Cow::Borrowed))?;
                            out.extend(value.chars().map(Tok::Lit));
                        }
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }
}

/// Finds the `}` that closes a variable, skipping over a quoted default (which may contain `}`).
fn find_variable_end(s: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits `key` or `key, 'default'` (`''` inside the quotes is one `'`).
fn parse_variable(inner: &str) -> Result<(String, Option<String>), &'static str> {
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => (key.trim(), Some(default.trim())),
        None => (inner.trim(), None),
    };
    if key.is_empty() {
        return Err("the variable name is empty");
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c == '\'' || c == '$' || c == '{')
    {
        return Err("the variable name contains a character that is not allowed");
    }
    let default = match default {
        None => None,
        Some(quoted) => {
            let body = quoted
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .ok_or("the default value must be enclosed in single quotes")?;
            if body.replace("''", "").contains('\'') {
                return Err("a single quote inside the default value must be doubled ('')");
            }
            Some(body.replace("''", "'"))
        }
    };
    Ok((key.to_ascii_lowercase(), default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        glob_match(&compile_plain(p, true), t, false)
    }

    #[test]
    fn glob_basics() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "ab"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"));
        assert!(m("é?", "éß"));
        assert!(!m("", "x"));
        assert!(m("", ""));
        assert!(glob_match(
            &compile_plain("kms:encrypt", true),
            "KMS:Encrypt",
            true
        ));
    }

    #[test]
    fn templates() {
        let t = Template::compile("a/${aws:username}/*", true, true);
        assert!(matches!(t, Ok(Template::Dynamic(_))));
        let t = Template::compile("${*}${?}${$}", true, true);
        assert_eq!(
            t,
            Ok(Template::Static(vec![
                Tok::Lit('*'),
                Tok::Lit('?'),
                Tok::Lit('$')
            ]))
        );
        let t = Template::compile("${aws:username, 'it''s'}", false, true);
        assert_eq!(
            t,
            Ok(Template::Dynamic(vec![Part::Var {
                key: "aws:username".into(),
                default: Some("it's".into())
            }]))
        );
        assert!(Template::compile("${aws:username", false, true).is_err());
        assert!(Template::compile("${aws:username, x}", false, true).is_err());
        assert_eq!(
            Template::compile("${aws:username}", false, false),
            Ok(Template::Static(compile_plain("${aws:username}", false)))
        );
    }
}
