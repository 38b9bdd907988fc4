//! Turning files into a [`Dataset`]: recognise each file by its content ([`reader`]), collect its batches,
//! and put them in the course's order.

use super::binary::RECORD_BYTES;
use super::{DataError, Dataset, Part, Split, CLASS_NAMES};
use crate::budget::MemoryBudget;
use reader::{base_name, FileReader};

mod reader;

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
            .is_some_and(|name| reader::part_by_member_name(&name.to_string_lossy()).is_some());
        if is_batch && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
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
