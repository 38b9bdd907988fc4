//! 2-D max pooling: the largest value of each window, per channel.
//! GPU twin: `gpu/shaders/pooling.wgsl` (`max_forward`, `max_backward`).
use ndarray::{Array2, ArrayView2};

use super::{Layer, Mode};
use crate::error::ConfigError;
use crate::kernels::{self, SlidingWindow};
use crate::Scalar;

/// Max pooling as data: `channels×height×width` images, a square `kernel` slid with `stride`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaxPool2dConfig {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Padding on every side; it counts as −∞, so it never wins.
    pub padding: usize,
}

impl MaxPool2dConfig {
    /// The ConvNet's pooling: 3×3 windows, stride 2, padding 1 (halves the size, 32 → 16).
    pub fn convnet(channels: usize, (height, width): (usize, usize)) -> Self {
        Self {
            channels,
            height,
            width,
            kernel: 3,
            stride: 2,
            padding: 1,
        }
    }

    /// The sliding window over the input, validated.
    pub fn window(&self) -> Result<SlidingWindow, ConfigError> {
        // as PyTorch: with more padding a window could lie entirely on the padding and output −∞
        if 2 * self.padding > self.kernel {
            return Err(ConfigError::new(
                "padding",
                format!("at most half the kernel size ({})", self.kernel / 2),
                self.padding,
            ));
        }
        SlidingWindow::new(
            self.channels,
            (self.height, self.width),
            self.kernel,
            self.stride,
            self.padding,
        )
    }
}

/// Max pooling over `kernel×kernel` windows of each channel.
///
/// Forward: `y[c, o] = max_{p ∈ window(o)} x[c, p]`, remembering `argmax(o)`.
///
/// Backward: the maximum is locally the identity of its argmax and constant in the other inputs, so
/// `∂L/∂x[c, p] = Σ_{o : argmax(o) = p} ∂L/∂y[c, o]`: each output's gradient goes to its window's argmax
/// (ties, a measure-zero event for real inputs, go to the first maximum).
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    window: SlidingWindow,
    /// For every output of the latest forward, the index of its maximum within the sample.
    argmax: Vec<usize>,
}

impl MaxPool2d {
    /// Builds the layer, or says which part of the configuration is invalid.
    pub fn new(config: &MaxPool2dConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            window: config.window()?,
            argmax: Vec::new(),
        })
    }

    pub fn window(&self) -> &SlidingWindow {
        &self.window
    }
}

impl<T: Scalar> Layer<T> for MaxPool2d {
    fn name(&self) -> String {
        let w = &self.window;
        format!(
            "MaxPool2d({}×{}, stride {}, pad {})",
            w.kernel, w.kernel, w.stride, w.padding
        )
    }

    fn output_features(&self, _input_features: usize) -> usize {
        self.window.channels * self.window.positions()
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::MaxPool2d { window: self.window }
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [N, C·H·W], y: [N, C·OH·OW]
        let features = self.window.channels * self.window.positions();
        kernels::ensure_shape(output, input.nrows(), features);
        self.argmax.resize(input.nrows() * features, 0);
        kernels::max_pool(input, &self.window, output.view_mut(), &mut self.argmax);
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // ∂L/∂x[argmax(o)] += ∂L/∂y[o]
        if let Some(grad_input) = grad_input {
            kernels::ensure_shape(grad_input, input.nrows(), input.ncols());
            kernels::max_pool_backward(grad_output, &self.argmax, grad_input.view_mut());
        }
    }
}
