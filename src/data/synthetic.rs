//! A seeded, CIFAR-shaped data set of ten shape families: the lab's built-in data and what the tests use.
//!
//! Each image is a 32×32×3 picture of one figure (class = shape family) at a random position and size, in a
//! random colour, on a random background with a colour gradient, plus per-pixel noise. Position, colours and
//! stripe phases vary, so a linear read-out of pixels is not enough; a small MLP (3072-100-10) learns it well
//! above chance but not perfectly, and a sample grid shows the classes at a glance.
//!
//! The same seed always gives the same bytes. Training and test images come from separate ChaCha streams, so
//! the test set does not change with `train_size`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Dataset, Split, IMAGE_SIZE, NUM_CLASSES, PIXELS};

/// The classes of [`synthetic`], in label order.
pub const SYNTHETIC_CLASS_NAMES: [&str; 10] = [
    "disc",
    "square",
    "horizontal stripes",
    "vertical stripes",
    "cross",
    "ring",
    "triangle",
    "checkerboard",
    "diagonal",
    "dots",
];

/// How much synthetic data to make, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyntheticConfig {
    /// Seed of the generator; the same seed gives the same images.
    pub seed: u64,
    /// Number of training images (balanced over the classes).
    pub train_size: usize,
    /// Number of test images (balanced over the classes).
    pub test_size: usize,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 42,
            train_size: 5000,
            test_size: 1000,
        }
    }
}

/// Generates the data set named "synthetic-10 (seed S)".
pub fn synthetic(config: &SyntheticConfig) -> Dataset {
    Dataset {
        train: synthetic_split(config.seed, 0, config.train_size),
        test: synthetic_split(config.seed, 1, config.test_size),
        name: format!("synthetic-10 (seed {})", config.seed),
        class_names: SYNTHETIC_CLASS_NAMES.iter().map(|name| name.to_string()).collect(),
    }
}

/// `n` images from ChaCha stream `stream` of `seed`, with labels `0..10` in equal numbers, shuffled.
fn synthetic_split(seed: u64, stream: u64, n: usize) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut labels: Vec<u8> = (0..n).map(|index| (index % NUM_CLASSES) as u8).collect();
    labels.shuffle(&mut rng);
    let mut split = Split {
        images: vec![0; n * PIXELS],
        labels,
    };
    for (image, &label) in split.images.chunks_exact_mut(PIXELS).zip(&split.labels) {
        draw(image, Figure::random(label, &mut rng), &mut rng);
    }
    split
}

/// Largest per-channel pixel noise, ± this much.
const NOISE: i32 = 24;

/// Pixels per colour plane.
const PLANE: usize = IMAGE_SIZE * IMAGE_SIZE;

/// Paints `figure` over a gradient background with pixel noise into `image` (CHW).
///
/// Pixel `(x, y)` takes the figure's colour or the background's, either shaded by the gradient, plus a noise
/// byte per channel from the pixel's own random word (words drawn in pixel order, row by row). The words are
/// drawn in one go and each colour plane is written in one pass: the same bytes as drawing pixel by pixel, in
/// loops the compiler vectorises (the page generates this data set before it can train).
fn draw(image: &mut [u8], figure: Figure, rng: &mut ChaCha8Rng) {
    let background: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..256.0));
    let gradient: [f32; 2] = std::array::from_fn(|_| rng.random_range(-2.5..2.5));
    let foreground = contrasting_colour(background, rng);
    let mut noise = [0u32; PLANE];
    rng.fill(&mut noise[..]);
    let (shade, covered) = shade_and_cover(&figure, gradient);
    for (channel, plane) in image.chunks_exact_mut(PLANE).enumerate() {
        let (figure_colour, background_colour) = (foreground[channel], background[channel]);
        for (((out, &shade), &covered), &noise) in plane.iter_mut().zip(&shade).zip(&covered).zip(&noise) {
            let colour = if covered != 0 {
                figure_colour + 0.3 * shade
            } else {
                background_colour + shade
            };
            let byte = ((noise >> (8 * channel)) & 0xff) as i32;
            let jitter = ((byte * (2 * NOISE + 1)) >> 8) - NOISE;
            *out = (colour as i32 + jitter).clamp(0, 255) as u8;
        }
    }
}

