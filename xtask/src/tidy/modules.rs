//! The module graph of one crate, from its source text, and the circles in it.
//!
//! A module is a source file (`lib.rs`/`main.rs` is `crate`, `a/mod.rs` and `a.rs` are `a`,
//! `a/b.rs` is `a::b`). Module `a` depends on module `b` when `a` names something in `b`: a
//! `use` of `crate::b::..`, `super::b::..`, `self::b::..` or a child module `b::..`, including
//! every leaf of nested `use crate::{b::{X, Y}, c}` trees, or the same paths written inline in
//! code. A name re-exported by another module (`pub use b::X` in `lib.rs`, then `crate::X`) is
//! followed to `b`, the module that defines it. A `pub use` is a re-export, not a dependency of
//! the module that writes it, unless that module's own code also uses the name. Test code
//! (`#[cfg(test)]` items and files) is left out: nothing imports a test module, so it cannot
//! close a circle. Inline non-test modules (`mod x { .. }`) are read as part of their file.

use std::collections::{BTreeMap, BTreeSet};

use super::lexer::{Kind, Token, strip_test_items, tokenize};

/// A module's path from the crate root: empty for `lib.rs`/`main.rs`.
type ModPath = Vec<String>;

/// How deep re-exports are followed before giving up (guards against alias loops).
const MAX_ALIAS_DEPTH: usize = 16;

/// The module graph of one crate.
#[derive(Debug)]
pub(super) struct Graph {
    modules: BTreeMap<ModPath, Module>,
    /// `(from, to)` to the first place `from` names `to`: `file:line`.
    edges: BTreeMap<(ModPath, ModPath), String>,
}

/// One circle: modules that each reach the others through their imports.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Circle {
    /// The modules, by path (`crate` for the root, `a::b` for `a/b.rs`).
    pub(super) members: BTreeSet<String>,
    /// Every dependency between two members, with where it is written.
    pub(super) edges: Vec<String>,
}

#[derive(Debug)]
struct Module {
    file: String,
    tokens: Vec<Token>,
    uses: Vec<Use>,
    /// Items defined at the top level of the file.
    defines: BTreeSet<String>,
    /// Indexes of tokens that belong to `use` declarations.
    in_use: BTreeSet<usize>,
}

/// One leaf of a `use` tree.
#[derive(Debug)]
struct Use {
    /// The path as written, `self` leaves folded into their prefix.
    path: Vec<String>,
    /// The name it binds (`None` for a glob or `_`).
    name: Option<String>,
    glob: bool,
    /// `pub`, `pub(crate)`, `pub(super)`...: a re-export.
    public: bool,
    /// At the top level of the file (not inside a function body), so other modules see it.
    top_level: bool,
    line: usize,
}

impl Graph {
    /// Builds the graph from `(path under src/, source text)` pairs.
    pub(super) fn new(files: &[(String, String)]) -> Graph {
        let mut modules = BTreeMap::new();
        let mut test_modules = Vec::new();
        for (file, source) in files {
            let Some(path) = module_path(file) else {
                continue;
            };
            let (tokens, tests) = strip_test_items(&tokenize(source));
            test_modules.extend(tests.into_iter().map(|t| {
                let mut p = path.clone();
                p.push(t);
                p
            }));
            modules.insert(path, Module::new(file.clone(), tokens));
        }
        modules.retain(|path: &ModPath, _| !test_modules.iter().any(|t| path.starts_with(t)));
        let mut graph = Graph {
            modules,
            edges: BTreeMap::new(),
        };
        graph.edges = graph.dependencies();
        graph
    }

    /// The circles, largest module first, each member sorted.
    pub(super) fn circles(&self) -> Vec<Circle> {
        let mut circles = Vec::new();
        for component in self.components() {
            if component.len() < 2 {
                continue;
            }
            let members: BTreeSet<ModPath> = component.into_iter().collect();
            let edges = self
                .edges
                .iter()
                .filter(|((from, to), _)| members.contains(from) && members.contains(to))
                .map(|((from, to), at)| format!("{} -> {} ({at})", name(from), name(to)))
                .collect();
            circles.push(Circle {
                members: members.iter().map(name).collect(),
                edges,
            });
        }
        circles.sort_by(|a, b| a.members.cmp(&b.members));
        circles
    }

