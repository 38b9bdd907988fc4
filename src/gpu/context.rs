//! The GPU device: adapter selection by name, the device and its queue, and blocking helpers for native
//! code (submit, wait, read a buffer back).
use std::sync::{Arc, Mutex};

use super::GpuError;

/// The environment variable that names the adapter to use when none is given (a case-insensitive part of
/// its name, e.g. `llvmpipe` for Mesa's lavapipe), as wgpu's own examples read it.
pub const ADAPTER_ENV: &str = "WGPU_ADAPTER_NAME";

/// What a user is told about the adapter: its name, its API and whether it is a software rasteriser
/// (lavapipe, SwiftShader: correct but slower than the CPU path, for tests only).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub software: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.name.is_empty() {
            "unnamed adapter"
        } else {
            &self.name
        };
        write!(f, "{name} ({}", self.backend)?;
        if self.software {
            write!(f, ", software: correctness only")?;
        }
        write!(f, ")")
    }
}

/// A device, its queue and the adapter it came from. Every GPU resource of the lab is made from one.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    /// The first uncaptured error (a validation error, an out-of-memory), kept until [`GpuContext::check`].
    error: Arc<Mutex<Option<String>>>,
}

fn summarise(info: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        // detected by type, not name: Chromium reports SwiftShader with an empty name
        software: info.device_type == wgpu::DeviceType::Cpu,
    }
}

impl GpuContext {
    /// Opens the adapter whose name contains `name` (case-insensitive), or the one named by
    /// [`ADAPTER_ENV`], or else the adapter wgpu prefers (it ranks software adapters last). Fails with the
    /// list of adapters found when none matches, and at once when there is none.
    pub async fn new(name: Option<&str>) -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let wanted = name
            .map(str::to_string)
            .or_else(|| std::env::var(ADAPTER_ENV).ok())
            .filter(|n| !n.trim().is_empty());
        let adapter = match wanted {
            Some(wanted) => select_by_name(&instance, &wanted).await?,
            None => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                })
                .await
                .map_err(|e| GpuError::NoAdapter(e.to_string()))?,
        };
        let adapter_limits = adapter.limits();
        // the ConvNet's activations at batch 32 fit the defaults; ask for what the adapter has beyond them
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: adapter_limits.max_storage_buffer_binding_size,
            max_buffer_size: adapter_limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: adapter_limits.max_storage_buffers_per_shader_stage.min(10),
            ..wgpu::Limits::defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("backprop-lab"),
                required_limits,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let error = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&error);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        let sink = Arc::clone(&error);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| format!("the device was lost ({reason:?}): {message}"));
            }
        });
        Ok(Self {
            device,
            queue,
            adapter: summarise(&adapter.get_info()),
            error,
        })
    }

    /// [`GpuContext::new`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(name: Option<&str>) -> Result<Self, GpuError> {
        pollster::block_on(Self::new(name))
    }

    /// The first error the device reported since the last check, as a value.
    pub fn check(&self) -> Result<(), GpuError> {
        match self.error.lock().ok().and_then(|mut slot| slot.take()) {
            Some(message) => Err(GpuError::Device(message)),
            None => Ok(()),
        }
    }

    /// Waits until the GPU has finished everything submitted (native; a no-op in the browser).
    pub fn wait(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Device(e.to_string()))?;
        self.check()
    }
}

/// The adapter whose name contains `wanted`, or an error that lists the adapters there are.
async fn select_by_name(instance: &wgpu::Instance, wanted: &str) -> Result<wgpu::Adapter, GpuError> {
    let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
    let needle = wanted.to_lowercase();
    let names: Vec<String> = adapters.iter().map(|a| summarise(&a.get_info()).to_string()).collect();
    adapters
        .into_iter()
        .find(|a| a.get_info().name.to_lowercase().contains(&needle))
        .ok_or_else(|| {
            GpuError::NoAdapter(if names.is_empty() {
                format!("no adapter matches {wanted:?}: this machine has no WebGPU adapter")
            } else {
                format!("no adapter matches {wanted:?}; found: {}", names.join(", "))
            })
        })
}
