//! Turning files into a [`Dataset`]: recognise each file by its content, collect its batches, and put them in
//! the course's order.
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

use super::archive::{for_each_tar_member, gunzip, looks_like_gzip, looks_like_tar, Gunzipped};
use super::binary::{looks_like_binary_batch, read_binary_batch, RECORD_BYTES};
use super::class_names::parse_class_names;
use super::pickle::{looks_like_pickle, read_pickle, PickleContent};
use super::{DataError, Dataset, Part, Split, CLASS_NAMES};
use crate::budget::{format_bytes, MemoryBudget};

/// How many archives deep a file may sit (the batches of a `.tar.gz` sit 1 deep): a guard against
/// archives packed into themselves.
const MAX_NESTING: usize = 3;

/// How a batch was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// 3073-byte records (`data_batch_N.bin`).
    Binary,
    /// A pickled dict with a numpy array (`data_batch_N` of the Python download).
    Pickle,
}

/// One batch taken in by a [`DatasetBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's own file name, e.g. "data_batch_1.bin"; it decides the batch order.
    pub name: String,
    /// Where it came from, e.g. "cifar-10-binary.tar.gz/cifar-10-batches-bin/data_batch_1.bin".
    pub source: String,
    /// Training or test.
    pub part: Part,
    /// Binary records or pickle.
    pub format: BatchFormat,
    /// Number of images in the batch.
    pub images: usize,
}

/// What one [`DatasetBuilder::add_file`] took in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedSummary {
    /// The file name as given.
    pub file: String,
    /// The batches found in it (several for an archive).
    pub batches: Vec<BatchInfo>,
    /// Files or archive members passed over because they hold no images (`batches.meta`, `readme.html`).
    pub skipped: Vec<String>,
}

impl AddedSummary {
    /// Number of images of `part` the file brought.
    pub fn images(&self, part: Part) -> usize {
        self.batches
            .iter()
            .filter(|batch| batch.part == part)
            .map(|batch| batch.images)
            .sum()
    }
}

impl std::fmt::Display for AddedSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} training + {} test images in {} batch(es)",
            self.file,
            self.images(Part::Train),
            self.images(Part::Test),
            self.batches.len()
        )?;
        if !self.skipped.is_empty() {
            write!(f, " (skipped {})", self.skipped.join(", "))?;
        }
        Ok(())
    }
}

/// A batch with its images, while the builder collects them.
#[derive(Debug, Clone)]
struct LoadedBatch {
    info: BatchInfo,
    split: Split,
}

/// Collects CIFAR-10 files one by one (as the user drops them on the page) and builds a [`Dataset`].
///
/// A file that fails to read leaves the builder as it was. Batches are put in canonical order when building
/// (`data_batch_1` … `data_batch_5` by name, whatever the order of adding), so the first, unshuffled epoch
/// sees the images in the course's order. The images it holds stay within the data budget of
/// [`MemoryBudget::for_target`]: a file that would go beyond is refused before its images are read or copied.
#[derive(Debug, Clone)]
pub struct DatasetBuilder {
    batches: Vec<LoadedBatch>,
    /// From the last class-name file added (`batches.meta.txt`, `batches.meta`), validated.
    class_names: Option<Vec<String>>,
    budget: MemoryBudget,
}

impl Default for DatasetBuilder {
    fn default() -> Self {
        Self::with_memory_budget(MemoryBudget::for_target())
    }
}

impl DatasetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with another budget (tests use a small one).
    pub fn with_memory_budget(budget: MemoryBudget) -> Self {
        Self {
            batches: Vec::new(),
            class_names: None,
            budget,
        }
    }

    /// Bytes the batches taken in so far hold: a label byte and 3072 pixel bytes per image.
    fn loaded_bytes(&self) -> u64 {
        self.batches
            .iter()
            .map(|batch| batch.info.images as u64 * RECORD_BYTES as u64)
            .sum()
    }

    /// Reads one file (a batch in either format, an archive, or a gzipped batch) and keeps its batches.
    /// `name` is the file's name, used in messages and to tell training from test batches (see the module
    /// documentation).
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<AddedSummary, DataError> {
        let mut reader = FileReader {
            budget: self.budget,
            loaded_before: self.loaded_bytes(),
            batches: Vec::new(),
            skipped: Vec::new(),
            class_names: None,
        };
        reader.read(name, base_name(name), bytes, None, 0)?;
        if reader.class_names.is_some() {
            self.class_names = reader.class_names;
        }
        for (index, batch) in reader.batches.iter().enumerate() {
            let key = batch_key(&batch.info.name);
            let earlier = self.batches.iter().chain(&reader.batches[..index]);
            if earlier
                .map(|other| batch_key(&other.info.name))
                .any(|other| other == key)
            {
                return Err(DataError::DuplicateBatch {
                    file: batch.info.source.clone(),
                    batch: key.to_string(),
                });
            }
        }
        let summary = AddedSummary {
            file: name.to_string(),
            batches: reader.batches.iter().map(|batch| batch.info.clone()).collect(),
            skipped: reader.skipped,
        };
        self.batches.append(&mut reader.batches);
        Ok(summary)
    }

    /// Takes in the batches of `other` (files read on their own first, so that a bad one changed nothing
    /// here) as if its files had been added to this builder: the same batch twice and the data budget are
    /// checked against what this builder holds. On error this builder is left as it was.
    pub fn append(&mut self, other: DatasetBuilder) -> Result<(), DataError> {
        let mut loaded = self.loaded_bytes();
        for (index, batch) in other.batches.iter().enumerate() {
            let key = batch_key(&batch.info.name);
            if (self.batches.iter().chain(&other.batches[..index])).any(|earlier| batch_key(&earlier.info.name) == key)
            {
                return Err(DataError::DuplicateBatch {
                    file: batch.info.source.clone(),
                    batch: key.to_string(),
                });
            }
            let needed = batch.info.images as u64 * RECORD_BYTES as u64;
            FileReader::check_budget(&self.budget, loaded, &batch.info.source, needed)?;
            loaded += needed;
        }
        if other.class_names.is_some() {
            self.class_names = other.class_names;
        }
        self.batches.extend(other.batches);
        Ok(())
    }

    /// The batches taken in so far, in the order they were added.
    pub fn batches(&self) -> impl Iterator<Item = &BatchInfo> {
        self.batches.iter().map(|batch| &batch.info)
    }

    /// Joins the batches, in canonical order, into a training and a test split. Fails if either is missing.
    pub fn build(mut self) -> Result<Dataset, DataError> {
        for part in [Part::Train, Part::Test] {
            if !self.batches.iter().any(|batch| batch.info.part == part) {
                let added: Vec<String> = self
                    .batches
                    .iter()
                    .map(|batch| format!("{} ({})", batch.info.source, batch.info.part))
                    .collect();
                let added = if added.is_empty() {
                    "nothing".to_string()
                } else {
                    added.join(", ")
                };
                return Err(DataError::MissingPart { part, added });
            }
        }
        self.batches.sort_by(|a, b| {
            let order = |batch: &LoadedBatch| {
                let key = batch_key(&batch.info.name);
                (batch.info.part, batch_number(key), key.to_string())
            };
            order(a).cmp(&order(b))
        });
        let class_names =
            (self.class_names.take()).unwrap_or_else(|| CLASS_NAMES.iter().map(|name| name.to_string()).collect());
        let mut dataset = Dataset {
            name: "CIFAR-10".to_string(),
            class_names,
            ..Dataset::default()
        };
        for mut batch in self.batches {
            let split = match batch.info.part {
                Part::Train => &mut dataset.train,
                Part::Test => &mut dataset.test,
            };
            split.append(&mut batch.split);
        }
        Ok(dataset)
    }
}

