//! The `lab` command line as a user runs it: gradient-check table and exit status, a training run's files,
//! reruns being identical, clear errors for bad input, and `lab synth` files that load back as the same data.
#![cfg(not(target_arch = "wasm32"))]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::Output;

use backprop_lab::data::{load_path, synthetic, write_binary_batch, DatasetBuilder, SyntheticConfig};
use cli::lab;

fn temp_dir(name: &str) -> PathBuf {
    cli::temp_dir("cli", name)
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

/// Runs `lab synth --out DIR` with `extra`, asserts success, and returns the files it reported as
/// (path, size), checking each size against the file on disk.
fn synth_ok(dir: &Path, extra: &[&str]) -> Vec<(PathBuf, u64)> {
    let mut args = vec!["synth", "--out", dir.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let output = lab(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let files: Vec<(PathBuf, u64)> = (stdout.lines())
        .map(|line| {
            let (path, size) = line.rsplit_once("  ").expect("\"PATH  SIZE bytes\"");
            let size = size
                .strip_suffix(" bytes")
                .expect("SIZE bytes")
                .parse()
                .expect("a size");
            (PathBuf::from(path), size)
        })
        .collect();
    for (path, size) in &files {
        assert_eq!(
            std::fs::metadata(path).expect("reported file exists").len(),
            *size,
            "{}",
            path.display()
        );
    }
    files
}

fn file_names(files: &[(PathBuf, u64)]) -> Vec<String> {
    (files.iter())
        .map(|(path, _)| path.file_name().expect("a file name").to_string_lossy().into_owned())
        .collect()
}

#[test]
fn synth_writes_every_format_and_it_loads_back_as_the_same_data() {
    let config = SyntheticConfig {
        seed: 7,
        train_size: 230,
        test_size: 50,
    };
    let expected = synthetic(&config);
    let sizes = ["--seed", "7", "--train-size", "230", "--test-size", "50"];
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "binary",
            "1",
            &["data_batch_1.bin", "test_batch.bin", "batches.meta.txt"],
        ),
        (
            "binary",
            "3",
            &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "test_batch.bin",
                "batches.meta.txt",
            ],
        ),
        (
            "python",
            "2",
            &["data_batch_1", "data_batch_2", "test_batch", "batches.meta"],
        ),
        ("binary-archive", "5", &["cifar-10-binary.tar.gz"]),
        ("python-archive", "2", &["cifar-10-python.tar.gz"]),
    ];
    for (format, batches, names) in cases {
        let dir = temp_dir(&format!("synth-{format}-{batches}"));
        let mut args = vec!["--format", format, "--batches", batches];
        args.extend_from_slice(&sizes);
        let files = synth_ok(&dir, &args);
        assert_eq!(file_names(&files), names, "{format} --batches {batches}");
        if batches == "3" {
            // Consecutive batches, as equal as possible: 230 = 76 + 77 + 77 records of 3073 bytes.
            let records: Vec<u64> = files[..3].iter().map(|(_, size)| size / 3073).collect();
            assert_eq!(records, [76, 77, 77]);
        }
        if format.ends_with("archive") {
            let bytes = std::fs::read(&files[0].0).expect("archive");
            let summary =
                (DatasetBuilder::new().add_file(names[0], &bytes)).unwrap_or_else(|e| panic!("{format}: {e}"));
            let batch_names: Vec<&str> = summary.batches.iter().map(|b| b.name.as_str()).collect();
            let train_batches: usize = batches.parse().expect("a number");
            assert_eq!(batch_names.len(), train_batches + 1, "{format}: {batch_names:?}");
            assert_eq!(
                summary.skipped.len(),
                2,
                "batches.meta(.txt) and readme.html: {:?}",
                summary.skipped
            );
        }
        let loaded = if format.ends_with("archive") {
            load_path(&files[0].0)
        } else {
            load_path(&dir)
        }
        .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(loaded.train.len(), 230, "{format}");
        assert_eq!(loaded.test.len(), 50, "{format}");
        assert!(
            loaded.train == expected.train,
            "{format}: training images or labels differ"
        );
        assert!(loaded.test == expected.test, "{format}: test images or labels differ");
    }
}

#[test]
fn synth_defaults_to_seed_42_one_binary_batch_and_a_small_data_set() {
    let dir = temp_dir("synth-defaults");
    let files = synth_ok(&dir, &[]);
    assert_eq!(
        file_names(&files),
        ["data_batch_1.bin", "test_batch.bin", "batches.meta.txt"]
    );
    let expected = synthetic(&SyntheticConfig {
        seed: 42,
        train_size: 1000,
        test_size: 200,
    });
    assert_eq!(files[0].1, 1000 * 3073);
    assert_eq!(files[1].1, 200 * 3073);
    assert!(std::fs::read(&files[0].0).expect("batch") == write_binary_batch(&expected.train));
    assert!(std::fs::read(&files[1].0).expect("batch") == write_binary_batch(&expected.test));
}

#[test]
fn synth_rejects_bad_sizes_with_a_clear_error() {
    let dir = temp_dir("synth-bad");
    let out = dir.to_str().expect("utf-8");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--batches", "0"],
            "--batches: expected a whole number in [1, 5], found 0",
        ),
        (
            &["--batches", "6"],
            "--batches: expected a whole number in [1, 5], found 6",
        ),
        (
            &["--batches", "4", "--train-size", "3"],
            "--batches: expected a whole number in [1, 3] (at most one batch per training image), found 4",
        ),
        (
            &["--train-size", "0"],
            "--train-size: expected a whole number in [1, 50000], found 0",
        ),
        (
            &["--test-size", "0"],
            "--test-size: expected a whole number in [1, 10000], found 0",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["synth", "--out", out];
        args.extend_from_slice(extra);
        let output = lab(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} should fail");
        assert!(
            stderr.contains(expected),
            "{extra:?}: expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        0,
        "nothing written on error"
    );
}

#[test]
fn train_on_two_threads_writes_the_run_and_refuses_zero() {
    let out = temp_dir("threads");
    let output = train_small(&out, &["--threads", "2", "--batchnorm"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary")).expect("JSON");
    assert_eq!(summary["threads"], 2);
    let accuracy = summary["final_test_accuracy"].as_f64().expect("an accuracy");
    assert!((0.0..=1.0).contains(&accuracy));
    let curves = std::fs::read_to_string(out.join("curves.csv")).expect("curves");
    assert!(curves.lines().count() > 1);

    let output = train_small(&temp_dir("threads-zero"), &["--threads", "0"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--threads: expected 1 to"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
