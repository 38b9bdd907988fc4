//! backprop-lab: hand-derived backpropagation for MLPs and CNNs, shared by the browser lab and the `lab` CLI.
pub mod data;

#[cfg(target_arch = "wasm32")]
pub mod web;
