//! GPU-resident training against the CPU path: the same seed gives the same initial weights, the same
//! batches give the same losses and parameters within f32 tolerance, and runs repeat exactly.
//!
//! Needs a WebGPU adapter but no GPU (Mesa's lavapipe, see `tests/gpu_kernels.rs`); skips with the
//! reason printed where there is none (and fails where `WGPU_ADAPTER_NAME` names one it cannot find, as
//! `scripts/test` does). Sizes are small: a software adapter is slow.
#![cfg(not(target_arch = "wasm32"))]

#[path = "common/cli.rs"]
mod common_cli;
#[path = "common/curves.rs"]
mod common_curves;
#[path = "common/gpu.rs"]
mod common_gpu;

use backprop_lab::data::{self, Dataset, SyntheticConfig};
use backprop_lab::error::TrainError;
use backprop_lab::gpu::trainer::READBACK_EVERY;
use backprop_lab::gpu::{GpuContext, GpuNetwork, GpuTrainError, GpuTrainer};
use backprop_lab::gradcheck::random_normal;
use backprop_lab::model::{Activation, FineTune, MlpConfig, ModelConfig, Network, Normalization, ResnetConfig, Stem};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{CurvePoint, TrainConfig, Trainer};
use common_cli::{lab, temp_dir};
use common_curves::curve_numbers;
use common_gpu::gpu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn mlp_with_batch_norm() -> ModelConfig {
    ModelConfig::Mlp(MlpConfig {
        input_features: 48,
        hidden: vec![32, 16],
        activation: Activation::Elu,
        normalization: Normalization::BatchNorm,
        ..MlpConfig::default()
    })
}

/// Random inputs and targets of `batch` rows.
fn batch(rng: &mut ChaCha8Rng, rows: usize, features: usize) -> (Vec<f32>, Vec<usize>) {
    let x = random_normal(rng, rows, features).mapv(|v| v as f32);
    let targets = (0..rows).map(|_| rng.random_range(0..10)).collect();
    (x.iter().copied().collect(), targets)
}

fn parameters(network: &mut Network<f32>) -> Vec<f32> {
    let mut values = Vec::new();
    network.visit_params(&mut |_, p| values.extend_from_slice(p.value));
    network.visit_buffers(&mut |_, _, b| values.extend_from_slice(b));
    values
}

fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], abs: f32, rel: f32) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        assert!(
            (g - c).abs() <= abs + rel * c.abs(),
            "{what}: value {i} is {g} on the GPU, {c} on the CPU (tolerance {abs} + {rel}·|cpu|)"
        );
    }
}

#[test]
fn one_adam_step_of_an_mlp_with_batch_norm_matches_the_cpu() {
    let Some(context) = gpu() else { return };
    let model = mlp_with_batch_norm();
    let optimizer = OptimizerConfig::adam(1e-3);
    let mut cpu = model.build::<f32>(42).expect("a valid model");
    let mut twin = model.build::<f32>(42).expect("a valid model");
    let mut network = GpuNetwork::new(context, &mut twin).expect("every layer has a GPU twin");
    let mut gpu_optimizer = network.optimizer(&optimizer).expect("an optimizer");
    let (x, targets) = batch(&mut ChaCha8Rng::seed_from_u64(1), 20, 48);

    let x_cpu = ndarray::ArrayView2::from_shape((20, 48), &x).expect("20×48");
    let (loss, correct) = cpu.forward_backward(x_cpu, &targets);
    let mut cpu_optimizer = optimizer.build::<f32>().expect("an optimizer");
    let mut cpu_grads = Vec::new();
    cpu.visit_params(&mut |_, p| cpu_grads.push(p.grad.to_vec()));
    cpu_optimizer.step(&mut cpu);

    let step = gpu_optimizer.prepare_step(&network.context).to_vec();
    network.train_step(&x, &targets, &step, None).expect("a step");
    let metrics = network.read_training_metrics(0).expect("metrics");
    assert_eq!(metrics.len(), 1, "one step recorded");
    let (_, gpu_loss, gpu_correct) = metrics[0];
    assert!(
        (gpu_loss - loss).abs() <= 1e-5 + 1e-5 * loss.abs(),
        "loss {gpu_loss} vs {loss}"
    );
    assert_eq!(gpu_correct as usize, correct, "correct predictions");
    for (i, (g, c)) in network
        .read_gradients()
        .expect("gradients")
        .iter()
        .zip(&cpu_grads)
        .enumerate()
    {
        assert_close(&format!("gradient {i}"), g, c, 1e-5, 1e-3);
    }
    let before = parameters(&mut model.build::<f32>(42).expect("a valid model"));
    network.read_state_into(&mut twin).expect("readback");
    let (after_gpu, after_cpu) = (parameters(&mut twin), parameters(&mut cpu));
    // Adam's first step moves a parameter by η·g/(|g| + ε): about η = 1e-3 whatever the gradient's size.
    // Where the exact gradient is 0 (the bias of a linear layer before a BatchNorm, which removes it) both
    // sides hold rounding noise of ~1e-9 and the step's size is noise too: there only |Δθ| ≤ η is checked.
    let noise = cpu_grads
        .iter()
        .flatten()
        .map(|g| g.abs() < 1e-6)
        .chain(std::iter::repeat(false));
    for (i, (((&g, &c), &b), noisy)) in after_gpu.iter().zip(&after_cpu).zip(&before).zip(noise).enumerate() {
        if noisy {
            assert!((g - b).abs() <= 1.0001e-3, "parameter {i} moved by {}", g - b);
        } else {
            assert!(
                (g - c).abs() <= 1e-6 + 1e-4 * c.abs(),
                "parameter {i} after one step: {g} on the GPU, {c} on the CPU"
            );
        }
    }
}

