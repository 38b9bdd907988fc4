//! Save run / Resume run: a run saved after some steps and resumed continues bit for bit as the uninterrupted
//! run, across epoch reshuffles, with augmentation, for Adam and SGD with momentum; bad resumes say why.
use backprop_lab::data::{synthetic, Augmentation, Dataset, InputNormalization, SyntheticConfig};
use backprop_lab::model::{CnnConfig, FineTune, MlpConfig, ModelConfig, Normalization};
use backprop_lab::optim::OptimizerConfig;
use backprop_lab::train::{HyperparameterChange, Hyperparameters, Schedule, TrainConfig, Trainer};
use backprop_lab::weights::{self, StateDict, WeightsMetadata};

fn data(train_size: usize) -> Dataset {
    synthetic(&SyntheticConfig {
        seed: 3,
        train_size,
        test_size: 60,
    })
}

fn mlp_adam() -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Mlp(MlpConfig {
            hidden: vec![24, 16],
            normalization: Normalization::BatchNorm,
            ..MlpConfig::default()
        }),
        optimizer: OptimizerConfig::adam(1e-3),
        batch_size: 32,
        steps: 30,
        eval_every: 7,
        seed: 9,
        augmentation: Augmentation {
            crop_padding: 2,
            horizontal_flip: true,
        },
        schedule: Schedule::Step { every: 10, factor: 0.5 },
        // A live change half-way (the page's learning-rate control): a resumed run replays it too.
        changes: vec![HyperparameterChange {
            step: 12,
            hyperparameters: Hyperparameters {
                learning_rate: 5e-4,
                momentum: 0.0,
                weight_decay: 1e-4,
            },
        }],
        fine_tune: FineTune::Full,
        input: InputNormalization::CourseMeanImage,
    }
}

fn cnn_sgd() -> TrainConfig {
    let mut model = CnnConfig::small_cnn();
    model
        .layers
        .retain(|l| !matches!(l, backprop_lab::model::LayerSpec::MaxPool { .. }));
    model.layers.truncate(3);
    model.layers.push(backprop_lab::model::LayerSpec::GlobalAvgPool);
    model
        .layers
        .push(backprop_lab::model::LayerSpec::Linear { out_features: 10 });
    TrainConfig {
        model: ModelConfig::Cnn(model),
        optimizer: OptimizerConfig::Sgd {
            learning_rate: 0.01,
            momentum: 0.9,
            weight_decay: 1e-4,
            nesterov: true,
        },
        batch_size: 16,
        steps: 12,
        eval_every: 5,
        changes: Vec::new(),
        fine_tune: FineTune::LowerBackboneRate { factor: 0.1 },
        ..mlp_adam()
    }
}

/// The weights of a trainer's model as a file.
fn weights_of(trainer: &mut Trainer) -> Vec<u8> {
    weights::save(trainer.network_mut(), &WeightsMetadata::default()).expect("saves")
}

/// A file's tensors and metadata (the header's key order is not fixed, so files compare by content).
fn content(bytes: &[u8]) -> StateDict {
    StateDict::from_bytes(bytes).expect("reads")
}

fn assert_resume_is_bit_identical(config: TrainConfig, data: &Dataset, stop_at: usize) {
    let mut uninterrupted = Trainer::new(config.clone(), data).expect("valid");
    uninterrupted.run(data, |_, _| {}).expect("finite");

    let mut first = Trainer::new(config, data).expect("valid");
    for _ in 0..stop_at {
        first.step(data).expect("finite");
        if first.evaluation_due() {
            first.record_point(data);
        }
    }
    let saved = first.save_run().expect("saves");
    drop(first);
    let mut resumed = Trainer::resume_run(&saved, data).expect("resumes");
    assert_eq!(resumed.steps_done(), stop_at);
    resumed.run(data, |_, _| {}).expect("finite");

    assert_eq!(resumed.curves(), uninterrupted.curves());
    // every parameter, statistic, optimizer moment and the sampler's position, bit for bit
    let (resumed, uninterrupted) = (
        content(&resumed.save_run().expect("saves")),
        content(&uninterrupted.save_run().expect("saves")),
    );
    assert!(resumed == uninterrupted, "the resumed run differs");
}

#[test]
fn a_resumed_adam_run_is_bit_identical_to_an_uninterrupted_one() {
    // 100 images, batches of 32: a reshuffle every 3 steps; stopped between two curve points
    let data = data(100);
    assert_resume_is_bit_identical(mlp_adam(), &data, 11);
    assert_resume_is_bit_identical(mlp_adam(), &data, 0);
}

#[test]
fn a_resumed_sgd_momentum_cnn_run_is_bit_identical_to_an_uninterrupted_one() {
    assert_resume_is_bit_identical(cnn_sgd(), &data(50), 4);
}

#[test]
fn resuming_on_other_data_or_from_a_weights_file_says_why() {
    let data = data(100);
    let mut trainer = Trainer::new(mlp_adam(), &data).expect("valid");
    trainer.step(&data).expect("finite");
    let saved = trainer.save_run().expect("saves");
    let message = Trainer::resume_run(&saved, &data_of(90))
        .err()
        .expect("other data")
        .to_string();
    assert!(
        message.contains("saved with 100 training images, found 90"),
        "{message}"
    );

    let weights_only = weights_of(&mut trainer);
    let message = Trainer::resume_run(&weights_only, &data)
        .err()
        .expect("not a run")
        .to_string();
    assert!(message.contains("backprop_lab.run"), "{message}");

    let message = Trainer::resume_run(&saved[..saved.len() - 3], &data)
        .err()
        .expect("truncated")
        .to_string();
    assert!(message.contains("expected a safetensors file"), "{message}");
}

fn data_of(train_size: usize) -> Dataset {
    data(train_size)
}
