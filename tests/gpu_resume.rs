//! A GPU run saved part-way (`--stop-at` and `--save-run`, with the optimizer's moments read back from the GPU)
//! and resumed (`--resume`) continues as the uninterrupted GPU run, in the library and through `lab train`: on the GPU within 1e-5·(1 + |loss|) (the same kernels
//! on the same state; only the moments' round trip through the file could differ, and it is exact), on the CPU
//! within the CPU/GPU tolerance of `tests/gpu_training.rs`, 1e-3·(1 + |loss|). Resuming without the moments
//! lands outside the tighter tolerance: the test can tell.
//!
//! Needs a WebGPU adapter but no GPU (Mesa's lavapipe, see `tests/gpu_kernels.rs`).
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/cli.rs"]
mod common_cli;
#[path = "common/curves.rs"]
mod common_curves;
#[path = "common/gpu.rs"]
mod common_gpu;

use backprop_lab::data::{self, Dataset, SyntheticConfig};
use backprop_lab::gpu::GpuTrainer;
use backprop_lab::model::{Activation, MlpConfig, ModelConfig, Normalization};
use backprop_lab::optim::{OptimizerConfig, OptimizerState};
use backprop_lab::train::{TrainConfig, Trainer};
use common_cli::{lab, temp_dir};
use common_curves::curve_numbers;
use common_gpu::gpu;

const STEPS: usize = 24;
const STOP_AT: usize = 10;

fn dataset() -> Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 5,
        train_size: 96,
        test_size: 20,
    })
}

fn run_config(optimizer: OptimizerConfig) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![32],
            activation: Activation::Elu,
            normalization: Normalization::BatchNorm,
            ..MlpConfig::default()
        }),
        optimizer,
        batch_size: 16,
        steps: STEPS,
        eval_every: 4,
        ..TrainConfig::default()
    }
}

fn optimizers() -> [OptimizerConfig; 2] {
    [
        OptimizerConfig::adam(0.003),
        OptimizerConfig::Sgd {
            learning_rate: 0.02,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
        },
    ]
}

/// Every step's loss, then every curve point's train and test loss.
fn losses(trainer: &Trainer, steps: &[f64]) -> Vec<f64> {
    let points = trainer.curves().iter().flat_map(|p| [p.train_loss, p.test_loss]);
    steps.iter().copied().chain(points).collect()
}

fn assert_close(what: &str, found: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(found.len(), expected.len(), "{what}: values");
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!(
            (f - e).abs() <= tolerance * (1.0 + e.abs()),
            "{what}: value {i}: {f}, uninterrupted {e}"
        );
    }
}

/// The uninterrupted GPU run's step losses and curves.
fn uninterrupted(config: &TrainConfig, dataset: &Dataset) -> Option<Vec<f64>> {
    let mut gpu = GpuTrainer::new(config.clone(), dataset, gpu()?).expect("a GPU run");
    let mut steps = Vec::new();
    gpu.run(dataset, |outcome, _| steps.push(outcome.loss))
        .expect("training");
    Some(losses(gpu.trainer(), &steps))
}

/// The GPU run to [`STOP_AT`], saved with its optimizer state synced back: the file's bytes and its step losses.
fn saved_part_way(config: &TrainConfig, dataset: &Dataset) -> Option<(Vec<u8>, Vec<f64>)> {
    let mut gpu = GpuTrainer::new(config.clone(), dataset, gpu()?).expect("a GPU run");
    let mut steps = Vec::new();
    gpu.run_until(STOP_AT, dataset, |outcome, _| steps.push(outcome.loss))
        .expect("training");
    gpu.sync_weights().expect("weights back");
    gpu.sync_optimizer().expect("moments back");
    let mut trainer = gpu.into_cpu();
    assert_eq!(trainer.steps_done(), STOP_AT, "every submitted step recorded");
    Some((trainer.save_run().expect("saves"), steps))
}

