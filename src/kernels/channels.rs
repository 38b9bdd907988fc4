//! Per-channel passes over channel-major samples `x: [N, C·P]` (each sample `C` channels of `P` values):
//! the reductions and broadcasts of batch normalisation. A plain feature matrix is the case `P = 1`, so
//! BatchNorm over features and over the pixels of images share these loops, and images need no transposing.
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1};

use super::ensure_shape;
use crate::Scalar;

/// Calls `visit(c, x_slice, y_slice)` for the `P` values of channel `c` of every sample of `x` and, at the
/// same place, of `y` (same shape).
fn for_each_channel_pair<T: Scalar>(
    x: ArrayView2<'_, T>,
    y: ArrayView2<'_, T>,
    channels: usize,
    mut visit: impl FnMut(usize, &[T], &[T]),
) {
    let pixels = x.ncols() / channels.max(1);
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    for (x_row, y_row) in x.rows().into_iter().zip(y.rows()) {
        let (x_row, y_row) = (
            x_row.to_slice().expect("standard layout"),
            y_row.to_slice().expect("standard layout"),
        );
        for (c, (x, y)) in x_row.chunks_exact(pixels).zip(y_row.chunks_exact(pixels)).enumerate() {
            visit(c, x, y);
        }
    }
}

/// Sums in 8 interleaved partial sums: one running sum is a chain of dependent additions the compiler may
/// not reorder (floating point), 8 independent ones vectorise. The order is fixed, so results stay
/// deterministic.
fn lanes<T: Scalar>(len: usize, term: impl Fn(usize) -> T) -> T {
    const LANES: usize = 8;
    let mut partial = [T::zero(); LANES];
    let full = len / LANES * LANES;
    for start in (0..full).step_by(LANES) {
        for (lane, p) in partial.iter_mut().enumerate() {
            *p += term(start + lane);
        }
    }
    let tail = (full..len).map(&term).fold(T::zero(), |a, b| a + b);
    partial.iter().fold(T::zero(), |a, &b| a + b) + tail
}

/// `Σᵢ xᵢ`.
fn sum<T: Scalar>(x: &[T]) -> T {
    lanes(x.len(), |i| x[i])
}

/// `Σᵢ xᵢ yᵢ`.
fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    let y = &y[..x.len()];
    lanes(x.len(), |i| x[i] * y[i])
}

/// `Σᵢ (xᵢ − μ)²`.
fn squared_deviations<T: Scalar>(x: &[T], mu: T) -> T {
    lanes(x.len(), |i| (x[i] - mu) * (x[i] - mu))
}

/// `out[c] ← Σ_n Σ_p x[n, c·P + p]`, e.g. `∂L/∂β`.
pub fn sum_channels_into<T: Scalar>(x: ArrayView2<'_, T>, mut out: ArrayViewMut1<'_, T>) {
    out.fill(T::zero());
    for_each_channel_pair(x, x, out.len(), |c, x, _| out[c] += sum(x));
}

/// `out[c] ← Σ_n Σ_p x[n, c·P + p] · y[n, c·P + p]`, e.g. `∂L/∂γ = Σ ∂L/∂Y ∘ X̂` per channel.
pub fn sum_channels_of_product_into<T: Scalar>(
    x: ArrayView2<'_, T>,
    y: ArrayView2<'_, T>,
    mut out: ArrayViewMut1<'_, T>,
) {
    out.fill(T::zero());
    for_each_channel_pair(x, y, out.len(), |c, x, y| {
        out[c] += dot(x, y);
    });
}

