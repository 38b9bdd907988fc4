//! The f32 matrix product on four-lane vectors: WASM SIMD128's `v128` when the lab is compiled for it, a
//! plain `[f32; 4]` otherwise (the same lane arithmetic, so the native tests check the logic the browser
//! runs, and the wasm tests check it again in a wasm engine).
//!
//! Why not `matrixmultiply` (which [`super::gemm`] uses for f64 and natively): it packs both operands into
//! panels before every product, and the convolutions' products are short and wide (`[20, 400] · [400, 256]`
//! in W3): packing the `[400, 256]` im2col matrix costs as much memory traffic as the product reads, and
//! its 8×8 micro-tile holds 16 accumulators, more than V8 keeps in registers. Here:
//!
//! - **`A · B` with `B`'s rows contiguous** (a convolution's forward `W · cols` and its `∂L/∂cols = Wᵀ ·
//!   ∂L/∂Y`, a linear layer's `∂L/∂X` and `∂L/∂W`): only `A` is packed, into panels of [`MR`] rows
//!   interleaved per `k`, and `B` is read in place, [`NR`] columns at a time, one row after the other. The
//!   micro-kernel keeps a 4×8 tile of `C` in 8 vector registers; per `k` it loads two vectors of `B`,
//!   broadcasts four entries of `A` (`load32_splat`) and does 8 multiplies and 8 adds. `K` is split into
//!   blocks of [`KC`] so a block of packed `A` stays in cache.
//! - **`A · Xᵀ` with `A`'s and `X`'s rows contiguous** (a convolution's `∂L/∂W = ∂L/∂Y · colsᵀ`, a linear
//!   layer's forward `X · Wᵀ`): every entry of `C` is a dot product of two contiguous rows, so nothing is
//!   packed; a 4×2 tile of dot products is accumulated four lanes at a time and summed across lanes at the
//!   end.
//!
//! Every micro-kernel is a function of its own (`#[inline(never)]`): inlined into its caller, V8's
//! register allocator spilled the accumulators to the stack on every iteration.
//!
//! Results are deterministic: the order of every sum depends only on the shapes. With the `relaxed-simd`
//! feature (the page's second module, for engines with relaxed SIMD) the micro-kernels multiply-add with
//! `f32x4.relaxed_madd`: deterministic on one machine, but fused or not depending on the CPU, so its results
//! agree with the plain build's within f32 rounding, not bit for bit.
//!
//! Files: [`lanes`] (the four-lane vector: SIMD128, relaxed SIMD or plain), [`packed_a`] (the `A · B` path),
//! [`dot_products`] (the `A · Xᵀ` path); this file holds the blocking sizes, the operand descriptions and
//! the entry point that picks a path.
use ndarray::{ArrayView2, ArrayViewMut2};

mod dot_products;
mod lanes;
mod packed_a;
#[cfg(test)]
mod tests;

/// Rows of `C` per micro-tile of the `A · B` kernel.
pub const MR: usize = 4;
/// Columns of `C` per micro-tile of the `A · B` kernel: two four-lane vectors.
pub const NR: usize = 8;
/// `K` per block of packed `A` in the `A · B` kernel: 128 rows of a column panel of `B` (one cache line each,
/// read in place) stay in L1 while every row panel of `A` passes (128 measured better than 256 and 512).
pub const KC: usize = 128;
/// Rows of `A` per block (with [`KC`], 64 KiB of packed `A`: a block stays in L2 while `B` streams).
const MC: usize = 128;
/// Rows of `A` and of `X` per micro-tile of the `A · Xᵀ` kernel.
const DOT_ROWS: usize = 4;
const DOT_COLUMNS: usize = 2;
/// Rows of `X` per block of the `A · Xᵀ` kernel (64 rows of 256 floats: 64 KiB, reused by every row of `A`).
const DOT_BLOCK: usize = 64;

/// A matrix operand as a pointer and strides (in elements).
#[derive(Clone, Copy)]
struct Operand {
    ptr: *const f32,
    row_stride: isize,
    column_stride: isize,
}

impl Operand {
    fn of(view: &ArrayView2<'_, f32>) -> Self {
        Self {
            ptr: view.as_ptr(),
            row_stride: view.strides()[0],
            column_stride: view.strides()[1],
        }
    }

    /// # Safety
    /// `(row, column)` must be inside the matrix.
    #[inline(always)]
    unsafe fn at(&self, row: usize, column: usize) -> *const f32 {
        self.ptr
            .offset(row as isize * self.row_stride + column as isize * self.column_stride)
    }
}

/// Where a tile of `C` goes: its top-left corner, the row stride, how many of the tile's rows and columns
/// exist, and `C ← α · AB + β · C` (`β = 0` overwrites, ignoring what `C` held).
#[derive(Clone, Copy)]
struct Destination {
    ptr: *mut f32,
    row_stride: isize,
    rows: usize,
    columns: usize,
    alpha: f32,
    beta: f32,
}

impl Destination {
    /// # Safety
    /// `(row, column)` must be inside the tile's existing part.
    #[inline(always)]
    unsafe fn at(&self, row: usize, column: usize) -> *mut f32 {
        self.ptr.offset(row as isize * self.row_stride).add(column)
    }

    /// `C[i, j] ← α · value + β · C[i, j]` for one entry.
    ///
    /// # Safety
    /// As [`Destination::at`].
    #[inline(always)]
    unsafe fn update(&self, row: usize, column: usize, value: f32) {
        let p = self.at(row, column);
        let scaled = if self.alpha == 1.0 { value } else { self.alpha * value };
        *p = if self.beta == 0.0 {
            scaled
        } else {
            scaled + self.beta * *p
        };
    }
}

/// `C ← α · A · B + β · C` for `A: [m, k]`, `B: [k, n]`, `C: [m, n]` (operands already transposed as
/// needed, any strides). Returns `false`, touching nothing, when the layout is not one of the two this
/// module is fast for (`C`'s rows contiguous, and `B`'s rows contiguous or `A`'s rows and `B`'s columns
/// contiguous); the caller then uses the general product.
pub fn gemm(
    alpha: f32,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    beta: f32,
    mut c: ArrayViewMut2<'_, f32>,
) -> bool {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert_eq!(b.nrows(), k, "gemm: inner dimensions differ");
    assert_eq!(c.dim(), (m, n), "gemm: output shape differs");
    let unit = |stride: isize, extent: usize| stride == 1 || extent <= 1;
    let c_rows_contiguous = unit(c.strides()[1], n) && c.strides()[0] >= 0;
    let b_rows_contiguous = unit(b.strides()[1], n);
    let dot_rows = unit(a.strides()[1], k) && unit(b.strides()[0], k);
    if !c_rows_contiguous || !(b_rows_contiguous || dot_rows) || a.strides().iter().chain(b.strides()).any(|&s| s < 0) {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        // no products: C ← β · C (β = 0 clears, whatever C held)
        c.map_inplace(|v| *v = if beta == 0.0 { 0.0 } else { beta * *v });
        return true;
    }
    let c_ptr = c.as_mut_ptr();
    let c_row_stride = c.strides()[0];
    // SAFETY: every index below stays inside the shapes checked above.
    unsafe {
        if b_rows_contiguous {
            packed_a::product_packed_a(alpha, &a, &b, beta, c_ptr, c_row_stride);
        } else {
            dot_products::product_of_rows(alpha, &a, &b, beta, c_ptr, c_row_stride);
        }
    }
    true
}
