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
use std::cell::RefCell;

use ndarray::{ArrayView2, ArrayViewMut2};

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

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    /// Four f32 lanes in a WASM SIMD128 register.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(value: f32) -> Self {
            Self(f32x4_splat(value))
        }
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// `*p` in every lane. # Safety: `p` must be readable.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self(v128_load32_splat(p as *const u32))
        }
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        /// `self + a · b`, lane by lane: a multiply, then an add (SIMD128 has no fused multiply-add).
        #[cfg(not(feature = "relaxed-simd"))]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        /// `self + a · b`, lane by lane: relaxed SIMD's `f32x4.relaxed_madd`, which the engine may fuse (one
        /// rounding, where the CPU has FMA) or not: results differ from the plain build's in the last bits.
        #[cfg(feature = "relaxed-simd")]
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(f32x4_relaxed_madd(a.0, b.0, self.0))
        }
        #[inline(always)]
        pub fn mul(self, b: Self) -> Self {
            Self(f32x4_mul(self.0, b.0))
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    /// Four f32 lanes, one after the other: the same arithmetic as SIMD128, lane by lane.
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(value: f32) -> Self {
            Self([value; 4])
        }
        /// # Safety
        /// `p..p + 4` must be readable.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(std::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// `*p` in every lane. # Safety: `p` must be readable.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self([*p; 4])
        }
        /// # Safety
        /// `p..p + 4` must be writable.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            std::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        /// `self + a · b`, lane by lane: a multiply, then an add.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn mul(self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn to_array(self) -> [f32; 4] {
            self.0
        }
    }
}

use lanes::F32x4;

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

thread_local! {
    /// Packed `A` and the zero-padded last column panel of `B`, reused by every product of this thread.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
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
            product_packed_a(alpha, &a, &b, beta, c_ptr, c_row_stride);
        } else {
            product_of_rows(alpha, &a, &b, beta, c_ptr, c_row_stride);
        }
    }
    true
}

/// The `A · B` path: `A` packed per block of `K`, `B` read in place.
///
/// # Safety
/// `c` must point to an `[m, n]` matrix with row stride `c_row_stride` and contiguous rows; `b`'s rows
/// must be contiguous.
unsafe fn product_packed_a(
    alpha: f32,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: *mut f32,
    c_row_stride: isize,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (a_operand, b_operand) = (Operand::of(a), Operand::of(b));
    let b_row_stride = if b.nrows() > 1 { b.strides()[0] } else { 0 };
    BUFFERS.with(|buffers| {
        let (packed_a, edge) = &mut *buffers.borrow_mut();
        for block_start in (0..k).step_by(KC) {
            let kc = KC.min(k - block_start);
            // the first block applies β; later blocks add to what the earlier ones wrote
            let block_beta = if block_start == 0 { beta } else { 1.0 };
            let panels = m.div_ceil(MR);
            packed_a.clear();
            packed_a.resize(panels * kc * MR, 0.0);
            for panel in 0..panels {
                let rows = MR.min(m - panel * MR);
                let out = &mut packed_a[panel * kc * MR..(panel + 1) * kc * MR];
                if a_operand.row_stride == 1 {
                    // A is a transposed matrix (Wᵀ): the panel's rows at one k are contiguous, read them so
                    for (p, out) in out.chunks_exact_mut(MR).enumerate() {
                        let column = a_operand.at(panel * MR, block_start + p);
                        for (i, out) in out.iter_mut().enumerate().take(rows) {
                            *out = *column.add(i);
                        }
                    }
                } else {
                    for i in 0..rows {
                        let row = a_operand.at(panel * MR + i, block_start);
                        for p in 0..kc {
                            out[p * MR + i] = *row.offset(p as isize * a_operand.column_stride);
                        }
                    }
                }
            }
            for row_block in (0..m).step_by(MC) {
                let row_block_end = m.min(row_block + MC);
                for column in (0..n).step_by(NR) {
                    let columns = NR.min(n - column);
                    let (panel_b, panel_stride) = if columns == NR {
                        (b_operand.at(block_start, column), b_row_stride)
                    } else {
                        // the last, partial panel: copied next to zeros so the kernel reads NR columns
                        edge.clear();
                        edge.resize(kc * NR, 0.0);
                        for p in 0..kc {
                            let row = b_operand.at(block_start + p, column);
                            for j in 0..columns {
                                edge[p * NR + j] = *row.add(j);
                            }
                        }
                        (edge.as_ptr(), NR as isize)
                    };
                    for row in (row_block..row_block_end).step_by(MR) {
                        let destination = Destination {
                            ptr: c.offset(row as isize * c_row_stride).add(column),
                            row_stride: c_row_stride,
                            rows: MR.min(m - row),
                            columns,
                            alpha,
                            beta: block_beta,
                        };
                        let panel_a = packed_a.as_ptr().add(row / MR * kc * MR);
                        tile_packed_a(kc, panel_a, panel_b, panel_stride, destination);
                    }
                }
            }
        }
    });
}

