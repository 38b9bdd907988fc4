//! Compute kernels: a WGSL entry point compiled once into a pipeline, and dispatches of it whose bind
//! groups are made once (buffers bound for good), so a training step only records them.
use std::collections::HashMap;

use super::buffers::Uniform;
use super::{GpuContext, GpuError};

/// Threads per workgroup of the one-dimensional kernels (the WebGPU default limit).
pub const WORKGROUP: u32 = 256;

/// Compiled pipelines by name, each made the first time a layer asks for it.
#[derive(Default)]
pub struct Library {
    pipelines: HashMap<String, wgpu::ComputePipeline>,
}

/// One kernel invocation: a pipeline, its bindings and how many workgroups to launch (cloning shares them).
#[derive(Clone)]
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32, u32),
    /// The uniform block the bind group points at, kept alive with it.
    _params: Uniform,
}

impl Library {
    /// The pipeline of `entry` in `source`, compiled on first use; `key` names the source (a composed GEMM
    /// source gets one key per operand kind).
    pub fn pipeline(
        &mut self,
        context: &GpuContext,
        key: &str,
        source: &str,
        entry: &str,
    ) -> Result<wgpu::ComputePipeline, GpuError> {
        let name = format!("{key}::{entry}");
        if let Some(pipeline) = self.pipelines.get(&name) {
            return Ok(pipeline.clone());
        }
        let module = context.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(key),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        // the layout is derived from what the entry point uses
        let pipeline = context
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&name),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
        context.check().map_err(|e| GpuError::Shader(format!("{name}: {e}")))?;
        self.pipelines.insert(name, pipeline.clone());
        Ok(pipeline)
    }

    /// A dispatch of `entry` with `params` (the shader's `Params` words) at binding 0 and `buffers` at
    /// their binding numbers, over `workgroups`.
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch(
        &mut self,
        context: &GpuContext,
        key: &str,
        source: &str,
        entry: &str,
        params: &[u32],
        buffers: &[(u32, wgpu::BindingResource<'_>)],
        workgroups: (u32, u32, u32),
    ) -> Result<Dispatch, GpuError> {
        let pipeline = self.pipeline(context, key, source, entry)?;
        let uniform = Uniform::new(context, params);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.buffer.as_entire_binding(),
        }];
        entries.extend(buffers.iter().map(|(binding, resource)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: resource.clone(),
        }));
        let bind_group = context.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(entry),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        context
            .check()
            .map_err(|e| GpuError::Shader(format!("{key}::{entry} bindings: {e}")))?;
        Ok(Dispatch {
            pipeline,
            bind_group,
            workgroups,
            _params: uniform,
        })
    }
}

impl Dispatch {
    /// Rewrites this dispatch's uniform block (the optimizer's per-step constants).
    pub fn write_params(&self, context: &GpuContext, params: &[u32]) {
        self._params.write(context, params);
    }
}

/// Records `dispatches` in order into one compute pass. WebGPU makes each dispatch's writes visible to
/// the next, so a layer's output is ready for the layer after it.
pub fn record<'a>(encoder: &mut wgpu::CommandEncoder, dispatches: impl IntoIterator<Item = &'a Dispatch>) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("step"),
        timestamp_writes: None,
    });
    for dispatch in dispatches {
        pass.set_pipeline(&dispatch.pipeline);
        pass.set_bind_group(0, &dispatch.bind_group, &[]);
        let (x, y, z) = dispatch.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// Encodes `dispatches` as one submission (native tests and benchmarks then [`GpuContext::wait`]).
pub fn submit<'a>(context: &GpuContext, dispatches: impl IntoIterator<Item = &'a Dispatch>) {
    let mut encoder = context.device.create_command_encoder(&Default::default());
    record(&mut encoder, dispatches);
    context.queue.submit([encoder.finish()]);
}

/// Workgroups for `threads` invocations of [`WORKGROUP`] threads, folded into two dimensions so no
/// dimension exceeds 65,535. Shaders rebuild the index as `x + y · (groups_x · 256)` (see `common.wgsl`).
pub fn grid(threads: usize) -> (u32, u32, u32) {
    workgroup_grid(threads.div_ceil(WORKGROUP as usize))
}

/// `groups` workgroups folded into two dimensions (x at most 65,535).
pub fn workgroup_grid(groups: usize) -> (u32, u32, u32) {
    let groups = groups.max(1);
    let x = groups.min(65_535);
    (x as u32, groups.div_ceil(x) as u32, 1)
}
