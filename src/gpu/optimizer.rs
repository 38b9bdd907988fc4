//! SGD and Adam on the GPU (`shaders/optimizer.wgsl`): one dispatch over the flat parameter buffer, the
//! moments kept on the GPU, the step-dependent constants written into its uniform block each step.
use super::buffers::Tensor;
use super::kernel::{grid, Dispatch, Library};
use super::shaders::OPTIMIZER;
use super::{GpuContext, GpuError};
use crate::optim::OptimizerConfig;

/// The GPU twin of [`crate::optim::Sgd`] / [`crate::optim::Adam`] over the whole network.
pub struct GpuOptimizer {
    config: OptimizerConfig,
    learning_rate: f64,
    dispatch: Dispatch,
    len: usize,
    step: i32,
    _moments: [Tensor; 2],
}

impl GpuOptimizer {
    /// Binds the update of `values` (`len` of them) from `grads`.
    pub fn new(
        context: &GpuContext,
        library: &mut Library,
        config: &OptimizerConfig,
        values: &Tensor,
        grads: &Tensor,
    ) -> Result<Self, GpuError> {
        config.validate().map_err(|e| GpuError::Unsupported(e.to_string()))?;
        let len = values.len;
        let moments = [
            Tensor::zeros(context, len, "first moment"),
            Tensor::zeros(context, len, "second moment"),
        ];
        let entry = match config {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
        };
        let mut buffers = vec![(1, values.binding()), (2, grads.binding()), (3, moments[0].binding())];
        if entry == "adam" {
            buffers.push((4, moments[1].binding()));
        }
        let dispatch = library.dispatch(context, "optimizer", OPTIMIZER, entry, &[0; 12], &buffers, grid(len))?;
        Ok(Self {
            learning_rate: config.learning_rate(),
            config: config.clone(),
            dispatch,
            len,
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
    /// returns the dispatch to record after the backward pass.
    pub fn prepare_step(&mut self, context: &GpuContext) -> &Dispatch {
        self.step = self.step.saturating_add(1);
        let f = |v: f64| (v as f32).to_bits();
        let words = match self.config {
            OptimizerConfig::Sgd {
                momentum,
                weight_decay,
                nesterov,
                ..
            } => [
                self.len as u32,
                u32::from(self.step == 1),
                u32::from(nesterov),
                u32::from(momentum != 0.0),
                f(self.learning_rate),
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
                    self.len as u32,
                    0,
                    0,
                    0,
                    f(self.learning_rate),
                    0,
                    f(weight_decay),
                    f(self.learning_rate / bias_correction1),
                    f(1.0 / bias_correction2.sqrt()),
                    f(beta1),
                    f(beta2),
                    f(eps),
                ]
            }
        };
        self.dispatch.write_params(context, &words);
        &self.dispatch
    }
}
