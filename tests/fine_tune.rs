//! Fine-tuning modes: a frozen backbone (feature extraction) is neither updated nor given optimizer state and
//! keeps its running statistics; a lower backbone rate scales the backbone's updates exactly.
use backprop_lab::data::{synthetic, Dataset, SyntheticConfig};
use backprop_lab::model::{CnnConfig, FineTune, ModelConfig, ResnetConfig, Stem};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{TrainConfig, Trainer};
use backprop_lab::weights::StateDict;

fn data() -> Dataset {
    synthetic(&SyntheticConfig {
        seed: 1,
        train_size: 64,
        test_size: 16,
    })
}

fn resnet() -> CnnConfig {
    ResnetConfig::resnet18(10)
        .with_widths([4, 4, 8, 8])
        .with_blocks([1, 1, 1, 1])
        .with_stem(Stem::Cifar)
        .cnn()
}

fn config(fine_tune: FineTune, optimizer: OptimizerConfig) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Cnn(resnet()),
        optimizer,
        batch_size: 16,
        steps: 3,
        eval_every: 3,
        seed: 4,
        fine_tune,
        ..TrainConfig::default()
    }
}

/// Every tensor of the model, and the optimizer's slots, after `steps` steps.
fn run(config: TrainConfig, steps: usize) -> (StateDict, StateDict) {
    let data = data();
    let mut trainer = Trainer::new(config, &data).expect("valid");
    let before = StateDict::from_bytes(&trainer.save_run().expect("saves")).expect("reads");
    for _ in 0..steps {
        trainer.step(&data).expect("finite");
    }
    let after = StateDict::from_bytes(&trainer.save_run().expect("saves")).expect("reads");
    (before, after)
}

fn floats(state: &StateDict, name: &str) -> Vec<f32> {
    match &state.tensors[name].values {
        backprop_lab::weights::StoredValues::F32(v) => v.clone(),
        backprop_lab::weights::StoredValues::I64(v) => v.iter().map(|&c| c as f32).collect(),
    }
}

#[test]
fn feature_extraction_updates_only_the_head_and_keeps_no_state_for_the_backbone() {
    let (before, after) = run(config(FineTune::FeatureExtraction, OptimizerConfig::adam(1e-2)), 3);
    let model: Vec<&String> = before.tensors.keys().filter(|k| k.starts_with("model.")).collect();
    assert!(model.len() > 20);
    for name in model {
        let changed = floats(&before, name) != floats(&after, name);
        assert_eq!(changed, name.starts_with("model.fc."), "{name} changed: {changed}");
    }
    // Adam's two moments for fc.weight and fc.bias only
    let slots: Vec<&String> = after.tensors.keys().filter(|k| k.starts_with("optimizer.")).collect();
    assert_eq!(
        slots,
        [
            "optimizer.exp_avg.0",
            "optimizer.exp_avg.1",
            "optimizer.exp_avg_sq.0",
            "optimizer.exp_avg_sq.1"
        ]
    );
    assert_eq!(floats(&after, "optimizer.exp_avg.0").len(), 10 * 8);
}

#[test]
fn full_fine_tuning_updates_every_layer() {
    let (before, after) = run(config(FineTune::Full, OptimizerConfig::adam(1e-2)), 2);
    for name in [
        "model.conv1.weight",
        "model.layer1.0.bn1.running_mean",
        "model.layer4.0.conv2.weight",
        "model.fc.bias",
    ] {
        assert_ne!(floats(&before, name), floats(&after, name), "{name}");
    }
}

#[test]
fn a_lower_backbone_rate_scales_the_backbone_updates_and_not_the_heads() {
    let sgd = OptimizerConfig::sgd(0.05);
    let (before, full) = run(config(FineTune::Full, sgd.clone()), 1);
    let (_, lower) = run(config(FineTune::LowerBackboneRate { factor: 0.1 }, sgd), 1);
    for name in [
        "model.conv1.weight",
        "model.layer3.0.downsample.0.weight",
        "model.fc.weight",
    ] {
        let start = floats(&before, name);
        let delta = |after: &StateDict| -> Vec<f64> {
            floats(after, name)
                .iter()
                .zip(&start)
                .map(|(a, b)| f64::from(*a) - f64::from(*b))
                .collect()
        };
        let (full, lower) = (delta(&full), delta(&lower));
        let factor = if name.contains("fc") { 1.0 } else { 0.1 };
        let scale = full.iter().fold(0f64, |m, d| m.max(d.abs()));
        assert!(scale > 0.0, "{name} moved");
        for (f, l) in full.iter().zip(&lower) {
            assert!((l - factor * f).abs() <= 1e-3 * scale, "{name}: {l} vs {factor} × {f}");
        }
    }
}
