//! Training and evaluation, shared by the `lab` CLI, the page and the npm package: the course's `train()` loop
//! with its batch order, evaluation on the whole test set every `eval_every` steps, and recorded curves.
//!
//! - [`config`]: a run as data ([`TrainConfig`], [`Schedule`]) and its limits;
//! - [`memory`]: the memory a run needs, checked against [`crate::budget::MemoryBudget`] before building;
//! - [`trainer`]: one [`Trainer`] stepping, evaluating and recording curves;
//! - `live`: hyperparameters changed while a run trains; `norms`: per-layer gradient and weight norms;
//! - [`parallel`]: data-parallel steps (each worker or thread its slice of every batch).
mod checkpoint;
mod config;
mod estimate;
mod live;
mod memory;
mod norms;
mod parallel;
mod trainer;

pub use checkpoint::RUN_KEY;
pub use config::{Schedule, TrainConfig, MAX_BATCH_SIZE, MAX_STEPS};
pub use estimate::{format_duration, time_left};
pub use live::{change_labels, HyperparameterChange, Hyperparameters};
pub use memory::MemoryEstimate;
pub use norms::{parameter_layers, LayerNorms};
pub use parallel::{run_data_parallel, run_data_parallel_until, PartialStep};
pub use trainer::Trainer;

/// Loss and accuracy over a set of images.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
}

impl Evaluation {
    /// The evaluation of `count` images from the summed loss and the number correct of each chunk, added in
    /// chunk order (so the result does not depend on which thread evaluated which chunk).
    pub fn from_chunks(sums: &[(f64, usize)], count: usize) -> Self {
        let (loss_sum, correct) = sums
            .iter()
            .fold((0.0, 0), |(l, c), &(loss, right)| (l + loss, c + right));
        let images = count.max(1);
        Self {
            loss: loss_sum / images as f64,
            accuracy: correct as f64 / images as f64,
            images: count,
        }
    }
}

/// One point of the curves: the training batches since the previous point, and the whole test set.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    /// Mean loss of the training batches since the previous point.
    pub train_loss: f64,
    /// Accuracy on those training batches.
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

/// The loss and accuracy of one training step (on its batch, before the update).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    pub step: usize,
    pub loss: f64,
    pub accuracy: f64,
}

/// The curves as CSV: `step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,momentum,
/// weight_decay`, the last three the settings of the point's last step under `config` (its schedule and live
/// changes).
pub fn curves_csv(points: &[CurvePoint], config: &TrainConfig) -> String {
    let mut csv =
        String::from("step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,momentum,weight_decay\n");
    for p in points {
        let settings = config.hyperparameters_at(p.step.saturating_sub(1));
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            p.step,
            p.train_loss,
            p.train_accuracy,
            p.test_loss,
            p.test_accuracy,
            settings.learning_rate,
            settings.momentum,
            settings.weight_decay
        ));
    }
    csv
}
