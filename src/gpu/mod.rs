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
//! - [`network`], [`optimizer`], [`trainer`]: GPU-resident training; [`norms`]: the per-layer norm curves.
//!
//! Software adapters (Mesa's lavapipe natively, SwiftShader in Chromium) run every kernel correctly but
//! slower than the CPU path: they are for tests, not speed.
mod backend;
pub use backend::Backend;

// everything but the benchmark also builds for the browser (wgpu's `webgpu` backend); the trainer waits
// for the GPU with futures there (its blocking forms are native only)
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod buffers;
pub mod context;
pub mod kernel;
pub mod layers;
pub mod matmul;
pub mod network;
pub mod norms;
pub mod optimizer;
pub mod shaders;
pub mod trainer;

pub use buffers::Tensor;
pub use context::{AdapterSummary, GpuContext, ADAPTER_ENV};
pub use network::GpuNetwork;
pub use optimizer::GpuOptimizer;
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
