//! Preprocessing exactly as the course's `cifar10_utils.py`: subtract the training set's per-pixel mean image,
//! nothing else; or, for torchvision's pretrained weights, ImageNet's per-channel normalisation.
//!
//! The course's: `x = pixel − mean_image[pixel]`, at raw pixel scale (no /255, no division by a standard
//! deviation), for training and test images alike, both with the TRAINING mean. ImageNet's:
//! `x = (pixel / 255 − mean[c]) / std[c]`, computed as `(pixel − 255·mean[c]) / (255·std[c])`. An image enters
//! the network as its 3072 CHW bytes in order, i.e. NCHW `(N, 3, 32, 32)` flattened C-major, as the course's MLPs
//! see it.

use ndarray::Array2;
use num_traits::Float;

use super::{Split, PIXELS};

/// How images become the network's input; the weights only make sense with the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputNormalization {
    /// The course's: subtract the training set's mean image, at raw pixel scale.
    #[default]
    CourseMeanImage,
    /// torchvision's pretrained weights: pixels / 255, then per channel `(x − mean) / std` with ImageNet's
    /// mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
    #[serde(rename = "imagenet")]
    ImageNet,
}

impl InputNormalization {
    pub fn key(self) -> &'static str {
        match self {
            InputNormalization::CourseMeanImage => "course-mean-image",
            InputNormalization::ImageNet => "imagenet",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [InputNormalization::CourseMeanImage, InputNormalization::ImageNet]
            .into_iter()
            .find(|n| n.key() == key)
    }
}

/// ImageNet's per-channel mean and standard deviation of pixels / 255, as torchvision normalises.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Holds the training set's mean image and turns images into network inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    /// `[3072]` per-pixel mean of the training images (CHW), computed in f64 and stored as f32, as
    /// `np.mean(X_train, axis=0)` gives it.
    pub mean_image: Vec<f32>,
    /// `[3072]` per-pixel divisor after the mean is subtracted; `None`: no division (the course's).
    pub std_image: Option<Vec<f32>>,
}

impl Preprocessor {
    /// The mean image of `train` (all zeros if `train` is empty).
    pub fn new(train: &Split) -> Self {
        // Sums of u8 in u64 are exact; one division in f64 then gives the correctly rounded f64 mean. The
        // images are summed in u32 first (exact for up to u32::MAX / 255 images; the loop vectorises), in
        // groups that small, and the groups' sums added in u64.
        const IMAGES_PER_GROUP: usize = (u32::MAX / 255) as usize;
        let mut sums = vec![0u64; PIXELS];
        let mut group_sums = vec![0u32; PIXELS];
        // (saturating: on wasm32 no Vec holds that many images, and one group is all of them)
        for group in train.images.chunks(IMAGES_PER_GROUP.saturating_mul(PIXELS)) {
            group_sums.fill(0);
            for image in group.chunks_exact(PIXELS) {
                for (sum, &pixel) in group_sums.iter_mut().zip(image) {
                    *sum += u32::from(pixel);
                }
            }
            for (sum, &group_sum) in sums.iter_mut().zip(&group_sums) {
                *sum += u64::from(group_sum);
            }
        }
        let count = train.len().max(1) as f64;
        Preprocessor {
            mean_image: sums.into_iter().map(|sum| (sum as f64 / count) as f32).collect(),
            std_image: None,
        }
    }

    /// ImageNet's normalisation, the one torchvision's pretrained weights expect.
    pub fn imagenet() -> Self {
        let per_channel = |values: [f32; 3]| -> Vec<f32> {
            values
                .iter()
                .flat_map(|&v| std::iter::repeat_n(255.0 * v, PIXELS / 3))
                .collect()
        };
        Preprocessor {
            mean_image: per_channel(IMAGENET_MEAN),
            std_image: Some(per_channel(IMAGENET_STD)),
        }
    }

    /// The preprocessing `input` names, for a run on `train`.
    pub fn for_input(input: InputNormalization, train: &Split) -> Self {
        match input {
            InputNormalization::CourseMeanImage => Self::new(train),
            InputNormalization::ImageNet => Self::imagenet(),
        }
    }

    /// Writes the preprocessed images `indices` of `split` into `x` and their labels into `labels`.
    ///
    /// `x: [batch, 3072]` with `x[b][p] = T::from(pixel as f32 − mean_image[p])`; `x` is reused and only
    /// reallocated when its shape is not `[indices.len(), 3072]`. `labels: [batch]` class indices.
    /// Panics if an index is not below `split.len()`.
    pub fn fill_batch<T: Float>(&self, split: &Split, indices: &[usize], x: &mut Array2<T>, labels: &mut Vec<usize>) {
        if x.dim() != (indices.len(), PIXELS) {
            *x = Array2::zeros((indices.len(), PIXELS));
        }
        labels.clear();
        for (mut row, &index) in x.rows_mut().into_iter().zip(indices) {
            let image = split.image(index);
            for ((value, &pixel), &mean) in row.iter_mut().zip(image).zip(&self.mean_image) {
                *value = to_float(f32::from(pixel) - mean);
            }
            if let Some(std_image) = &self.std_image {
                for (value, &std) in row.iter_mut().zip(std_image) {
                    *value = *value / to_float(std);
                }
            }
            labels.push(usize::from(split.labels[index]));
        }
    }
}

/// An f32 as `T`. `Float::from` only fails for a type that cannot represent an f32 at all (not f32 or f64).
fn to_float<T: Float>(value: f32) -> T {
    T::from(value).unwrap_or_else(T::nan)
}
