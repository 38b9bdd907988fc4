//! The kernel module: every hot loop of the lab (matrix products, reductions over the batch) goes through
//! this small interface, so a SIMD or WebGPU backend replaces it in one place while layers stay readable.
//!
//! GEMM: f32 in the wasm build goes through [`sgemm`], a SIMD128 kernel for the layouts of the lab's
//! products; everything else (f64 for gradient checks, native builds, other layouts) through ndarray's
//! `general_mat_mul` (backed by `matrixmultiply`), the reference the SIMD path is tested against. Both take
//! transposed operands as strided views without copying.
use ndarray::{linalg::general_mat_mul, Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

use crate::Scalar;

/// Whether a GEMM operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    No,
    Yes,
}

fn oriented<T>(a: ArrayView2<'_, T>, t: Transpose) -> ArrayView2<'_, T> {
    match t {
        Transpose::No => a,
        Transpose::Yes => a.reversed_axes(),
    }
}

/// `C ← α · op(A) · op(B) + β · C`, with `op` the identity or the transpose.
///
/// Shapes: `op(A): [m, k]`, `op(B): [k, n]`, `C: [m, n]`. With `β = 0` the old contents of `C` are ignored.
pub fn gemm<T: Scalar>(
    alpha: T,
    a: ArrayView2<'_, T>,
    transpose_a: Transpose,
    b: ArrayView2<'_, T>,
    transpose_b: Transpose,
    beta: T,
    c: ArrayViewMut2<'_, T>,
) {
    let a = oriented(a, transpose_a);
    let b = oriented(b, transpose_b);
    debug_assert_eq!(a.ncols(), b.nrows(), "gemm: inner dimensions differ");
    debug_assert_eq!((a.nrows(), b.ncols()), c.dim(), "gemm: output shape differs");
    let mut c = c;
    if !T::gemm_specialised(alpha, a, b, beta, c.view_mut()) {
        general_mat_mul(alpha, &a, &b, beta, &mut c);
    }
}

/// `out[j] ← Σ_i x[i, j]`: the sum over the batch axis (rows), e.g. `∂L/∂b = 1ᵀ ∂L/∂Y`.
pub fn sum_rows_into<T: Scalar>(x: ArrayView2<'_, T>, mut out: ArrayViewMut1<'_, T>) {
    out.fill(T::zero());
    for row in x.rows() {
        out.zip_mut_with(&row, |o, &v| *o += v);
    }
}

/// Adds `bias[j]` to every row of `x`.
pub fn add_row_vector<T: Scalar>(mut x: ArrayViewMut2<'_, T>, bias: ndarray::ArrayView1<'_, T>) {
    for mut row in x.rows_mut() {
        row.zip_mut_with(&bias, |v, &b| *v += b);
    }
}

/// Resizes `buffer` to `[rows, cols]` only when its shape differs, so per-layer buffers are reused
/// across steps and training memory does not grow.
pub fn ensure_shape<T: Scalar>(buffer: &mut Array2<T>, rows: usize, cols: usize) {
    if buffer.dim() != (rows, cols) {
        *buffer = Array2::zeros((rows, cols));
    }
}

/// Index of the largest value in each row (the predicted class).
pub fn argmax_rows<T: Scalar>(x: ArrayView2<'_, T>, out: &mut Vec<usize>) {
    out.clear();
    out.extend(x.axis_iter(Axis(0)).map(|row| argmax(row.iter().copied())));
}

/// Index of the largest value (the first one on a tie; 0 when empty).
pub fn argmax<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> usize {
    let mut values = values.into_iter().enumerate();
    let Some((_, mut best_value)) = values.next() else {
        return 0;
    };
    let mut best = 0;
    for (j, v) in values {
        if v > best_value {
            (best, best_value) = (j, v);
        }
    }
    best
}

/// Standardises each row of `x` (LayerNorm's statistics, over the features of one sample):
/// `x̂ = (x − μ) / √(σ² + ε)` with the biased variance `σ² = mean((x − μ)²)`. Writes `x̂`, and per row
/// `μ`, `σ²` and `1/√(σ² + ε)`. The per-feature (BatchNorm) statistics are [`channel_statistics`].
pub fn standardize_rows<T: Scalar>(
    x: ArrayView2<'_, T>,
    eps: T,
    x_hat: &mut Array2<T>,
    mean: &mut ndarray::Array1<T>,
    var: &mut ndarray::Array1<T>,
    inv_std: &mut ndarray::Array1<T>,
) {
    ensure_shape(x_hat, x.nrows(), x.ncols());
    let count = T::of(x.ncols() as f64);
    for buffer in [&mut *mean, &mut *var, &mut *inv_std] {
        if buffer.len() != x.nrows() {
            *buffer = ndarray::Array1::zeros(x.nrows());
        }
    }
    for (g, (lane, mut hat_lane)) in x.rows().into_iter().zip(x_hat.rows_mut()).enumerate() {
        let mu = lane.iter().copied().sum::<T>() / count;
        let sigma2 = lane.iter().map(|&v| (v - mu) * (v - mu)).sum::<T>() / count;
        let inv = T::one() / (sigma2 + eps).sqrt();
        hat_lane.zip_mut_with(&lane, |h, &v| *h = (v - mu) * inv);
        mean[g] = mu;
        var[g] = sigma2;
        inv_std[g] = inv;
    }
}

/// The backward of [`standardize_rows`]: with `g = ∂L/∂X̂` (already multiplied by γ), per row
/// `∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂))`, means over the row.
pub fn standardize_rows_backward<T: Scalar>(
    grad_x_hat: ArrayView2<'_, T>,
    x_hat: ArrayView2<'_, T>,
    inv_std: ndarray::ArrayView1<'_, T>,
    grad_input: &mut Array2<T>,
) {
    ensure_shape(grad_input, x_hat.nrows(), x_hat.ncols());
    let count = T::of(x_hat.ncols() as f64);
    let lanes = grad_x_hat
        .rows()
        .into_iter()
        .zip(x_hat.rows())
        .zip(grad_input.rows_mut());
    for (g_index, ((g, h), mut dx)) in lanes.enumerate() {
        let mean_g = g.iter().copied().sum::<T>() / count;
        let mean_gh = g.iter().zip(h.iter()).map(|(&a, &b)| a * b).sum::<T>() / count;
        let inv = inv_std[g_index];
        ndarray::Zip::from(&mut dx)
            .and(&g)
            .and(&h)
            .for_each(|dx, &g, &h| *dx = inv * (g - mean_g - h * mean_gh));
    }
}

/// `out[i] += Σ_j x[i, j]`: accumulates the row sums, e.g. `∂L/∂b += ∂L/∂Yₙ 1` over the samples of a batch.
pub fn add_row_sums<T: Scalar>(x: ArrayView2<'_, T>, mut out: ArrayViewMut1<'_, T>) {
    for (o, row) in out.iter_mut().zip(x.rows()) {
        *o += row.sum();
    }
}

/// `y ← y + x` element-wise, e.g. a skip connection adding a block's input to its output.
pub fn add_assign<T: Scalar>(mut y: ArrayViewMut2<'_, T>, x: ArrayView2<'_, T>) {
    y.zip_mut_with(&x, |y, &x| *y += x);
}

/// `Σ v²` in f64 (a tensor's squared Euclidean norm, e.g. the norm curves'): eight interleaved partial sums,
/// which vectorise where one running sum waits on every add; their order is fixed, so it is deterministic.
pub fn sum_of_squares(values: &[f32]) -> f64 {
    let mut partial = [0.0_f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (sum, &value) in partial.iter_mut().zip(chunk) {
            *sum += f64::from(value) * f64::from(value);
        }
    }
    let tail: f64 = rest.iter().map(|&value| f64::from(value) * f64::from(value)).sum();
    partial.iter().sum::<f64>() + tail
}

mod channels;
mod im2col;
mod layout;
mod pooling;
// the f32 product of the wasm build; natively only its tests use it (matrixmultiply's AVX2/FMA is faster)
#[cfg_attr(not(all(target_arch = "wasm32", target_feature = "simd128")), allow(dead_code))]
pub mod sgemm;

pub use channels::{
    affine_channels, channel_statistics, combine_channels, normalize_channels, sum_channels_and_products_into,
    sum_channels_into, sum_channels_of_product_into,
};
pub use im2col::{col2im, im2col, SlidingWindow};
pub use layout::{channel_major_to_samples, samples_to_channel_major};
pub use pooling::{global_average_pool, global_average_pool_backward, max_pool, max_pool_backward};

#[cfg(test)]
mod tests {
    use super::sum_of_squares;

    /// The interleaved partial sums give the one-running-sum result up to f64 rounding, for every tail length.
    #[test]
    fn sum_of_squares_matches_a_running_sum_within_f64_rounding() {
        for len in (0..40).chain([1000, 100_003]) {
            let values: Vec<f32> = (0..len).map(|i| ((i * 7919 % 201) as f32 - 100.0) * 0.013).collect();
            let running: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            let fast = sum_of_squares(&values);
            assert!(
                (fast - running).abs() <= 1e-12 * running.max(1.0),
                "len {len}: {fast} vs {running}"
            );
        }
        assert_eq!(sum_of_squares(&[3.0, 4.0]), 25.0);
    }
}
