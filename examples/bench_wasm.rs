//! The wasm half of `./scripts/bench`: the shared workloads of `backprop_lab::bench` compiled to
//! `wasm32-unknown-unknown` (simd128), post-processed by `wasm-bindgen --target nodejs` and driven by
//! `examples/bench_wasm.js` in Node. Timing uses Node's `performance.now()`.
#![cfg(target_arch = "wasm32")]

use backprop_lab::bench;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The rows' runtime: this module is built plain (SIMD128) or with the `relaxed-simd` feature.
const RUNTIME: &str = if cfg!(feature = "relaxed-simd") {
    "wasm-node-relaxed"
} else {
    "wasm-node"
};

/// Whether this module was built with relaxed SIMD (its rows are `wasm-node-relaxed`).
#[wasm_bindgen]
pub fn relaxed_simd() -> bool {
    cfg!(feature = "relaxed-simd")
}

fn seconds() -> f64 {
    performance_now() / 1e3
}

/// How many workloads there are.
#[wasm_bindgen]
pub fn workload_count() -> usize {
    bench::workloads().len()
}

/// The name of workload `index` (`W1`, …), or an empty string past the end.
#[wasm_bindgen]
pub fn workload_name(index: usize) -> String {
    bench::workloads()
        .into_iter()
        .nth(index)
        .map_or_else(String::new, |workload| workload.id.to_string())
}

/// Measures workload `index` and returns its row as JSON.
#[wasm_bindgen]
pub fn measure_workload(index: usize) -> Result<String, JsError> {
    let workload = bench::workloads()
        .into_iter()
        .nth(index)
        .ok_or_else(|| JsError::new(&format!("no workload {index}")))?;
    let measurement = bench::measure(&workload, RUNTIME, seconds)?;
    Ok(serde_json::to_string(&measurement)?)
}

/// Measures the SIMD128 mul+add limit and returns its row as JSON; `one` must be 1.0.
#[wasm_bindgen]
pub fn measure_simd128_peak(one: f32) -> Result<String, JsError> {
    Ok(serde_json::to_string(&bench::measure_simd128_peak(
        RUNTIME, one, seconds,
    ))?)
}

/// Measures the relaxed-SIMD multiply-add limit (`f32x4.relaxed_madd`) and returns its row as JSON.
#[cfg(feature = "relaxed-simd")]
#[wasm_bindgen]
pub fn measure_relaxed_simd_peak(one: f32) -> Result<String, JsError> {
    Ok(serde_json::to_string(&bench::measure_relaxed_simd_peak(
        RUNTIME, one, seconds,
    ))?)
}
