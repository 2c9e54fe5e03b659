//! A small Rust tokenizer for the tidy checks: just enough to see paths and `use` trees without
//! being fooled by comments, string or character literals, and to drop `#[cfg(test)]` items.
//! It is not a parser: it knows identifiers, `::`, single punctuation characters and line
//! numbers, and treats everything else (numbers, literals, lifetimes) as opaque.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An identifier or keyword (`r#` stripped from raw identifiers).
    Ident,
    /// `::` or one punctuation character.
    Punct,
    /// A literal, number or lifetime: present so that it separates its neighbours.
    Opaque,
}

/// One token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) text: String,
    pub(super) line: usize,
}

impl Token {
    /// Whether this is the identifier or punctuation `text`.
    pub(super) fn is(&self, text: &str) -> bool {
        self.kind != Kind::Opaque && self.text == text
    }
}

/// The tokens of `source`, comments and the content of literals left out.
pub(super) fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&chars, i) {
            line += chars[i..end].iter().filter(|&&c| c == '\n').count();
            i = end;
            out.push(opaque(start_line));
        } else if c == '"' || ((c == 'b' || c == 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(opaque(start_line));
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            // A character literal ('a', '\n', '\u{..}', b'x') or a lifetime/label ('a, 'static).
            let q = if c == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                i = q + 3;
                while i < chars.len() && chars[i] != '\'' && chars[i] != '\n' {
                    i += 1;
                }
                i += 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                i = q + 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
            out.push(opaque(start_line));
        } else if c == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
            let start = i + 2;
            i = start;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                kind: Kind::Ident,
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                kind: Kind::Ident,
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
        } else if c.is_ascii_digit() {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push(opaque(start_line));
        } else if c == ':' && at(i + 1) == ':' {
            i += 2;
            out.push(punct("::", start_line));
        } else {
            i += 1;
            out.push(punct(&c.to_string(), start_line));
        }
    }
    out
}

/// Where the raw string literal starting at `i` (`r"..."`, `r#"..."#`, `br#".."#`, `cr".."`)
/// ends, if one starts there.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut k = i;
    if matches!(chars.get(k), Some('b' | 'c')) {
        k += 1;
    }
    if chars.get(k) != Some(&'r') {
        return None;
    }
    k += 1;
    let mut hashes = 0;
    while chars.get(k) == Some(&'#') {
        hashes += 1;
        k += 1;
    }
    if chars.get(k) != Some(&'"') {
        return None;
    }
    k += 1;
    while k < chars.len() {
        if chars[k] == '"' && (1..=hashes).all(|h| chars.get(k + h) == Some(&'#')) {
            return Some(k + 1 + hashes);
        }
        k += 1;
    }
    Some(chars.len())
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn opaque(line: usize) -> Token {
    Token {
        kind: Kind::Opaque,
        text: String::new(),
        line,
    }
}

fn punct(text: &str, line: usize) -> Token {
    Token {
        kind: Kind::Punct,
        text: text.to_owned(),
        line,
    }
}

/// `tokens` without the items marked `#[cfg(test)]` (their attributes included), and the names
/// of the file modules declared that way (`#[cfg(test)] mod x;`), which are test code too.
/// A file whose inner attributes say `#![cfg(test)]` is all test code: nothing is kept.
pub(super) fn strip_test_items(tokens: &[Token]) -> (Vec<Token>, Vec<String>) {
    let mut kept = Vec::new();
    let mut test_modules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(after) = cfg_test_attribute(tokens, i) {
            if tokens[i + 1].is("!") {
                return (Vec::new(), test_modules);
            }
            let mut k = after;
            // Further attributes on the same item.
            while tokens.get(k).is_some_and(|t| t.is("#")) {
                k = skip_group(tokens, k + 1);
            }
            let item_start = k;
            let end = skip_item(tokens, k);
            let item = &tokens[item_start..end];
            if let Some(pos) = item.iter().position(|t| t.is("mod"))
                && item.last().is_some_and(|t| t.is(";"))
                && let Some(name) = item.get(pos + 1)
            {
                test_modules.push(name.text.clone());
            }
            i = end;
        } else {
            kept.push(tokens[i].clone());
            i += 1;
        }
    }
    (kept, test_modules)
}

/// If an attribute `#[cfg(test)]` or `#![cfg(test)]` starts at `i`, the index after it.
fn cfg_test_attribute(tokens: &[Token], i: usize) -> Option<usize> {
    let bang = usize::from(tokens.get(i + 1).is_some_and(|t| t.is("!")));
    let expected = ["#", "[", "cfg", "(", "test", ")", "]"];
    let matches = expected.iter().enumerate().all(|(n, text)| {
        let k = if n == 0 { i } else { i + n + bang };
        tokens.get(k).is_some_and(|t| t.is(text))
    });
    matches.then_some(i + expected.len() + bang)
}

/// The index after the bracketed group (`[..]`, `(..)` or `{..}`) that opens at `i`.
fn skip_group(tokens: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    let mut k = i;
    while k < tokens.len() {
        let t = &tokens[k];
        if t.is("[") || t.is("(") || t.is("{") {
            depth += 1;
        } else if t.is("]") || t.is(")") || t.is("}") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return k + 1;
            }
        }
        k += 1;
    }
    k
}

/// The index after the item (or statement) that starts at `i`: its `;` at nesting depth 0, or
/// the end of its first top-level `{..}` block.
fn skip_item(tokens: &[Token], i: usize) -> usize {
    let mut k = i;
    while k < tokens.len() {
        let t = &tokens[k];
        if t.is(";") {
            return k + 1;
        }
        if t.is("{") {
            return skip_group(tokens, k);
        }
        if t.is("[") || t.is("(") {
            k = skip_group(tokens, k);
        } else {
            k += 1;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::{Kind, strip_test_items, tokenize};

    fn idents(source: &str) -> Vec<String> {
        tokenize(source)
            .into_iter()
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn comments_and_literals_hide_their_content() {
        let source = r####"
            // use crate::a;
            /* crate::b /* nested crate::c */ crate::d */
            let s = "crate::e \" crate::f";
            let r = r#"crate::g " crate::h"#;
            let b = br##"crate::i"##;
            let c = '"'; let q = '\''; let l: &'static str = x;
            kept
        "####;
        assert_eq!(
            idents(source),
            [
                "let", "s", "let", "r", "let", "b", "let", "c", "let", "q", "let", "l", "str", "x",
                "kept"
            ]
        );
    }

    #[test]
    fn lines_are_counted_through_comments_and_strings() {
        let tokens = tokenize("a\n/*\n\n*/ b \"\n\" c\n r#\"\n\"# d");
        let lines: Vec<usize> = tokens
            .iter()
            .filter(|t| t.kind == Kind::Ident)
            .map(|t| t.line)
            .collect();
        assert_eq!(lines, [1, 4, 5, 7]);
    }

    #[test]
    fn test_items_are_dropped() {
        let source = "use crate::a;\n#[cfg(test)]\nmod tests { use crate::b; }\n\
            #[cfg(test)] #[allow(x)] use crate::c;\n#[cfg(test)] mod fixtures;\nfn f() {}";
        let (kept, test_modules) = strip_test_items(&tokenize(source));
        let text: Vec<&str> = kept.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            text,
            [
                "use", "crate", "::", "a", ";", "fn", "f", "(", ")", "{", "}"
            ]
        );
        assert_eq!(test_modules, ["fixtures"]);
        let (kept, _) = strip_test_items(&tokenize("#![cfg(test)]\nuse crate::a;"));
        assert!(kept.is_empty());
    }
}
