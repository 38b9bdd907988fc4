//! Fine-tuning modes: how the layers before the classification head (the backbone) are trained when a model
//! starts from pretrained weights.
use crate::error::ConfigError;

/// Which parts of the network learn, and how fast.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum FineTune {
    /// Every layer learns at the optimizer's rate (the report's fine-tuning, and training from scratch).
    #[default]
    Full,
    /// Feature extraction: the backbone is frozen. It runs in evaluation mode (BatchNorm's running statistics),
    /// nothing is backpropagated through it and the optimizer keeps no state for it; only the head learns.
    FeatureExtraction,
    /// The backbone learns at `factor` × the optimizer's rate (e.g. 0.1), the head at the full rate.
    LowerBackboneRate { factor: f64 },
}

impl FineTune {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let FineTune::LowerBackboneRate { factor } = *self {
            if !(factor.is_finite() && factor > 0.0 && factor <= 1.0) {
                return Err(ConfigError::new(
                    "backbone learning-rate factor",
                    "a number in (0, 1]",
                    factor,
                ));
            }
        }
        Ok(())
    }
}
