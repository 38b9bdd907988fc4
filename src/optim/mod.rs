//! Optimizers: update every parameter from its gradient, keeping per-parameter state between steps.
mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::error::ConfigError;
use crate::model::Network;
use crate::Scalar;

/// Which optimizer: the front ends' choice, with the learning rate the one setting they all expose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

impl OptimizerKind {
    /// This optimizer with PyTorch's defaults and `learning_rate`.
    pub fn with_learning_rate(self, learning_rate: f64) -> OptimizerConfig {
        match self {
            OptimizerKind::Sgd => OptimizerConfig::sgd(learning_rate),
            OptimizerKind::Adam => OptimizerConfig::adam(learning_rate),
        }
    }
}

/// An optimizer as data. Defaults follow PyTorch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "optimizer", rename_all = "kebab-case")]
pub enum OptimizerConfig {
    Sgd {
        learning_rate: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        weight_decay: f64,
        #[serde(default)]
        nesterov: bool,
    },
    Adam {
        learning_rate: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_eps")]
        eps: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl OptimizerConfig {
    /// Plain mini-batch SGD, as the course's MLPs.
    pub fn sgd(learning_rate: f64) -> Self {
        Self::Sgd {
            learning_rate,
            momentum: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }

    /// Adam with PyTorch's defaults.
    pub fn adam(learning_rate: f64) -> Self {
        Self::Adam {
            learning_rate,
            beta1: default_beta1(),
            beta2: default_beta2(),
            eps: default_eps(),
            weight_decay: 0.0,
        }
    }

    pub fn kind(&self) -> OptimizerKind {
        match self {
            Self::Sgd { .. } => OptimizerKind::Sgd,
            Self::Adam { .. } => OptimizerKind::Adam,
        }
    }

    pub fn learning_rate(&self) -> f64 {
        match *self {
            Self::Sgd { learning_rate, .. } | Self::Adam { learning_rate, .. } => learning_rate,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0 && lr <= 100.0) {
            return Err(ConfigError::new("learning rate", "a number in (0, 100]", lr));
        }
        let unit = |field: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::new(field, "a number in [0, 1)", v))
            }
        };
        let non_negative = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(ConfigError::new(field, "a finite number ≥ 0", v))
            }
        };
        match *self {
            Self::Sgd {
                momentum,
                weight_decay,
                nesterov,
                ..
            } => {
                unit("momentum", momentum)?;
                non_negative("weight decay", weight_decay)?;
                if nesterov && momentum == 0.0 {
                    return Err(ConfigError::new("nesterov", "a momentum > 0 with Nesterov", momentum));
                }
            }
            Self::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                non_negative("weight decay", weight_decay)?;
                if !(eps.is_finite() && eps > 0.0) {
                    return Err(ConfigError::new("eps", "a finite number > 0", eps));
                }
            }
        }
        Ok(())
    }

    pub fn build<T: Scalar>(&self) -> Result<Box<dyn Optimizer<T>>, ConfigError> {
        self.validate()?;
        Ok(match *self {
            Self::Sgd {
                learning_rate,
                momentum,
                weight_decay,
                nesterov,
            } => Box::new(Sgd::new(learning_rate, momentum, weight_decay, nesterov)),
            Self::Adam {
                learning_rate,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => Box::new(Adam::new(learning_rate, beta1, beta2, eps, weight_decay)),
        })
    }
}

/// Updates a network's parameters from the gradients of its latest backward pass.
pub trait Optimizer<T: Scalar>: Send {
    fn step(&mut self, network: &mut Network<T>);
    fn learning_rate(&self) -> f64;
    fn set_learning_rate(&mut self, learning_rate: f64);
    /// SGD's momentum for the next steps (the page's live control); Adam's β₁ stays as built.
    fn set_momentum(&mut self, momentum: f64);
    /// The weight decay λ for the next steps.
    fn set_weight_decay(&mut self, weight_decay: f64);
    /// Everything the next steps depend on besides the parameters and the learning rate (saving a run).
    fn state(&self) -> OptimizerState<T>;
    /// Puts back a state taken by [`Optimizer::state`] of an optimizer of the same kind.
    fn restore(&mut self, state: OptimizerState<T>) -> Result<(), ConfigError>;
}

/// An optimizer's state between steps: its step count and, per kind of slot (Adam's `exp_avg` and
/// `exp_avg_sq`, SGD's `momentum_buffer`), one vector per trainable parameter in [`Network::visit_trainable_params`] order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T> {
    pub step: i64,
    pub slots: Vec<(&'static str, Vec<Vec<T>>)>,
}

impl<T: Scalar> OptimizerState<T> {
    /// Takes slot `name` out of the state (`found`: the slots a restore was given, for the message).
    pub fn take_slot(&mut self, name: &'static str) -> Result<Vec<Vec<T>>, ConfigError> {
        let found: Vec<&str> = self.slots.iter().map(|(n, _)| *n).collect();
        match self.slots.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => Ok(std::mem::take(slot)),
            None => Err(ConfigError::new(
                "optimizer state",
                format!("a `{name}` slot"),
                format!("{found:?}"),
            )),
        }
    }
}

/// Per-parameter state (momentum, moments), allocated on the first step and reused afterwards.
pub(crate) fn state_for<T: Scalar>(state: &mut Vec<Vec<T>>, index: usize, len: usize) -> &mut Vec<T> {
    if state.len() <= index {
        state.resize_with(index + 1, Vec::new);
    }
    let slot = &mut state[index];
    if slot.len() != len {
        *slot = vec![T::zero(); len];
    }
    slot
}
