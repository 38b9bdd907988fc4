//! 2-D convolution, lowered to a matrix product with im2col: `Y = W · cols(X) + b 1ᵀ` per sample.
use ndarray::{Array2, ArrayBase, ArrayView2, Ix1, Ix2, Ix4, RawData};
use rand::Rng;

use super::{Layer, Linear, LinearInit, Mode, Param, ParamView};
use crate::error::ConfigError;
use crate::kernels::{self, SlidingWindow, Transpose};
use crate::Scalar;

/// A convolution as data: `in_channels×height×width` images in, `out_channels` feature maps out.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conv2dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    pub stride: usize,
    /// Zero padding added on every side.
    pub padding: usize,
    /// Input height and width.
    pub height: usize,
    pub width: usize,
    pub bias: bool,
    pub init: LinearInit,
}

impl Conv2dConfig {
    /// A `kernel×kernel` convolution with stride 1, no padding, a bias and PyTorch's initialisation.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize, (height, width): (usize, usize)) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            padding: 0,
            height,
            width,
            bias: true,
            init: LinearInit::PyTorch,
        }
    }

    pub fn with_stride(self, stride: usize) -> Self {
        Self { stride, ..self }
    }

    pub fn with_padding(self, padding: usize) -> Self {
        Self { padding, ..self }
    }

    pub fn with_bias(self, bias: bool) -> Self {
        Self { bias, ..self }
    }

    pub fn with_init(self, init: LinearInit) -> Self {
        Self { init, ..self }
    }

    /// The sliding window over the input, validated.
    pub fn window(&self) -> Result<SlidingWindow, ConfigError> {
        SlidingWindow::new(
            self.in_channels,
            (self.height, self.width),
            self.kernel,
            self.stride,
            self.padding,
        )
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.out_channels == 0 {
            return Err(ConfigError::new("output channels", "at least 1", self.out_channels));
        }
        if let LinearInit::Normal { std } = self.init {
            if !(std.is_finite() && std >= 0.0) {
                return Err(ConfigError::new(
                    "init std",
                    "a finite, non-negative standard deviation",
                    std,
                ));
            }
        }
        self.window().map(|_| ())
    }
}

/// A 2-D convolution (cross-correlation, as in PyTorch) with weights `W: [C_out, C_in, k, k]`.
///
/// Forward, per sample, with `cols(X): [C_in·k·k, OH·OW]` the windows of the padded input as columns
/// ([`kernels::im2col`]) and `W` seen as a `[C_out, C_in·k·k]` matrix:
/// `Y = W · cols(X) + b 1ᵀ` (`Y: [C_out, OH·OW]`, i.e. `C_out×OH×OW`), with `OH = ⌊(H + 2p − k)/s⌋ + 1`.
///
/// Backward: this is a linear layer applied to every window, so, summed over samples,
/// - `∂L/∂W = Σₙ ∂L/∂Yₙ · cols(Xₙ)ᵀ`,
/// - `∂L/∂b = Σₙ ∂L/∂Yₙ 1` (the sum over samples and positions of each output channel),
/// - `∂L/∂Xₙ = col2im(Wᵀ · ∂L/∂Yₙ)`: the gradient of every window entry goes back to the pixel it was read
///   from ([`kernels::col2im`]), so pixels shared by overlapping windows add up their contributions.
///
/// Initialisation is a linear layer's with `fan_in = C_in·k·k` (PyTorch: `W, b ~ U(±1/√fan_in)`).
#[derive(Clone, Debug)]
pub struct Conv2d<T: Scalar> {
    pub weight: Param<T, Ix4>,
    pub bias: Option<Param<T, Ix1>>,
    window: SlidingWindow,
    /// `cols(Xₙ)` of the sample being processed, rebuilt per sample rather than stored for the batch.
    cols: Array2<T>,
    /// `Wᵀ · ∂L/∂Yₙ` of the sample being processed.
    grad_cols: Array2<T>,
}

impl<T: Scalar> Conv2d<T> {
    /// Builds the layer, or says which part of the configuration is invalid.
    pub fn new(config: &Conv2dConfig, rng: &mut impl Rng) -> Result<Self, ConfigError> {
        config.validate()?;
        let window = config.window()?;
        let (out_channels, fan_in) = (config.out_channels, window.patch_len());
        // PyTorch initialises a convolution exactly as a linear layer from its `fan_in` inputs
        let linear = Linear::<T>::new(fan_in, out_channels, config.init, rng);
        let shape = (out_channels, config.in_channels, config.kernel, config.kernel);
        let weight = linear
            .weight
            .value
            .into_shape_with_order(shape)
            .expect("W holds C_out·C_in·k·k values");
        let bias = config.bias.then(|| Param::new(linear.bias.value));
        Ok(Self {
            weight: Param::new(weight),
            bias,
            window,
            cols: Array2::zeros((window.patch_len(), window.positions())),
            grad_cols: Array2::zeros((window.patch_len(), window.positions())),
        })
    }

