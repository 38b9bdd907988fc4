//! Errors that reach a user: each says what was expected and what was found.
use thiserror::Error;

/// A value from a file or a link as a message quotes it: in backticks, whole up to `limit` characters, else
/// its first `limit` characters and "…" in the backticks, its length after them (a link or a file can be any
/// length: the `query` and `safetensors` fuzz targets found messages of megabytes).
pub fn quoted(value: &str, limit: usize) -> String {
    match cut(value, limit) {
        Some((start, length)) => format!("`{start}…` ({length} characters)"),
        None => format!("`{value}`"),
    }
}

/// A file's own prose (a parser's message, which may quote the file) as a message includes it: whole up to
/// `limit` characters, else its first `limit` characters, "…" and its length; as [`quoted`], without the
/// backticks.
pub fn shortened(text: &str, limit: usize) -> String {
    match cut(text, limit) {
        Some((start, length)) => format!("{start}… ({length} characters)"),
        None => text.to_string(),
    }
}

/// The first `limit` characters of `text` and its length in characters, when it is longer than `limit`.
fn cut(text: &str, limit: usize) -> Option<(&str, usize)> {
    let (end, _) = text.char_indices().nth(limit)?;
    Some((&text[..end], text.chars().count()))
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

#[cfg(test)]
mod tests {
    use super::{quoted, shortened};

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(quoted("relu", 40), "`relu`");
        assert_eq!(quoted("", 40), "``", "an empty value stays visible");
        assert_eq!(shortened("a broken pickle", 40), "a broken pickle");
    }

    #[test]
    fn long_text_keeps_its_first_characters_and_says_its_length_outside_the_quotes() {
        // multi-byte characters: the cut falls between characters, and the length counts characters
        let value = "é".repeat(50);
        assert_eq!(quoted(&value, 3), "`ééé…` (50 characters)");
        assert_eq!(shortened(&value, 3), "ééé… (50 characters)");
        // exactly at the limit: whole
        assert_eq!(quoted(&value, 50), format!("`{value}`"));
    }
}
