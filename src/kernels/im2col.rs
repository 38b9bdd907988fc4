//! im2col / col2im: lowering a convolution to one matrix product.
//!
//! A `k×k` window slid over a `C×H×W` image visits `OH·OW` positions. `im2col` copies the window at each
//! position into one column of a `[C·k·k, OH·OW]` matrix, so a convolution with weights `W: [C_out, C·k·k]`
//! is the GEMM `W · cols(X)`. `col2im` is its adjoint: it adds every column back onto the pixels it was read
//! from, which is how `∂L/∂X` is gathered from `∂L/∂cols` (a pixel seen by several windows collects
//! several contributions).
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

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
    /// Within a window the offsets `(ki, kj)` come in row-major order.
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

/// `cols[(c, ki, kj), (oi, oj)] ← x[c, oi·s + ki − p, oj·s + kj − p]` (0 on the padding).
///
/// Shapes: `image: [C·H·W]` (one sample, C-major), `cols: [C·k·k, OH·OW]`.
pub fn im2col<T: Scalar>(image: ArrayView1<'_, T>, window: &SlidingWindow, mut cols: ArrayViewMut2<'_, T>) {
    debug_assert_eq!(image.len(), window.input_features(), "im2col: image size");
    debug_assert_eq!(
        cols.dim(),
        (window.patch_len(), window.positions()),
        "im2col: cols shape"
    );
    window.for_each_entry(|row, column, pixel| cols[[row, column]] = pixel.map_or(T::zero(), |p| image[p]));
}

/// The adjoint of [`im2col`]: `image ← 0`, then every entry of `cols` is added to the pixel it was read
/// from (entries on the padding are dropped).
///
/// Shapes: `cols: [C·k·k, OH·OW]`, `image: [C·H·W]`.
pub fn col2im<T: Scalar>(cols: ArrayView2<'_, T>, window: &SlidingWindow, mut image: ArrayViewMut1<'_, T>) {
    debug_assert_eq!(image.len(), window.input_features(), "col2im: image size");
    debug_assert_eq!(
        cols.dim(),
        (window.patch_len(), window.positions()),
        "col2im: cols shape"
    );
    image.fill(T::zero());
    window.for_each_entry(|row, column, pixel| {
        if let Some(p) = pixel {
            image[p] += cols[[row, column]];
        }
    });
}
