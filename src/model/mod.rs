//! Models: a sequence of layers followed by a loss, and builders from plain configs.
mod cnn;
mod fine_tune;
mod footprint;
mod mlp;
mod network;
mod resnet;
mod state_names;

pub use cnn::{CnnConfig, LayerSpec, LayerSummary};
pub use fine_tune::FineTune;
pub use footprint::Footprint;
pub use mlp::{Activation, MlpConfig, Normalization};
pub use network::{LossKind, Network};
pub use resnet::{ResnetConfig, Stem};
pub use state_names::StateNames;

use crate::error::ConfigError;
use crate::Scalar;

/// Which model to train: the front ends' choice (the page's form, `lab train --model`, the npm package); each
/// kind's defaults are its preset, [`crate::train::TrainConfig::for_model`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The course's MLP (defaults: SGD, lr 1e-3, batch 200, 1400 steps, eval every 100).
    #[default]
    Mlp,
    /// The lab's small CNN; its defaults are its training recipe (see README).
    SmallCnn,
    /// The course's ConvNet (defaults: Adam, lr 1e-4, batch 32, 5000 steps, eval every 500).
    Convnet,
    /// torchvision's ResNet-18 with a 10-class head (defaults: the report's transfer recipe, Adam 1e-3, batch
    /// 32, 5000 steps, eval every 500, lr ÷10 every 1500 steps).
    Resnet18,
    /// torchvision's ResNet-34 with a 10-class head, 21,289,802 parameters (defaults as ResNet-18's).
    Resnet34,
}

/// Any model the lab can build, as data (serialisable, comparable, URL-encodable).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum ModelConfig {
    Mlp(MlpConfig),
    Cnn(CnnConfig),
}

impl ModelConfig {
    /// Builds the network with parameters drawn from a generator seeded with `seed`.
    pub fn build<T: Scalar>(&self, seed: u64) -> Result<Network<T>, ConfigError> {
        match self {
            ModelConfig::Mlp(config) => config.build(seed),
            ModelConfig::Cnn(config) => config.build(seed),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ModelConfig::Mlp(config) => config.validate(),
            ModelConfig::Cnn(config) => config.summary().map(|_| ()),
        }
    }

    /// Multiply-adds of one image's forward pass (linear and convolution layers).
    pub fn forward_multiply_adds(&self) -> Result<u64, ConfigError> {
        match self {
            ModelConfig::Mlp(config) => {
                config.validate()?;
                let mut widths = vec![config.input_features];
                widths.extend(&config.hidden);
                widths.push(config.classes);
                Ok(widths.windows(2).map(|w| (w[0] * w[1]) as u64).sum())
            }
            ModelConfig::Cnn(config) => Ok(config.summary()?.iter().map(|s| s.multiply_adds).sum()),
        }
    }

    /// Training FLOPs per image: multiply-adds × 2, forward + backward ≈ 3 × forward.
    pub fn training_flops_per_image(&self) -> Result<u64, ConfigError> {
        Ok(self.forward_multiply_adds()? * 2 * 3)
    }
}
