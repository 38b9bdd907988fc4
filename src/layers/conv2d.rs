//! 2-D convolution, lowered to a matrix product with im2col: `Y = W · cols(X) + b 1ᵀ` per sample, a group of
//! samples per product.
//! GPU twin: `gpu/shaders/gemm.wgsl` (implicit GEMM: the same products, im2col computed on the fly).
use ndarray::{s, Array2, ArrayBase, ArrayView2, ArrayViewMut2, Axis, Ix1, Ix2, Ix4, RawData, ShapeBuilder};
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
///   With stride 1 the same sum is a convolution of `∂L/∂Y` padded by `k − 1 − p` with the kernel rotated by
///   180° and its channel axes swapped, `W'[c_in, c_out, i, j] = W[c_out, c_in, k−1−i, k−1−j]`:
///   `∂L/∂Xₙ = W' · cols'(∂L/∂Yₙ)`. That product's inner dimension is `C_out·k·k` rather than `C_out`
///   (a far better GEMM shape) and im2col replaces col2im's scattered additions, so stride-1 layers use it.
///
/// The samples are processed in groups of `G` whose windows sit side by side, `cols: [C_in·k·k, G·OH·OW]`,
/// so each formula above is one GEMM per group: `[Y₁ … Y_G] = W · [cols(X₁) … cols(X_G)]`, and
/// `Σₙ ∂L/∂Yₙ · cols(Xₙ)ᵀ` is the product of the side-by-side matrices. `G` is chosen to give the GEMM about
/// [`GEMM_COLUMNS`] columns: deep layers with few positions (a 2×2 map has 4) then still make one large
/// product instead of many thin ones.
///
/// Initialisation is a linear layer's with `fan_in = C_in·k·k` (PyTorch: `W, b ~ U(±1/√fan_in)`).
#[derive(Clone, Debug)]
pub struct Conv2d<T: Scalar> {
    pub weight: Param<T, Ix4>,
    pub bias: Option<Param<T, Ix1>>,
    window: SlidingWindow,
    /// `[cols(X₁) … cols(X_G)]` of the group being processed (in the backward pass then `Wᵀ · ∂L/∂Y` of the
    /// group): rebuilt per group rather than stored for the batch. Grows to its largest size once.
    cols: Vec<T>,
    /// `[Y₁ … Y_G]` (or `[∂L/∂Y₁ … ∂L/∂Y_G]`) of the group, `[C_out, G·OH·OW]`.
    maps: Vec<T>,
    /// For stride 1: the window that slides over `∂L/∂Y` to give `∂L/∂X` as a convolution (see
    /// [`Conv2d`]); `None` for other strides, which scatter with col2im.
    transposed_window: Option<SlidingWindow>,
    /// `W'`, the kernel of that convolution: `W'[c_in, (c_out, i, j)] = W[c_out, c_in, k−1−i, k−1−j]`.
    flipped: Vec<T>,
    /// `[∂L/∂X₁ … ∂L/∂X_G]` of the group, `[C_in, G·H·W]`.
    grad_maps: Vec<T>,
}

/// About how many columns (samples × positions) one convolution GEMM gets; see [`Conv2d`]. With the wasm
/// build's GEMM (which reads `cols` in place) 512 measured best: small CNN 25.9 / 26.0 / 25.4 GFLOP/s with 256
/// / 512 / 1024, VGG-small 29.1 / 30.0 / 29.6.
pub const GEMM_COLUMNS: usize = 512;

/// Values after the end of every row of the work matrices below. Rows of 256 or 1024 values would lie a
/// multiple of 1 KiB apart, and a GEMM that reads a panel of such a matrix in place, a cache line from each
/// row, would then find all those lines in the same few sets of the L1 cache and evict them from each other.
/// A cache line more per row breaks the pattern (measured in wasm: `[24, 27] · [27, 1024]` 22.6 →
/// 29.5 GFLOP/s, `[20, 400] · [400, 256]` 32.3 → 33.6).
pub const ROW_PADDING: usize = 16;

