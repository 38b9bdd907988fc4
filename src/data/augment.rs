//! Training-time augmentation: random crops of the zero-padded image and random horizontal flips, applied
//! to a preprocessed batch in place (zero is the mean pixel after the mean image is subtracted).
use ndarray::Array2;
use num_traits::Float;
use rand::Rng;

use super::{CHANNELS, IMAGE_SIZE};

/// Which augmentations to apply; `Default` is none (the course had none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Augmentation {
    /// Pad by this many pixels on every side, then crop a random 32×32 window (0: no cropping).
    pub crop_padding: usize,
    /// Mirror each image left-right with probability ½.
    pub horizontal_flip: bool,
}

impl Augmentation {
    /// The usual CIFAR-10 augmentation: 4-pixel padded random crops and horizontal flips.
    pub fn standard() -> Self {
        Self {
            crop_padding: 4,
            horizontal_flip: true,
        }
    }

    pub fn is_none(&self) -> bool {
        self.crop_padding == 0 && !self.horizontal_flip
    }

    /// Augments every row (`[batch, 3072]`, CHW) of `x` in place; `scratch` holds one image.
    pub fn apply<T: Float>(&self, x: &mut Array2<T>, rng: &mut impl Rng, scratch: &mut Vec<T>) {
        if self.is_none() {
            return;
        }
        let size = IMAGE_SIZE as i64;
        let pad = self.crop_padding as i64;
        for mut row in x.rows_mut() {
            let Some(image) = row.as_slice_mut() else { continue };
            let (dy, dx) = if pad > 0 {
                (rng.random_range(-pad..=pad), rng.random_range(-pad..=pad))
            } else {
                (0, 0)
            };
            let flip = self.horizontal_flip && rng.random_bool(0.5);
            if dy == 0 && dx == 0 && !flip {
                continue;
            }
            scratch.clear();
            scratch.extend_from_slice(image);
            for c in 0..CHANNELS {
                let plane = c * IMAGE_SIZE * IMAGE_SIZE;
                for y in 0..size {
                    for x_out in 0..size {
                        // output (y, x) reads the source pixel (y + dy, x' + dx), x' mirrored when flipping
                        let x_src = if flip { size - 1 - x_out } else { x_out } + dx;
                        let y_src = y + dy;
                        let inside = (0..size).contains(&y_src) && (0..size).contains(&x_src);
                        image[plane + (y * size + x_out) as usize] = if inside {
                            scratch[plane + (y_src * size + x_src) as usize]
                        } else {
                            T::zero()
                        };
                    }
                }
            }
        }
    }
}
