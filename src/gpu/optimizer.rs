//! SGD and Adam on the GPU (`shaders/optimizer.wgsl`): one dispatch over the flat parameter buffer, the
//! moments kept on the GPU, the step-dependent constants written into its uniform block each step.
use super::buffers::Tensor;
use super::kernel::{grid, Dispatch, Library};
use super::shaders::OPTIMIZER;
use super::{GpuContext, GpuError};
use std::ops::Range;

use crate::optim::OptimizerConfig;

/// The GPU twin of [`crate::optim::Sgd`] / [`crate::optim::Adam`] over the whole network: one dispatch per
/// segment of the flat parameter buffer that learns at its own factor of the learning rate (one segment, or the
/// backbone's and the head's when fine-tuning).
pub struct GpuOptimizer {
    config: OptimizerConfig,
    learning_rate: f64,
    /// Each segment's length, learning-rate factor and update.
    segments: Vec<(usize, f64)>,
    dispatches: Vec<Dispatch>,
    step: i32,
    _moments: [Tensor; 2],
}

impl GpuOptimizer {
    /// Binds the update of `values` from `grads` over `segments`: contiguous, ascending ranges of values (each
    /// starting at a multiple of [`super::buffers::BINDING_ALIGNMENT`]), each with its learning-rate factor.
    /// Values before the first segment (a frozen backbone) get no update and no moments.
    pub fn new(
        context: &GpuContext,
        library: &mut Library,
        config: &OptimizerConfig,
        values: &Tensor,
        grads: &Tensor,
        segments: &[(Range<usize>, f64)],
    ) -> Result<Self, GpuError> {
        config.validate().map_err(|e| GpuError::Unsupported(e.to_string()))?;
        let segments: Vec<&(Range<usize>, f64)> = segments.iter().filter(|(range, _)| !range.is_empty()).collect();
        let start = segments.first().map_or(0, |(range, _)| range.start);
        let end = segments.last().map_or(0, |(range, _)| range.end);
        if end > values.len || segments.windows(2).any(|pair| pair[0].0.end != pair[1].0.start) {
            return Err(GpuError::Unsupported(format!(
                "optimizer segments {segments:?} over {} parameters",
                values.len
            )));
        }
        let moments = [
            Tensor::zeros(context, end - start, "first moment"),
            Tensor::zeros(context, end - start, "second moment"),
        ];
        let entry = match config {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
        };
        let mut dispatches = Vec::new();
        for (range, _) in &segments {
            let (offset, len) = (range.start, range.len());
            let mut buffers = vec![
                (1, values.slice_binding(offset, len)),
                (2, grads.slice_binding(offset, len)),
                (3, moments[0].slice_binding(offset - start, len)),
            ];
            if entry == "adam" {
                buffers.push((4, moments[1].slice_binding(offset - start, len)));
            }
            dispatches.push(library.dispatch(context, "optimizer", OPTIMIZER, entry, &[0; 12], &buffers, grid(len))?);
        }
        Ok(Self {
            learning_rate: config.learning_rate(),
            config: config.clone(),
            segments: segments.iter().map(|(range, factor)| (range.len(), *factor)).collect(),
            dispatches,
            step: 0,
            _moments: moments,
        })
    }

    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The learning rate of the coming steps (a schedule's).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Writes this step's constants (as the CPU optimizers compute them: in f64, then rounded to f32) and
    /// returns the dispatches to record after the backward pass.
    pub fn prepare_step(&mut self, context: &GpuContext) -> &[Dispatch] {
        self.step = self.step.saturating_add(1);
        for (&(len, factor), dispatch) in self.segments.iter().zip(&self.dispatches) {
            let words = self.constants(len, self.learning_rate * factor);
            dispatch.write_params(context, &words);
        }
        &self.dispatches
    }

    /// The uniform block of one segment of `len` values learning at `learning_rate`.
    fn constants(&self, len: usize, learning_rate: f64) -> [u32; 12] {
        let f = |v: f64| (v as f32).to_bits();
        match self.config {
            OptimizerConfig::Sgd {
                momentum,
                weight_decay,
                nesterov,
                ..
            } => [
                len as u32,
                u32::from(self.step == 1),
                u32::from(nesterov),
                u32::from(momentum != 0.0),
                f(learning_rate),
                f(momentum),
                f(weight_decay),
                0,
                0,
                0,
                0,
                0,
            ],
            OptimizerConfig::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                let bias_correction1 = 1.0 - beta1.powi(self.step);
                let bias_correction2 = 1.0 - beta2.powi(self.step);
                [
                    len as u32,
                    0,
                    0,
                    0,
                    f(learning_rate),
                    0,
                    f(weight_decay),
                    f(learning_rate / bias_correction1),
                    f(1.0 / bias_correction2.sqrt()),
                    f(beta1),
                    f(beta2),
                    f(eps),
                ]
            }
        }
    }
}
