//! WebGPU acceleration through `wgpu`: every layer kind of the lab's models as WGSL compute shaders,
//! forward and backward, and training that stays on the GPU.
//!
//! Each CPU layer (`layers/…`) names its GPU twin here and each shader names the CPU layer whose doc
//! comment derives what it computes: the math is written down once, on the CPU side, and the CPU path is
//! what `tests/gpu_kernels.rs` and `tests/gpu_training.rs` check the GPU against.
//!
//! - [`context`]: adapter selection (by name or `WGPU_ADAPTER_NAME`), the device, errors as values;
//! - [`buffers`]: storage tensors, uniform blocks, readback;
//! - [`kernel`]: pipelines compiled once, dispatches bound once;
//! - [`matmul`]: tiled and split-K matrix products, the implicit-GEMM convolution;
//! - [`layers`]: each layer kind's forward and backward dispatches;
//! - [`network`], [`optimizer`], [`trainer`]: GPU-resident training.
//!
//! Software adapters (Mesa's lavapipe natively, SwiftShader in Chromium) run every kernel correctly but
//! slower than the CPU path: they are for tests, not speed.
mod backend;
pub use backend::Backend;

// native for now: the browser build gets the `webgpu` backend of the same code (issue 11, step 4)
#[cfg(not(target_arch = "wasm32"))]
pub mod buffers;
#[cfg(not(target_arch = "wasm32"))]
pub mod context;
#[cfg(not(target_arch = "wasm32"))]
pub mod kernel;
#[cfg(not(target_arch = "wasm32"))]
pub mod layers;
#[cfg(not(target_arch = "wasm32"))]
pub mod matmul;
#[cfg(not(target_arch = "wasm32"))]
pub mod network;
#[cfg(not(target_arch = "wasm32"))]
pub mod optimizer;
#[cfg(not(target_arch = "wasm32"))]
pub mod shaders;
#[cfg(not(target_arch = "wasm32"))]
pub mod trainer;

#[cfg(not(target_arch = "wasm32"))]
pub use buffers::Tensor;
#[cfg(not(target_arch = "wasm32"))]
pub use context::{AdapterSummary, GpuContext, ADAPTER_ENV};
#[cfg(not(target_arch = "wasm32"))]
pub use network::GpuNetwork;
#[cfg(not(target_arch = "wasm32"))]
pub use optimizer::GpuOptimizer;
#[cfg(not(target_arch = "wasm32"))]
pub use trainer::{GpuTrainError, GpuTrainer};

/// Why the GPU path could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    #[error("no WebGPU adapter: {0}")]
    NoAdapter(String),
    #[error("the GPU device failed: {0}")]
    Device(String),
    #[error("a GPU kernel failed to compile or bind: {0}")]
    Shader(String),
    #[error("too large for the GPU: {0}")]
    TooLarge(String),
    #[error("no GPU kernel for layer {0}: train it on the CPU")]
    Unsupported(String),
}
