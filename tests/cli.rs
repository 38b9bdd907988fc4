//! The `lab` command line as a user runs it: gradient-check table and exit status, a training run's files,
//! reruns being identical, and clear errors for bad input.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use backprop_lab::data::{synthetic, write_binary_batch, SyntheticConfig};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .output()
        .expect("the lab binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("backprop-lab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn train_small(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--hidden",
        "32",
        "--steps",
        "60",
        "--eval-every",
        "20",
        "--batch-size",
        "50",
        "--synthetic-train",
        "500",
        "--synthetic-test",
        "200",
        "--quiet",
        "--out",
    ];
    let out = out.to_str().expect("utf-8 path");
    args.push(out);
    args.extend_from_slice(extra);
    lab(&args)
}

#[test]
fn gradcheck_prints_a_passing_table_and_exits_zero() {
    let output = lab(&["gradcheck", "--trials", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("max rel err") && stdout.contains("Linear") && stdout.contains("LayerNorm"));
    assert!(!stdout.contains("FAIL"));
}

#[test]
fn gradcheck_json_lists_every_row_with_its_verdict() {
    let output = lab(&["gradcheck", "--json", "--trials", "1"]);
    assert!(output.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let rows = rows.as_array().expect("an array of rows");
    assert!(rows.len() > 20);
    for row in rows {
        for key in ["layer", "parameter", "shape", "max_rel_error", "tolerance", "passed"] {
            assert!(row.get(key).is_some(), "row without {key}: {row}");
        }
        assert_eq!(row["passed"], serde_json::Value::Bool(true), "{row}");
    }
}

#[test]
fn train_writes_summary_curves_and_chart_and_reruns_identically() {
    let (a, b) = (temp_dir("run-a"), temp_dir("run-b"));
    for dir in [&a, &b] {
        let output = train_small(dir, &["--optimizer", "adam", "--batchnorm"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).expect("summary")).expect("JSON");
    for key in ["final_test_accuracy", "final_test_loss", "steps", "wall_seconds"] {
        assert!(
            summary.get(key).is_some_and(|v| !v.is_null()),
            "summary without {key}: {summary}"
        );
    }
    assert_eq!(summary["steps"], 60);
    let accuracy = summary["final_test_accuracy"].as_f64().expect("number");
    assert!((0.0..=1.0).contains(&accuracy));
    let curves = std::fs::read_to_string(a.join("curves.csv")).expect("curves.csv");
    assert_eq!(curves.lines().count(), 1 + 3, "{curves}");
    assert_eq!(
        curves,
        std::fs::read_to_string(b.join("curves.csv")).expect("curves.csv"),
        "same seed, same curves"
    );
    if a.join("curves.png").exists() {
        let png = std::fs::read(a.join("curves.png")).expect("png");
        assert_eq!(&png[1..4], b"PNG");
    }
}

#[test]
fn train_reads_cifar_binary_batches_given_as_files() {
    let dir = temp_dir("bins");
    let data = synthetic(&SyntheticConfig {
        seed: 3,
        train_size: 300,
        test_size: 100,
    });
    std::fs::write(dir.join("data_batch_1.bin"), write_binary_batch(&data.train)).expect("write");
    std::fs::write(dir.join("test_batch.bin"), write_binary_batch(&data.test)).expect("write");
    let out = dir.join("out");
    let output = lab(&[
        "train",
        "--data",
        dir.to_str().expect("utf-8"),
        "--steps",
        "10",
        "--eval-every",
        "5",
        "--batch-size",
        "30",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("300 training, 100 test images"), "{stderr}");
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = temp_dir("bad");
    let truncated = dir.join("data_batch_1.bin");
    std::fs::write(&truncated, vec![1u8; 3073 * 2 + 100]).expect("write");
    let missing = dir.join("no-such-dir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--data".into(), missing.display().to_string()], "no-such-dir"),
        (
            vec!["--data".into(), truncated.display().to_string()],
            "data_batch_1.bin",
        ),
        (
            vec!["--lr=-5".into()],
            "learning rate: expected a number in (0, 100], found -5",
        ),
        (
            vec!["--momentum=1.5".into()],
            "momentum: expected a number in [0, 1), found 1.5",
        ),
    ];
    for (extra, expected) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let output = train_small(&dir.join("out"), &extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} should fail");
        assert!(
            stderr.contains(expected),
            "{extra:?}: expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
