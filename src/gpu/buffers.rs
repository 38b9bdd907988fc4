//! GPU buffers: storage tensors of `f32` (or `u32`) values, the uniform blocks that carry a kernel's sizes,
//! and reading values back.
use wgpu::util::DeviceExt;

use super::{GpuContext, GpuError};

/// A storage buffer of `len` 4-byte values (`f32` activations and parameters, `u32` targets and argmaxes).
pub struct Tensor {
    pub buffer: wgpu::Buffer,
    pub len: usize,
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

impl Tensor {
    /// `len` zeros (at least one value: WebGPU has no empty bindings).
    pub fn zeros(context: &GpuContext, len: usize, label: &str) -> Self {
        let buffer = context.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * 4) as u64,
            usage: STORAGE,
            mapped_at_creation: false,
        });
        Self { buffer, len }
    }

    /// A buffer holding `values`.
    pub fn from_f32(context: &GpuContext, values: &[f32], label: &str) -> Self {
        Self::from_words(context, &values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), label)
    }

    /// A buffer holding `values` as `u32`.
    pub fn from_u32(context: &GpuContext, values: &[u32], label: &str) -> Self {
        Self::from_words(context, values, label)
    }

    fn from_words(context: &GpuContext, words: &[u32], label: &str) -> Self {
        let padded: Vec<u32> = if words.is_empty() { vec![0] } else { words.to_vec() };
        let buffer = context.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &words_to_bytes(&padded),
            usage: STORAGE,
        });
        Self {
            buffer,
            len: words.len(),
        }
    }

    /// Overwrites the first `values.len()` values (queued: runs before the next submission's commands).
    pub fn write_f32(&self, context: &GpuContext, values: &[f32]) {
        debug_assert!(values.len() <= self.len.max(1), "write_f32: too many values");
        let words: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
        context.queue.write_buffer(&self.buffer, 0, &words_to_bytes(&words));
    }

    /// Overwrites the first `values.len()` values with `u32`s.
    pub fn write_u32(&self, context: &GpuContext, values: &[u32]) {
        context.queue.write_buffer(&self.buffer, 0, &words_to_bytes(values));
    }

    /// The whole binding.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }

    /// Values `offset..offset + len` as a binding (offsets must be multiples of [`BINDING_ALIGNMENT`] values).
    pub fn slice_binding(&self, offset: usize, len: usize) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: (offset * 4) as u64,
            size: wgpu::BufferSize::new((len.max(1) * 4) as u64),
        })
    }

    /// Reads every value back without blocking the thread (the browser's event loop delivers the mapping;
    /// natively the device is polled).
    pub async fn read_f32_async(&self, context: &GpuContext) -> Result<Vec<f32>, GpuError> {
        let staging = Readback::new(context, self.len);
        let mut encoder = context.device.create_command_encoder(&Default::default());
        staging.copy_from(&mut encoder, &self.buffer, 0);
        context.queue.submit([encoder.finish()]);
        let words = staging.read_async(context).await?;
        Ok(words.into_iter().map(f32::from_bits).collect())
    }

    /// Reads every value back, waiting for the GPU (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_f32(&self, context: &GpuContext) -> Result<Vec<f32>, GpuError> {
        Ok(self.read_words(context)?.into_iter().map(f32::from_bits).collect())
    }

    /// Reads every value back as `u32`, waiting for the GPU (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_u32(&self, context: &GpuContext) -> Result<Vec<u32>, GpuError> {
        self.read_words(context)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn read_words(&self, context: &GpuContext) -> Result<Vec<u32>, GpuError> {
        let staging = Readback::new(context, self.len);
        let mut encoder = context.device.create_command_encoder(&Default::default());
        staging.copy_from(&mut encoder, &self.buffer, 0);
        context.queue.submit([encoder.finish()]);
        staging.read_blocking(context)
    }
}

/// Every binding into a shared buffer starts at a multiple of 64 values (256 bytes, WebGPU's
/// `minStorageBufferOffsetAlignment`).
pub const BINDING_ALIGNMENT: usize = 64;

/// `len` rounded up to [`BINDING_ALIGNMENT`].
pub fn aligned(len: usize) -> usize {
    len.div_ceil(BINDING_ALIGNMENT) * BINDING_ALIGNMENT
}

/// A mappable copy of (part of) a storage buffer, for reading results back.
pub struct Readback {
    buffer: wgpu::Buffer,
    len: usize,
}

impl Readback {
    pub fn new(context: &GpuContext, len: usize) -> Self {
        let buffer = context.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self { buffer, len }
    }

