//! CIFAR-10 data: parsers, preprocessing, batching and a synthetic generator.
//!
//! The same code serves the browser and the native CLI, so every parser reads from bytes (`&[u8]`); only
//! [`load_path`] touches the file system, and it is compiled for native targets only.
//!
//! - [`DatasetBuilder`] / [`load_files`] / [`load_path`]: read the official downloads in any of their forms
//!   (binary batches, Python pickle batches, `cifar-10-binary.tar.gz`, `cifar-10-python.tar.gz`, a plain
//!   `.tar`, a gzipped batch), recognised by content, not by file name.
//! - [`Preprocessor`]: the course's `cifar10_utils` preprocessing (subtract the training mean image, raw pixel
//!   scale, NCHW flattened).
//! - [`BatchSampler`]: the course's `next_batch` (first epoch in file order, reshuffle when an epoch is used up).
//! - [`synthetic`]: a seeded CIFAR-shaped data set of ten shape families, the lab's built-in default.
//! - [`write_binary_batch`], [`write_pickle_batch`], [`write_archive`]: write data in every format the loader
//!   reads, so tests exercise the real structures.
//!
//! Images are stored as in the binary files: 3072 bytes per image, channel-major (1024 R, 1024 G, 1024 B),
//! each plane 32×32 row-major. That is NCHW flattened, the order the course's MLPs see.

mod archive;
mod augment;
mod binary;
mod class_names;
mod error;
mod image;
mod loader;
mod phases;
mod pickle;
mod pickle_scan;
mod preprocess;
mod sampler;
mod split;
mod subset;
mod synthetic;

pub use archive::{write_archive, ArchiveFormat, MAX_DECOMPRESSED_BYTES};
pub use augment::Augmentation;
pub use binary::write_binary_batch;
pub use class_names::MAX_CLASS_NAME_CHARS;
pub use error::DataError;
pub use image::{push_rgba, resize_to_cifar};
#[cfg(not(target_arch = "wasm32"))]
pub use loader::load_path;
pub use loader::{load_files, AddedSummary, BatchFormat, BatchInfo, DatasetBuilder};
pub use phases::{archive_phases, Phase};
pub use pickle::write_pickle_batch;
pub use preprocess::{InputNormalization, Preprocessor, IMAGENET_MEAN, IMAGENET_STD};
pub use sampler::{BatchSampler, SamplerPosition};
pub use split::{Dataset, Part, Split};
pub use synthetic::{synthetic, SyntheticConfig, SYNTHETIC_CLASS_NAMES};

/// The CIFAR-10 class names, in label order (label 0 is "airplane").
pub const CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Number of classes; labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;
/// Width and height of an image in pixels.
pub const IMAGE_SIZE: usize = 32;
/// Colour channels per image (R, G, B).
pub const CHANNELS: usize = 3;
/// Bytes (and network inputs) per image: 3 × 32 × 32.
pub const PIXELS: usize = CHANNELS * IMAGE_SIZE * IMAGE_SIZE;
