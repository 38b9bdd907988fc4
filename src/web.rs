//! The thin wasm-bindgen surface the page calls.
