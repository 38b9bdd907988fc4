//! Class names from a file (`batches.meta.txt` of the binary download, `label_names` of the Python
//! download's `batches.meta`): untrusted text, so validated before the lab shows it anywhere. Exactly ten
//! names, each 1 to 64 characters with no control characters; the page shows them as text, never as markup.

use super::{DataError, NUM_CLASSES};

/// Longest class name accepted, in characters.
pub const MAX_CLASS_NAME_CHARS: usize = 64;

/// The names of `batches.meta.txt`: one per line, blank lines and surrounding spaces ignored.
pub(crate) fn parse_class_names(file: &str, bytes: &[u8]) -> Result<Vec<String>, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|error| DataError::ClassNames {
        file: file.to_string(),
        found: format!("bytes that are not UTF-8 text (at byte {})", error.valid_up_to()),
    })?;
    let names: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    validate_class_names(file, &names)
}

/// Checks `names` (from either file) and returns them owned.
pub(crate) fn validate_class_names(file: &str, names: &[&str]) -> Result<Vec<String>, DataError> {
    let error = |found: String| DataError::ClassNames {
        file: file.to_string(),
        found,
    };
    if names.len() != NUM_CLASSES {
        return Err(error(format!("{} names", names.len())));
    }
    for (label, name) in names.iter().enumerate() {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_CLASS_NAME_CHARS {
            return Err(error(format!("a name of {chars} characters for label {label}")));
        }
        if let Some(control) = name.chars().find(|c| c.is_control()) {
            return Err(error(format!(
                "a control character (U+{:04X}) in the name for label {label}",
                u32::from(control)
            )));
        }
    }
    Ok(names.iter().map(|name| name.to_string()).collect())
}