    /// Every `from -> to` dependency as `(from, to)` names.
    pub(super) fn edge_names(&self) -> Vec<(String, String)> {
        self.edges
            .keys()
            .map(|(from, to)| (name(from), name(to)))
            .collect()
    }

    fn dependencies(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let mut edges = BTreeMap::new();
        for (path, module) in &self.modules {
            let mut add = |target: Option<ModPath>, line: usize| {
                if let Some(target) = target
                    && &target != path
                {
                    edges
                        .entry((path.clone(), target))
                        .or_insert_with(|| format!("{}:{line}", module.file));
                }
            };
            for u in &module.uses {
                if u.public && !u.name.as_ref().is_some_and(|n| module.uses_name(n)) {
                    continue;
                }
                let target = self
                    .absolute(path, &u.path, 0)
                    .and_then(|abs| self.resolve(&abs, 0))
                    .map(|(m, _)| m);
                add(target, u.line);
            }
            for (segments, line) in module.inline_paths() {
                let target = self
                    .absolute(path, &segments, 0)
                    .and_then(|abs| self.resolve(&abs, 0))
                    .map(|(m, _)| m);
                add(target, line);
            }
        }
        edges
    }

    /// `segments`, written in module `at`, as a path from the crate root; `None` when it leaves
    /// the crate (another crate, `std`) or starts with a local name (a type, a variable).
    fn absolute(&self, at: &ModPath, segments: &[String], depth: usize) -> Option<ModPath> {
        let first = segments.first()?;
        let rest = &segments[1..];
        let mut out: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => at.clone(),
            "super" => {
                let supers = segments.iter().take_while(|s| *s == "super").count();
                let mut base = at.clone();
                for _ in 0..supers {
                    base.pop()?;
                }
                base.extend(segments[supers..].iter().cloned());
                return Some(base);
            }
            _ => {
                let mut child = at.clone();
                child.push(first.clone());
                if self.modules.contains_key(&child) {
                    child.extend(rest.iter().cloned());
                    return Some(child);
                }
                if depth >= MAX_ALIAS_DEPTH {
                    return None;
                }
                let alias = self.modules.get(at)?.alias(first)?;
                let mut target = self.absolute(at, &alias.path, depth + 1)?;
                target.extend(rest.iter().cloned());
                return Some(target);
            }
        };
        out.extend(rest.iter().cloned());
        Some(out)
    }

    /// The module that defines what the root-relative path `abs` names, following re-exports,
    /// and whether the name was found there (`false`: assumed to be in the last module on the
    /// path). `None` when a re-export leads out of the crate.
    fn resolve(&self, abs: &[String], depth: usize) -> Option<(ModPath, bool)> {
        let mut current: ModPath = Vec::new();
        for (i, segment) in abs.iter().enumerate() {
            let mut next = current.clone();
            next.push(segment.clone());
            if self.modules.contains_key(&next) {
                current = next;
                continue;
            }
            let Some(module) = self.modules.get(&current) else {
                return Some((current, false));
            };
            if depth >= MAX_ALIAS_DEPTH {
                return Some((current, false));
            }
            if let Some(alias) = module.alias(segment) {
                let mut target = self.absolute(&current, &alias.path, depth + 1)?;
                target.extend(abs[i + 1..].iter().cloned());
                return self.resolve(&target, depth + 1);
            }
            if module.defines.contains(segment) {
                return Some((current, true));
            }
            for glob in module.uses.iter().filter(|u| u.glob && u.top_level) {
                if let Some(mut target) = self.absolute(&current, &glob.path, depth + 1) {
                    target.extend(abs[i..].iter().cloned());
                    if let Some(found @ (_, true)) = self.resolve(&target, depth + 1) {
                        return Some(found);
                    }
                }
            }
            return Some((current, false));
        }
        Some((current, true))
    }

    /// Tarjan's strongly connected components.
    fn components(&self) -> Vec<Vec<ModPath>> {
        struct State<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g ModPath, usize>,
            low: BTreeMap<&'g ModPath, usize>,
            stack: Vec<&'g ModPath>,
            on_stack: BTreeSet<&'g ModPath>,
            out: Vec<Vec<ModPath>>,
        }
        fn visit<'g>(s: &mut State<'g>, v: &'g ModPath) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            s.on_stack.insert(v);
            let graph = s.graph;
            for ((_, w), _) in graph
                .edges
                .range((v.clone(), Vec::new())..)
                .take_while(|((from, _), _)| from == v)
            {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
            if s.low[v] == s.index[v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                s.out.push(component);
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        let nodes: BTreeSet<&ModPath> = self
            .edges
            .keys()
            .flat_map(|(from, to)| [from, to])
            .collect();
        for v in nodes {
            if !state.index.contains_key(v) {
                visit(&mut state, v);
            }
        }
        state.out
    }
}