    pub fn window(&self) -> &SlidingWindow {
        &self.window
    }

    pub fn out_channels(&self) -> usize {
        self.weight.value.shape()[0]
    }
}

/// `W: [C_out, C_in, k, k]` (or its gradient) seen as the `[C_out, C_in·k·k]` matrix of the GEMM: the same
/// memory, since the layout is C-major.
fn as_matrix<T: Scalar, S: RawData<Elem = T>>(weight: ArrayBase<S, Ix4>) -> ArrayBase<S, Ix2> {
    let (out_channels, in_channels, k, _) = weight.dim();
    weight
        .into_shape_with_order((out_channels, in_channels * k * k))
        .expect("W is stored contiguously")
}

impl<T: Scalar> Layer<T> for Conv2d<T> {
    fn name(&self) -> String {
        let w = &self.window;
        format!(
            "Conv2d({}→{}, {}×{}, stride {}, pad {})",
            w.channels,
            self.out_channels(),
            w.kernel,
            w.kernel,
            w.stride,
            w.padding
        )
    }

    fn output_features(&self, _input_features: usize) -> usize {
        self.out_channels() * self.window.positions()
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [N, C_in·H·W], cols: [C_in·k·k, OH·OW], W: [C_out, C_in·k·k], y: [N, C_out·OH·OW]
        let (out_channels, positions) = (self.out_channels(), self.window.positions());
        kernels::ensure_shape(output, input.nrows(), out_channels * positions);
        let weight = as_matrix(self.weight.value.view());
        for (x, y) in input.rows().into_iter().zip(output.rows_mut()) {
            let mut y = y
                .into_shape_with_order((out_channels, positions))
                .expect("y is C_out·OH·OW");
            // Y = W · cols(X) + b 1ᵀ
            kernels::im2col(x, &self.window, self.cols.view_mut());
            kernels::gemm(
                T::one(),
                weight,
                Transpose::No,
                self.cols.view(),
                Transpose::No,
                T::zero(),
                y.view_mut(),
            );
            if let Some(bias) = &self.bias {
                kernels::add_column_vector(y, bias.value.view());
            }
        }
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        mut grad_input: Option<&mut Array2<T>>,
    ) {
        let (out_channels, positions) = (self.out_channels(), self.window.positions());
        if let Some(grad_input) = grad_input.as_deref_mut() {
            kernels::ensure_shape(grad_input, input.nrows(), self.window.input_features());
        }
        let weight = as_matrix(self.weight.value.view());
        let mut grad_weight = as_matrix(self.weight.grad.view_mut());
        grad_weight.fill(T::zero());
        if let Some(bias) = &mut self.bias {
            bias.grad.fill(T::zero());
        }
        for (n, (x, dy)) in input.rows().into_iter().zip(grad_output.rows()).enumerate() {
            let dy = dy
                .into_shape_with_order((out_channels, positions))
                .expect("∂L/∂Y is C_out·OH·OW");
            // ∂L/∂W += ∂L/∂Yₙ · cols(Xₙ)ᵀ (cols rebuilt: cheaper in memory than keeping the batch's)
            kernels::im2col(x, &self.window, self.cols.view_mut());
            kernels::gemm(
                T::one(),
                dy,
                Transpose::No,
                self.cols.view(),
                Transpose::Yes,
                T::one(),
                grad_weight.view_mut(),
            );
            // ∂L/∂b += ∂L/∂Yₙ 1
            if let Some(bias) = &mut self.bias {
                kernels::add_row_sums(dy, bias.grad.view_mut());
            }
            // ∂L/∂Xₙ = col2im(Wᵀ · ∂L/∂Yₙ)
            if let Some(grad_input) = grad_input.as_deref_mut() {
                kernels::gemm(
                    T::one(),
                    weight,
                    Transpose::Yes,
                    dy,
                    Transpose::No,
                    T::zero(),
                    self.grad_cols.view_mut(),
                );
                kernels::col2im(self.grad_cols.view(), &self.window, grad_input.row_mut(n));
            }
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.weight.view_mut("weight"));
        if let Some(bias) = &mut self.bias {
            visit(bias.view_mut("bias"));
        }
    }
}
