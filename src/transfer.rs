//! The offline transfer experiment: pretrain a network on some of CIFAR-10's classes (the six animals), then
//! learn other classes (the four vehicles) from a few hundred labelled images three ways — from scratch, frozen
//! pretrained features with a new head (feature extraction), and full fine-tuning — on the same images, steps
//! and seed, so the test curves can be compared.
use std::time::Instant;

use crate::data::{Augmentation, Dataset};
use crate::error::TrainError;
use crate::model::{CnnConfig, FineTune, LayerSpec, ModelConfig};
use crate::optim::OptimizerConfig;
use crate::train::{CurvePoint, TrainConfig, Trainer};
use crate::weights::{self, StateDict, WeightsMetadata};

/// CIFAR-10's animals: bird, cat, deer, dog, frog, horse.
pub const ANIMALS: [u8; 6] = [2, 3, 4, 5, 6, 7];
/// CIFAR-10's vehicles: airplane, automobile, ship, truck.
pub const VEHICLES: [u8; 4] = [0, 1, 8, 9];

/// One phase's training: steps, batch, learning rate (Adam), evaluation interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phase {
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub eval_every: usize,
}

/// The experiment as data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransferConfig {
    /// The network; its last layer (linear) gets as many outputs as each task has classes.
    pub network: CnnConfig,
    pub source_classes: Vec<u8>,
    pub target_classes: Vec<u8>,
    /// Labelled training images per target class: one set of three downstream runs for each count.
    pub labelled_per_class: Vec<usize>,
    pub pretrain: Phase,
    pub downstream: Phase,
    pub augmentation: Augmentation,
    pub seed: u64,
}

/// How a downstream run starts and learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// Fresh weights, every layer learns.
    Scratch,
    /// Pretrained backbone, frozen; a new head learns.
    FrozenFeatures,
    /// Pretrained backbone and a new head, every layer learns.
    FineTune,
}

impl Start {
    pub const ALL: [Start; 3] = [Start::Scratch, Start::FrozenFeatures, Start::FineTune];

    pub fn label(self) -> &'static str {
        match self {
            Start::Scratch => "from scratch",
            Start::FrozenFeatures => "frozen features + new head",
            Start::FineTune => "full fine-tuning",
        }
    }
}

/// One training run's result.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunResult {
    /// The run's training configuration.
    pub config: TrainConfig,
    pub curves: Vec<CurvePoint>,
    pub final_test_accuracy: f64,
    pub wall_seconds: f64,
    /// Mean wall time of a training step (evaluations left out).
    pub step_milliseconds: f64,
}

/// One downstream run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DownstreamRun {
    /// Labelled training images (all target classes together).
    pub labelled_images: usize,
    pub start: Start,
    pub result: RunResult,
}

/// The whole experiment's results.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TransferResult {
    pub pretrain: RunResult,
    pub source_train_images: usize,
    pub target_test_images: usize,
    pub parameters: usize,
    pub downstream: Vec<DownstreamRun>,
}

/// The network with a head of `classes` outputs.
fn with_classes(network: &CnnConfig, classes: usize) -> CnnConfig {
    let mut network = network.clone();
    if let Some(LayerSpec::Linear { out_features }) = network.layers.last_mut() {
        *out_features = classes;
    }
    network
}

fn train_config(config: &TransferConfig, phase: &Phase, classes: usize, fine_tune: FineTune) -> TrainConfig {
    TrainConfig {
        model: ModelConfig::Cnn(with_classes(&config.network, classes)),
        optimizer: OptimizerConfig::adam(phase.learning_rate),
        batch_size: phase.batch_size,
        steps: phase.steps,
        eval_every: phase.eval_every,
        seed: config.seed,
        augmentation: config.augmentation,
        fine_tune,
        ..TrainConfig::default()
    }
}

