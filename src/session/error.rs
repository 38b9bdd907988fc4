//! Why a request to the session could not be carried out: each says what was expected and what was found.
use thiserror::Error;

use crate::data::DataError;
use crate::error::{ConfigError, TrainError};
use crate::weights::WeightsError;

/// A request the session could not carry out; nothing changed. The page shows its message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A dropped file that cannot be read: the data loaded before stays.
    #[error("{0}. The data loaded before is kept.")]
    Data(#[from] DataError),
    /// A dropped file that clashes with the files waiting for their missing part (the same batch twice).
    #[error("{0}. The data loaded before is kept; the files waiting are dropped.")]
    DataClash(DataError),
    /// A weights file or saved run that cannot be used: the model, the run and the data stay as they were.
    #[error("{file}: {error}. The current model and data are unchanged.")]
    Weights { file: String, error: WeightsError },
    /// A value in a request that does not fit the session (a layer index, a picture's size, …).
    #[error("{what}: expected {expected}, found {found}")]
    Request {
        what: &'static str,
        expected: String,
        found: String,
    },
}

impl SessionError {
    pub fn weights(file: &str, error: WeightsError) -> Self {
        Self::Weights {
            file: file.to_string(),
            error,
        }
    }

    pub fn request(what: &'static str, expected: impl Into<String>, found: impl ToString) -> Self {
        Self::Request {
            what,
            expected: expected.into(),
            found: found.to_string(),
        }
    }
}
