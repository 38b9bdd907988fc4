//! The `A · B` path, for `B` with contiguous rows: `A` packed into panels of [`MR`] rows per block of
//! [`KC`], `B` read in place [`NR`] columns at a time, and the 4×8 micro-kernel.
use std::cell::RefCell;

use ndarray::ArrayView2;

use super::lanes::F32x4;
use super::{Destination, Operand, KC, MC, MR, NR};

thread_local! {
    /// Packed `A` and the zero-padded last column panel of `B`, reused by every product of this thread.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// The `A · B` path: `A` packed per block of `K`, `B` read in place.
///
/// # Safety
/// `c` must point to an `[m, n]` matrix with row stride `c_row_stride` and contiguous rows; `b`'s rows
/// must be contiguous.
pub(super) unsafe fn product_packed_a(
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