    /// Records a copy of `len` values starting at value `offset` of `source`.
    pub fn copy_from(&self, encoder: &mut wgpu::CommandEncoder, source: &wgpu::Buffer, offset: usize) {
        encoder.copy_buffer_to_buffer(
            source,
            (offset * 4) as u64,
            &self.buffer,
            0,
            (self.len.max(1) * 4) as u64,
        );
    }

    /// Records a copy of all of `source` into this readback from value `at` on (several tensors read back
    /// together).
    pub fn copy_into(&self, encoder: &mut wgpu::CommandEncoder, source: &Tensor, at: usize) {
        debug_assert!(at + source.len <= self.len, "copy_into: past the readback");
        encoder.copy_buffer_to_buffer(
            &source.buffer,
            0,
            &self.buffer,
            (at * 4) as u64,
            (source.len * 4) as u64,
        );
    }

    /// Asks for the copy to be mapped; `done` runs when it is (during a later device poll).
    pub fn map_async(&self, done: impl FnOnce(Result<(), wgpu::BufferAsyncError>) + wgpu::WasmNotSend + 'static) {
        self.buffer.slice(..).map_async(wgpu::MapMode::Read, done);
    }

    /// The values of a mapped copy; unmaps it for the next copy.
    pub fn take_mapped(&self) -> Result<Vec<u32>, GpuError> {
        let words = {
            let view = self
                .buffer
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::Device(e.to_string()))?;
            bytes_to_words(&view)[..self.len].to_vec()
        };
        self.buffer.unmap();
        Ok(words)
    }

    /// Asks for the copy to be mapped; the signal completes when it is (await it, or look with
    /// [`Signal::try_take`] without waiting).
    pub fn map_signal(&self) -> Signal {
        let signal = Signal::default();
        let done = signal.clone();
        self.map_async(move |result| done.complete(result));
        signal
    }

    /// Maps the copy and returns its values once the GPU is done with it, without blocking.
    pub async fn read_async(&self, context: &GpuContext) -> Result<Vec<u32>, GpuError> {
        let signal = self.map_signal();
        #[cfg(not(target_arch = "wasm32"))]
        context.wait()?;
        #[cfg(target_arch = "wasm32")]
        let _ = context;
        signal.await.map_err(|e| GpuError::Device(e.to_string()))?;
        self.take_mapped()
    }

    /// Maps the copy and returns its values once the GPU is done with it (native only: blocks).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(&self, context: &GpuContext) -> Result<Vec<u32>, GpuError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        self.map_async(move |result| drop(sender.send(result)));
        context.wait()?;
        receiver
            .recv()
            .map_err(|e| GpuError::Device(e.to_string()))?
            .map_err(|e| GpuError::Device(e.to_string()))?;
        self.take_mapped()
    }
}

/// A one-shot future completed by a `map_async` callback.
#[derive(Clone, Default)]
pub struct Signal {
    state: std::sync::Arc<std::sync::Mutex<SignalState>>,
}

#[derive(Default)]
struct SignalState {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<std::task::Waker>,
}

impl Signal {
    /// The mapping's result if it has arrived (without waiting; the browser delivers it between tasks).
    pub fn try_take(&self) -> Option<Result<(), wgpu::BufferAsyncError>> {
        self.state.lock().ok().and_then(|mut state| state.result.take())
    }

    fn complete(&self, result: Result<(), wgpu::BufferAsyncError>) {
        if let Ok(mut state) = self.state.lock() {
            state.result = Some(result);
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        }
    }
}

impl std::future::Future for Signal {
    type Output = Result<(), wgpu::BufferAsyncError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let Ok(mut state) = self.state.lock() else {
            return std::task::Poll::Ready(Err(wgpu::BufferAsyncError));
        };
        match state.result.take() {
            Some(result) => std::task::Poll::Ready(result),
            None => {
                state.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

/// A kernel's sizes and constants as a uniform block: 4-byte words in the order of the shader's `Params`
/// struct, padded to 16 bytes.
#[derive(Clone)]
pub struct Uniform {
    pub buffer: wgpu::Buffer,
}

impl Uniform {
    pub fn new(context: &GpuContext, words: &[u32]) -> Self {
        let mut padded = words.to_vec();
        padded.resize(words.len().div_ceil(4).max(1) * 4, 0);
        let buffer = context.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: &words_to_bytes(&padded),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        Self { buffer }
    }

    /// Rewrites the block (e.g. the optimizer's step-dependent constants).
    pub fn write(&self, context: &GpuContext, words: &[u32]) {
        let mut padded = words.to_vec();
        padded.resize(words.len().div_ceil(4).max(1) * 4, 0);
        context.queue.write_buffer(&self.buffer, 0, &words_to_bytes(&padded));
    }
}

pub(crate) fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

pub(crate) fn bytes_to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
