//! im2col / col2im: lowering a convolution to one matrix product.
//!
//! A `k×k` window slid over a `C×H×W` image visits `OH·OW` positions. `im2col` copies the window at each
//! position into one column of a `[C·k·k, OH·OW]` matrix, so a convolution with weights `W: [C_out, C·k·k]`
//! is the GEMM `W · cols(X)`. `col2im` is its adjoint: it adds every column back onto the pixels it was read
//! from, which is how `∂L/∂X` is gathered from `∂L/∂cols` (a pixel seen by several windows collects
//! several contributions).
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::error::ConfigError;
use crate::Scalar;

/// A square `kernel×kernel` window slid with `stride` over a `channels×height×width` image padded by
/// `padding` on every side: the geometry shared by convolution and pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlidingWindow {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl SlidingWindow {
    /// Validates the geometry: every size positive and the window no larger than the padded image.
    pub fn new(
        channels: usize,
        (height, width): (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self, ConfigError> {
        let positive = |field: &str, value: usize| {
            if value == 0 {
                Err(ConfigError::new(field, "at least 1", value))
            } else {
                Ok(())
            }
        };
        positive("channels", channels)?;
        positive("input height", height)?;
        positive("input width", width)?;
        positive("kernel size", kernel)?;
        positive("stride", stride)?;
        let (padded_height, padded_width) = (height + 2 * padding, width + 2 * padding);
        if kernel > padded_height.min(padded_width) {
            return Err(ConfigError::new(
                "kernel size",
                format!("at most the padded input size {padded_height}×{padded_width}"),
                kernel,
            ));
        }
        Ok(Self {
            channels,
            height,
            width,
            kernel,
            stride,
            padding,
        })
    }

    /// `OH = ⌊(H + 2p − k)/s⌋ + 1`.
    pub fn output_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// `OW = ⌊(W + 2p − k)/s⌋ + 1`.
    pub fn output_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// `OH·OW`: the number of window positions (columns of `cols(X)`).
    pub fn positions(&self) -> usize {
        self.output_height() * self.output_width()
    }

    /// `C·k·k`: the length of one window (rows of `cols(X)`).
    pub fn patch_len(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// `C·H·W`: the features of one input image.
    pub fn input_features(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Calls `visit(row, column, pixel)` for every entry of `cols(X)`: row `(c, ki, kj)` (flattened
    /// `(c·k + ki)·k + kj`), column `(oi, oj)` (flattened `oi·OW + oj`), and `pixel` the index into the
    /// `C×H×W` image of `x[c, oi·s + ki − p, oj·s + kj − p]`, or `None` where that lies on the padding.
    /// Within a window the offsets `(ki, kj)` come in row-major order. The definition the run-by-run
    /// walk of the kernels is tested against.
    #[cfg(test)]
    pub(super) fn for_each_entry(&self, mut visit: impl FnMut(usize, usize, Option<usize>)) {
        let (output_height, output_width) = (self.output_height(), self.output_width());
        // a padded coordinate minus the padding, None outside the image
        let unpadded = |padded: usize, size: usize| padded.checked_sub(self.padding).filter(|&v| v < size);
        for c in 0..self.channels {
            for ki in 0..self.kernel {
                for kj in 0..self.kernel {
                    let row = (c * self.kernel + ki) * self.kernel + kj;
                    for oi in 0..output_height {
                        let i = unpadded(oi * self.stride + ki, self.height);
                        for oj in 0..output_width {
                            let j = unpadded(oj * self.stride + kj, self.width);
                            let pixel = i.zip(j).map(|(i, j)| (c * self.height + i) * self.width + j);
                            visit(row, oi * output_width + oj, pixel);
                        }
                    }
                }
            }
        }
    }
}

/// One stretch of a row of `cols(X)`: the entries of one output row `oi` of one window offset.
enum Run {
    /// `len` entries that lie on the padding (zeros in `cols`).
    Padding { len: usize },
    /// `len` entries read from the image at `pixel`, `pixel + stride`, …
    Pixels { pixel: usize, len: usize },
}

impl SlidingWindow {
    /// The output columns `oj` whose input column `oj·s + kj − p` lies inside the image: `lo..hi`.
    fn inside_columns(&self, kj: usize) -> (usize, usize) {
        let output_width = self.output_width();
        // oj·s + kj ≥ p  ⇔  oj ≥ ⌈(p − kj)/s⌉
        let lo = self.padding.saturating_sub(kj).div_ceil(self.stride).min(output_width);
        // oj·s + kj − p ≤ W − 1  ⇔  oj ≤ ⌊(W − 1 + p − kj)/s⌋
        let hi = match (self.width - 1 + self.padding).checked_sub(kj) {
            Some(last) => (last / self.stride + 1).min(output_width),
            None => 0,
        };
        (lo, hi.max(lo))
    }

    /// Stride 1 and `k = 2p + 1`: the output has the input's size (a "same" convolution).
    fn keeps_size(&self) -> bool {
        self.stride == 1 && self.kernel == 2 * self.padding + 1
    }

    /// Row `(c, ki, kj)` of `cols(X)` for a window that [keeps the size](Self::keeps_size): then
    /// `out[i·W + j] = x[c, i + ki − p, j + kj − p]` is channel `c` of the image shifted by
    /// `(ki − p)·W + (kj − p)` flat positions, so the row is one contiguous copy. What the shift wraps
    /// (rows off the top or bottom, and the `|kj − p|` columns that slide into the neighbouring image row)
    /// is then set to zero.
    fn shifted_copy<T: Scalar>(&self, row: usize, image: &[T], out: &mut [T]) {
        let (k, height, width) = (self.kernel, self.height, self.width);
        let (c, ki, kj) = (row / (k * k), row / k % k, row % k);
        let channel = &image[c * height * width..(c + 1) * height * width];
        let (di, dj) = (ki as isize - self.padding as isize, kj as isize - self.padding as isize);
        let shift = di * width as isize + dj;
        // the flat outputs whose source lies inside the channel: o + shift ∈ [0, H·W)
        let size = (height * width) as isize;
        let first = (-shift).clamp(0, size) as usize;
        let last = (size - shift).clamp(0, size) as usize;
        out[..first].fill(T::zero());
        if first < last {
            let from = (first as isize + shift) as usize;
            out[first..last].copy_from_slice(&channel[from..from + (last - first)]);
        }
        out[last.max(first)..].fill(T::zero());
        // the columns whose source slid over the left or right edge of its image row
        let wrapped = match dj.signum() {
            1 => width.saturating_sub(dj as usize)..width,
            -1 => 0..((-dj) as usize).min(width),
            _ => 0..0,
        };
        // a column at a time, down the rows: a strided loop of stores (a `fill` per row of a slice this short
        // compiles to a `memory.fill` call per row in wasm, which cost more than the copy)
        for column in wrapped {
            for v in out[column..].iter_mut().step_by(width) {
                *v = T::zero();
            }
        }
    }

    /// Walks row `(c, ki, kj)` of `cols(X)` (the `OH·OW` entries of one window offset) as runs in column
    /// order: for each output row, the padding on the left, the pixels read from one image row (stride
    /// `s` apart), the padding on the right. The same walk as the entry-by-entry definition
    /// (`for_each_entry`, which the tests compare it with), a run at a time.
    fn for_each_run(&self, row: usize, mut visit: impl FnMut(Run)) {
        let (k, output_width) = (self.kernel, self.output_width());
        let (c, ki, kj) = (row / (k * k), row / k % k, row % k);
        let (lo, hi) = self.inside_columns(kj);
        for oi in 0..self.output_height() {
            match (oi * self.stride + ki)
                .checked_sub(self.padding)
                .filter(|&i| i < self.height)
            {
                Some(i) if hi > lo => {
                    visit(Run::Padding { len: lo });
                    let pixel = (c * self.height + i) * self.width + lo * self.stride + kj - self.padding;
                    visit(Run::Pixels { pixel, len: hi - lo });
                    visit(Run::Padding { len: output_width - hi });
                }
                // the row, or every column of it, lies on the padding
                _ => visit(Run::Padding { len: output_width }),
            }
        }
    }
}

/// `cols[(c, ki, kj), g·OH·OW + (oi, oj)] ← x_g[c, oi·s + ki − p, oj·s + kj − p]` (0 on the padding):
/// the windows of a group of `G` samples side by side, so that one GEMM convolves them all.
///
/// Shapes: `images: [G, C·H·W]` (C-major samples), `cols: [C·k·k, G·OH·OW]`.
pub fn im2col<T: Scalar>(images: ArrayView2<'_, T>, window: &SlidingWindow, mut cols: ArrayViewMut2<'_, T>) {
    let positions = window.positions();
    debug_assert_eq!(images.ncols(), window.input_features(), "im2col: image size");
    debug_assert_eq!(
        cols.dim(),
        (window.patch_len(), images.nrows() * positions),
        "im2col: cols shape"
    );
    let images = images.as_standard_layout();
    let stride = window.stride;
    for (row, mut cols_row) in cols.rows_mut().into_iter().enumerate() {
        let cols_row = cols_row.as_slice_mut().expect("cols rows are contiguous");
        for (image, out) in images.rows().into_iter().zip(cols_row.chunks_exact_mut(positions)) {
            let image = image.to_slice().expect("a standard-layout row");
            if window.keeps_size() {
                window.shifted_copy(row, image, out);
                continue;
            }
            let mut at = 0;
            window.for_each_run(row, |run| match run {
                Run::Padding { len } => {
                    out[at..at + len].fill(T::zero());
                    at += len;
                }
                Run::Pixels { pixel, len } => {
                    let out = &mut out[at..at + len];
                    if stride == 1 {
                        out.copy_from_slice(&image[pixel..pixel + len]);
                    } else {
                        for (o, &v) in out.iter_mut().zip(image[pixel..].iter().step_by(stride)) {
                            *o = v;
                        }
                    }
                    at += len;
                }
            });
        }
    }
}

/// The adjoint of [`im2col`]: `images ← 0`, then every entry of `cols` is added to the pixel it was read
/// from (entries on the padding are dropped).
///
/// Shapes: `cols: [C·k·k, G·OH·OW]`, `images: [G, C·H·W]`.
pub fn col2im<T: Scalar>(cols: ArrayView2<'_, T>, window: &SlidingWindow, mut images: ArrayViewMut2<'_, T>) {
    let positions = window.positions();
    debug_assert_eq!(images.ncols(), window.input_features(), "col2im: image size");
    debug_assert_eq!(
        cols.dim(),
        (window.patch_len(), images.nrows() * positions),
        "col2im: cols shape"
    );
    images.fill(T::zero());
    let stride = window.stride;
    for (row, cols_row) in cols.rows().into_iter().enumerate() {
        let cols_row = cols_row.to_slice().expect("cols rows are contiguous");
        for (mut image, column) in images.rows_mut().into_iter().zip(cols_row.chunks_exact(positions)) {
            let image = image.as_slice_mut().expect("image rows are contiguous");
            let mut at = 0;
            window.for_each_run(row, |run| match run {
                Run::Padding { len } => at += len,
                Run::Pixels { pixel, len } => {
                    let column = &column[at..at + len];
                    if stride == 1 {
                        for (p, &g) in image[pixel..pixel + len].iter_mut().zip(column) {
                            *p += g;
                        }
                    } else {
                        for (p, &g) in image[pixel..].iter_mut().step_by(stride).zip(column) {
                            *p += g;
                        }
                    }
                    at += len;
                }
            });
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use ndarray::Array2;

    use super::*;

    /// Every geometry with small sizes, kernels 1–5, strides 1–3, paddings 0–3 (wider than the kernel
    /// included).
    pub(in crate::kernels) fn geometries() -> impl Iterator<Item = SlidingWindow> {
        let sizes = [(1, 1), (1, 4), (5, 3), (6, 7)];
        sizes.into_iter().flat_map(|size| {
            (1..=5).flat_map(move |kernel| {
                (1..=3).flat_map(move |stride| {
                    (0..=3).filter_map(move |padding| SlidingWindow::new(2, size, kernel, stride, padding).ok())
                })
            })
        })
    }

    fn images(window: &SlidingWindow, count: usize) -> Array2<f64> {
        Array2::from_shape_fn((count, window.input_features()), |(n, i)| {
            (n * 1000 + i) as f64 * 0.5 + 1.0
        })
    }

    #[test]
    fn im2col_matches_the_entry_by_entry_definition_for_a_group_of_images() {
        for window in geometries() {
            let x = images(&window, 3);
            let positions = window.positions();
            let mut cols = Array2::from_elem((window.patch_len(), 3 * positions), f64::NAN);
            im2col(x.view(), &window, cols.view_mut());
            for g in 0..3 {
                window.for_each_entry(|row, column, pixel| {
                    let expected = pixel.map_or(0.0, |p| x[[g, p]]);
                    assert_eq!(cols[[row, g * positions + column]], expected, "{window:?}, image {g}");
                });
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c: exact here, all values are small multiples of ½
        for window in geometries() {
            let x = images(&window, 2);
            let c = Array2::from_shape_fn((window.patch_len(), 2 * window.positions()), |(r, j)| {
                ((r * 7 + j * 3) % 11) as f64 - 5.0
            });
            let mut cols = Array2::zeros(c.dim());
            im2col(x.view(), &window, cols.view_mut());
            let mut back = Array2::from_elem(x.dim(), f64::NAN);
            col2im(c.view(), &window, back.view_mut());
            assert_eq!((&cols * &c).sum(), (&x * &back).sum(), "{window:?}");
        }
    }
}