/// A `[rows, columns]` matrix over the start of `buffer` with rows [`ROW_PADDING`] values longer than
/// `columns`, the buffer grown if it is too short.
fn matrix_in<T: Scalar>(buffer: &mut Vec<T>, rows: usize, columns: usize) -> ArrayViewMut2<'_, T> {
    let row_stride = columns + ROW_PADDING;
    if buffer.len() < rows * row_stride {
        buffer.resize(rows * row_stride, T::zero());
    }
    ArrayViewMut2::from_shape(
        (rows, columns).strides((row_stride, 1)),
        &mut buffer[..rows * row_stride],
    )
    .expect("the buffer is long enough")
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
        // ∂L/∂X of a stride-1 convolution is a stride-1 convolution of ∂L/∂Y with padding k − 1 − p
        let transposed_window = (window.stride == 1 && window.padding < window.kernel)
            .then(|| {
                SlidingWindow::new(
                    config.out_channels,
                    (window.output_height(), window.output_width()),
                    window.kernel,
                    1,
                    window.kernel - 1 - window.padding,
                )
                .ok()
            })
            .flatten()
            .filter(|w| (w.output_height(), w.output_width()) == (window.height, window.width));
        Ok(Self {
            weight: Param::new(weight),
            bias,
            window,
            cols: Vec::new(),
            maps: Vec::new(),
            transposed_window,
            flipped: Vec::new(),
            grad_maps: Vec::new(),
        })
    }

    /// `G`: the samples convolved by one GEMM, for a batch of `batch`.
    fn group_size(&self, batch: usize) -> usize {
        GEMM_COLUMNS.div_ceil(self.window.positions()).clamp(1, batch.max(1))
    }

    pub fn window(&self) -> &SlidingWindow {
        &self.window
    }

    pub fn out_channels(&self) -> usize {
        self.weight.value.shape()[0]
    }

    /// Fills [`Conv2d::flipped`]: `W'[c_in, (c_out, i, j)] = W[c_out, c_in, k−1−i, k−1−j]`, the kernel
    /// rotated by 180° with the channel axes swapped.
    fn flip_weight(&mut self) {
        let (out_channels, in_channels, k, _) = self.weight.value.dim();
        self.flipped.resize(in_channels * out_channels * k * k, T::zero());
        let mut flipped = self.flipped.iter_mut();
        for c_in in 0..in_channels {
            for c_out in 0..out_channels {
                for i in 0..k {
                    for j in 0..k {
                        *flipped.next().expect("sized above") = self.weight.value[[c_out, c_in, k - 1 - i, k - 1 - j]];
                    }
                }
            }
        }
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
        // x: [N, C_in·H·W], cols: [C_in·k·k, G·OH·OW], W: [C_out, C_in·k·k], y: [N, C_out·OH·OW]
        let (out_channels, positions) = (self.out_channels(), self.window.positions());
        kernels::ensure_shape(output, input.nrows(), out_channels * positions);
        let group = self.group_size(input.nrows());
        let weight = as_matrix(self.weight.value.view());
        let bias = self.bias.as_ref().map(|b| b.value.view());
        let samples = input
            .axis_chunks_iter(Axis(0), group)
            .zip(output.axis_chunks_iter_mut(Axis(0), group));
        for (x, y) in samples {
            let columns = x.nrows() * positions;
            let mut cols = matrix_in(&mut self.cols, self.window.patch_len(), columns);
            let mut maps = matrix_in(&mut self.maps, out_channels, columns);
            // [Y₁ … Y_G] = W · [cols(X₁) … cols(X_G)] + b 1ᵀ
            kernels::im2col(x, &self.window, cols.view_mut());
            kernels::gemm(
                T::one(),
                weight,
                Transpose::No,
                cols.view(),
                Transpose::No,
                T::zero(),
                maps.view_mut(),
            );
            kernels::channel_major_to_samples(maps.view(), bias, y);
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
        if self.transposed_window.is_some() && grad_input.is_some() {
            self.flip_weight();
        }
        let group = self.group_size(input.nrows());
        let weight = as_matrix(self.weight.value.view());
        let mut grad_weight = as_matrix(self.weight.grad.view_mut());
        grad_weight.fill(T::zero());
        if let Some(bias) = &mut self.bias {
            bias.grad.fill(T::zero());
        }
        let samples = input
            .axis_chunks_iter(Axis(0), group)
            .zip(grad_output.axis_chunks_iter(Axis(0), group));
        for (first, (x, dy)) in samples.enumerate().map(|(g, pair)| (g * group, pair)) {
            let columns = x.nrows() * positions;
            let mut cols = matrix_in(&mut self.cols, self.window.patch_len(), columns);
            let mut maps = matrix_in(&mut self.maps, out_channels, columns);
            kernels::samples_to_channel_major(dy, maps.view_mut());
            // ∂L/∂W += [∂L/∂Y₁ … ∂L/∂Y_G] · [cols(X₁) … cols(X_G)]ᵀ (cols rebuilt: cheaper in memory than
            // keeping the batch's)
            kernels::im2col(x, &self.window, cols.view_mut());
            kernels::gemm(
                T::one(),
                maps.view(),
                Transpose::No,
                cols.view(),
                Transpose::Yes,
                T::one(),
                grad_weight.view_mut(),
            );
            // ∂L/∂b += Σₙ ∂L/∂Yₙ 1
            if let Some(bias) = &mut self.bias {
                kernels::add_row_sums(maps.view(), bias.grad.view_mut());
            }
            let rows = first..first + x.nrows();
            // stride 1: ∂L/∂Xₙ = W' ⋆ ∂L/∂Yₙ, a convolution (cols now holds the windows of ∂L/∂Y)
            if let (Some(grad_input), Some(transposed)) = (grad_input.as_deref_mut(), &self.transposed_window) {
                let mut cols = matrix_in(
                    &mut self.cols,
                    transposed.patch_len(),
                    x.nrows() * transposed.positions(),
                );
                kernels::im2col(dy, transposed, cols.view_mut());
                let in_channels = self.window.channels;
                let mut grad_maps = matrix_in(&mut self.grad_maps, in_channels, cols.ncols());
                let flipped = ArrayView2::from_shape((in_channels, transposed.patch_len()), &self.flipped)
                    .expect("W' holds C_in · C_out·k·k values");
                kernels::gemm(
                    T::one(),
                    flipped,
                    Transpose::No,
                    cols.view(),
                    Transpose::No,
                    T::zero(),
                    grad_maps.view_mut(),
                );
                kernels::channel_major_to_samples(grad_maps.view(), None, grad_input.slice_mut(s![rows, ..]));
                continue;
            }
            // ∂L/∂Xₙ = col2im(Wᵀ · ∂L/∂Yₙ), the group at once (cols now holds Wᵀ · ∂L/∂Y)
            if let Some(grad_input) = grad_input.as_deref_mut() {
                kernels::gemm(
                    T::one(),
                    weight,
                    Transpose::Yes,
                    maps.view(),
                    Transpose::No,
                    T::zero(),
                    cols.view_mut(),
                );
                kernels::col2im(cols.view(), &self.window, grad_input.slice_mut(s![rows, ..]));
            }
        }
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::Conv2d {
            window: self.window,
            out_channels: self.out_channels(),
            bias: self.bias.is_some(),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.weight.view_mut("weight"));
        if let Some(bias) = &mut self.bias {
            visit(bias.view_mut("bias"));
        }
    }
}