impl Module {
    fn new(file: String, tokens: Vec<Token>) -> Module {
        let mut uses = Vec::new();
        let mut in_use = BTreeSet::new();
        let mut defines = BTreeSet::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            if t.is("{") {
                depth += 1;
            } else if t.is("}") {
                depth = depth.saturating_sub(1);
            } else if t.is("use") && t.kind == Kind::Ident {
                let end = tokens[i..]
                    .iter()
                    .position(|t| t.is(";"))
                    .map_or(tokens.len(), |p| i + p);
                let mut leaves = Vec::new();
                use_tree(&tokens[i + 1..end], &mut Vec::new(), &mut leaves);
                let public = is_public(&tokens, i);
                for (path, name, glob) in leaves {
                    uses.push(Use {
                        path,
                        name,
                        glob,
                        public,
                        top_level: depth == 0,
                        line: t.line,
                    });
                }
                in_use.extend(i..=end);
                i = end + 1;
                continue;
            } else if depth == 0 && t.kind == Kind::Ident {
                let defining = matches!(
                    t.text.as_str(),
                    "fn" | "struct"
                        | "enum"
                        | "trait"
                        | "type"
                        | "const"
                        | "static"
                        | "union"
                        | "mod"
                        | "macro_rules"
                );
                let mut k = i + 1;
                if t.is("macro_rules") && tokens.get(k).is_some_and(|t| t.is("!")) {
                    k += 1;
                }
                if defining && let Some(name) = tokens.get(k).filter(|t| t.kind == Kind::Ident) {
                    defines.insert(name.text.clone());
                }
            }
            i += 1;
        }
        Module {
            file,
            tokens,
            uses,
            defines,
            in_use,
        }
    }

    /// The top-level `use` that binds `name`, if any.
    fn alias(&self, name: &str) -> Option<&Use> {
        self.uses
            .iter()
            .find(|u| u.top_level && u.name.as_deref() == Some(name))
    }

    /// Whether the module's code (outside its `use` and `mod` declarations) mentions `name`.
    fn uses_name(&self, name: &str) -> bool {
        self.tokens.iter().enumerate().any(|(i, t)| {
            t.kind == Kind::Ident
                && t.text == name
                && !self.in_use.contains(&i)
                && !(i > 0 && self.tokens[i - 1].is("mod"))
        })
    }

    /// Paths written in code, outside `use` declarations: `a::b::c` with the line it is on.
    fn inline_paths(&self) -> Vec<(Vec<String>, usize)> {
        let tokens = &self.tokens;
        let mut out = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let starts_path = tokens[i].kind == Kind::Ident
                && !self.in_use.contains(&i)
                && tokens.get(i + 1).is_some_and(|t| t.is("::"))
                && (i == 0 || !tokens[i - 1].is("::"));
            if !starts_path {
                i += 1;
                continue;
            }
            let mut segments = vec![tokens[i].text.clone()];
            let mut k = i + 1;
            while tokens.get(k).is_some_and(|t| t.is("::"))
                && let Some(next) = tokens.get(k + 1).filter(|t| t.kind == Kind::Ident)
            {
                segments.push(next.text.clone());
                k += 2;
            }
            out.push((segments, tokens[i].line));
            i = k;
        }
        out
    }
}