/// One `MR × NR` tile of `C` from a packed panel of `A` (`kc` groups of `MR` values) and `kc` rows of `NR`
/// contiguous values of `B`, `b_row_stride` apart.
///
/// # Safety
/// The panels must hold `kc` steps; `destination` must describe writable memory.
#[inline(never)]
#[cfg_attr(feature = "relaxed-simd", target_feature(enable = "relaxed-simd"))]
unsafe fn tile_packed_a(
    kc: usize,
    mut a: *const f32,
    mut b: *const f32,
    b_row_stride: isize,
    destination: Destination,
) {
    let mut acc = [[F32x4::zero(); NR / 4]; MR];
    for _ in 0..kc {
        let b_lanes = [F32x4::load(b), F32x4::load(b.add(4))];
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let a_lanes = F32x4::load_splat(a.add(i));
            for (acc, &b_lanes) in acc_row.iter_mut().zip(&b_lanes) {
                *acc = acc.mul_add(a_lanes, b_lanes);
            }
        }
        a = a.add(MR);
        b = b.offset(b_row_stride);
    }
    let Destination {
        rows,
        columns,
        alpha,
        beta,
        ..
    } = destination;
    if rows == MR && columns == NR {
        let (alpha_lanes, beta_lanes) = (F32x4::splat(alpha), F32x4::splat(beta));
        for (i, acc_row) in acc.iter().enumerate() {
            for (j, &acc) in acc_row.iter().enumerate() {
                let p = destination.at(i, 4 * j);
                let scaled = if alpha == 1.0 { acc } else { acc.mul(alpha_lanes) };
                let value = if beta == 0.0 {
                    scaled
                } else {
                    scaled.mul_add(beta_lanes, F32x4::load(p))
                };
                value.store(p);
            }
        }
    } else {
        for (i, acc_row) in acc.iter().enumerate().take(rows) {
            let values = acc_row.map(F32x4::to_array);
            for j in 0..columns {
                destination.update(i, j, values[j / 4][j % 4]);
            }
        }
    }
}

/// The `A · Xᵀ` path: `C[i, j]` is the dot product of row `i` of `A` and column `j` of `B` (row `j` of `X`),
/// both contiguous.
///
/// # Safety
/// As [`product_packed_a`], with `A`'s rows and `B`'s columns contiguous instead.
unsafe fn product_of_rows(
    alpha: f32,
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    beta: f32,
    c: *mut f32,
    c_row_stride: isize,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (a_operand, b_operand) = (Operand::of(a), Operand::of(b));
    for column_block in (0..n).step_by(DOT_BLOCK) {
        let column_block_end = n.min(column_block + DOT_BLOCK);
        for row in (0..m).step_by(DOT_ROWS) {
            let rows = DOT_ROWS.min(m - row);
            // missing rows repeat the last one: computed, never stored
            let a_rows: [*const f32; DOT_ROWS] = std::array::from_fn(|i| a_operand.at(row + i.min(rows - 1), 0));
            for column in (column_block..column_block_end).step_by(DOT_COLUMNS) {
                let columns = DOT_COLUMNS.min(n - column);
                let b_rows: [*const f32; DOT_COLUMNS] =
                    std::array::from_fn(|j| b_operand.at(0, column + j.min(columns - 1)));
                let destination = Destination {
                    ptr: c.offset(row as isize * c_row_stride).add(column),
                    row_stride: c_row_stride,
                    rows,
                    columns,
                    alpha,
                    beta,
                };
                tile_of_dot_products(k, a_rows, b_rows, destination);
            }
        }
    }
}

