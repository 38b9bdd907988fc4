//! Global average pooling: each channel's feature map reduced to its mean.
//! GPU twin: `gpu/shaders/pooling.wgsl` (`average_forward`, `average_backward`).
use ndarray::{Array2, ArrayView2};

use super::{Layer, Mode};
use crate::error::ConfigError;
use crate::kernels;
use crate::Scalar;

/// Global average pooling over the `P = H·W` pixels of each channel.
///
/// Forward: `y[c] = (1/P) Σ_p x[c, p]`. Backward: every pixel contributes with weight `1/P`, so
/// `∂L/∂x[c, p] = ∂L/∂y[c] / P`.
#[derive(Clone, Debug)]
pub struct GlobalAvgPool {
    channels: usize,
}

impl GlobalAvgPool {
    /// Pools `channels` feature maps (of any size: `P` is the input features divided by `channels`).
    pub fn new(channels: usize) -> Result<Self, ConfigError> {
        if channels == 0 {
            return Err(ConfigError::new("channels", "at least 1", channels));
        }
        Ok(Self { channels })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }
}

impl<T: Scalar> Layer<T> for GlobalAvgPool {
    fn name(&self) -> String {
        format!("GlobalAvgPool({})", self.channels)
    }

    fn output_features(&self, _input_features: usize) -> usize {
        self.channels
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::GlobalAvgPool {
            channels: self.channels,
        }
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [N, C·P], y: [N, C]
        kernels::ensure_shape(output, input.nrows(), self.channels);
        kernels::global_average_pool(input, output.view_mut());
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // ∂L/∂x[c, p] = ∂L/∂y[c] / P
        if let Some(grad_input) = grad_input {
            kernels::ensure_shape(grad_input, input.nrows(), input.ncols());
            kernels::global_average_pool_backward(grad_output, grad_input.view_mut());
        }
    }
}
