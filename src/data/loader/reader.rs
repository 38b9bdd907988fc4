//! Reading one file into batches: recognise it by its content, open archives, and name each batch's part.
//!
//! Recognition, in this order: gzip (magic `1f 8b`; a `.tar.gz` or one gzipped file), tar (`ustar` at byte
//! 257), pickle (`80 02`…`80 05`), the `batches.meta.txt` list of class names, and finally a binary batch,
//! which has no header: a file is taken for one when it is a whole number of 3073-byte records or at least
//! starts with a label byte 0–9 (then a wrong size is reported as such); anything else is unrecognised.
//!
//! Which part a batch belongs to: inside an archive by the member's name (`data_batch_*` → training,
//! `test_batch*` → test; other members such as `readme.html` are skipped); for a loose pickle by its
//! `batch_label` ("training batch 1 of 5" / "testing batch 1 of 1"); otherwise by the file name: a name
//! containing "test" is the test part, any other name a training batch.
use std::cell::Cell;

use super::{BatchFormat, BatchInfo, LoadedBatch};
use crate::budget::{format_bytes, MemoryBudget};
use crate::data::archive::{for_each_tar_member, gunzip, looks_like_gzip, looks_like_tar, Gunzipped};
use crate::data::binary::{looks_like_binary_batch, read_binary_batch, RECORD_BYTES};
use crate::data::class_names::parse_class_names;
use crate::data::pickle::{looks_like_pickle, read_pickle, PickleContent};
use crate::data::{DataError, Part, CLASS_NAMES};

/// How many archives deep a file may sit (the batches of a `.tar.gz` sit 1 deep): a guard against
/// archives packed into themselves.
const MAX_NESTING: usize = 3;

/// The batches and skipped members found while reading one file, archives included.
pub(super) struct FileReader {
    pub budget: MemoryBudget,
    /// Bytes of images the builder held before this file.
    pub loaded_before: u64,
    pub batches: Vec<LoadedBatch>,
    pub skipped: Vec<String>,
    pub class_names: Option<Vec<String>>,
}

impl FileReader {
    /// Bytes of images held so far, the builder's and this file's.
    fn loaded(&self) -> u64 {
        let read_here: u64 = (self.batches.iter())
            .map(|batch| batch.info.images as u64 * RECORD_BYTES as u64)
            .sum();
        self.loaded_before + read_here
    }

    /// Refuses `needed` more bytes of images from `source` if they would exceed the data budget.
    pub fn check_budget(budget: &MemoryBudget, loaded: u64, source: &str, needed: u64) -> Result<(), DataError> {
        if loaded.saturating_add(needed) <= budget.data_bytes {
            return Ok(());
        }
        Err(DataError::OverBudget {
            file: source.to_string(),
            images: needed / RECORD_BYTES as u64,
            needed: format_bytes(needed),
            loaded: format_bytes(loaded),
            budget: format_bytes(budget.data_bytes),
            place: budget.place,
        })
    }

    /// Reads `bytes`, known in messages as `source` and by file `name` for the part rules. `member_part` is
    /// the part an enclosing archive's member name gave; `nesting` counts the enclosing archives.
    pub fn read(
        &mut self,
        source: &str,
        name: &str,
        bytes: &[u8],
        member_part: Option<Part>,
        nesting: usize,
    ) -> Result<(), DataError> {
        if bytes.is_empty() {
            return Err(DataError::Empty {
                file: source.to_string(),
            });
        }
        let is_archive = looks_like_gzip(bytes) || looks_like_tar(bytes);
        if is_archive && nesting >= MAX_NESTING {
            return Err(DataError::Tar {
                file: source.to_string(),
                reason: format!("archives nested more than {MAX_NESTING} deep"),
            });
        }
        if looks_like_gzip(bytes) {
            return match gunzip(source, bytes)? {
                Gunzipped::Tar(tar_stream) => self.read_tar(source, tar_stream, nesting),
                Gunzipped::File(content) => {
                    let name = name.strip_suffix(".gz").unwrap_or(name);
                    self.read(source, name, &content, member_part, nesting + 1)
                }
            };
        }
        if looks_like_tar(bytes) {
            return self.read_tar(source, bytes, nesting);
        }
        // A batch holds about as many bytes of images as the file has (3073 per binary record, a little less
        // than the pickle): checked before the file is decoded or its images copied.
        Self::check_budget(&self.budget, self.loaded(), source, bytes.len() as u64)?;
        let (split, part, format) = if looks_like_pickle(bytes) {
            match read_pickle(source, bytes)? {
                PickleContent::Batch { split, batch_label } => {
                    let label_part = batch_label.as_deref().and_then(part_by_batch_label);
                    (
                        split,
                        member_part.or(label_part).unwrap_or_else(|| part_by_file_name(name)),
                        BatchFormat::Pickle,
                    )
                }
                PickleContent::Meta { class_names } => {
                    self.class_names = Some(class_names);
                    self.skipped.push(source.to_string());
                    return Ok(());
                }
            }
        } else if is_class_name_file(name, bytes) {
            self.class_names = Some(parse_class_names(source, bytes)?);
            self.skipped.push(source.to_string()); // no images
            return Ok(());
        } else if looks_like_binary_batch(bytes) {
            let split = read_binary_batch(source, bytes)?;
            (
                split,
                member_part.unwrap_or_else(|| part_by_file_name(name)),
                BatchFormat::Binary,
            )
        } else {
            let head: Vec<String> = bytes.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
            return Err(DataError::Unrecognised {
                file: source.to_string(),
                len: bytes.len(),
                head: head.join(" "),
            });
        };
        let info = BatchInfo {
            name: name.to_string(),
            source: source.to_string(),
            part,
            format,
            images: split.len(),
        };
        self.batches.push(LoadedBatch { info, split });
        Ok(())
    }