fn synthetic(train_size: usize, test_size: usize) -> Dataset {
    data::synthetic(&SyntheticConfig {
        seed: 5,
        train_size,
        test_size,
    })
}

fn mlp_run(steps: usize) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![32],
            normalization: Normalization::BatchNorm,
            ..MlpConfig::default()
        }),
        optimizer: OptimizerConfig::adam(1e-3),
        batch_size: 20,
        steps,
        eval_every: 10,
        ..TrainConfig::default()
    }
}

/// Every step's batch loss of a CPU run and the final test evaluation.
fn cpu_curve(config: &TrainConfig, dataset: &Dataset) -> (Vec<f64>, CurvePoint) {
    let mut trainer = Trainer::new(config.clone(), dataset).expect("a valid run");
    let mut losses = Vec::new();
    trainer
        .run(dataset, |outcome, _| losses.push(outcome.loss))
        .expect("training");
    (losses, *trainer.curves().last().expect("a curve point"))
}

/// The same on the GPU.
fn gpu_curve(config: &TrainConfig, dataset: &Dataset, context: GpuContext) -> (Vec<f64>, CurvePoint) {
    let mut trainer = GpuTrainer::new(config.clone(), dataset, context).expect("a GPU run");
    let mut losses = Vec::new();
    trainer
        .run(dataset, |outcome, _| losses.push(outcome.loss))
        .expect("training");
    (losses, *trainer.trainer().curves().last().expect("a curve point"))
}

fn assert_curves_agree(what: &str, gpu: &(Vec<f64>, CurvePoint), cpu: &(Vec<f64>, CurvePoint), tolerance: f64) {
    assert_eq!(gpu.0.len(), cpu.0.len(), "{what}: steps");
    for (step, (g, c)) in gpu.0.iter().zip(&cpu.0).enumerate() {
        assert!(
            (g - c).abs() <= tolerance * (1.0 + c.abs()),
            "{what}: step {} loss {g} on the GPU, {c} on the CPU",
            step + 1
        );
    }
    let (g, c) = (gpu.1, cpu.1);
    assert!(
        (g.test_loss - c.test_loss).abs() <= tolerance * (1.0 + c.test_loss.abs()),
        "{what}: {g:?} vs {c:?}"
    );
    assert!(
        (g.train_loss - c.train_loss).abs() <= tolerance * (1.0 + c.train_loss.abs()),
        "{what}: {g:?} vs {c:?}"
    );
}

#[test]
fn twenty_steps_of_an_mlp_with_batch_norm_and_adam_follow_the_cpu_curve() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(200, 50);
    let config = mlp_run(20);
    // f32 rounding differs (sums in another order), and 20 Adam steps carry it along
    assert_curves_agree(
        "MLP",
        &gpu_curve(&config, &dataset, context),
        &cpu_curve(&config, &dataset),
        1e-3,
    );
}

