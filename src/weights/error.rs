//! Everything that can go wrong reading or applying a weights file, as values that say what was expected and
//! what was found.
use std::fmt;

use crate::error::{quoted, shortened, ConfigError};

/// How much of a file's own text (a header, a metadata value, a tensor name) a message quotes.
pub(crate) const QUOTED_CHARS: usize = 300;

/// Why a weights file could not be read, or could not be applied to a model. The model is untouched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// The bytes are not a safetensors file (too short, a bad header, offsets that do not fit the file).
    #[error("expected a safetensors file, found {found}")]
    NotSafetensors { found: String },

    /// A tensor stored in a type the lab does not read.
    #[error("tensor {}: expected dtype {expected}, found {found}", quoted(.name, QUOTED_CHARS))]
    Dtype {
        name: String,
        expected: &'static str,
        found: String,
    },

    /// A tensor whose shape cannot be a layer's (too many dimensions, too many values).
    #[error("tensor {}: expected {expected}, found shape {found:?}", quoted(.name, QUOTED_CHARS))]
    AbsurdShape {
        name: String,
        expected: String,
        found: Vec<usize>,
    },

    /// The file's tensors do not match the model's: every mismatch is listed.
    #[error("the file's tensors do not match the model ({} mismatched):\n{}", .0.len(), MismatchList(.0))]
    Mismatch(Vec<TensorMismatch>),

    /// The file has no lab configuration, so it cannot rebuild a model by itself.
    #[error(
        "expected the lab's model configuration in the file's metadata (key `{key}`), found {found}; load the \
         file into a model of the same architecture instead"
    )]
    NoConfig { key: &'static str, found: String },

    /// The configuration in the metadata is not a model the lab can build.
    #[error("the model configuration in the file's metadata is invalid: {0}")]
    Config(#[from] ConfigError),

    /// An input normalisation the lab does not know.
    #[error(
        "metadata key `backprop_lab.input`: expected course-mean-image or imagenet, found {}",
        quoted(.found, QUOTED_CHARS)
    )]
    Input { found: String },

    /// A saved run that does not fit what it is resumed with (other data, a damaged state).
    #[error("the saved run cannot be resumed: {0}")]
    Run(String),

    /// The file could not be written.
    #[error("could not write the safetensors file: {0}")]
    Write(String),
}

/// One tensor that differs between the model and the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorMismatch {
    pub name: String,
    /// The model's shape; `None`: the model has no such tensor.
    pub expected: Option<Vec<usize>>,
    /// The file's shape; `None`: the file lacks the tensor.
    pub found: Option<Vec<usize>>,
}

impl fmt::Display for TensorMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.expected, &self.found) {
            (Some(expected), Some(found)) => {
                write!(f, "{}: expected shape {expected:?}, found {found:?}", self.name)
            }
            (Some(expected), None) => write!(f, "{}: expected shape {expected:?}, missing from the file", self.name),
            (None, Some(found)) => write!(f, "{}: not in the model, found shape {found:?} in the file", self.name),
            (None, None) => write!(f, "{}", self.name),
        }
    }
}

/// The mismatches one per line, for [`WeightsError::Mismatch`]'s message.
struct MismatchList<'a>(&'a [TensorMismatch]);

impl fmt::Display for MismatchList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, mismatch) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {mismatch}")?;
        }
        Ok(())
    }
}

impl From<safetensors::SafeTensorError> for WeightsError {
    fn from(error: safetensors::SafeTensorError) -> Self {
        use safetensors::SafeTensorError as E;
        let found = match error {
            E::HeaderTooSmall => "fewer than the 8 bytes of a header length".to_string(),
            E::HeaderTooLarge => "a header length over the format's 100 MB limit".to_string(),
            E::InvalidHeaderLength => "a header length larger than the file".to_string(),
            E::InvalidHeader(e) => format!("a header that is not UTF-8 text ({e})"),
            E::InvalidHeaderDeserialization(e) | E::JsonError(e) => format!("a header that is not its JSON ({e})"),
            E::MetadataIncompleteBuffer => {
                "a file whose size differs from what its header describes (truncated, or bytes appended)".to_string()
            }
            E::InvalidOffset(name) => format!("tensor `{name}` with data offsets that do not follow the previous one"),
            E::TensorInvalidInfo => "a tensor whose byte range does not match its shape and dtype".to_string(),
            E::ValidationOverflow => "a tensor shape whose size overflows (absurdly large dimensions)".to_string(),
            other => other.to_string(),
        };
        // a header's JSON error quotes the bad text, which a file can make any length
        WeightsError::NotSafetensors {
            found: shortened(&found, QUOTED_CHARS),
        }
    }
}