/// Reads the given files (name, bytes) into a [`Dataset`]; see [`DatasetBuilder`].
pub fn load_files(files: &[(&str, &[u8])]) -> Result<Dataset, DataError> {
    let mut builder = DatasetBuilder::new();
    for (name, bytes) in files {
        builder.add_file(name, bytes)?;
    }
    builder.build()
}

/// Reads a data set from disk (native only): a single archive or batch file, or a directory holding the
/// batches (`data_batch_*`, `test_batch*`, in either format), directly or in one level of subdirectories such
/// as the unpacked `cifar-10-batches-bin/`.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_path(path: &std::path::Path) -> Result<Dataset, DataError> {
    let io_error = |path: &std::path::Path, error: std::io::Error| DataError::Io {
        file: path.display().to_string(),
        reason: error.to_string(),
    };
    let files = if path.is_dir() {
        let mut files = batch_files_in(path).map_err(|error| io_error(path, error))?;
        if files.is_empty() {
            for entry in std::fs::read_dir(path).map_err(|error| io_error(path, error))? {
                let subdirectory = entry.map_err(|error| io_error(path, error))?.path();
                if subdirectory.is_dir() {
                    files.extend(batch_files_in(&subdirectory).map_err(|error| io_error(&subdirectory, error))?);
                }
            }
        }
        if files.is_empty() {
            return Err(DataError::NoBatches {
                file: path.display().to_string(),
                found: "no such files in the directory or its subdirectories".to_string(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut builder = DatasetBuilder::new();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|error| io_error(&file, error))?;
        let name = file
            .file_name()
            .map_or_else(|| file.display().to_string(), |name| name.to_string_lossy().into());
        builder.add_file(&name, &bytes)?;
    }
    builder.build()
}

/// The files of `directory` named like batches, sorted.
#[cfg(not(target_arch = "wasm32"))]
fn batch_files_in(directory: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        let is_batch = path
            .file_name()
            .is_some_and(|name| part_by_member_name(&name.to_string_lossy()).is_some());
        if is_batch && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The batches and skipped members found while reading one file, archives included.
struct FileReader {
    budget: MemoryBudget,
    /// Bytes of images the builder held before this file.
    loaded_before: u64,
    batches: Vec<LoadedBatch>,
    skipped: Vec<String>,
    class_names: Option<Vec<String>>,
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
    fn check_budget(budget: &MemoryBudget, loaded: u64, source: &str, needed: u64) -> Result<(), DataError> {
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
    fn read(
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
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The part an archive member's name says: `data_batch_*` → training, `test_batch*` → test, else none.
fn part_by_member_name(name: &str) -> Option<Part> {
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

/// The batch a file holds, by name: "data_batch_1.bin" and the pickle "data_batch_1" are the same batch.
fn batch_key(name: &str) -> &str {
    name.strip_suffix(".bin").unwrap_or(name)
}

/// The number at the end of a batch name (`data_batch_10` → 10), so that batch 10 sorts after batch 9;
/// names without a number sort last.
fn batch_number(key: &str) -> u64 {
    let digits = key.len() - key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    key[key.len() - digits..].parse().unwrap_or(u64::MAX)
}

/// The class-name files of the two downloads (read for their names inside archives too).
const CLASS_NAME_FILES: [&str; 2] = ["batches.meta.txt", "batches.meta"];

/// True for `batches.meta.txt`: by name, or by content when it is CIFAR-10's own list of class names.
fn is_class_name_file(name: &str, bytes: &[u8]) -> bool {
    name == CLASS_NAME_FILES[0] || std::str::from_utf8(bytes).is_ok_and(|text| text.split_whitespace().eq(CLASS_NAMES))
}
