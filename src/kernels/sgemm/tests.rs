//! The SIMD product against an entry-by-entry f64 reference, for every layout, edge and block boundary.
use ndarray::{s, Array2, ArrayView2};

use super::*;

/// `α · A · B + β · C` entry by entry, in f64.
fn reference(alpha: f32, a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, beta: f32, c: &Array2<f32>) -> Array2<f64> {
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
