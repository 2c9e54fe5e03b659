//! The house rule "no module imports, directly or through others, a module that imports it
//! back", checked on every crate's `src/` with the module graph of [`super::modules`].

use std::collections::BTreeSet;

use super::modules::{Circle, Graph};

/// Circles that existed when this check was written (December 2026), most of them being taken
/// apart by the redesign of issue 16: `(crate, members)`. A listed circle may shrink, split or
/// disappear; a circle with any module not listed beside it fails. Delete an entry when its
/// circle is gone; never add one.
const KNOWN_CYCLES: &[(&str, &[&str])] = &[
    // Shared helpers live in service.rs, which every family of operations imports back
    // (authz, grants, identity, service, store); and the error, id and model types import each
    // other through `store` (error -> store -> model -> ids -> error) and `authz`
    // (model -> authz for `RequestFacts`).
    (
        "kinko-core",
        &[
            "algorithms",
            "audit",
            "authz",
            "bootstrap",
            "cache",
            "error",
            "grants",
            "identity",
            "ids",
            "material",
            "model",
            "ops",
            "service",
            "store",
        ],
    ),
    // Helpers (new_uuid, iso8601, decode/encode) sit in the files that use them least.
    (
        "kinko-server",
        &[
            "app",
            "audit",
            "cloudtrail",
            "iam",
            "protocol",
            "query",
            "sts",
        ],
    ),
    // Offline audit tooling, moving to its own crate.
    ("kinko-server", &["audit_export", "audit_verify"]),
    // asymmetric/mod.rs defines the shared types its children import and dispatches into them.
    (
        "kinko-crypto",
        &[
            "asymmetric",
            "asymmetric::ec",
            "asymmetric::ed25519",
            "asymmetric::mldsa",
            "asymmetric::mlkem",
            "asymmetric::rsa",
        ],
    ),
    // `Effect` lives in document.rs, which imports the principal set back.
    ("kinko-policy", &["document", "principal"]),
];

/// The circles in `circles` that no [`KNOWN_CYCLES`] entry of `krate` covers.
fn unexpected<'c>(krate: &str, circles: &'c [Circle]) -> Vec<&'c Circle> {
    circles
        .iter()
        .filter(|circle| {
            !KNOWN_CYCLES.iter().any(|(k, members)| {
                let known: BTreeSet<&str> = members.iter().copied().collect();
                *k == krate && circle.members.iter().all(|m| known.contains(m.as_str()))
            })
        })
        .collect()
}

/// `(path under src/ with '/' separators, text)` of every Rust file in `src`.
fn sources(src: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    super::rust_files(src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(src)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (relative, text)
        })
        .collect()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut report = Vec::new();
    for (krate, dir) in super::crate_dirs() {
        let graph = Graph::new(&sources(&dir.join("src")));
        let circles = graph.circles();
        for circle in &circles {
            let members: Vec<&str> = circle.members.iter().map(String::as_str).collect();
            eprintln!("{krate}: circle {{{}}}", members.join(", "));
        }
        for circle in unexpected(&krate, &circles) {
            let members: Vec<&str> = circle.members.iter().map(String::as_str).collect();
            report.push(format!(
                "{krate}: circle {{{}}}\n    {}",
                members.join(", "),
                circle.edges.join("\n    ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "module circles (a module that imports, directly or through others, a module that \
         imports it back; move what both need into a module of its own):\n{}",
        report.join("\n")
    );
}

#[test]
fn known_cycles_only_cover_their_own_crate() {
    let circle = |members: &[&str]| Circle {
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        edges: Vec::new(),
    };
    let shrunk = [circle(&["authz", "service"])];
    assert!(unexpected("kinko-core", &shrunk).is_empty());
    assert_eq!(unexpected("kinko-store", &shrunk).len(), 1);
    let grown = [circle(&["authz", "service", "crate"])];
    assert_eq!(unexpected("kinko-core", &grown).len(), 1);
    let across = [circle(&["audit_export", "app"])];
    assert_eq!(unexpected("kinko-server", &across).len(), 1);
}
