//! Pooling kernels: the maximum over a sliding window (with the argmax its backward routes through) and
//! the mean over all pixels of a channel.
use ndarray::{ArrayView2, ArrayViewMut2};

use super::im2col::SlidingWindow;
use crate::Scalar;

/// `y[n, c, o] = max over the window at position o of x[n, c, ·]`, the padding counting as −∞.
/// `argmax[n·C·OH·OW + c·OH·OW + o]` receives the index (within the sample's `C·H·W` features) of the
/// maximum; among equal values the first in row-major window order wins.
///
/// Shapes: `input: [N, C·H·W]`, `output: [N, C·OH·OW]`, `argmax: [N·C·OH·OW]`.
pub fn max_pool<T: Scalar>(
    input: ArrayView2<'_, T>,
    window: &SlidingWindow,
    mut output: ArrayViewMut2<'_, T>,
    argmax: &mut [usize],
) {
    let positions = window.positions();
    debug_assert_eq!(
        output.dim(),
        (input.nrows(), window.channels * positions),
        "max_pool: output shape"
    );
    debug_assert_eq!(argmax.len(), output.len(), "max_pool: argmax length");
    let (window_len, outputs) = (window.kernel * window.kernel, output.ncols());
    for (x, (mut y, argmax)) in input
        .rows()
        .into_iter()
        .zip(output.rows_mut().into_iter().zip(argmax.chunks_mut(outputs)))
    {
        y.fill(T::neg_infinity());
        argmax.fill(0);
        // the windows' entries in im2col's order, a running maximum per output; only a strictly greater
        // value replaces it, so the first of equal values stays
        window.for_each_entry(|row, column, pixel| {
            let output = (row / window_len) * positions + column;
            if let Some(p) = pixel.filter(|&p| x[p] > y[output]) {
                y[output] = x[p];
                argmax[output] = p;
            }
        });
    }
}

/// The backward of [`max_pool`]: `∂L/∂x ← 0`, then each `∂L/∂y` is added to the input pixel that was the
/// maximum of its window (overlapping windows may route several gradients to one pixel).
///
/// Shapes: `grad_output: [N, C·OH·OW]`, `argmax: [N·C·OH·OW]`, `grad_input: [N, C·H·W]`.
pub fn max_pool_backward<T: Scalar>(
    grad_output: ArrayView2<'_, T>,
    argmax: &[usize],
    mut grad_input: ArrayViewMut2<'_, T>,
) {
    grad_input.fill(T::zero());
    let cells = grad_output.ncols();
    for (n, (dy, mut dx)) in grad_output.rows().into_iter().zip(grad_input.rows_mut()).enumerate() {
        for (o, &g) in dy.iter().enumerate() {
            dx[argmax[n * cells + o]] += g;
        }
    }
}

/// `y[n, c] = (1/P) Σ_p x[n, c, p]`: the mean of each channel's `P` pixels.
///
/// Shapes: `input: [N, C·P]`, `output: [N, C]`.
pub fn global_average_pool<T: Scalar>(input: ArrayView2<'_, T>, mut output: ArrayViewMut2<'_, T>) {
    let pixels = input.ncols() / output.ncols().max(1);
    let scale = T::one() / T::of(pixels as f64);
    for (x, mut y) in input.rows().into_iter().zip(output.rows_mut()) {
        for (c, y) in y.iter_mut().enumerate() {
            *y = x.slice(ndarray::s![c * pixels..(c + 1) * pixels]).sum() * scale;
        }
    }
}

/// The backward of [`global_average_pool`]: `∂L/∂x[n, c, p] = ∂L/∂y[n, c] / P` for every pixel `p`.
///
/// Shapes: `grad_output: [N, C]`, `grad_input: [N, C·P]`.
pub fn global_average_pool_backward<T: Scalar>(grad_output: ArrayView2<'_, T>, mut grad_input: ArrayViewMut2<'_, T>) {
    let pixels = grad_input.ncols() / grad_output.ncols().max(1);
    let scale = T::one() / T::of(pixels as f64);
    for (dy, mut dx) in grad_output.rows().into_iter().zip(grad_input.rows_mut()) {
        for (c, &g) in dy.iter().enumerate() {
            dx.slice_mut(ndarray::s![c * pixels..(c + 1) * pixels]).fill(g * scale);
        }
    }
}
