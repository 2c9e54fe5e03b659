//! Tidy checks that run as ordinary tests (`cargo test -p xtask`): every Rust file explains why
//! it exists in a `//!` header, no test is switched off with an ignore attribute, every crate under
//! `crates/` is named in ARCHITECTURE.md, no module imports (directly or through others) a module
//! that imports it back (`circles`), no source file grows past 800 lines (`sizes`), and only the
//! binaries depend on `anyhow` (`anyhow_rule`).

mod anyhow_rule;
mod circles;
mod lexer;
mod modules;
mod sizes;

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, skipping build output and virtual environments.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".venv" || name == ".git" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crates under `crates/`: `(name, directory)`, sorted by name.
fn crate_dirs() -> Vec<(String, PathBuf)> {
    let root = super::project_root();
    let mut crates: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    crates.sort();
    assert!(crates.len() > 5, "found only {} crates", crates.len());
    crates
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::rust_files;

    fn sources() -> Vec<PathBuf> {
        let root = super::super::project_root();
        let mut files = Vec::new();
        rust_files(&root.join("crates"), &mut files);
        rust_files(&root.join("xtask"), &mut files);
        assert!(files.len() > 20, "found only {} Rust files", files.len());
        files
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let missing: Vec<String> = sources()
            .into_iter()
            .filter(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "files without a //! header: {missing:#?}"
        );
    }

    #[test]
    fn no_test_is_ignored() {
        let needle = ["#[", "ignore"].concat();
        let offenders: Vec<String> = sources()
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .contains(&needle)
            })
            .map(|p| p.display().to_string())
            .collect();
        assert!(offenders.is_empty(), "ignored tests in {offenders:#?}");
    }

    #[test]
    fn architecture_names_every_crate() {
        let root = super::super::project_root();
        let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(root.join("crates"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !map.contains(&format!("`{name}`")) {
                missing.push(name);
            }
        }
        assert!(
            missing.is_empty(),
            "ARCHITECTURE.md does not describe {missing:?}"
        );
    }
}
