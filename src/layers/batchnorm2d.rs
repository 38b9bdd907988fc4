//! BatchNorm2d: batch normalisation of each channel over the batch and all its pixels.
//! GPU twin: `gpu/shaders/batchnorm.wgsl` (with `P = H·W`).
use ndarray::{Array2, ArrayView2};

use super::{BatchNorm1d, Layer, Mode, ParamView, StateTensor};
use crate::error::ConfigError;
use crate::Scalar;

/// Batch normalisation per channel over `N·H·W` values, as PyTorch's `BatchNorm2d`.
///
/// It is [`BatchNorm1d`] with every pixel of every sample counted as one more observation of its channel:
/// the per-channel statistics run over the batch and the pixels. So the formulas are BatchNorm1d's with
/// `S = N·H·W` values per channel, with `g = ∂L/∂Y ∘ γ`:
/// - training: `x̂ = (x − μ_B)/√(σ²_B + ε)` (biased `σ²_B`), `y = γ ∘ x̂ + β`; running statistics with
///   momentum 0.1, the running variance from the unbiased `σ²_B · S/(S − 1)`;
/// - `∂L/∂β = Σ_{n,h,w} ∂L/∂Y`, `∂L/∂γ = Σ_{n,h,w} ∂L/∂Y ∘ X̂`,
///   `∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂))`, means over `N·H·W`;
/// - evaluation: the running statistics are constants, `∂L/∂x = g / √(running_var + ε)`.
///
/// The images stay channel-major (`[N, C·H·W]`): the kernels walk each channel's pixels in place
/// ([`crate::kernels::channel_statistics`], [`crate::kernels::normalize_channels`]), no transposing to pixel rows.
#[derive(Clone, Debug)]
pub struct BatchNorm2d<T: Scalar> {
    /// The normalisation itself: its `gamma`, `beta`, `running_mean`, `running_var` are the per-channel ones.
    pub per_channel: BatchNorm1d<T>,
}

impl<T: Scalar> BatchNorm2d<T> {
    pub fn new(channels: usize) -> Result<Self, ConfigError> {
        if channels == 0 {
            return Err(ConfigError::new("channels", "at least 1", channels));
        }
        Ok(Self {
            per_channel: BatchNorm1d::new(channels),
        })
    }

    pub fn channels(&self) -> usize {
        self.per_channel.features()
    }
}

impl<T: Scalar> Layer<T> for BatchNorm2d<T> {
    fn name(&self) -> String {
        format!("BatchNorm2d({})", self.channels())
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, mode: Mode) {
        // x: [N, C·H·W], statistics per channel over N·H·W, y: [N, C·H·W]
        self.per_channel.forward(input, output, mode);
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        self.per_channel.backward(input, output, grad_output, grad_input);
    }

    fn kind(&self) -> super::LayerKind {
        match self.per_channel.kind() {
            super::LayerKind::BatchNorm1d {
                features,
                momentum,
                eps,
            } => super::LayerKind::BatchNorm2d {
                channels: features,
                momentum,
                eps,
            },
            other => other,
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        self.per_channel.visit_params(visit);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&'static str, &mut [T])) {
        self.per_channel.visit_buffers(visit);
    }

    fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        self.per_channel.visit_state(visit);
    }
}