/// `out[n, c·P + p] ← (x[n, c·P + p] − shift[c]) · scale[c] + offset[c]` (offset 0 when absent): the
/// per-channel affine maps of batch normalisation, `x̂ = (x − μ)/σ`, `y = γ ∘ x̂ + β`, `g = ∂L/∂Y ∘ γ`.
pub fn affine_channels<T: Scalar>(
    x: ArrayView2<'_, T>,
    shift: Option<ArrayView1<'_, T>>,
    scale: ArrayView1<'_, T>,
    offset: Option<ArrayView1<'_, T>>,
    out: &mut Array2<T>,
) {
    ensure_shape(out, x.nrows(), x.ncols());
    let channels = scale.len();
    let pixels = x.ncols() / channels.max(1);
    let x = x.as_standard_layout();
    for (x_row, mut out_row) in x.rows().into_iter().zip(out.rows_mut()) {
        let x_row = x_row.to_slice().expect("standard layout");
        let out_row = out_row.as_slice_mut().expect("standard layout");
        for (c, (x, out)) in x_row
            .chunks_exact(pixels)
            .zip(out_row.chunks_exact_mut(pixels))
            .enumerate()
        {
            let shift = shift.map_or(T::zero(), |s| s[c]);
            let (scale, offset) = (scale[c], offset.map_or(T::zero(), |o| o[c]));
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (v - shift) * scale + offset;
            }
        }
    }
}

/// Standardises each channel over the batch and its pixels: `x̂ = (x − μ_c) / √(σ²_c + ε)` with the
/// biased variance `σ²_c = mean((x − μ_c)²)`, means over `N·P` values. Writes `x̂`, `μ`, `σ²` and
/// `1/√(σ² + ε)` per channel.
pub fn standardize_channels<T: Scalar>(
    x: ArrayView2<'_, T>,
    channels: usize,
    eps: T,
    x_hat: &mut Array2<T>,
    mean: &mut Array1<T>,
    var: &mut Array1<T>,
    inv_std: &mut Array1<T>,
) {
    for buffer in [&mut *mean, &mut *var, &mut *inv_std] {
        if buffer.len() != channels {
            *buffer = Array1::zeros(channels);
        }
    }
    let count = T::of((x.nrows() * (x.ncols() / channels.max(1))) as f64);
    sum_channels_into(x, mean.view_mut());
    mean.mapv_inplace(|s| s / count);
    var.fill(T::zero());
    for_each_channel_pair(x, x, channels, |c, x, _| {
        let mu = mean[c];
        var[c] += squared_deviations(x, mu);
    });
    var.mapv_inplace(|s| s / count);
    inv_std.zip_mut_with(var, |inv, &v| *inv = T::one() / (v + eps).sqrt());
    affine_channels(x, Some(mean.view()), inv_std.view(), None, x_hat);
}

/// The backward of [`standardize_channels`]: with `g = ∂L/∂X̂` (already multiplied by γ), per channel
/// `∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂))`, means over the `N·P` values of the channel.
pub fn standardize_channels_backward<T: Scalar>(
    grad_x_hat: ArrayView2<'_, T>,
    x_hat: ArrayView2<'_, T>,
    inv_std: ArrayView1<'_, T>,
    grad_input: &mut Array2<T>,
) {
    let channels = inv_std.len();
    let count = T::of((x_hat.nrows() * (x_hat.ncols() / channels.max(1))) as f64);
    let (mut mean_g, mut mean_gh) = (Array1::zeros(channels), Array1::zeros(channels));
    sum_channels_into(grad_x_hat, mean_g.view_mut());
    sum_channels_of_product_into(grad_x_hat, x_hat, mean_gh.view_mut());
    mean_g.mapv_inplace(|s| s / count);
    mean_gh.mapv_inplace(|s| s / count);
    ensure_shape(grad_input, x_hat.nrows(), x_hat.ncols());
    let pixels = x_hat.ncols() / channels.max(1);
    let (g, h) = (grad_x_hat.as_standard_layout(), x_hat.as_standard_layout());
    for ((g_row, h_row), mut dx_row) in g.rows().into_iter().zip(h.rows()).zip(grad_input.rows_mut()) {
        let (g_row, h_row) = (
            g_row.to_slice().expect("standard layout"),
            h_row.to_slice().expect("standard layout"),
        );
        let dx_row = dx_row.as_slice_mut().expect("standard layout");
        let chunks = g_row.chunks_exact(pixels).zip(h_row.chunks_exact(pixels));
        for (c, ((g, h), dx)) in chunks.zip(dx_row.chunks_exact_mut(pixels)).enumerate() {
            let (inv, mg, mgh) = (inv_std[c], mean_g[c], mean_gh[c]);
            for ((dx, &g), &h) in dx.iter_mut().zip(g).zip(h) {
                *dx = inv * (g - mg - h * mgh);
            }
        }
    }
}