/// Whether the `use` at `i` is preceded by `pub` or `pub(..)`.
fn is_public(tokens: &[Token], i: usize) -> bool {
    let Some(before) = i.checked_sub(1).map(|k| &tokens[k]) else {
        return false;
    };
    if before.is("pub") {
        return true;
    }
    if !before.is(")") {
        return false;
    }
    let open = tokens[..i - 1].iter().rposition(|t| t.is("("));
    open.and_then(|o| o.checked_sub(1))
        .is_some_and(|p| tokens[p].is("pub"))
}

/// The leaves of a `use` tree as `(path, bound name, glob)`, `prefix` being the path so far.
fn use_tree(
    tokens: &[Token],
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>, bool)>,
) {
    let depth = prefix.len();
    let mut i = 0;
    // A leading `::` (`use ::std::..`) names another crate.
    if tokens.first().is_some_and(|t| t.is("::")) {
        return;
    }
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is("{") {
            let end = matching_brace(tokens, i);
            for part in split_top_level_commas(&tokens[i + 1..end]) {
                use_tree(part, prefix, out);
            }
            prefix.truncate(depth);
            return;
        }
        if t.is("*") {
            out.push((prefix.clone(), None, true));
            prefix.truncate(depth);
            return;
        }
        if t.kind == Kind::Ident && !t.is("as") {
            if t.is("self") && !prefix.is_empty() && i == 0 && depth > 0 {
                // `use a::{self}`: binds `a` itself.
            } else {
                prefix.push(t.text.clone());
            }
            i += 1;
            if tokens.get(i).is_some_and(|t| t.is("::")) {
                i += 1;
                continue;
            }
            let name = if tokens.get(i).is_some_and(|t| t.is("as")) {
                tokens
                    .get(i + 1)
                    .filter(|t| t.kind == Kind::Ident && !t.is("_"))
                    .map(|t| t.text.clone())
            } else {
                prefix.last().cloned()
            };
            out.push((prefix.clone(), name, false));
            prefix.truncate(depth);
            return;
        }
        i += 1;
    }
    prefix.truncate(depth);
}

