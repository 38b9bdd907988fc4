//! Helpers shared by the command-line test files: running the built `lab` binary and a fresh scratch folder.
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `lab` binary this test build made, with `args`, and collects its output.
pub fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .output()
        .expect("the lab binary runs")
}

/// An empty folder for one test: `group` names the test file, `name` the test (the process id keeps
/// concurrent runs apart).
pub fn temp_dir(group: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("backprop-lab-{group}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
