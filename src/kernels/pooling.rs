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
    let (channels, height, width) = (window.channels, window.height, window.width);
    let (output_height, output_width, outputs) = (window.output_height(), window.output_width(), output.ncols());
    // the image rows (or columns) `lo..hi` that the window starting at padded coordinate `start` covers
    let inside = |start: usize, size: usize| {
        let lo = start.saturating_sub(window.padding).min(size);
        let hi = (start + window.kernel).saturating_sub(window.padding).min(size);
        (lo, hi.max(lo))
    };
    let input = input.as_standard_layout();
    for (x, (mut y, argmax)) in input
        .rows()
        .into_iter()
        .zip(output.rows_mut().into_iter().zip(argmax.chunks_mut(outputs)))
    {
        let (x, y) = (
            x.to_slice().expect("a standard-layout row"),
            y.as_slice_mut().expect("output rows are contiguous"),
        );
        if window.kernel == 2 && window.padding == 0 {
            max_pool_2x2(x, window, y, argmax);
            continue;
        }
        let mut o = 0;
        for c in 0..channels {
            for oi in 0..output_height {
                let rows = inside(oi * window.stride, height);
                for oj in 0..output_width {
                    let columns = inside(oj * window.stride, width);
                    // a running maximum over the window in row-major order; only a strictly greater value
                    // replaces it, so the first of equal values stays (branch-free: the data decide)
                    let (mut best, mut best_at) = (T::neg_infinity(), 0);
                    for i in rows.0..rows.1 {
                        let row_start = (c * height + i) * width;
                        for (p, &v) in x[row_start..row_start + columns.1].iter().enumerate().skip(columns.0) {
                            let greater = v > best;
                            best = if greater { v } else { best };
                            best_at = if greater { row_start + p } else { best_at };
                        }
                    }
                    y[o] = best;
                    argmax[o] = best_at;
                    o += 1;
                }
            }
        }
    }
}

/// [`max_pool`] of one sample for 2×2 windows without padding (the common halving pool): every window lies
/// inside the image, so its four values are read directly, in the same row-major order and with the same
/// first-of-equals rule as the general walk (for values that are not NaN).
fn max_pool_2x2<T: Scalar>(x: &[T], window: &SlidingWindow, y: &mut [T], argmax: &mut [usize]) {
    let (height, width, stride) = (window.height, window.width, window.stride);
    let (output_height, output_width) = (window.output_height(), window.output_width());
    let outputs = y
        .chunks_exact_mut(output_width)
        .zip(argmax.chunks_exact_mut(output_width));
    for (row, (y, argmax)) in outputs.enumerate() {
        let (c, oi) = (row / output_height, row % output_height);
        let top = (c * height + oi * stride) * width;
        let (upper, lower) = (&x[top..top + width], &x[top + width..top + 2 * width]);
        // the window at output column oj covers columns oj·s and oj·s + 1 of both rows
        let windows = upper.windows(2).step_by(stride).zip(lower.windows(2).step_by(stride));
        let mut at = top;
        for ((upper, lower), (y, argmax)) in windows.zip(y.iter_mut().zip(argmax.iter_mut())) {
            let (mut best, mut best_at) = (upper[0], at);
            for (v, v_at) in [(upper[1], at + 1), (lower[0], at + width), (lower[1], at + width + 1)] {
                let greater = v > best;
                best = if greater { v } else { best };
                best_at = if greater { v_at } else { best_at };
            }
            *y = best;
            *argmax = best_at;
            at += stride;
        }
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::kernels::im2col::tests::geometries;

    #[test]
    fn max_pool_matches_the_entry_by_entry_definition_ties_to_the_first() {
        for window in geometries() {
            // values repeat (period 7), so windows hold ties
            let x = Array2::from_shape_fn((2, window.input_features()), |(n, i)| ((n * 5 + i * 3) % 7) as f64);
            let outputs = window.channels * window.positions();
            let mut y = Array2::zeros((2, outputs));
            let mut argmax = vec![0; 2 * outputs];
            max_pool(x.view(), &window, y.view_mut(), &mut argmax);
            for n in 0..2 {
                let mut expected = vec![(f64::NEG_INFINITY, 0); outputs];
                window.for_each_entry(|row, column, pixel| {
                    let o = row / (window.kernel * window.kernel) * window.positions() + column;
                    if let Some(p) = pixel.filter(|&p| x[[n, p]] > expected[o].0) {
                        expected[o] = (x[[n, p]], p);
                    }
                });
                for (o, &(value, index)) in expected.iter().enumerate() {
                    assert_eq!((y[[n, o]], argmax[n * outputs + o]), (value, index), "{window:?}");
                }
            }
        }
    }
}