/// Per pixel: the gradient's shade, and whether the figure covers the pixel's centre (all ones if it does, 0
/// if not: a mask the painting loop selects with).
fn shade_and_cover(figure: &Figure, gradient: [f32; 2]) -> ([f32; PLANE], [u32; PLANE]) {
    let mut shade = [0.0; PLANE];
    let mut covered = [0; PLANE];
    for (pixel, (shade, covered)) in shade.iter_mut().zip(&mut covered).enumerate() {
        let (x, y) = ((pixel % IMAGE_SIZE) as f32, (pixel / IMAGE_SIZE) as f32);
        *shade = gradient[0] * (x - 15.5) + gradient[1] * (y - 15.5);
        *covered = if figure.covers(x + 0.5, y + 0.5) { u32::MAX } else { 0 };
    }
    (shade, covered)
}

/// A random colour that stands out from `background` (summed channel difference at least 180).
fn contrasting_colour(background: [f32; 3], rng: &mut ChaCha8Rng) -> [f32; 3] {
    let difference = |a: [f32; 3], b: [f32; 3]| (0..3).map(|c| (a[c] - b[c]).abs()).sum::<f32>();
    for _ in 0..16 {
        let colour: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..256.0));
        if difference(colour, background) >= 180.0 {
            return colour;
        }
    }
    background.map(|channel| 255.0 - channel) // rarely needed: the opposite colour always stands out
}

/// One figure: a shape family (the class) with its random placement and pattern.
struct Figure {
    class: u8,
    /// Centre, in pixels.
    centre: (f32, f32),
    /// Half the figure's extent, in pixels.
    radius: f32,
    /// Stripe, checker or dot spacing, in pixels.
    period: f32,
    /// Offset of the pattern, in pixels.
    phase: f32,
}

impl Figure {
    fn random(class: u8, rng: &mut ChaCha8Rng) -> Figure {
        Figure {
            class,
            centre: (rng.random_range(11.0..21.0), rng.random_range(11.0..21.0)),
            radius: rng.random_range(6.0..11.0),
            period: rng.random_range(3.0..5.0),
            phase: rng.random_range(0.0..5.0),
        }
    }

    /// True when the pixel centre `(x, y)` is painted in the figure's colour.
    fn covers(&self, x: f32, y: f32) -> bool {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        let r = self.radius;
        let in_box = dx.abs() <= r && dy.abs() <= r;
        let stripe = |t: f32| (t + self.phase).rem_euclid(self.period) < self.period / 2.0;
        match self.class {
            0 => dx * dx + dy * dy <= r * r,                             // disc
            1 => dx.abs() <= 0.85 * r && dy.abs() <= 0.85 * r,           // square
            2 => in_box && stripe(dy),                                   // horizontal stripes
            3 => in_box && stripe(dx),                                   // vertical stripes
            4 => in_box && (dx.abs() <= r / 3.0 || dy.abs() <= r / 3.0), // cross
            5 => (0.3 * r * r..=r * r).contains(&(dx * dx + dy * dy)),   // ring
            6 => dy.abs() <= r && dx.abs() <= (dy + r) / 2.0,            // triangle, apex up
            7 => in_box && (stripe(dx) != stripe(dy)),                   // checkerboard
            8 => in_box && (dx - dy).abs() <= r / 3.5,                   // diagonal band
            _ => {
                // dots on a square lattice
                let spacing = self.period + 2.0;
                let to_lattice = |t: f32| {
                    let u = (t + self.phase).rem_euclid(spacing);
                    u.min(spacing - u)
                };
                in_box && to_lattice(dx).hypot(to_lattice(dy)) <= 1.2
            }
        }
    }
}