/// Runs `trainer` to the end, timing the steps apart from the evaluations.
fn run(
    trainer: &mut Trainer,
    dataset: &Dataset,
    on_point: &mut dyn FnMut(&CurvePoint),
) -> Result<RunResult, TrainError> {
    let started = Instant::now();
    let mut stepping = 0.0;
    while !trainer.is_finished() {
        let step_started = Instant::now();
        trainer.step(dataset)?;
        stepping += step_started.elapsed().as_secs_f64();
        if trainer.evaluation_due() {
            let point = trainer.record_point(dataset);
            on_point(&point);
        }
    }
    let curves = trainer.curves().to_vec();
    Ok(RunResult {
        config: trainer.config().clone(),
        final_test_accuracy: curves.last().map_or(0.0, |p| p.test_accuracy),
        curves,
        wall_seconds: started.elapsed().as_secs_f64(),
        step_milliseconds: 1000.0 * stepping / trainer.steps_done().max(1) as f64,
    })
}

/// The names of `classes`, in their new order.
fn class_names(dataset: &Dataset, classes: &[u8]) -> Vec<String> {
    classes
        .iter()
        .map(|&c| {
            dataset
                .class_names
                .get(usize::from(c))
                .cloned()
                .unwrap_or_else(|| c.to_string())
        })
        .collect()
}

/// Runs the experiment on `dataset` (CIFAR-10); `on_point(phase, point)` sees every curve point as it comes.
pub fn run_transfer(
    config: &TransferConfig,
    dataset: &Dataset,
    on_point: &mut dyn FnMut(&str, &CurvePoint),
) -> Result<TransferResult, TrainError> {
    let source = Dataset {
        train: dataset.train.classes(&config.source_classes, None),
        test: dataset.test.classes(&config.source_classes, None),
        name: format!("{} source classes", dataset.name),
        class_names: class_names(dataset, &config.source_classes),
    };
    let source_classes = config.source_classes.len();
    let mut pretrainer = Trainer::new(
        train_config(config, &config.pretrain, source_classes, FineTune::Full),
        &source,
    )?;
    let parameters = pretrainer.network_mut().parameter_count();
    let pretrain = run(&mut pretrainer, &source, &mut |p| on_point("pretrain", p))?;
    let metadata = WeightsMetadata::default();
    let bytes = weights::save(pretrainer.network_mut(), &metadata)?;
    let pretrained = StateDict::from_bytes(&bytes)?;

    let classes = config.target_classes.len();
    let target_test = dataset.test.classes(&config.target_classes, None);
    let mut downstream = Vec::new();
    for (&per_class, start) in config
        .labelled_per_class
        .iter()
        .flat_map(|count| Start::ALL.iter().map(move |start| (count, *start)))
    {
        let target = Dataset {
            train: dataset.train.classes(&config.target_classes, Some(per_class)),
            test: target_test.clone(),
            name: format!("{} target classes", dataset.name),
            class_names: class_names(dataset, &config.target_classes),
        };
        let fine_tune = match start {
            Start::FrozenFeatures => FineTune::FeatureExtraction,
            Start::Scratch | Start::FineTune => FineTune::Full,
        };
        let mut trainer = Trainer::new(train_config(config, &config.downstream, classes, fine_tune), &target)?;
        if start != Start::Scratch {
            // the pretrained backbone with a fresh head for the new classes, on inputs normalised as in pretraining
            weights::load_into(trainer.network_mut(), &pretrained, Some("fc"))?;
            trainer.set_preprocessor(pretrainer.preprocessor().clone());
        }
        let labelled_images = target.train.len();
        let phase = format!("{labelled_images} images, {}", start.label());
        let result = run(&mut trainer, &target, &mut |p| on_point(&phase, p))?;
        downstream.push(DownstreamRun {
            labelled_images,
            start,
            result,
        });
    }
    Ok(TransferResult {
        pretrain,
        source_train_images: source.train.len(),
        target_test_images: target_test.len(),
        parameters,
        downstream,
    })
}
