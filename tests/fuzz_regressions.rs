//! Every input the fuzzers found that once crashed, hung or aborted the lab, replayed through the fuzz
//! targets' own bodies (`fuzz/src/harness.rs`): `tests/fuzz_regressions/<target>/<input>`. `scripts/fuzz`
//! lists new findings; copying one into its target's folder makes it a regression test.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_regression_input_passes_its_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for (target, body) in harness::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue; // no findings for this target
        };
        for entry in entries {
            let path = entry.expect("a readable folder").path();
            let bytes = std::fs::read(&path).expect("a readable input");
            eprintln!("{target}: {}", path.display());
            body(&bytes);
            replayed += 1;
        }
    }
    assert!(replayed >= 2, "the regression inputs are found ({replayed})");
}

#[test]
fn every_target_accepts_empty_and_tiny_inputs() {
    for (_, body) in harness::TARGETS {
        for input in [&b""[..], b"\x00", b"\x80", b"\x1f\x8b", b"?", b"{}"] {
            body(input);
        }
    }
}
