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
/// deterministic. `term(i)` gives the `i`-th term of each of `N` sums, taken together in one pass.
fn lanes<T: Scalar, const N: usize>(len: usize, term: impl Fn(usize) -> [T; N]) -> [T; N] {
    const LANES: usize = 8;
    let mut partial = [[T::zero(); N]; LANES];
    let full = len / LANES * LANES;
    for start in (0..full).step_by(LANES) {
        for (lane, p) in partial.iter_mut().enumerate() {
            for (p, t) in p.iter_mut().zip(term(start + lane)) {
                *p += t;
            }
        }
    }
    std::array::from_fn(|s| {
        let tail = (full..len).map(|i| term(i)[s]).fold(T::zero(), |a, b| a + b);
        partial.iter().fold(T::zero(), |a, p| a + p[s]) + tail
    })
}

/// `Σᵢ xᵢ`.
fn sum<T: Scalar>(x: &[T]) -> T {
    lanes(x.len(), |i| [x[i]])[0]
}

/// `Σᵢ xᵢ yᵢ`.
fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    let y = &y[..x.len()];
    lanes(x.len(), |i| [x[i] * y[i]])[0]
}

/// `Σᵢ (xᵢ − μ)²`.
fn squared_deviations<T: Scalar>(x: &[T], mu: T) -> T {
    lanes(x.len(), |i| [(x[i] - mu) * (x[i] - mu)])[0]
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

/// The per-channel statistics of batch normalisation over the batch and the pixels: `μ_c`, the biased
/// variance `σ²_c = mean((x − μ_c)²)` (two passes: the mean first, then the squared deviations from it, which
/// stays accurate where `E[x²] − μ²` cancels) and `1/√(σ²_c + ε)`, means over `N·P` values.
pub fn channel_statistics<T: Scalar>(
    x: ArrayView2<'_, T>,
    channels: usize,
    eps: T,
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
}

/// Normalises and scales in one pass: `x̂ = (x − μ_c) · inv_std_c` and `y = γ_c · x̂ + β_c`, both written.
pub fn normalize_channels<T: Scalar>(
    x: ArrayView2<'_, T>,
    mean: ArrayView1<'_, T>,
    inv_std: ArrayView1<'_, T>,
    gamma: ArrayView1<'_, T>,
    beta: ArrayView1<'_, T>,
    x_hat: &mut Array2<T>,
    y: &mut Array2<T>,
) {
    ensure_shape(x_hat, x.nrows(), x.ncols());
    ensure_shape(y, x.nrows(), x.ncols());
    let pixels = x.ncols() / gamma.len().max(1);
    let x = x.as_standard_layout();
    for ((x_row, mut hat_row), mut y_row) in x.rows().into_iter().zip(x_hat.rows_mut()).zip(y.rows_mut()) {
        let x_row = x_row.to_slice().expect("standard layout");
        let hat_row = hat_row.as_slice_mut().expect("standard layout");
        let y_row = y_row.as_slice_mut().expect("standard layout");
        let chunks = x_row.chunks_exact(pixels).zip(hat_row.chunks_exact_mut(pixels));
        for (c, ((x, hat), y)) in chunks.zip(y_row.chunks_exact_mut(pixels)).enumerate() {
            let (mu, inv, g, b) = (mean[c], inv_std[c], gamma[c], beta[c]);
            for ((hat, y), &v) in hat.iter_mut().zip(y.iter_mut()).zip(x) {
                *hat = (v - mu) * inv;
                *y = g * *hat + b;
            }
        }
    }
}

/// `sums[c] ← Σ x` and `products[c] ← Σ x ∘ y` over channel `c` of every sample, in one pass over both
/// (∂L/∂β and ∂L/∂γ of a normalisation, with `x = ∂L/∂Y`, `y = X̂`).
pub fn sum_channels_and_products_into<T: Scalar>(
    x: ArrayView2<'_, T>,
    y: ArrayView2<'_, T>,
    mut sums: ArrayViewMut1<'_, T>,
    mut products: ArrayViewMut1<'_, T>,
) {
    sums.fill(T::zero());
    products.fill(T::zero());
    for_each_channel_pair(x, y, sums.len(), |c, x, y| {
        let y = &y[..x.len()];
        let [sum, product] = lanes(x.len(), |i| [x[i], x[i] * y[i]]);
        sums[c] += sum;
        products[c] += product;
    });
}

/// `out[n, c·P + p] ← a_c · x + b_c + c_c · y`: the last pass of batch normalisation's backward, where
/// `x = ∂L/∂Y` and `y = X̂`.
pub fn combine_channels<T: Scalar>(
    x: ArrayView2<'_, T>,
    y: ArrayView2<'_, T>,
    (scale_x, offset, scale_y): (ArrayView1<'_, T>, ArrayView1<'_, T>, ArrayView1<'_, T>),
    out: &mut Array2<T>,
) {
    ensure_shape(out, x.nrows(), x.ncols());
    let pixels = x.ncols() / scale_x.len().max(1);
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    for ((x_row, y_row), mut out_row) in x.rows().into_iter().zip(y.rows()).zip(out.rows_mut()) {
        let (x_row, y_row) = (
            x_row.to_slice().expect("standard layout"),
            y_row.to_slice().expect("standard layout"),
        );
        let out_row = out_row.as_slice_mut().expect("standard layout");
        let chunks = x_row.chunks_exact(pixels).zip(y_row.chunks_exact(pixels));
        for (c, ((x, y), out)) in chunks.zip(out_row.chunks_exact_mut(pixels)).enumerate() {
            let (a, b, d) = (scale_x[c], offset[c], scale_y[c]);
            for ((out, &x), &y) in out.iter_mut().zip(x).zip(y) {
                *out = a * x + b + d * y;
            }
        }
    }
}
