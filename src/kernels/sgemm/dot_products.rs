//! The `A · Xᵀ` path, for `A`'s rows and `B`'s columns contiguous: every entry of `C` is a dot product of two
//! contiguous rows, so nothing is packed.
use ndarray::ArrayView2;

use super::lanes::F32x4;
use super::{Destination, Operand, DOT_BLOCK, DOT_COLUMNS, DOT_ROWS};

/// The `A · Xᵀ` path: `C[i, j]` is the dot product of row `i` of `A` and column `j` of `B` (row `j` of `X`),
/// both contiguous.
///
/// # Safety
/// As [`super::packed_a::product_packed_a`], with `A`'s rows and `B`'s columns contiguous instead.
pub(super) unsafe fn product_of_rows(
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