#[test]
fn twenty_steps_of_the_small_cnn_follow_the_cpu_curve() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(40, 4);
    // the small CNN's recipe (one-cycle schedule, crops and flips) at batch 2: lavapipe is slow
    let config = TrainConfig {
        batch_size: 2,
        steps: 20,
        eval_every: 20,
        ..TrainConfig::small_cnn()
    };
    let gpu = gpu_curve(&config, &dataset, context);
    assert_curves_agree("small CNN", &gpu, &cpu_curve(&config, &dataset), 1e-3);
}

#[test]
fn a_convnet_step_follows_the_cpu() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(10, 2);
    let config = TrainConfig {
        batch_size: 2,
        steps: 1,
        eval_every: 1,
        ..TrainConfig::convnet()
    };
    let gpu = gpu_curve(&config, &dataset, context);
    assert_curves_agree("ConvNet", &gpu, &cpu_curve(&config, &dataset), 1e-3);
}

#[test]
fn a_few_steps_of_a_narrow_resnet_follow_the_cpu_curve() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(12, 4);
    // ResNet-18's layout with a CIFAR stem, narrowed: identity and projection shortcuts both occur
    let resnet = ResnetConfig::resnet18(10)
        .with_stem(Stem::Cifar)
        .with_widths([4, 4, 8, 8])
        .with_blocks([1, 1, 1, 1])
        .cnn();
    let config = TrainConfig {
        model: ModelConfig::Cnn(resnet),
        batch_size: 2,
        steps: 4,
        eval_every: 4,
        ..TrainConfig::resnet34_fine_tuning()
    };
    let gpu = gpu_curve(&config, &dataset, context);
    assert_curves_agree("ResNet", &gpu, &cpu_curve(&config, &dataset), 1e-3);
}

