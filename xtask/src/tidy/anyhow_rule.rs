//! The house rule "`anyhow` only in binaries": library crates return typed errors that keep
//! their causes, so only the binaries (`kinko`, `kinko-bench`, `xtask`) may list `anyhow` among
//! their `[dependencies]`. Dev-dependencies are not checked (a test harness is not an API).
//! Checked on every `crates/*/Cargo.toml` by reading its lines: the sections
//! `[dependencies]`, `[target.'…'.dependencies]` and `[dependencies.anyhow]`.

/// The crates that may depend on `anyhow`: the binaries.
const BINARIES: &[&str] = &["kinko", "kinko-bench", "xtask"];

/// Whether a `[section]` header names normal dependencies (not dev- or build-dependencies).
fn is_dependencies(section: &str) -> bool {
    section == "dependencies" || section.ends_with(".dependencies")
}

/// Whether `manifest` (a Cargo.toml's text) lists `anyhow` in its normal dependencies.
fn lists_anyhow(manifest: &str) -> bool {
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(header) = line.strip_prefix('[') {
            let section = header.trim_end_matches(']').trim();
            if section == "dependencies.anyhow" || section.ends_with(".dependencies.anyhow") {
                return true;
            }
            in_dependencies = is_dependencies(section);
            continue;
        }
        if !in_dependencies {
            continue;
        }
        let key = line
            .split(['=', '.', ' ', '\t'])
            .next()
            .unwrap_or("")
            .trim_matches('"');
        if key == "anyhow" {
            return true;
        }
    }
    false
}

#[test]
fn only_binaries_depend_on_anyhow() {
    let mut offenders = Vec::new();
    for (name, dir) in super::crate_dirs() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if lists_anyhow(&manifest) && !BINARIES.contains(&name.as_str()) {
            offenders.push(name);
        }
    }
    assert!(
        offenders.is_empty(),
        "library crates listing anyhow in [dependencies] (use typed errors with #[source]; anyhow is for {BINARIES:?}): {offenders:?}"
    );
    let xtask = std::fs::read_to_string(super::super::project_root().join("xtask/Cargo.toml"))
        .unwrap_or_default();
    assert!(lists_anyhow(&xtask), "the rule reads xtask's own manifest");
}

#[test]
fn the_rule_reads_every_way_of_listing_a_dependency() {
    for listed in [
        "[dependencies]\nanyhow.workspace = true\n",
        "[dependencies]\nserde = \"1\"\nanyhow = \"1\"\n",
        "[dependencies]\nanyhow = { version = \"1\" }\n",
        "[target.'cfg(unix)'.dependencies]\nanyhow = \"1\"\n",
        "[dependencies.anyhow]\nversion = \"1\"\n",
    ] {
        assert!(lists_anyhow(listed), "{listed}");
    }
    for not_listed in [
        "[dev-dependencies]\nanyhow.workspace = true\n",
        "[build-dependencies]\nanyhow = \"1\"\n",
        "[dependencies]\nanyhow-ext = \"1\"\n# anyhow = \"1\"\n",
        "[package]\nname = \"anyhow\"\n[dependencies]\nthiserror = \"2\"\n",
    ] {
        assert!(!lists_anyhow(not_listed), "{not_listed}");
    }
}
