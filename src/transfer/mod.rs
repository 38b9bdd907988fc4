//! The offline transfer experiment: pretrain a network on some of CIFAR-10's classes (the six animals), then
//! learn other classes (the four vehicles) from a few hundred labelled images three ways — from scratch, frozen
//! pretrained features with a new head (feature extraction), and full fine-tuning — on the same images, steps
//! and seed, so the test curves can be compared.
mod run;

pub use run::{Advance, PlannedRun, TransferRun};

use crate::data::{Augmentation, Dataset};
use crate::model::{CnnConfig, FineTune, LayerSpec, ModelConfig, ResnetConfig, Stem};
use crate::optim::OptimizerConfig;
use crate::train::{CurvePoint, TrainConfig};

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

impl TransferConfig {
    /// The page's experiment, small enough for a class on a laptop's CPU: a ResNet-10 of widths 8–64 (one
    /// BasicBlock per stage, CIFAR stem), Adam 1e-3, batch 32, crops and flips, six curve points per run;
    /// animals → vehicles with `labelled_per_class` vehicle images of each class.
    pub fn classroom(labelled_per_class: usize, pretrain_steps: usize, steps: usize) -> Self {
        let phase = |steps: usize| Phase {
            steps,
            batch_size: 32,
            learning_rate: 1e-3,
            eval_every: steps.div_ceil(6).max(1),
        };
        Self {
            network: ResnetConfig::resnet18(VEHICLES.len())
                .with_widths([8, 16, 32, 64])
                .with_blocks([1, 1, 1, 1])
                .with_stem(Stem::Cifar)
                .cnn(),
            source_classes: ANIMALS.to_vec(),
            target_classes: VEHICLES.to_vec(),
            labelled_per_class: vec![labelled_per_class],
            pretrain: phase(pretrain_steps),
            downstream: phase(steps),
            augmentation: Augmentation::standard(),
            seed: 42,
        }
    }
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

/// Runs the experiment on `dataset` (CIFAR-10) to the end, timed by `now` (a millisecond clock);
/// `on_point(run, point)` sees every curve point as it comes, with its run's label (see [`TransferRun`] to step
/// it yourself).
pub fn run_transfer(
    config: &TransferConfig,
    dataset: &Dataset,
    now: &dyn Fn() -> f64,
    on_point: &mut dyn FnMut(&str, &CurvePoint),
) -> Result<TransferResult, crate::error::TrainError> {
    let mut run = TransferRun::new(config.clone(), dataset)?;
    while !run.is_finished() {
        let advance = run.step(now)?;
        if let Some(point) = advance.point {
            on_point(&run.plan()[advance.run].label, &point);
        }
    }
    run.into_result()
}