#[test]
fn fine_tuning_modes_follow_the_cpu_curve_and_a_frozen_backbone_stays_put() {
    let dataset = synthetic(200, 50);
    for fine_tune in [FineTune::FeatureExtraction, FineTune::LowerBackboneRate { factor: 0.1 }] {
        let Some(context) = gpu() else { return };
        let config = TrainConfig {
            fine_tune,
            ..mlp_run(12)
        };
        let what = format!("{fine_tune:?}");
        // the seed's initial weights, as the GPU run starts from them
        let mut before = Vec::new();
        Trainer::new(config.clone(), &dataset)
            .expect("a valid run")
            .network_mut()
            .visit_params(&mut |layer, p| before.push((layer, p.value.to_vec())));
        let mut trainer = GpuTrainer::new(config.clone(), &dataset, context).expect("a GPU run");
        let mut losses = Vec::new();
        trainer
            .run(&dataset, |outcome, _| losses.push(outcome.loss))
            .expect("training");
        let gpu = (losses, *trainer.trainer().curves().last().expect("a curve point"));
        assert_curves_agree(&what, &gpu, &cpu_curve(&config, &dataset), 1e-3);
        // the weights synced back: the backbone (every layer before the head) frozen or slowly moving
        let mut cpu = trainer.into_cpu();
        let head = cpu.network_mut().head_layer().expect("a head");
        let mut after = Vec::new();
        cpu.network_mut()
            .visit_params(&mut |layer, p| after.push((layer, p.value.to_vec())));
        for ((layer, b), (_, a)) in before.iter().zip(&after) {
            let moved = b.iter().zip(a).any(|(b, a)| b != a);
            if *layer == head || fine_tune != FineTune::FeatureExtraction {
                assert!(moved, "{what}: layer {layer} did not learn");
            } else {
                assert!(!moved, "{what}: frozen layer {layer} changed");
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_gpu_run() {
    let (Some(first), Some(second)) = (gpu(), gpu()) else {
        return;
    };
    let dataset = synthetic(200, 50);
    let config = mlp_run(12);
    let (a, b) = (
        gpu_curve(&config, &dataset, first),
        gpu_curve(&config, &dataset, second),
    );
    assert_eq!(a.0, b.0, "step losses");
    assert_eq!(a.1, b.1, "the curve point");
}

#[test]
fn a_diverging_run_stops_with_the_cpu_error_on_the_gpu() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(200, 50);
    let config = TrainConfig {
        model: ModelConfig::Mlp(MlpConfig::default()),
        optimizer: OptimizerConfig::sgd(100.0),
        ..mlp_run(40)
    };
    let mut cpu = Trainer::new(config.clone(), &dataset).expect("a valid run");
    let cpu_step = match cpu.run(&dataset, |_, _| {}) {
        Err(TrainError::NonFiniteLoss { step, .. }) => step,
        other => panic!("the CPU run should diverge, got {other:?}"),
    };
    let mut trainer = GpuTrainer::new(config, &dataset, context).expect("a GPU run");
    let error = trainer
        .run(&dataset, |_, _| {})
        .expect_err("a learning rate of 100 diverges");
    match error {
        GpuTrainError::Train(TrainError::NonFiniteLoss {
            step, learning_rate, ..
        }) => {
            assert_eq!(step, cpu_step, "the step whose loss is not finite");
            assert_eq!(learning_rate, 100.0);
            assert_eq!(
                trainer.trainer().steps_done(),
                step - 1,
                "the steps before it are recorded"
            );
        }
        other => panic!("expected a non-finite loss, got {other}"),
    }
}

#[test]
fn lab_train_on_the_gpu_records_the_backend_and_follows_the_cpu_curve() {
    let Some(context) = gpu() else { return };
    let root = temp_dir("gpu-training", "cli");
    let run = |backend: &str| {
        let out = root.join(backend);
        let out = out.to_str().expect("utf-8 path").to_string();
        let args = [
            "train",
            "--backend",
            backend,
            "--hidden",
            "32",
            "--batchnorm",
            "--optimizer",
            "adam",
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--batch-size",
            "20",
            "--synthetic-train",
            "200",
            "--synthetic-test",
            "50",
            "--quiet",
            "--out",
            &out,
        ];
        let output = lab(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        root.join(backend)
    };
    let (gpu_dir, cpu_dir) = (run("gpu"), run("cpu"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gpu_dir.join("summary.json")).expect("summary")).expect("JSON");
    assert_eq!(summary["backend"], "gpu");
    assert_eq!(summary["adapter"]["name"], context.adapter.name.as_str());
    assert_eq!(summary["adapter"]["software"], context.adapter.software);
    let (gpu_curve, cpu_curve) = (curve_numbers(&gpu_dir), curve_numbers(&cpu_dir));
    assert_eq!(gpu_curve.len(), cpu_curve.len(), "curve points");
    for (g, c) in gpu_curve.iter().zip(&cpu_curve) {
        assert!(
            (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
            "curves.csv: {g} on the GPU, {c} on the CPU"
        );
    }
    let _ = std::fs::remove_dir_all(&root);

    let unknown = lab(&[
        "train",
        "--backend",
        "gpu",
        "--adapter",
        "no-such-adapter-name",
        "--steps",
        "1",
    ]);
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("no adapter matches \"no-such-adapter-name\""),
        "{message}"
    );
}

#[test]
fn the_layer_norms_read_back_with_the_losses_follow_the_cpu() {
    let Some(context) = gpu() else { return };
    let dataset = synthetic(200, 20);
    let config = mlp_run(2 * READBACK_EVERY);
    let mut cpu_norms = Vec::new();
    let mut replay = Trainer::new(config.clone(), &dataset).expect("a valid run");
    for _ in 0..config.steps {
        replay.step(&dataset).expect("a step");
        cpu_norms.push(replay.layer_norms().cloned().expect("norms after a step"));
    }
    let mut gpu = GpuTrainer::new(config.clone(), &dataset, context).expect("a GPU run");
    gpu.run(&dataset, |_, _| {}).expect("training");
    let norms = gpu.take_norms();
    let steps: Vec<usize> = norms.iter().map(|n| n.step).collect();
    assert_eq!(
        steps,
        [READBACK_EVERY, 2 * READBACK_EVERY],
        "norms every {READBACK_EVERY} steps"
    );
    for found in &norms {
        let cpu = &cpu_norms[found.step - 1];
        assert_eq!(
            found.gradient.len(),
            cpu.gradient.len(),
            "one norm per layer with parameters"
        );
        let pairs = found
            .gradient
            .iter()
            .zip(&cpu.gradient)
            .chain(found.weight.iter().zip(&cpu.weight));
        for (g, c) in pairs {
            assert!(
                (g - c).abs() <= 1e-3 * (1.0 + c.abs()),
                "step {}: {g} on the GPU, {c} on the CPU",
                found.step
            );
        }
    }
}
