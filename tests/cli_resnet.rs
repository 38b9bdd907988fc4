//! `lab train --model resnet18|resnet34` as a user runs it: torchvision's networks built from the lab's
//! layers, their parameter counts printed and recorded, one tiny training step on generated data.
#![cfg(not(target_arch = "wasm32"))]
#[path = "common/cli.rs"]
mod cli;

use cli::lab;

/// Trains `model` for one step of 2 images; returns stderr and summary.json.
fn one_step(name: &str, model: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let out = cli::temp_dir("cli-resnet", name);
    let out = out.to_str().expect("utf-8 path");
    let mut args = vec![
        "train",
        "--model",
        model,
        "--steps",
        "1",
        "--eval-every",
        "1",
        "--batch-size",
        "2",
        "--synthetic-train",
        "20",
        "--synthetic-test",
        "10",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let output = lab(&args);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    let summary = std::fs::read(format!("{out}/summary.json")).expect("summary.json written");
    (stderr, serde_json::from_slice(&summary).expect("valid JSON"))
}

#[test]
fn resnet34_has_torchvision_s_21_289_802_parameters_and_trains_a_step() {
    let (stderr, summary) = one_step("resnet34", "resnet34", &[]);
    assert!(stderr.contains("(21289802 parameters)"), "{stderr}");
    assert_eq!(summary["parameters"], 21_289_802);
    assert_eq!(summary["steps"], 1);
    let loss = summary["final_test_loss"].as_f64().expect("a test loss");
    assert!(loss.is_finite() && loss > 0.0, "{loss}");
    // the report's recipe: Adam 1e-3, lr ÷10 every 1500 steps
    assert_eq!(summary["config"]["optimizer"]["learning_rate"], 1e-3);
    assert_eq!(summary["config"]["schedule"]["every"], 1500);
}

#[test]
fn resnet18_with_the_cifar_stem_swaps_the_7x7_convolution_for_a_3x3_one() {
    // torchvision's ResNet-18 with 10 classes: 11,181,642; the CIFAR stem's 3×3 convolution has 64·3·9 = 1,728
    // weights instead of 64·3·49 = 9,408
    let (stderr, summary) = one_step("resnet18", "resnet18", &[]);
    assert!(stderr.contains("(11181642 parameters)"), "{stderr}");
    let (_, cifar) = one_step("resnet18-cifar", "resnet18", &["--stem", "cifar"]);
    assert_eq!(cifar["parameters"], 11_181_642 - 9_408 + 1_728);
    assert!(cifar["train_flops"].as_u64() > summary["train_flops"].as_u64());
}

#[test]
fn an_unknown_stem_is_refused_with_the_choices() {
    let output = lab(&["train", "--model", "resnet18", "--stem", "tiny"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("image-net") && stderr.contains("cifar"), "{stderr}");
}

#[test]
fn a_stem_without_a_resnet_is_refused() {
    let output = lab(&["train", "--model", "convnet", "--stem", "cifar"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--stem: expected --model resnet18 or resnet34 with it, found --model convnet"),
        "{stderr}"
    );
}
