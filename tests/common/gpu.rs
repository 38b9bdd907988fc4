//! The GPU the GPU test files run on.
use backprop_lab::gpu::GpuContext;

/// The adapter `WGPU_ADAPTER_NAME` names (scripts/test names lavapipe's `llvmpipe`, which scripts/setup
/// installs), else wgpu's choice. Without the variable, a machine with no adapter skips the GPU tests with the
/// reason printed; with it, a missing adapter fails them, so CI cannot pass without running them.
pub fn gpu() -> Option<GpuContext> {
    match GpuContext::new_blocking(None) {
        Ok(context) => {
            println!("adapter: {}", context.adapter);
            Some(context)
        }
        Err(e) if std::env::var_os("WGPU_ADAPTER_NAME").is_some() => {
            panic!("WGPU_ADAPTER_NAME names an adapter this machine does not have: {e}")
        }
        Err(e) => {
            println!("skipped, no GPU adapter: {e}");
            None
        }
    }
}
