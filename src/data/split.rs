//! The in-memory data: a [`Split`] of images and labels, the [`Part`] it belongs to, and a [`Dataset`].

use super::{NUM_CLASSES, PIXELS};

/// Images and labels of one part of the data, in file order.
///
/// Invariant (kept by every constructor in this module; the fields are public for reading and moving, so
/// keep it when writing them): `images.len() == labels.len() * PIXELS` and every label is below 10.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// `[N, 3072]` raw pixels 0..=255, each image CHW: 1024 R, 1024 G, 1024 B, each plane 32×32 row-major.
    pub images: Vec<u8>,
    /// `[N]` class indices 0..=9 (see [`super::CLASS_NAMES`]).
    pub labels: Vec<u8>,
}

impl Split {
    /// An empty split with room for `capacity` images.
    pub fn with_capacity(capacity: usize) -> Self {
        Split {
            images: Vec::with_capacity(capacity * PIXELS),
            labels: Vec::with_capacity(capacity),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 3072 CHW bytes of image `index`. Panics if `index >= len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * PIXELS..(index + 1) * PIXELS]
    }

    /// A copy of the images `range` (e.g. one batch file's worth). Panics if `range` runs past `len()`.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Split {
        Split {
            images: self.images[range.start * PIXELS..range.end * PIXELS].to_vec(),
            labels: self.labels[range].to_vec(),
        }
    }

    /// Adds one image (3072 CHW bytes) with its label. Panics on a wrong image size or a label above 9:
    /// both are programming errors here, file data goes through the validating parsers.
    pub fn push(&mut self, image: &[u8], label: u8) {
        assert_eq!(image.len(), PIXELS, "an image has {PIXELS} bytes");
        assert!((label as usize) < NUM_CLASSES, "labels are 0..=9, got {label}");
        self.images.extend_from_slice(image);
        self.labels.push(label);
    }

    /// Moves all images of `other` to the end of `self`, leaving `other` empty (like [`Vec::append`]).
    pub fn append(&mut self, other: &mut Split) {
        self.images.append(&mut other.images);
        self.labels.append(&mut other.labels);
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in &self.labels {
            if let Some(count) = counts.get_mut(label as usize) {
                *count += 1;
            }
        }
        counts
    }
}

/// A summary instead of millions of bytes: `Split { len: 3, labels: [6, 9, 9], class_counts: [...] }`.
impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 10;
        let labels = &self.labels[..self.labels.len().min(SHOWN)];
        let more = if self.labels.len() > SHOWN { ", …" } else { "" };
        write!(f, "Split {{ len: {}, labels: {labels:?}{more}, ", self.len())?;
        if self.images.len() != self.labels.len() * PIXELS {
            write!(f, "images: {} bytes (not len × 3072!), ", self.images.len())?;
        }
        write!(f, "class_counts: {:?} }}", self.class_counts())
    }
}

/// Which part of the data a batch belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// The training batches `data_batch_1` … `data_batch_5`.
    Train,
    /// The test batch `test_batch`.
    Test,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Train => "training",
            Part::Test => "test",
        })
    }
}

/// A training and a test split, as the course's `read_data_sets` returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    /// The training images, in canonical file order (data_batch_1, …, data_batch_5).
    pub train: Split,
    /// The test images.
    pub test: Split,
    /// What to call the data in the page and in logs, e.g. "CIFAR-10" or "synthetic-10 (seed 42)".
    pub name: String,
    /// The name of each label, from the data's class-name file when it had one (validated: ten names of 1
    /// to 64 characters, no control characters); [`super::CLASS_NAMES`] or the synthetic names otherwise.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// The split of `part`.
    pub fn split(&self, part: Part) -> &Split {
        match part {
            Part::Train => &self.train,
            Part::Test => &self.test,
        }
    }

    /// The 64-bit FNV-1a hash of the images and labels (training images, training labels, test images, test
    /// labels): a short name for the exact bytes, with which the tests pin the generated data set.
    pub fn fingerprint(&self) -> u64 {
        let (train, test) = (&self.train, &self.test);
        [&train.images, &train.labels, &test.images, &test.labels]
            .into_iter()
            .flat_map(|bytes| bytes.iter())
            .fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
    }
}
