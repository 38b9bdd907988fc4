//! Models: a sequence of layers followed by a loss, and builders from plain configs.
mod mlp;
mod network;

pub use mlp::{Activation, MlpConfig, Normalization};
pub use network::{LossKind, Network};

use crate::error::ConfigError;
use crate::Scalar;

/// Any model the lab can build, as data (serialisable, comparable, URL-encodable).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum ModelConfig {
    Mlp(MlpConfig),
}

impl ModelConfig {
    /// Builds the network with parameters drawn from a generator seeded with `seed`.
    pub fn build<T: Scalar>(&self, seed: u64) -> Result<Network<T>, ConfigError> {
        match self {
            ModelConfig::Mlp(config) => config.build(seed),
        }
    }
}