    /// Reads the batch members of a tar stream; fails if there are none.
    fn read_tar(&mut self, source: &str, tar_stream: impl std::io::Read, nesting: usize) -> Result<(), DataError> {
        let batches_before = self.batches.len();
        let is_wanted = |path: &str| {
            let name = base_name(path);
            part_by_member_name(name).is_some() || CLASS_NAME_FILES.contains(&name)
        };
        // the header's size is checked against the budget before the member is read
        let (budget, loaded) = (self.budget, Cell::new(self.loaded()));
        let check_size = |member: &str, size: u64| Self::check_budget(&budget, loaded.get(), member, size);
        let members = for_each_tar_member(source, tar_stream, is_wanted, check_size, |path, bytes| {
            let name = base_name(path);
            let member = format!("{source}/{path}");
            let read = self.read(&member, name, &bytes, part_by_member_name(name), nesting + 1);
            loaded.set(self.loaded());
            read
        })?;
        if self.batches.len() == batches_before {
            let found = if members.is_empty() {
                "no files".to_string()
            } else {
                members.join(", ")
            };
            return Err(DataError::NoBatches {
                file: source.to_string(),
                found,
            });
        }
        let passed_over = members.into_iter().filter(|path| !is_wanted(path));
        self.skipped.extend(passed_over.map(|path| format!("{source}/{path}")));
        Ok(())
    }
}

/// The last component of a `/`- or `\`-separated path.
pub(super) fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The part an archive member's name says: `data_batch_*` → training, `test_batch*` → test, else none.
pub(super) fn part_by_member_name(name: &str) -> Option<Part> {
    part_by_prefix(name, "data_batch", "test_batch")
}

/// The part a pickle's `batch_label` says ("training batch 1 of 5", "testing batch 1 of 1").
fn part_by_batch_label(label: &str) -> Option<Part> {
    part_by_prefix(&label.trim_start().to_ascii_lowercase(), "training", "test")
}

fn part_by_prefix(text: &str, train_prefix: &str, test_prefix: &str) -> Option<Part> {
    if text.starts_with(train_prefix) {
        Some(Part::Train)
    } else if text.starts_with(test_prefix) {
        Some(Part::Test)
    } else {
        None
    }
}

/// The part of a loose file with no better clue: a name containing "test" is the test batch.
fn part_by_file_name(name: &str) -> Part {
    if name.to_ascii_lowercase().contains("test") {
        Part::Test
    } else {
        Part::Train
    }
}

/// The class-name files of the two downloads (read for their names inside archives too).
const CLASS_NAME_FILES: [&str; 2] = ["batches.meta.txt", "batches.meta"];

/// True for `batches.meta.txt`: by name, or by content when it is CIFAR-10's own list of class names.
fn is_class_name_file(name: &str, bytes: &[u8]) -> bool {
    name == CLASS_NAME_FILES[0] || std::str::from_utf8(bytes).is_ok_and(|text| text.split_whitespace().eq(CLASS_NAMES))
}
