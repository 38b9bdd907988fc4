//! Everything that can go wrong while reading CIFAR-10 files, as values.
//!
//! Every message names the file (for archive members `archive/member`), what was expected and what was
//! found, so that the lab can show it to the user as it is.

use super::split::Part;

/// Why a file could not be read as CIFAR-10 data, or why the data added so far does not make a data set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The file has no bytes at all.
    #[error("{file}: expected a CIFAR-10 batch or archive, found an empty file (0 bytes)")]
    Empty { file: String },

    /// The content matches none of the formats the loader knows.
    #[error(
        "{file}: expected a CIFAR-10 binary batch (3073-byte records starting with a label 0-9), a Python \
         pickle batch, a .tar or a .tar.gz, found {len} bytes of another kind (starting with {head})"
    )]
    Unrecognised { file: String, len: usize, head: String },

    /// A binary batch whose size is not a whole number of records (truncated, or not a batch at all).
    #[error(
        "{file}: expected a whole number of 3073-byte records (1 label + 3072 pixels), found {len} bytes \
         ({whole_records} whole records + {extra_bytes} bytes){hint}",
        whole_records = len / 3073,
        extra_bytes = len % 3073,
        hint = if *len > 0 && len % 3072 == 0 {
            format!("; that is {} whole 3072-byte images: are the labels missing?", len / 3072)
        } else {
            String::new()
        }
    )]
    RecordSize { file: String, len: usize },

    /// A label outside `0..=9`.
    #[error("{file}: expected labels 0-9, found label {label} in record {record}")]
    BadLabel { file: String, record: usize, label: i64 },

    /// The bytes are not a readable pickle (truncated, corrupt, or an unsupported opcode).
    #[error("{file}: expected a readable Python pickle, found a broken one ({reason})")]
    Pickle { file: String, reason: String },

    /// A pickle refused before decoding (see `pickle_scan.rs`): it would nest too deep or expand too far,
    /// or it holds what the lab does not decode (sets, DUP, numbers of absurd length).
    #[error("{file}: expected a pickle with {expected}, found {found}; it was not decoded")]
    PickleRefused {
        file: String,
        expected: String,
        found: String,
    },

    /// A readable pickle that is not a CIFAR-10 batch.
    #[error("{file}: expected {expected}, found {found}")]
    NotABatch {
        file: String,
        expected: String,
        found: String,
    },

    /// Corrupt or truncated gzip data.
    #[error("{file}: expected a gzip stream, found corrupt data ({reason})")]
    Gzip { file: String, reason: String },

    /// A tar archive that cannot be walked (corrupt header, truncated member).
    #[error("{file}: expected a tar archive, found a broken one ({reason})")]
    Tar { file: String, reason: String },

    /// An archive without a single CIFAR-10 batch in it.
    #[error("{file}: expected archive members named data_batch_N or test_batch, found {found}")]
    NoBatches { file: String, found: String },

    /// Decompressed data beyond what any CIFAR-10 file needs (a "zip bomb" guard).
    #[error("{file}: expected at most {limit} bytes once decompressed, found more")]
    TooLarge { file: String, limit: usize },

    /// Images beyond the data budget ([`crate::budget::MemoryBudget`]), refused before they are read or copied.
    #[error(
        "{file}: expected at most {budget} of images {place} (the data budget), found {images} images needing \
         {needed} on top of the {loaded} already loaded"
    )]
    OverBudget {
        file: String,
        images: u64,
        needed: String,
        loaded: String,
        budget: String,
        place: &'static str,
    },

    /// A class-name file (`batches.meta.txt`, a pickle's `label_names`) that does not hold ten clean names.
    #[error("{file}: expected 10 class names of 1 to 64 characters without control characters, found {found}")]
    ClassNames { file: String, found: String },

    /// The same batch (by name) was added twice, e.g. from an archive and as a loose file.
    #[error("{file}: expected each batch once, found {batch} a second time")]
    DuplicateBatch { file: String, batch: String },

    /// [`super::DatasetBuilder::build`] was called without training or without test data.
    #[error("expected {part} batches ({examples}), found none; added so far: {added}",
        examples = match part { Part::Train => "data_batch_1 … data_batch_5", Part::Test => "test_batch" })]
    MissingPart { part: Part, added: String },

    /// A file or directory could not be read (native [`super::load_path`] only).
    #[error("{file}: expected a readable file or directory, found an I/O error ({reason})")]
    Io { file: String, reason: String },
}