/// The index of the `}` that closes the `{` at `open`.
fn matching_brace(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        if t.is("{") {
            depth += 1;
        } else if t.is("}") {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    tokens.len()
}

fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (k, t) in tokens.iter().enumerate() {
        if t.is("{") {
            depth += 1;
        } else if t.is("}") {
            depth = depth.saturating_sub(1);
        } else if t.is(",") && depth == 0 {
            parts.push(&tokens[start..k]);
            start = k + 1;
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// The module path of a file given relative to `src/`; `None` for files that are crate roots
/// of their own (`src/bin/`).
fn module_path(file: &str) -> Option<ModPath> {
    let without = file.strip_suffix(".rs")?;
    let mut parts: Vec<String> = without.split('/').map(str::to_owned).collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return Some(Vec::new());
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// A module's name as the report shows it.
fn name(path: &ModPath) -> String {
    if path.is_empty() {
        "crate".to_owned()
    } else {
        path.join("::")
    }
}

#[cfg(test)]
mod tests {
    use super::Graph;

    fn graph(files: &[(&str, &str)]) -> Graph {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
            .collect();
        Graph::new(&files)
    }

    fn edges(g: &Graph) -> Vec<(String, String)> {
        g.edge_names()
    }

    fn e(from: &str, to: &str) -> (String, String) {
        (from.to_owned(), to.to_owned())
    }

    const LIB: &str = "//! root\nmod a;\nmod b;\nmod c;\n";

    #[test]
    fn a_circle_is_found_with_where_it_is_written() {
        let g = graph(&[
            ("lib.rs", LIB),
            ("a.rs", "use crate::b::B;\npub struct A;"),
            ("b.rs", "pub struct B;\nfn f() { crate::c::g(); }"),
            (
                "c.rs",
                "pub fn g() {}\n\n\nfn h() -> crate::a::A { todo() }",
            ),
        ]);
        let circles = g.circles();
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert_eq!(
            circles[0].members.iter().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            circles[0].edges,
            ["a -> b (a.rs:1)", "b -> c (b.rs:2)", "c -> a (c.rs:4)"]
        );
    }

    #[test]
    fn a_chain_is_not_a_circle() {
        let g = graph(&[
            ("lib.rs", LIB),
            (
                "a.rs",
                "use crate::b::B;\nuse std::fmt;\nuse kinko_core::a;",
            ),
            ("b.rs", "use super::c;\npub struct B;"),
            (
                "c.rs",
                "pub fn g() { let v = Vec::<u8>::new(); self::h(); }\nfn h() {}",
            ),
        ]);
        assert!(g.circles().is_empty());
        assert_eq!(edges(&g), [e("a", "b"), e("b", "c")]);
    }

    #[test]
    fn nested_use_trees_name_every_leaf() {
        let g = graph(&[
            ("lib.rs", "mod a;\nmod b;\nmod c;\nmod d;"),
            (
                "a.rs",
                "pub(crate) use crate::{b::{self, X as Y}, c::{Z, W}};\nfn f(_: Y, _: Z) {}",
            ),
            ("b.rs", "pub struct X;"),
            ("c.rs", "pub struct Z; pub struct W;"),
            ("d.rs", "use crate::{a::{b::X as _, f as _}};"),
        ]);
        assert_eq!(
            edges(&g),
            [e("a", "b"), e("a", "c"), e("d", "a"), e("d", "b")]
        );
    }

    #[test]
    fn paths_in_comments_and_strings_are_not_imports() {
        let g = graph(&[
            ("lib.rs", LIB),
            (
                "a.rs",
                "//! See [`crate::b::B`].\n// use crate::b;\n/* crate::c::g() */\nconst S: &str = \"crate::b::B\";\nconst R: &str = r#\"use crate::c;\"#;",
            ),
            ("b.rs", "use crate::a::S;"),
            ("c.rs", ""),
        ]);
        assert_eq!(edges(&g), [e("b", "a")]);
    }

    #[test]
    fn names_re_exported_by_the_root_lead_to_their_module() {
        let g = graph(&[
            (
                "lib.rs",
                "mod a;\nmod b;\nmod c;\npub use a::A;\npub use b::*;\nuse c::C as Renamed;\npub fn run() {}",
            ),
            ("a.rs", "pub struct A;"),
            ("b.rs", "pub struct B;\nuse crate::A;"),
            (
                "c.rs",
                "pub struct C;\nfn f(_: crate::B, _: crate::Renamed) { crate::run() }",
            ),
        ]);
        // The root's `pub use` lines are re-exports; its private `use` is a dependency.
        assert_eq!(
            edges(&g),
            [e("crate", "c"), e("b", "a"), e("c", "crate"), e("c", "b")]
        );
        assert_eq!(g.circles().len(), 1);
    }

    #[test]
    fn submodules_reach_their_parent_and_siblings_through_super() {
        let g = graph(&[
            ("lib.rs", "mod outer;"),
            (
                "outer/mod.rs",
                "mod der;\nmod rsa;\npub struct Spec;\npub use rsa::Key;",
            ),
            ("outer/der.rs", "pub fn parse() {}"),
            (
                "outer/rsa.rs",
                "use super::{Spec, der};\npub struct Key;\nfn f() { super::super::outer::der::parse() }",
            ),
        ]);
        assert_eq!(
            edges(&g),
            [e("outer::rsa", "outer"), e("outer::rsa", "outer::der")]
        );
    }

    #[test]
    fn test_code_is_left_out() {
        let g = graph(&[
            ("lib.rs", LIB),
            ("a.rs", "use crate::b::B;\npub fn a() {}"),
            (
                "b.rs",
                "pub struct B;\n#[cfg(test)]\nmod tests { use crate::a::a; }\n#[cfg(test)]\nmod more;",
            ),
            ("b/more.rs", "use crate::a::a;"),
            ("c.rs", "#![cfg(test)]\nuse crate::a::a;"),
        ]);
        assert_eq!(edges(&g), [e("a", "b")]);
    }
}
