//! The math core compiled to WebAssembly and run in Node (`cargo test --target wasm32-unknown-unknown`
//! with `wasm-bindgen-test-runner`, see README): the hand-derived gradients must agree with finite
//! differences in wasm (f32/f64 arithmetic, simd128 kernels) exactly as they do natively.
#![cfg(target_arch = "wasm32")]

use backprop_lab::{data, gradcheck, web};
use wasm_bindgen_test::wasm_bindgen_test;

#[path = "common/synthetic_bytes.rs"]
mod synthetic_bytes;

#[wasm_bindgen_test]
fn every_standard_gradient_check_passes_in_wasm() {
    let results = gradcheck::standard_suite(web::GRADCHECK_SEED);
    assert!(
        !results.is_empty(),
        "the standard gradient-check suite returned no rows"
    );
    let failures: Vec<String> = results
        .iter()
        .filter(|result| !result.passed)
        .map(|result| {
            format!(
                "{}.{} {:?}: max rel error {:.3e} > tolerance {:.0e}",
                result.layer, result.parameter, result.shape, result.max_rel_error, result.tolerance
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "gradient checks failed in wasm:\n{}",
        failures.join("\n")
    );
}

#[wasm_bindgen_test]
fn default_synthetic_dataset_has_one_label_per_image_in_wasm() {
    let dataset = data::synthetic(&Default::default());
    for split in [&dataset.train, &dataset.test] {
        assert!(!split.labels.is_empty(), "{}: a split has no images", dataset.name);
        assert_eq!(
            split.images.len() % split.labels.len(),
            0,
            "{}: {} image bytes do not divide into {} images",
            dataset.name,
            split.images.len(),
            split.labels.len()
        );
    }
}

/// The page generates its data set in wasm (vectorised with simd128): the same bytes as natively.
#[wasm_bindgen_test]
fn the_generated_data_set_has_the_same_bytes_in_wasm() {
    for (config, fingerprint) in synthetic_bytes::PINNED {
        assert_eq!(
            data::synthetic(&config).fingerprint(),
            fingerprint,
            "{config:?}: expected the pinned bytes, found others"
        );
    }
}

/// The f32 product of the wasm build (the SIMD128 kernel of `kernels::sgemm` for the layouts it takes,
/// matrixmultiply for the rest) against an f64 product entry by entry, on the shapes of the lab's layers
/// and on edges (partial tiles, K over several blocks, C a window of a wider matrix).
#[wasm_bindgen_test]
fn f32_gemm_matches_an_f64_reference_in_wasm() {
    use backprop_lab::kernels::{gemm, Transpose};
    use ndarray::{s, Array2};
    let matrix = |rows: usize, columns: usize, seed: usize| {
        Array2::from_shape_fn((rows, columns), |(i, j)| {
            ((i * 31 + j * 17 + seed * 7) % 23) as f32 / 11.5 - 1.0
        })
    };
    let shapes = [
        (20, 400, 256),
        (400, 20, 256),
        (16, 75, 1024),
        (5, 3, 9),
        (1, 1, 1),
        (133, 517, 77),
        (9, 0, 4),
    ];
    for (m, k, n) in shapes {
        for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true), (true, true)] {
            for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 1.0)] {
                let a = if transpose_a { matrix(k, m, 1) } else { matrix(m, k, 1) };
                let b = if transpose_b { matrix(n, k, 2) } else { matrix(k, n, 2) };
                let op = |t: bool| if t { Transpose::Yes } else { Transpose::No };
                let mut wide = matrix(m, n + 2, 3);
                let before = wide.slice(s![.., 1..n + 1]).to_owned();
                gemm(
                    alpha,
                    a.view(),
                    op(transpose_a),
                    b.view(),
                    op(transpose_b),
                    beta,
                    wide.slice_mut(s![.., 1..n + 1]),
                );
                let a = if transpose_a { a.t() } else { a.view() };
                let b = if transpose_b { b.t() } else { b.view() };
                for i in 0..m {
                    for j in 0..n {
                        let product: f64 = (0..k).map(|p| a[[i, p]] as f64 * b[[p, j]] as f64).sum();
                        let want = alpha as f64 * product + beta as f64 * before[[i, j]] as f64;
                        let got = wide[[i, j + 1]] as f64;
                        assert!(
                            (got - want).abs() <= 4e-7 * (k as f64 + 1.0) * (1.0 + want.abs()),
                            "[{m}, {k}]·[{k}, {n}] tA {transpose_a} tB {transpose_b} α {alpha} β {beta}: C[{i}, {j}] = {got}, want {want}"
                        );
                    }
                }
                assert_eq!(
                    wide[[0, 0]],
                    matrix(m, n + 2, 3)[[0, 0]],
                    "the column left of C changed"
                );
            }
        }
    }
}
