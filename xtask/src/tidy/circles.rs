//! The house rule "no module imports, directly or through others, a module that imports it
//! back", checked on every crate's `src/` with the module graph of [`super::modules`].

use super::modules::Graph;

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
        for circle in graph.circles() {
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
