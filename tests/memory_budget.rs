//! Memory is bounded before allocation: a training config or a data file whose buffers would exceed the budget
//! is refused with the estimate and the budget, before anything is built or copied (the page's session and
//! the trainer through `TrainConfig::validate`, `lab train` before reading its data, the data loader before a
//! batch is decoded or an archive member read). The estimates follow the models' real sizes.

use std::process::Command;

use backprop_lab::weights;

use backprop_lab::budget::{format_bytes, MemoryBudget};
use backprop_lab::data::{
    synthetic, write_archive, write_binary_batch, ArchiveFormat, DataError, DatasetBuilder, SyntheticConfig,
};
use backprop_lab::model::{CnnConfig, MlpConfig, ModelConfig, ResnetConfig};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::TrainConfig;

fn mlp(hidden: &[usize], batch_size: usize) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: hidden.to_vec(),
            ..MlpConfig::default()
        }),
        batch_size,
        ..TrainConfig::default()
    }
}

#[test]
fn the_course_mlp_estimate_is_its_parameters_and_activations() {
    let estimate = mlp(&[100], 200).memory_estimate(1).unwrap();
    // 3072·100 + 100 + 100·10 + 10 parameters, value and gradient (SGD without momentum), 4 bytes each
    assert_eq!(estimate.model_state_bytes, 308_310 * 2 * 4);
    // per image: the input batch (3072) + 2 × (input 3072 + linear and ELU 2·100 + scores and softmax 2·10)
    assert_eq!(estimate.activation_bytes, 200 * (3072 + 2 * 3292) * 4);
    // Adam keeps two more copies; two threads hold two models and share the batch
    let adam = TrainConfig {
        optimizer: OptimizerConfig::adam(1e-3),
        ..mlp(&[100], 200)
    };
    assert_eq!(adam.memory_estimate(2).unwrap().model_state_bytes, 308_310 * 4 * 4 * 2);
    assert_eq!(
        adam.memory_estimate(2).unwrap().activation_bytes,
        estimate.activation_bytes
    );
}

#[test]
fn cnn_parameter_estimates_match_the_built_networks() {
    let models = [
        CnnConfig::small_cnn(),
        CnnConfig::convnet(),
        ResnetConfig::resnet18(10).cnn(),
    ];
    for config in models {
        let footprint = ModelConfig::Cnn(config.clone()).footprint().unwrap();
        let learnable = config.build::<f32>(0).unwrap().parameter_count() as f64;
        // the estimate adds BatchNorm's running statistics (2 per channel) to the learnable parameters
        let ratio = footprint.parameters as f64 / learnable;
        assert!(
            (1.0..1.02).contains(&ratio),
            "{}: estimated {} parameters, built {learnable}",
            config.name,
            footprint.parameters
        );
        assert!(footprint.activations_per_image > 3072, "{}", config.name);
    }
}

#[test]
fn an_absurd_training_config_is_refused_with_the_estimate_and_the_budget() {
    let budget = MemoryBudget::for_target();
    let absurd = mlp(&[16_384; 8], 50_000);
    let estimate = absurd.memory_estimate(1).unwrap();
    assert!(estimate.total() > 20 << 30, "{estimate:?}");
    let message = absurd.validate().unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "memory: expected at most {} for training {} (lower the batch size or the layer sizes), found an \
             estimated {}: {} of parameters, gradients and optimizer state on 1 thread(s) + {} of activations \
             for a batch of 50000",
            format_bytes(budget.training_bytes),
            budget.place,
            format_bytes(estimate.total()),
            format_bytes(estimate.model_state_bytes),
            format_bytes(estimate.activation_bytes),
        )
    );
    // a CNN with absurd channels is refused before its (terabyte) layers would be built
    let mut wide = CnnConfig::small_cnn();
    wide.layers
        .insert(0, backprop_lab::model::LayerSpec::conv(1 << 20, 3, 1));
    let config = TrainConfig {
        model: ModelConfig::Cnn(wide),
        ..TrainConfig::small_cnn()
    };
    let message = config.validate().unwrap_err().to_string();
    assert!(message.starts_with("memory: expected at most"), "{message}");
    // the presets fit the browser's budget
    for preset in [TrainConfig::default(), TrainConfig::small_cnn(), TrainConfig::convnet()] {
        let total = preset.memory_estimate(1).unwrap().total();
        assert!(total < 2 << 30, "{}", format_bytes(total));
    }
}

