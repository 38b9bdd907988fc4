//! SGD and Adam on the GPU (`shaders/optimizer.wgsl`): one dispatch over the flat parameter buffer, the
//! moments kept on the GPU, the step-dependent constants written into its uniform block each step (with the
//! learning rate, momentum and weight decay of that step: a schedule's, or the page's live changes).
use super::buffers::Tensor;
use super::kernel::{grid, Dispatch, Library};
use super::shaders::OPTIMIZER;
use super::{GpuContext, GpuError};
use std::ops::Range;

use crate::optim::{OptimizerConfig, OptimizerState};
use crate::train::Hyperparameters;

/// The GPU twin of [`crate::optim::Sgd`] / [`crate::optim::Adam`] over the whole network: one dispatch per
/// segment of the flat parameter buffer that learns at its own factor of the learning rate (one segment, or the
/// backbone's and the head's when fine-tuning).
pub struct GpuOptimizer {
    config: OptimizerConfig,
    /// The learning rate, momentum and weight decay of the coming steps (as [`crate::optim::Optimizer`]'s
    /// setters change the CPU optimizer's).
    settings: Hyperparameters,
    /// SGD: whether a step has used momentum (or a restored state held its buffers): only then are they part
    /// of the state, as the CPU optimizer's, which creates them at the first step with momentum.
    momentum_used: bool,
    /// Each segment's length, learning-rate factor and update.
    segments: Vec<(usize, f64)>,
    dispatches: Vec<Dispatch>,
    step: i32,
    /// Each trainable parameter's values in the moments, in `visit_trainable_params` order.
    parameters: Vec<Range<usize>>,
    moments: [Tensor; 2],
}