#[test]
fn a_gpu_run_saved_part_way_resumes_on_the_gpu_and_on_the_cpu() {
    let dataset = dataset();
    for optimizer in optimizers() {
        let config = run_config(optimizer.clone());
        let what = format!("{optimizer:?}");
        let Some(expected) = uninterrupted(&config, &dataset) else {
            return;
        };
        let Some((saved, mut steps)) = saved_part_way(&config, &dataset) else {
            return;
        };

        let mut resumed = Trainer::resume_run(&saved, &dataset).expect("resumes");
        let mut tensors = 0;
        resumed.network_mut().visit_trainable_params(&mut |_, _| tensors += 1);
        let state = resumed.optimizer_state();
        assert!(
            state
                .slots
                .iter()
                .all(|(_, per_parameter)| per_parameter.len() == tensors),
            "{what}: the moments of all {tensors} trainable tensors were saved"
        );
        assert!(state.step >= 1, "{what}: the optimizer's step count was saved");
        let mut gpu = GpuTrainer::from_trainer(resumed, gpu().expect("an adapter")).expect("a GPU run");
        let mut gpu_steps = steps.clone();
        gpu.run(&dataset, |outcome, _| gpu_steps.push(outcome.loss))
            .expect("training");
        assert_close(
            &format!("{what}, resumed on the GPU"),
            &losses(gpu.trainer(), &gpu_steps),
            &expected,
            1e-5,
        );

        let mut cpu = Trainer::resume_run(&saved, &dataset).expect("resumes");
        cpu.run(&dataset, |outcome, _| steps.push(outcome.loss))
            .expect("training");
        assert_close(
            &format!("{what}, resumed on the CPU"),
            &losses(&cpu, &steps),
            &expected,
            1e-3,
        );
    }
}

#[test]
fn resuming_without_the_moments_is_told_apart() {
    let dataset = dataset();
    let config = run_config(OptimizerConfig::adam(0.003));
    let Some(expected) = uninterrupted(&config, &dataset) else {
        return;
    };
    let Some((saved, mut steps)) = saved_part_way(&config, &dataset) else {
        return;
    };
    let mut resumed = Trainer::resume_run(&saved, &dataset).expect("resumes");
    resumed
        .restore_optimizer(OptimizerState {
            step: 0,
            slots: vec![("exp_avg", Vec::new()), ("exp_avg_sq", Vec::new())],
        })
        .expect("a fresh Adam state");
    let mut gpu = GpuTrainer::from_trainer(resumed, gpu().expect("an adapter")).expect("a GPU run");
    gpu.run(&dataset, |outcome, _| steps.push(outcome.loss))
        .expect("training");
    let found = losses(gpu.trainer(), &steps);
    let largest = found
        .iter()
        .zip(&expected)
        .map(|(f, e)| (f - e).abs() / (1.0 + e.abs()))
        .fold(0.0, f64::max);
    assert!(
        largest > 1e-5,
        "fresh moments differ from the saved ones by {largest:e} at most"
    );
}

#[test]
fn lab_train_on_the_gpu_saves_part_way_and_resumes_on_either_backend() {
    if gpu().is_none() {
        return;
    }
    let root = temp_dir("gpu-resume", "cli");
    let path = |name: &str| root.join(name).to_str().expect("utf-8 path").to_string();
    let train = |extra: &[&str], out: &str| {
        let mut args = vec![
            "train",
            "--quiet",
            "--out",
            out,
            "--synthetic-train",
            "200",
            "--synthetic-test",
            "50",
        ];
        args.extend_from_slice(extra);
        let output = lab(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    let model = [
        "--backend",
        "gpu",
        "--hidden",
        "32",
        "--batchnorm",
        "--optimizer",
        "adam",
        "--steps",
        "20",
        "--eval-every",
        "5",
        "--batch-size",
        "20",
    ];
    train(&model, &path("uninterrupted"));
    let saved = path("run.safetensors");
    train(
        &[&model[..], &["--stop-at", "10", "--save-run", &saved]].concat(),
        &path("part"),
    );
    train(&["--backend", "gpu", "--resume", &saved], &path("resumed-gpu"));
    train(&["--backend", "cpu", "--resume", &saved], &path("resumed-cpu"));
    let expected = curve_numbers(&root.join("uninterrupted"));
    for (backend, tolerance) in [("gpu", 1e-5), ("cpu", 1e-3)] {
        let found = curve_numbers(&root.join(format!("resumed-{backend}")));
        assert_close(
            &format!("curves.csv resumed on the {backend}"),
            &found,
            &expected,
            tolerance,
        );
    }
    let _ = std::fs::remove_dir_all(&root);

    let threads = lab(&["train", "--backend", "gpu", "--threads", "2", "--steps", "1"]);
    assert!(!threads.status.success());
    let message = String::from_utf8_lossy(&threads.stderr);
    assert!(
        message.contains("--backend gpu: expected --threads 1 (the GPU trains the whole batch), found 2"),
        "{message}"
    );
}
