//! The official binary batches (`data_batch_N.bin`, `test_batch.bin`), read and written.
//!
//! A batch is a run of 3073-byte records: 1 label byte (0–9), then 3072 pixel bytes, CHW (1024 R, 1024 G,
//! 1024 B, each plane 32×32 row-major). The official files hold 10,000 records; any positive whole number is
//! accepted so that small generated files work too. The format has no header, so the loader only takes a file
//! for a binary batch after ruling out gzip, tar and pickle (see `loader.rs`).

use super::{DataError, Split, NUM_CLASSES, PIXELS};

/// Bytes per record: the label, then the image.
pub(crate) const RECORD_BYTES: usize = 1 + PIXELS;

/// True when `bytes` could be meant as a binary batch: a whole number of records, or at least a first byte
/// that is a label. Used to tell a damaged batch (worth a precise size error) from some other file.
pub(crate) fn looks_like_binary_batch(bytes: &[u8]) -> bool {
    bytes.len() % RECORD_BYTES == 0 || bytes.first().is_some_and(|&label| (label as usize) < NUM_CLASSES)
}

/// Reads a binary batch. `file` only names the file in errors.
pub(crate) fn read_binary_batch(file: &str, bytes: &[u8]) -> Result<Split, DataError> {
    if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
        return Err(DataError::RecordSize {
            file: file.to_string(),
            len: bytes.len(),
        });
    }
    let mut split = Split::with_capacity(bytes.len() / RECORD_BYTES);
    for (record, chunk) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let (label, image) = (chunk[0], &chunk[1..]);
        if label as usize >= NUM_CLASSES {
            return Err(DataError::BadLabel {
                file: file.to_string(),
                record,
                label: label.into(),
            });
        }
        split.labels.push(label);
        split.images.extend_from_slice(image);
    }
    Ok(split)
}

/// Writes `split` as a binary batch, byte for byte the layout of `data_batch_N.bin`.
pub fn write_binary_batch(split: &Split) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(split.len() * RECORD_BYTES);
    for (index, &label) in split.labels.iter().enumerate() {
        bytes.push(label);
        bytes.extend_from_slice(split.image(index));
    }
    bytes
}