impl GpuOptimizer {
    /// Binds the update of `values` from `grads` over `segments`: contiguous, ascending ranges of values (each
    /// starting at a multiple of [`super::buffers::BINDING_ALIGNMENT`]), each with its learning-rate factor.
    /// Values before the first segment (a frozen backbone) get no update and no moments. `parameters`: where
    /// each parameter lies in `values` (in `visit_params` order); those inside the segments are the trainable
    /// ones, whose moments [`GpuOptimizer::read_state_async`] and [`GpuOptimizer::write_state`] exchange with
    /// the CPU optimizer.
    pub fn new(
        context: &GpuContext,
        library: &mut Library,
        config: &OptimizerConfig,
        (values, grads): (&Tensor, &Tensor),
        segments: &[(Range<usize>, f64)],
        parameters: &[Range<usize>],
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
            settings: Hyperparameters::of(config),
            momentum_used: matches!(config, OptimizerConfig::Sgd { momentum, .. } if *momentum != 0.0),
            config: config.clone(),
            segments: segments.iter().map(|(range, factor)| (range.len(), *factor)).collect(),
            dispatches,
            step: 0,
            parameters: parameters
                .iter()
                .filter(|range| range.start >= start && range.end <= end)
                .map(|range| range.start - start..range.end - start)
                .collect(),
            moments,
        })
    }

    /// The CPU optimizer's slots of this kind (as [`crate::optim::Optimizer::state`] names them) and whether
    /// the GPU keeps them (SGD without momentum keeps none).
    fn slots(&self) -> Vec<&'static str> {
        match self.config {
            OptimizerConfig::Adam { .. } => vec!["exp_avg", "exp_avg_sq"],
            OptimizerConfig::Sgd { .. } if self.momentum_used => vec!["momentum_buffer"],
            OptimizerConfig::Sgd { .. } => Vec::new(),
        }
    }

    /// The step count the CPU optimizer keeps: Adam's steps, SGD's 1 once its momentum buffers exist.
    fn cpu_step(&self) -> i64 {
        match self.config {
            OptimizerConfig::Adam { .. } => i64::from(self.step),
            OptimizerConfig::Sgd { .. } => i64::from(self.step > 0),
        }
    }

    /// The moments as the CPU optimizer's state ([`crate::optim::Optimizer::state`]): Adam's `exp_avg` and
    /// `exp_avg_sq`, SGD's `momentum_buffer` (none without momentum), one vector per trainable parameter;
    /// read back without blocking. With it a GPU run is saved (`--save-run`) and continued on either backend.
    pub async fn read_state_async(&self, context: &GpuContext) -> Result<OptimizerState<f32>, GpuError> {
        let mut slots = Vec::new();
        for (name, moment) in self.slots().into_iter().zip(&self.moments) {
            let per_parameter = if self.step == 0 {
                Vec::new() // as the CPU optimizer before its first step
            } else {
                let flat = moment.read_f32_async(context).await?;
                self.parameters
                    .iter()
                    .map(|range| flat[range.clone()].to_vec())
                    .collect()
            };
            slots.push((name, per_parameter));
        }
        let slots = match self.config {
            OptimizerConfig::Sgd { .. } if slots.is_empty() => vec![("momentum_buffer", Vec::new())],
            _ => slots,
        };
        Ok(OptimizerState {
            step: self.cpu_step(),
            slots,
        })
    }

    /// Puts a CPU optimizer's state ([`crate::optim::Optimizer::state`], e.g. of a resumed run) on the GPU:
    /// the step count and the moments of every trainable parameter (none yet: zeros).
    pub fn write_state(&mut self, context: &GpuContext, state: &OptimizerState<f32>) -> Result<(), GpuError> {
        let slots = match self.config {
            // the buffers of a momentum switched on by a live change, even if the run was built without
            OptimizerConfig::Sgd { .. } => vec!["momentum_buffer"],
            OptimizerConfig::Adam { .. } => self.slots(),
        };
        for (name, moment) in slots.into_iter().zip(&self.moments) {
            let per_parameter = state
                .slots
                .iter()
                .find(|(slot, _)| *slot == name)
                .map_or(&[][..], |(_, values)| values.as_slice());
            let mut flat = vec![0.0; moment.len];
            if !per_parameter.is_empty() {
                if per_parameter.len() != self.parameters.len() {
                    return Err(GpuError::Unsupported(format!(
                        "optimizer state: expected `{name}` for {} parameters, found {}",
                        self.parameters.len(),
                        per_parameter.len()
                    )));
                }
                for (range, values) in self.parameters.iter().zip(per_parameter) {
                    if values.len() != range.len() {
                        return Err(GpuError::Unsupported(format!(
                            "optimizer state: expected `{name}` of {} values, found {}",
                            range.len(),
                            values.len()
                        )));
                    }
                    flat[range.clone()].copy_from_slice(values);
                }
                self.momentum_used |= name == "momentum_buffer";
            }
            moment.write_f32(context, &flat);
        }
        self.step = i32::try_from(state.step)
            .map_err(|_| GpuError::Unsupported(format!("optimizer step {}: expected a count below 2³¹", state.step)))?;
        Ok(())
    }

    pub fn learning_rate(&self) -> f64 {
        self.settings.learning_rate
    }

    /// The learning rate, momentum and weight decay of the coming steps (a schedule's, the page's live
    /// changes), as [`crate::train::Trainer`] sets them on the CPU optimizer; Adam's β₁ stays as built.
    pub fn set_hyperparameters(&mut self, settings: Hyperparameters) {
        self.settings = settings;
    }

    /// Writes this step's constants (as the CPU optimizers compute them: in f64, then rounded to f32) and
    /// returns the dispatches to record after the backward pass.
    pub fn prepare_step(&mut self, context: &GpuContext) -> &[Dispatch] {
        self.step = self.step.saturating_add(1);
        self.momentum_used |= self.settings.momentum != 0.0;
        for (&(len, factor), dispatch) in self.segments.iter().zip(&self.dispatches) {
            let words = self.constants(len, self.settings.learning_rate * factor);
            dispatch.write_params(context, &words);
        }
        &self.dispatches
    }

    /// The uniform block of one segment of `len` values learning at `learning_rate`.
    fn constants(&self, len: usize, learning_rate: f64) -> [u32; 12] {
        let f = |v: f64| (v as f32).to_bits();
        let Hyperparameters {
            momentum, weight_decay, ..
        } = self.settings;
        match self.config {
            OptimizerConfig::Sgd { nesterov, .. } => [
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
            OptimizerConfig::Adam { beta1, beta2, eps, .. } => {
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
