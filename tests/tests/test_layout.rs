//! Every integration-test file runs. The crates compile their `tests/*.rs` as one binary
//! (`tests/main.rs`, with `autotests = false`), so a file that is neither a module of that
//! binary nor a `[[test]]` target of its own would silently never be compiled or run.

use std::path::Path;

/// The crates whose tests are one binary, relative to the workspace root.
const CRATES: [&str; 4] = ["ad", "samplers", "models", "models/cli"];

/// The `.rs` files directly in `dir` (their stems), sorted.
fn test_files(dir: &Path) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|stem| stem != "main")
        .collect();
    stems.sort();
    stems
}

#[test]
fn every_test_file_is_a_module_of_the_test_binary_or_a_target_of_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in CRATES {
        let dir = root.join(krate);
        let main = std::fs::read_to_string(dir.join("tests/main.rs")).expect("tests/main.rs");
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(
            manifest.contains("autotests = false") && manifest.contains("path = \"tests/main.rs\""),
            "{krate}/Cargo.toml: the one test binary is declared"
        );
        let files = test_files(&dir.join("tests"));
        assert!(!files.is_empty(), "{krate}/tests has test files");
        for stem in files {
            let module = main.lines().any(|l| l.trim() == format!("mod {stem};"));
            let target = manifest.contains(&format!("path = \"tests/{stem}.rs\""));
            assert!(
                module || target,
                "{krate}/tests/{stem}.rs is neither `mod {stem};` in tests/main.rs nor a \
                 [[test]] target in Cargo.toml: it would never run"
            );
        }
    }
}