#[test]
fn lab_train_refuses_an_absurd_config_before_reading_data() {
    let output = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args([
            "train",
            "--model",
            "mlp",
            "--hidden",
            "16384,16384,16384,16384,16384,16384",
        ])
        .args(["--batch-size", "50000", "--steps", "1", "--data", "no-such-directory"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("memory: expected at most 16.0 GiB for training natively")
            && stderr.contains("for a batch of 50000")
            && !stderr.contains("no-such-directory"),
        "{stderr}"
    );
}

fn small_budget(data_bytes: u64) -> MemoryBudget {
    MemoryBudget {
        data_bytes,
        ..MemoryBudget::for_target()
    }
}

#[test]
fn data_beyond_the_budget_is_refused_before_it_is_read() {
    let dataset = synthetic(&SyntheticConfig {
        seed: 1,
        train_size: 20,
        test_size: 20,
    });
    // two 20-image batches (61,460 bytes each) against a 100,000-byte budget: the second is refused
    let mut builder = DatasetBuilder::with_memory_budget(small_budget(100_000));
    builder
        .add_file("data_batch_1.bin", &write_binary_batch(&dataset.train))
        .unwrap();
    let error = builder
        .add_file("test_batch.bin", &write_binary_batch(&dataset.test))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "test_batch.bin: expected at most 97.7 KiB of images natively (the data budget), found 20 images \
         needing 60.0 KiB on top of the 60.0 KiB already loaded"
            .replace("natively", MemoryBudget::for_target().place)
    );
    assert_eq!(
        builder.batches().count(),
        1,
        "the refused file left the builder as it was"
    );

    // files read on their own count against what was waiting when they join it
    let mut dropped = DatasetBuilder::with_memory_budget(small_budget(100_000));
    dropped
        .add_file("test_batch.bin", &write_binary_batch(&dataset.test))
        .unwrap();
    let error = builder.append(dropped).unwrap_err();
    assert!(matches!(error, DataError::OverBudget { images: 20, .. }), "{error}");
    assert_eq!(
        builder.batches().count(),
        1,
        "the refused batches left the builder as it was"
    );

    // inside an archive the member is refused by its header's size, before it is decompressed
    let archive = write_archive(&dataset, ArchiveFormat::Binary, 1);
    let error = DatasetBuilder::with_memory_budget(small_budget(100_000))
        .add_file("cifar-10-binary.tar.gz", &archive)
        .unwrap_err();
    assert!(matches!(error, DataError::OverBudget { images: 20, .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("cifar-10-binary.tar.gz/cifar-10-batches-bin/test_batch.bin: expected at most 97.7 KiB"),
        "{error}"
    );
}

#[test]
fn a_model_file_naming_an_absurd_model_is_refused_before_building_it() {
    // two convolutions of 2^20 channels: 10^13 weights
    let mut wide = CnnConfig::small_cnn();
    for _ in 0..2 {
        wide.layers
            .insert(0, backprop_lab::model::LayerSpec::conv(1 << 20, 3, 1));
    }
    let model = serde_json::to_string(&ModelConfig::Cnn(wide)).unwrap();
    let header = serde_json::json!({ "__metadata__": { weights::MODEL_KEY: model } }).to_string();
    let file = [&(header.len() as u64).to_le_bytes()[..], header.as_bytes()].concat();
    let message = weights::load(&file).map(|_| ()).unwrap_err().to_string();
    assert!(
        message.starts_with(
            "the model configuration in the file's metadata is invalid: memory: expected a model of at most"
        ) && message.ends_with("found one whose parameters and gradients take 72.0 TiB"),
        "{message}"
    );
}
