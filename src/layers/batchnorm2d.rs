//! BatchNorm2d: batch normalisation of each channel over the batch and all its pixels.
use ndarray::{Array2, ArrayView2};

use super::{BatchNorm1d, Layer, Mode, ParamView};
use crate::error::ConfigError;
use crate::kernels;
use crate::Scalar;

/// Batch normalisation per channel over `N·H·W` values, as PyTorch's `BatchNorm2d`.
///
/// It is [`BatchNorm1d`] applied to the pixels: with every pixel of every sample as a row of its `C`
/// channel values (`[N·H·W, C]`, [`kernels::channels_last`]), the per-channel statistics are the per-column
/// statistics of that matrix. So the formulas are BatchNorm1d's with `S = N·H·W` rows, with `g = ∂L/∂Y ∘ γ`:
/// - training: `x̂ = (x − μ_B)/√(σ²_B + ε)` (biased `σ²_B`), `y = γ ∘ x̂ + β`; running statistics with
///   momentum 0.1, the running variance from the unbiased `σ²_B · S/(S − 1)`;
/// - `∂L/∂β = Σ_{n,h,w} ∂L/∂Y`, `∂L/∂γ = Σ_{n,h,w} ∂L/∂Y ∘ X̂`,
///   `∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂))`, means over `N·H·W`;
/// - evaluation: the running statistics are constants, `∂L/∂x = g / √(running_var + ε)`.
#[derive(Clone, Debug)]
pub struct BatchNorm2d<T: Scalar> {
    /// The normalisation itself, over pixel rows: its `gamma`, `beta`, `running_mean`, `running_var`
    /// are the per-channel ones.
    pub per_channel: BatchNorm1d<T>,
    /// `x` and `y` (forward), then `∂L/∂Y` and `∂L/∂X` (backward), as `[N·H·W, C]` pixel rows.
    pixel_rows: Array2<T>,
    pixel_rows_out: Array2<T>,
}

impl<T: Scalar> BatchNorm2d<T> {
    pub fn new(channels: usize) -> Result<Self, ConfigError> {
        if channels == 0 {
            return Err(ConfigError::new("channels", "at least 1", channels));
        }
        Ok(Self {
            per_channel: BatchNorm1d::new(channels),
            pixel_rows: Array2::zeros((0, channels)),
            pixel_rows_out: Array2::zeros((0, channels)),
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
        // x: [N, C·H·W] → pixel rows [N·H·W, C], statistics per channel over N·H·W → y: [N, C·H·W]
        kernels::channels_last(input, self.channels(), &mut self.pixel_rows);
        self.per_channel
            .forward(self.pixel_rows.view(), &mut self.pixel_rows_out, mode);
        kernels::channels_first(self.pixel_rows_out.view(), input.nrows(), output);
    }

    fn backward(
        &mut self,
        input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // BatchNorm1d's backward reads only the x̂ it saved in forward, not its input and output
        // arguments: empty views stand in for them, and the two pixel-row buffers are reused for ∂L/∂Y and
        // ∂L/∂X (rather than keeping two more activation-sized buffers).
        kernels::channels_last(grad_output, self.channels(), &mut self.pixel_rows);
        let empty = Array2::zeros((0, self.channels()));
        match grad_input {
            Some(grad_input) => {
                self.per_channel.backward(
                    empty.view(),
                    empty.view(),
                    self.pixel_rows.view(),
                    Some(&mut self.pixel_rows_out),
                );
                kernels::channels_first(self.pixel_rows_out.view(), input.nrows(), grad_input);
            }
            None => self
                .per_channel
                .backward(empty.view(), empty.view(), self.pixel_rows.view(), None),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        self.per_channel.visit_params(visit);
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&'static str, &mut [T])) {
        self.per_channel.visit_buffers(visit);
    }
}
