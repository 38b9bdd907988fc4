//! backprop-lab: hand-derived backpropagation for MLPs and CNNs, shared by the browser lab and the `lab` CLI.
//!
//! The math core (`layers`, `loss`, `model`, `optim`, `gradcheck`, `train`, `data`) knows nothing of the
//! browser; `web` is the thin wasm-bindgen surface the page calls. Every hot loop goes through `kernels`.
pub mod bench;
pub mod budget;
pub mod chart;
pub mod data;
pub mod error;
pub mod formulas;
pub mod gpu;
pub mod gradcheck;
pub mod kernels;
pub mod layers;
pub mod lessons;
pub mod loss;
pub mod model;
pub mod optim;
mod scalar;
pub mod session;
pub mod train;
pub mod transfer;
pub mod weights;

pub use scalar::Scalar;

#[cfg(target_arch = "wasm32")]
pub mod web;
