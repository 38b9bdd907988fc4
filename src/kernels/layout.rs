//! Layout changes between channel-major images (NCHW, the lab's activations) and pixel rows (NHWC), so
//! that per-channel statistics over `N·H·W` become the per-column statistics of a `[N·H·W, C]` matrix.
use ndarray::{Array2, ArrayView2};

use super::ensure_shape;
use crate::Scalar;

/// `rows[n·P + p, c] ← x[n, c·P + p]`: each pixel of each sample becomes a row of its `C` channel values.
///
/// Shapes: `x: [N, C·P]`, `rows: [N·P, C]`.
pub fn channels_last<T: Scalar>(x: ArrayView2<'_, T>, channels: usize, rows: &mut Array2<T>) {
    let pixels = x.ncols() / channels;
    ensure_shape(rows, x.nrows() * pixels, channels);
    for (n, sample) in x.rows().into_iter().enumerate() {
        let image = sample
            .into_shape_with_order((channels, pixels))
            .expect("a sample is C·P features");
        rows.slice_mut(ndarray::s![n * pixels..(n + 1) * pixels, ..])
            .assign(&image.t());
    }
}

/// The inverse of [`channels_last`]: `x[n, c·P + p] ← rows[n·P + p, c]`.
///
/// Shapes: `rows: [N·P, C]`, `x: [N, C·P]` with `N = batch`.
pub fn channels_first<T: Scalar>(rows: ArrayView2<'_, T>, batch: usize, x: &mut Array2<T>) {
    let (channels, pixels) = (rows.ncols(), rows.nrows() / batch.max(1));
    ensure_shape(x, batch, channels * pixels);
    for (n, mut sample) in x.rows_mut().into_iter().enumerate() {
        let mut image = sample
            .view_mut()
            .into_shape_with_order((channels, pixels))
            .expect("a sample is C·P features");
        image.assign(&rows.slice(ndarray::s![n * pixels..(n + 1) * pixels, ..]).t());
    }
}
