//! `lab train --save/--init-from/--save-run/--resume` and `lab inspect` as a user runs them.
#![cfg(not(target_arch = "wasm32"))]
#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::Output;

use cli::lab;

fn temp_dir(name: &str) -> PathBuf {
    cli::temp_dir("cli-weights", name)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// An MLP 3072-`hidden`-10 with BatchNorm, Adam, `steps` steps on a small synthetic set.
fn train(out: &Path, hidden: &str, steps: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--hidden",
        hidden,
        "--batchnorm",
        "--optimizer",
        "adam",
        "--lr",
        "0.001",
        "--steps",
        steps,
        "--eval-every",
        "10",
        "--batch-size",
        "40",
        "--synthetic-train",
        "300",
        "--synthetic-test",
        "100",
        "--quiet",
        "--out",
        path(out),
    ];
    args.extend_from_slice(extra);
    lab(&args)
}

fn assert_ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn save_then_inspect_lists_pytorch_names_and_the_configuration() {
    let dir = temp_dir("inspect");
    let weights = dir.join("model.safetensors");
    assert_ok(&train(&dir, "16", "10", &["--save", path(&weights)]));
    let listing = assert_ok(&lab(&["inspect", path(&weights)]));
    for expected in [
        "0.weight",
        "[16, 3072]",
        "1.running_var",
        "1.num_batches_tracked",
        "I64",
        "3.weight",
        "3.bias",
        "backprop_lab.model",
    ] {
        assert!(listing.contains(expected), "{expected} in {listing}");
    }
}

#[test]
fn a_resumed_run_ends_with_the_curves_of_an_uninterrupted_one() {
    let dir = temp_dir("resume");
    let whole = dir.join("whole");
    assert_ok(&train(&whole, "16", "30", &[]));
    let run = dir.join("run.safetensors");
    let first = dir.join("first");
    assert_ok(&train(
        &first,
        "16",
        "30",
        &["--stop-at", "12", "--save-run", path(&run)],
    ));
    let second = dir.join("second");
    assert_ok(&train(&second, "16", "30", &["--resume", path(&run)]));
    let csv = |d: &Path| std::fs::read_to_string(d.join("curves.csv")).expect("curves written");
    assert_eq!(csv(&second), csv(&whole));
}

#[test]
fn a_data_parallel_run_stops_saves_and_resumes_on_any_number_of_threads_with_the_same_curves() {
    let dir = temp_dir("resume-threads");
    let whole = dir.join("whole");
    assert_ok(&train(&whole, "16", "30", &["--threads", "2", "--augment"]));
    let run = dir.join("run.safetensors");
    let first = dir.join("first");
    let stop = [
        "--threads",
        "2",
        "--augment",
        "--stop-at",
        "12",
        "--save-run",
        path(&run),
    ];
    assert_ok(&train(&first, "16", "30", &stop));
    let csv = |d: &Path| std::fs::read_to_string(d.join("curves.csv")).expect("curves written");
    for threads in ["2", "1"] {
        let second = dir.join(format!("second-{threads}"));
        assert_ok(&train(
            &second,
            "16",
            "30",
            &["--resume", path(&run), "--threads", threads],
        ));
        let (resumed, uninterrupted) = (csv(&second), csv(&whole));
        if threads == "2" {
            assert_eq!(resumed, uninterrupted, "the same threads: bit for bit");
        } else {
            // one thread normalises the whole batch with BatchNorm, two each their slice: another run from the
            // same saved state, at the same steps
            let steps = |text: &str| -> Vec<String> {
                text.lines()
                    .map(|line| line.split(',').next().unwrap_or("").to_string())
                    .collect()
            };
            assert_eq!(steps(&resumed), steps(&uninterrupted));
        }
    }
}

#[test]
fn init_from_applies_the_input_normalisation_the_weights_expect() {
    let dir = temp_dir("init-imagenet");
    let weights = dir.join("model.safetensors");
    assert_ok(&train(&dir, "16", "2", &["--save", path(&weights)]));
    // the same tensors, tagged for ImageNet's normalisation
    let bytes = std::fs::read(&weights).expect("written");
    let mut state = backprop_lab::weights::StateDict::from_bytes(&bytes).expect("a weights file");
    let mut metadata = state.lab_metadata().expect("the lab's metadata");
    assert_eq!(metadata.input, backprop_lab::data::InputNormalization::CourseMeanImage);
    metadata.input = backprop_lab::data::InputNormalization::ImageNet;
    let mut network = metadata
        .model
        .clone()
        .expect("a model")
        .build::<f32>(1)
        .expect("builds");
    backprop_lab::weights::load_into(&mut network, &state, None).expect("loads");
    state.metadata.clear();
    let tagged = dir.join("imagenet.safetensors");
    std::fs::write(
        &tagged,
        backprop_lab::weights::save(&mut network, &metadata).expect("saved"),
    )
    .expect("write");

    let saved_again = dir.join("again.safetensors");
    let output = train(
        &dir,
        "16",
        "1",
        &["--init-from", path(&tagged), "--save", path(&saved_again)],
    );
    assert_ok(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("input normalisation: imagenet"));
    let again = backprop_lab::weights::StateDict::from_bytes(&std::fs::read(&saved_again).expect("written")).unwrap();
    assert_eq!(
        again.metadata.get(backprop_lab::weights::INPUT_KEY).map(String::as_str),
        Some("imagenet")
    );
}

#[test]
fn init_from_loads_matching_weights_and_names_every_mismatch() {
    let dir = temp_dir("init");
    let weights = dir.join("model.safetensors");
    assert_ok(&train(&dir, "16", "10", &["--save", path(&weights)]));
    let output = train(&dir, "16", "1", &["--init-from", path(&weights)]);
    assert_ok(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("initialised from"));

    let output = train(&dir, "8", "1", &["--init-from", path(&weights)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("0.weight: expected shape [8, 3072], found [16, 3072]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1.running_mean: expected shape [8], found [16]"),
        "{stderr}"
    );

    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, b"not weights").expect("write");
    let output = lab(&["inspect", path(&bad)]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected a safetensors file"));
}
