//! The math core compiled to WebAssembly and run in Node (`cargo test --target wasm32-unknown-unknown`
//! with `wasm-bindgen-test-runner`, see README): the hand-derived gradients must agree with finite
//! differences in wasm (f32/f64 arithmetic, simd128 kernels) exactly as they do natively.
#![cfg(target_arch = "wasm32")]

use backprop_lab::{data, gradcheck, web};
use wasm_bindgen_test::wasm_bindgen_test;

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
