//! The fuzz smoke run of `cargo test`: every input of the committed corpus (`fuzz/corpus/<target>`,
//! minimized by `cargo fuzz cmin`, and the crash reproducers in `fuzz/regressions/<target>`)
//! through the same entry point its fuzz target runs. A crash a fuzzer once found fails here on a
//! machine with only the stable toolchain and no cargo-fuzz.

use std::path::PathBuf;

use kinko_server::fuzzing;

/// A fuzz target's name and its entry point.
type Target = (&'static str, fn(&[u8]));

/// Every fuzz target and its entry point (the targets in `fuzz/fuzz_targets` are one line each
/// over these).
const TARGETS: &[Target] = &[
    ("sigv4_header", fuzzing::sigv4_header),
    ("sigv4_query", fuzzing::sigv4_query),
    ("kms_json", fuzzing::kms_json),
    ("ciphertext_blob", fuzzing::ciphertext_blob),
    ("policy", fuzzing::policy),
    ("query_form", fuzzing::query_form),
    ("lookup_events", fuzzing::lookup_events),
    ("config_toml", fuzzing::config_toml),
    ("backup", fuzzing::backup),
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: PathBuf) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|data| (p, data)))
        .collect();
    out.sort();
    out
}

#[test]
fn every_committed_fuzz_input_runs_without_a_crash() {
    let targets_dir = fuzz_dir().join("fuzz_targets");
    for (name, run) in TARGETS {
        assert!(
            targets_dir.join(format!("{name}.rs")).is_file(),
            "fuzz target {name} is missing"
        );
        let corpus = inputs(fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "no corpus for fuzz target {name}");
        let regressions = inputs(fuzz_dir().join("regressions").join(name));
        for (path, data) in corpus.iter().chain(&regressions) {
            // A panic names the input that caused it.
            let outcome = std::panic::catch_unwind(|| run(data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} crashed on {}",
                path.display()
            );
        }
    }
    // Every target in fuzz/fuzz_targets is replayed here.
    let listed = std::fs::read_dir(&targets_dir)
        .map(|d| d.filter_map(Result::ok).count())
        .unwrap_or_default();
    assert_eq!(listed, TARGETS.len());
}
