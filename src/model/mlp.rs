//! The multi-layer perceptron of the assignment: `Linear → [BatchNorm | LayerNorm] → activation`, repeated,
//! then a last `Linear` to the classes.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::network::{LossKind, Network};
use crate::error::ConfigError;
use crate::layers::{BatchNorm1d, Elu, Layer, LayerNorm, Linear, LinearInit, Relu, Softmax, Tanh};
use crate::Scalar;

/// The element-wise non-linearity between linear layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    #[default]
    Elu,
    Relu,
    Tanh,
}

impl Activation {
    /// The activation's layer.
    pub fn layer<T: Scalar>(self) -> Box<dyn Layer<T>> {
        match self {
            Activation::Elu => Box::new(Elu),
            Activation::Relu => Box::new(Relu),
            Activation::Tanh => Box::new(Tanh),
        }
    }
}

/// The normalisation after each hidden linear layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalization {
    #[default]
    None,
    BatchNorm,
    LayerNorm,
}

/// An MLP as data. `Default` is the course's PyTorch MLP: 3072-100-10, ELU, PyTorch init.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MlpConfig {
    pub input_features: usize,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: Activation,
    pub normalization: Normalization,
    pub init: LinearInit,
    pub loss: LossKind,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            input_features: crate::data::PIXELS,
            hidden: vec![100],
            classes: 10,
            activation: Activation::Elu,
            normalization: Normalization::None,
            init: LinearInit::PyTorch,
            loss: LossKind::SoftmaxCrossEntropy,
        }
    }
}

/// Largest layer width accepted (a guard against absurd configurations, not a limit of the math).
pub const MAX_WIDTH: usize = 1 << 14;

impl MlpConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let width = |field: &str, v: usize| {
            if v == 0 || v > MAX_WIDTH {
                Err(ConfigError::new(field, format!("a width between 1 and {MAX_WIDTH}"), v))
            } else {
                Ok(())
            }
        };
        width("input features", self.input_features)?;
        width("classes", self.classes)?;
        if self.hidden.len() > 64 {
            return Err(ConfigError::new(
                "hidden layers",
                "at most 64 hidden layers",
                self.hidden.len(),
            ));
        }
        for &h in &self.hidden {
            width("hidden units", h)?;
        }
        if let LinearInit::Normal { std } = self.init {
            if !(std.is_finite() && std >= 0.0) {
                return Err(ConfigError::new(
                    "init std",
                    "a finite, non-negative standard deviation",
                    std,
                ));
            }
        }
        Ok(())
    }

    /// Builds the MLP; parameters are drawn in layer order from a ChaCha8 generator seeded with `seed`.
    pub fn build<T: Scalar>(&self, seed: u64) -> Result<Network<T>, ConfigError> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
        let mut width = self.input_features;
        for &hidden in &self.hidden {
            layers.push(Box::new(Linear::new(width, hidden, self.init, &mut rng)));
            match self.normalization {
                Normalization::None => {}
                Normalization::BatchNorm => layers.push(Box::new(BatchNorm1d::new(hidden))),
                Normalization::LayerNorm => layers.push(Box::new(LayerNorm::new(hidden))),
            }
            layers.push(self.activation.layer());
            width = hidden;
        }
        layers.push(Box::new(Linear::new(width, self.classes, self.init, &mut rng)));
        if self.loss == LossKind::SoftmaxThenCrossEntropy {
            layers.push(Box::new(Softmax));
        }
        Ok(Network::new(layers, self.loss, self.input_features))
    }
}
