//! The house rule "no non-test source file over 800 lines": a file that long usually holds two
//! ideas. Checked on every file under `crates/*/src` (test suites under `tests/` and `benches/`
//! are not source files); the load generator's `main.rs` is exempt.

/// The most lines a source file may have.
const MAX_LINES: usize = 800;

/// Files exempt from the limit, relative to the repository root.
const EXEMPT: &[&str] = &[
    // The load generator: one command-line tool whose flags, runs and report read top to bottom.
    "crates/kinko-bench/src/main.rs",
];

/// Why `file` (relative to the root, `/`-separated) with `lines` lines breaks the rule, if it
/// does.
fn too_long(file: &str, lines: usize) -> Option<String> {
    if EXEMPT.contains(&file) {
        return None;
    }
    (lines > MAX_LINES).then(|| format!("{file}: {lines} lines (at most {MAX_LINES})"))
}

#[test]
fn no_source_file_is_over_800_lines() {
    let root = super::super::project_root();
    let mut report = Vec::new();
    for (_, dir) in super::crate_dirs() {
        let mut files = Vec::new();
        super::rust_files(&dir.join("src"), &mut files);
        for path in files {
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let lines = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .count();
            report.extend(too_long(&relative, lines));
        }
    }
    report.sort();
    assert!(
        report.is_empty(),
        "source files over {MAX_LINES} lines (split them by idea):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_limit_is_800_lines_but_for_the_load_generator() {
    assert!(too_long("crates/kinko-store/src/copy.rs", 801).is_some());
    assert_eq!(too_long("crates/kinko-store/src/copy.rs", 800), None);
    assert_eq!(too_long("crates/kinko-bench/src/main.rs", 5000), None);
}
