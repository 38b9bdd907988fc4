//! Errors that reach a user: each says what was expected and what was found.
use thiserror::Error;

/// Text from a file or a link as a message quotes it: whole up to `limit` characters, else its first `limit`
/// characters, "…" and its length (a file can quote megabytes of itself in a parser's message).
pub fn shortened(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}… ({} characters)", &text[..end], text.chars().count()),
        None => text.to_string(),
    }
}

/// An invalid model, optimizer or training configuration.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{field}: expected {expected}, found {found}")]
pub struct ConfigError {
    pub field: String,
    pub expected: String,
    pub found: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> Self {
        Self {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }
}

/// Why training stopped or could not start.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// Weights that could not be written or loaded.
    #[error(transparent)]
    Weights(#[from] crate::weights::WeightsError),
    #[error(
        "step {step}: the training loss became {loss} (expected a finite number); training paused. \
         The learning rate ({learning_rate}) is probably too high for this model: try a smaller one."
    )]
    NonFiniteLoss { step: usize, loss: f64, learning_rate: f64 },
    /// Data-parallel shares that do not make this step: bytes that are not a share, another step's share,
    /// shares that do not cover the batch.
    #[error("{what}: expected {expected}, found {found}")]
    Share {
        what: &'static str,
        expected: String,
        found: String,
    },
    /// A thread of `lab train --threads` stopped before it finished its share.
    #[error("training thread: expected it to finish its share, found a thread that stopped")]
    ThreadStopped,
}

impl TrainError {
    pub fn share(what: &'static str, expected: impl Into<String>, found: impl ToString) -> Self {
        Self::Share {
            what,
            expected: expected.into(),
            found: found.to_string(),
        }
    }
}