/// A `DOT_ROWS × DOT_COLUMNS` tile of dot products of length `k`: four lanes at a time, the lanes summed at
/// the end as `(l₀ + l₁) + (l₂ + l₃)`, then the last `k mod 4` products.
///
/// # Safety
/// Every row pointer must be readable for `k` values; `destination` must describe writable memory.
#[inline(never)]
#[cfg_attr(feature = "relaxed-simd", target_feature(enable = "relaxed-simd"))]
unsafe fn tile_of_dot_products(
    k: usize,
    a: [*const f32; DOT_ROWS],
    b: [*const f32; DOT_COLUMNS],
    destination: Destination,
) {
    let mut acc = [[F32x4::zero(); DOT_COLUMNS]; DOT_ROWS];
    let vectors = k / 4;
    for v in 0..vectors {
        let b_lanes = [F32x4::load(b[0].add(4 * v)), F32x4::load(b[1].add(4 * v))];
        for (acc_row, &a_row) in acc.iter_mut().zip(&a) {
            let a_lanes = F32x4::load(a_row.add(4 * v));
            for (acc, &b_lanes) in acc_row.iter_mut().zip(&b_lanes) {
                *acc = acc.mul_add(a_lanes, b_lanes);
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate().take(destination.rows) {
        for (j, acc) in acc_row.iter().enumerate().take(destination.columns) {
            let [l0, l1, l2, l3] = acc.to_array();
            let mut sum = (l0 + l1) + (l2 + l3);
            for p in 4 * vectors..k {
                sum += *a[i].add(p) * *b[j].add(p);
            }
            destination.update(i, j, sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{s, Array2};

    use super::*;

    /// `α · A · B + β · C` entry by entry, in f64.
    fn reference(
        alpha: f32,
        a: ArrayView2<'_, f32>,
        b: ArrayView2<'_, f32>,
        beta: f32,
        c: &Array2<f32>,
    ) -> Array2<f64> {
        Array2::from_shape_fn(c.dim(), |(i, j)| {
            let product: f64 = (0..a.ncols()).map(|p| a[[i, p]] as f64 * b[[p, j]] as f64).sum();
            alpha as f64 * product
                + if beta == 0.0 {
                    0.0
                } else {
                    beta as f64 * c[[i, j]] as f64
                }
        })
    }

    fn matrix(rows: usize, columns: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, columns), |(i, j)| {
            ((i * 31 + j * 17 + seed * 7) % 23) as f32 / 11.5 - 1.0
        })
    }

    /// Checks one product against the reference; `c` starts as NaN where β = 0 (it must be ignored).
    fn check(m: usize, k: usize, n: usize, transpose_a: bool, transpose_b: bool, alpha: f32, beta: f32) {
        let a_stored = if transpose_a { matrix(k, m, 1) } else { matrix(m, k, 1) };
        let b_stored = if transpose_b { matrix(n, k, 2) } else { matrix(k, n, 2) };
        let a = if transpose_a { a_stored.t() } else { a_stored.view() };
        let b = if transpose_b { b_stored.t() } else { b_stored.view() };
        // C is a column window of a wider matrix, so its row stride is not n
        let mut wide = matrix(m, n + 3, 3);
        if beta == 0.0 {
            wide.fill(f32::NAN);
        }
        let before = wide.slice(s![.., 1..n + 1]).to_owned();
        let expected = reference(alpha, a, b, beta, &before);
        let took = gemm(alpha, a, b, beta, wide.slice_mut(s![.., 1..n + 1]));
        // the layouts of the lab's products are always taken; Aᵀ · Xᵀ only where a stride is degenerate
        if !(transpose_a && transpose_b) {
            assert!(took, "m {m} k {k} n {n} tA {transpose_a} tB {transpose_b}");
        }
        if !took {
            return;
        }
        let scale = k as f64 + 1.0;
        for ((i, j), &value) in wide.slice(s![.., 1..n + 1]).indexed_iter() {
            let want = expected[[i, j]];
            assert!(
                (value as f64 - want).abs() <= 4e-7 * scale * (1.0 + want.abs()),
                "m {m} k {k} n {n} tA {transpose_a} tB {transpose_b} α {alpha} β {beta}: C[{i}, {j}] = {value}, want {want}"
            );
        }
        // the columns beside the window are untouched
        assert!(wide
            .column(0)
            .iter()
            .chain(wide.column(n + 1))
            .all(|v| v.is_nan() == (beta == 0.0)));
    }

    #[test]
    fn every_layout_and_edge_matches_the_entry_by_entry_product() {
        let sizes = [1, 3, 4, 5, 8, 9, 17];
        for &m in &sizes {
            for &n in &sizes {
                for k in [0, 1, 2, 5, 8, 13] {
                    for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true), (true, true)] {
                        check(m, k, n, transpose_a, transpose_b, 1.0, 0.0);
                        check(m, k, n, transpose_a, transpose_b, 0.5, 1.0);
                    }
                }
            }
        }
    }

    #[test]
    fn long_products_accumulate_over_blocks_of_k_and_of_rows() {
        // K over two blocks of KC, M over two blocks of MC, N over a DOT_BLOCK and a partial panel
        for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true)] {
            check(MC + 6, 2 * KC + 3, DOT_BLOCK + 11, transpose_a, transpose_b, 1.0, 0.0);
            check(MC + 6, 2 * KC + 3, DOT_BLOCK + 11, transpose_a, transpose_b, -2.0, 0.25);
        }
    }

    #[test]
    fn same_shapes_give_bit_identical_results() {
        let (a, b) = (matrix(37, 300, 4), matrix(300, 45, 5));
        let mut first = Array2::zeros((37, 45));
        let mut second = Array2::from_elem((37, 45), 7.0);
        assert!(gemm(1.0, a.view(), b.view(), 0.0, first.view_mut()));
        assert!(gemm(1.0, a.view(), b.view(), 0.0, second.view_mut()));
        assert_eq!(first, second);
    }
}
