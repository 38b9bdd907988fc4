//! A training run as data: the model, the optimizer, batch size, steps, evaluation interval, seed,
//! augmentation and learning-rate schedule, with the course's presets and the limits every front end checks.
use super::HyperparameterChange;
use crate::budget::MemoryBudget;
use crate::data::{Augmentation, InputNormalization};
use crate::error::ConfigError;
use crate::model::{CnnConfig, FineTune, MlpConfig, ModelConfig, ModelKind};
use crate::optim::OptimizerConfig;

/// A training run as data (serialisable, comparable, URL-encodable). `Default` is the course's PyTorch MLP
/// script: 3072-100-10 ELU, SGD, lr 1e-3, batch 200, 1400 steps, evaluation every 100, seed 42.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub optimizer: OptimizerConfig,
    pub batch_size: usize,
    pub steps: usize,
    pub eval_every: usize,
    pub seed: u64,
    /// Training-time augmentation (none by default, as the course).
    #[serde(default)]
    pub augmentation: Augmentation,
    /// How the learning rate changes over the steps (constant by default, as the course).
    #[serde(default)]
    pub schedule: Schedule,
    /// Hyperparameters changed while the run trained (the page's live controls), in step order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<HyperparameterChange>,
    /// How the layers before the head learn (all at the full rate by default).
    #[serde(default)]
    pub fine_tune: FineTune,
    /// How images become the network's input (the course's mean image by default; ImageNet's for
    /// torchvision's weights).
    #[serde(default)]
    pub input: InputNormalization,
}

/// A learning-rate schedule: the factor applied to the optimizer's learning rate at each step.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "schedule", rename_all = "kebab-case")]
pub enum Schedule {
    #[default]
    Constant,
    /// Multiply by `factor` every `every` steps (the report's ResNet fine-tuning: ÷10 every 1500).
    Step { every: usize, factor: f64 },
    /// One cycle: linear warm-up from 0.1× to 1× over the first `warmup` fraction of the steps, then a
    /// linear decay to 0 at the last step.
    OneCycle { warmup: f64 },
}

impl Schedule {
    /// The factor for step `step` (0-based) of `total`.
    pub fn factor(&self, step: usize, total: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, factor } => factor.powi((step / every.max(1)) as i32),
            Schedule::OneCycle { warmup } => {
                let t = step as f64 / total.max(1) as f64;
                if t < warmup {
                    0.1 + 0.9 * t / warmup
                } else {
                    ((1.0 - t) / (1.0 - warmup).max(1e-12)).max(0.0)
                }
            }
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every, factor } => {
                if every == 0 {
                    Err(ConfigError::new("schedule step", "at least 1 step", every))
                } else if !(factor.is_finite() && factor > 0.0 && factor <= 1.0) {
                    Err(ConfigError::new("schedule factor", "a number in (0, 1]", factor))
                } else {
                    Ok(())
                }
            }
            Schedule::OneCycle { warmup } => {
                if (0.0..1.0).contains(&warmup) {
                    Ok(())
                } else {
                    Err(ConfigError::new("warm-up fraction", "a number in [0, 1)", warmup))
                }
            }
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelConfig::Mlp(MlpConfig::default()),
            optimizer: OptimizerConfig::sgd(1e-3),
            batch_size: 200,
            steps: 1400,
            eval_every: 100,
            seed: 42,
            augmentation: Augmentation::default(),
            schedule: Schedule::Constant,
            changes: Vec::new(),
            fine_tune: FineTune::Full,
            input: InputNormalization::CourseMeanImage,
        }
    }
}

impl TrainConfig {
    /// The defaults of each model kind: the course's scripts, and the small CNN's recipe.
    pub fn for_model(kind: ModelKind) -> Self {
        match kind {
            ModelKind::Mlp => Self::default(),
            ModelKind::SmallCnn => Self::small_cnn(),
            ModelKind::Convnet => Self::convnet(),
            ModelKind::Resnet18 => Self::resnet_fine_tuning(crate::model::ResnetConfig::resnet18(10)),
            ModelKind::Resnet34 => Self::resnet34_fine_tuning(),
        }
    }

    /// The course's ConvNet script: Adam, lr 1e-4, batch 32, 5000 steps, evaluation every 500, no augmentation.
    pub fn convnet() -> Self {
        Self {
            model: ModelConfig::Cnn(CnnConfig::convnet()),
            optimizer: OptimizerConfig::adam(1e-4),
            batch_size: 32,
            steps: 5000,
            eval_every: 500,
            ..Self::default()
        }
    }

    /// The small CNN's recipe, sized to at most 15 TFLOP of training compute (1.49e13): Adam with a one-cycle
    /// schedule peaking at lr 2e-3 (15 % warm-up, linear decay to 0), batch 64, 4500 steps (5.8 epochs),
    /// random crops and flips.
    pub fn small_cnn() -> Self {
        Self {
            model: ModelConfig::Cnn(CnnConfig::small_cnn()),
            optimizer: OptimizerConfig::adam(2e-3),
            batch_size: 64,
            steps: 4500,
            eval_every: 500,
            augmentation: Augmentation::standard(),
            schedule: Schedule::OneCycle { warmup: 0.15 },
            ..Self::default()
        }
    }

    /// The report's transfer-learning recipe (§4.2): torchvision's ResNet-34 with a 10-class head, fine-tuned
    /// in full with Adam 1e-3, batch 32, 5000 steps, evaluation every 500, the learning rate ÷10 every 1500 steps
    /// (start it from ImageNet weights with `lab train --init-from`).
    pub fn resnet34_fine_tuning() -> Self {
        Self::resnet_fine_tuning(crate::model::ResnetConfig::resnet34(10))
    }

    /// The report's transfer-learning recipe (see [`TrainConfig::resnet34_fine_tuning`]) for another ResNet.
    pub fn resnet_fine_tuning(resnet: crate::model::ResnetConfig) -> Self {
        Self {
            model: ModelConfig::Cnn(resnet.cnn()),
            optimizer: OptimizerConfig::adam(1e-3),
            batch_size: 32,
            steps: 5000,
            eval_every: 500,
            schedule: Schedule::Step {
                every: 1500,
                factor: 0.1,
            },
            fine_tune: FineTune::Full,
            ..Self::default()
        }
    }

    /// Training FLOPs of the whole run: multiply-adds × 2 × 3 (forward + backward) per image, for every image
    /// of every step.
    pub fn training_flops(&self) -> Result<u64, ConfigError> {
        Ok(self.model.training_flops_per_image()? * (self.steps * self.batch_size) as u64)
    }
}

/// Largest batch accepted.
pub const MAX_BATCH_SIZE: usize = 50_000;
/// Largest number of steps accepted.
pub const MAX_STEPS: usize = 10_000_000;

impl TrainConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return Err(ConfigError::new(
                "batch size",
                format!("a number between 1 and {MAX_BATCH_SIZE}"),
                self.batch_size,
            ));
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(ConfigError::new(
                "steps",
                format!("a number between 1 and {MAX_STEPS}"),
                self.steps,
            ));
        }
        if self.eval_every == 0 {
            return Err(ConfigError::new("eval every", "at least 1 step", self.eval_every));
        }
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.fine_tune.validate()?;
        // before the model's own validation, which builds a CNN's layers
        self.check_memory(1, &MemoryBudget::for_target())?;
        self.validate_changes()?;
        self.model.validate()
    }
}
