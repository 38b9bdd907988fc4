//! BatchNorm1d: standardise each feature over the batch, then scale and shift.
//! GPU twin: `gpu/shaders/batchnorm.wgsl`.
use ndarray::{Array1, Array2, ArrayView2, Ix1, Zip};

use super::{Layer, Mode, Param, ParamView, StateTensor, StateValues};
use crate::kernels;
use crate::Scalar;

/// Batch normalisation over the batch axis (per feature), as PyTorch's `BatchNorm1d`.
///
/// Training: `x̂ = (x − μ_B)/√(σ²_B + ε)` with the batch mean and the biased batch variance,
/// `y = γ ∘ x̂ + β`; running statistics are updated with momentum 0.1, the running variance with the
/// unbiased batch variance (`σ²_B · S/(S − 1)`). Evaluation uses the running statistics.
///
/// Backward (training), the LayerNorm formula taken over the batch axis, with `g = ∂L/∂Y ∘ γ`:
/// - `∂L/∂β = 1ᵀ ∂L/∂Y`, `∂L/∂γ = 1ᵀ(∂L/∂Y ∘ X̂)`,
/// - `∂L/∂x = (1/√(σ² + ε)) · (g − mean_batch(g) − x̂ · mean_batch(g ∘ x̂))`.
///
/// In evaluation the statistics are constants, so `∂L/∂x = g / √(running_var + ε)`.
///
/// Given channel-major images `[N, M·P]` (`M` channels of `P` pixels each) instead of `[N, M]`, every
/// statistic and sum above runs over the batch and the pixels, `S = N·P` values per channel: that is
/// [`super::BatchNorm2d`].
#[derive(Clone, Debug)]
pub struct BatchNorm1d<T: Scalar> {
    pub gamma: Param<T, Ix1>,
    pub beta: Param<T, Ix1>,
    pub running_mean: Array1<T>,
    pub running_var: Array1<T>,
    /// Training forward passes so far (PyTorch's `num_batches_tracked`; with a fixed momentum it is only
    /// counted, so a state dict round-trips).
    pub num_batches_tracked: i64,
    pub momentum: T,
    pub eps: T,
    x_hat: Array2<T>,
    batch_mean: Array1<T>,
    batch_var: Array1<T>,
    inv_std: Array1<T>,
    /// The backward pass's per-feature coefficients of `∂L/∂x = a ∘ ∂L/∂Y + b + c ∘ x̂`, reused across steps.
    grad_coefficients: [Array1<T>; 3],
    mode: Mode,
}

impl<T: Scalar> BatchNorm1d<T> {
    pub fn new(features: usize) -> Self {
        Self {
            gamma: Param::new(Array1::ones(features)),
            beta: Param::new(Array1::zeros(features)),
            running_mean: Array1::zeros(features),
            running_var: Array1::ones(features),
            num_batches_tracked: 0,
            momentum: T::of(0.1),
            eps: T::of(1e-5),
            x_hat: Array2::zeros((0, features)),
            batch_mean: Array1::zeros(features),
            batch_var: Array1::zeros(features),
            inv_std: Array1::zeros(features),
            grad_coefficients: std::array::from_fn(|_| Array1::zeros(features)),
            mode: Mode::Train,
        }
    }

    pub fn features(&self) -> usize {
        self.gamma.value.len()
    }
}

impl<T: Scalar> Layer<T> for BatchNorm1d<T> {
    fn name(&self) -> String {
        format!("BatchNorm1d({})", self.features())
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, mode: Mode) {
        // x: [N, M] (or channel-major [N, M·P]), statistics per feature over N (·P), y: like x
        self.mode = mode;
        match mode {
            Mode::Train => {
                self.num_batches_tracked = self.num_batches_tracked.saturating_add(1);
                kernels::channel_statistics(
                    input,
                    self.features(),
                    self.eps,
                    &mut self.batch_mean,
                    &mut self.batch_var,
                    &mut self.inv_std,
                );
                // S: the values each statistic is taken over (batch × pixels)
                let count = input.len() / self.features();
                let unbiased = if count > 1 {
                    T::of(count as f64 / (count - 1) as f64)
                } else {
                    T::one()
                };
                let m = self.momentum;
                Zip::from(&mut self.running_mean)
                    .and(&self.batch_mean)
                    .for_each(|r, &b| *r = (T::one() - m) * *r + m * b);
                Zip::from(&mut self.running_var)
                    .and(&self.batch_var)
                    .for_each(|r, &b| *r = (T::one() - m) * *r + m * b * unbiased);
            }
            Mode::Eval => {
                Zip::from(&mut self.inv_std)
                    .and(&self.running_var)
                    .for_each(|inv, &v| *inv = T::one() / (v + self.eps).sqrt());
            }
        }
        let mean = match mode {
            Mode::Train => &self.batch_mean,
            Mode::Eval => &self.running_mean,
        };
        // x̂ and y = γ ∘ x̂ + β in one pass
        kernels::normalize_channels(
            input,
            mean.view(),
            self.inv_std.view(),
            self.gamma.value.view(),
            self.beta.value.view(),
            &mut self.x_hat,
            output,
        );
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        // ∂L/∂β = 1ᵀ ∂L/∂Y and ∂L/∂γ = 1ᵀ(∂L/∂Y ∘ X̂), in one pass
        kernels::sum_channels_and_products_into(
            grad_output,
            self.x_hat.view(),
            self.beta.grad.view_mut(),
            self.gamma.grad.view_mut(),
        );
        let Some(grad_input) = grad_input else { return };
        // with g = ∂L/∂Y ∘ γ: mean(g) = γ ∘ ∂L/∂β / S and mean(g ∘ x̂) = γ ∘ ∂L/∂γ / S, so
        // ∂L/∂x = inv · (g − mean(g) − x̂ · mean(g ∘ x̂)) = (inv γ) ∂L/∂Y − inv · mean(g) − (inv · mean(g ∘ x̂)) x̂,
        // one pass; in evaluation the statistics are constants and ∂L/∂x = (inv γ) ∂L/∂Y
        let count = T::of((grad_output.len() / self.features().max(1)) as f64);
        let train = self.mode == Mode::Train;
        let [scale, offset, scale_x_hat] = &mut self.grad_coefficients;
        for f in 0..scale.len() {
            scale[f] = self.inv_std[f] * self.gamma.value[f];
            (offset[f], scale_x_hat[f]) = if train {
                (
                    -scale[f] * self.beta.grad[f] / count,
                    -scale[f] * self.gamma.grad[f] / count,
                )
            } else {
                (T::zero(), T::zero())
            };
        }
        let [scale, offset, scale_x_hat] = &self.grad_coefficients;
        kernels::combine_channels(
            grad_output,
            self.x_hat.view(),
            (scale.view(), offset.view(), scale_x_hat.view()),
            grad_input,
        );
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::BatchNorm1d {
            features: self.features(),
            momentum: self.momentum.to_f64_lossy(),
            eps: self.eps.to_f64_lossy(),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.gamma.view_mut("gamma"));
        visit(self.beta.view_mut("beta"));
    }

    fn visit_buffers(&mut self, visit: &mut dyn FnMut(&'static str, &mut [T])) {
        if let Some(mean) = self.running_mean.as_slice_mut() {
            visit("running_mean", mean);
        }
        if let Some(var) = self.running_var.as_slice_mut() {
            visit("running_var", var);
        }
    }

    fn visit_state(&mut self, visit: &mut dyn FnMut(StateTensor<'_, T>)) {
        let features = self.features();
        let mut vector = |name: &str, values: StateValues<'_, T>| {
            visit(StateTensor {
                name: name.to_string(),
                shape: vec![features],
                values,
            })
        };
        let slices = [
            self.gamma.value.as_slice_mut().map(StateValues::Learned),
            self.beta.value.as_slice_mut().map(StateValues::Learned),
            self.running_mean.as_slice_mut().map(StateValues::Buffer),
            self.running_var.as_slice_mut().map(StateValues::Buffer),
        ];
        for (name, values) in ["weight", "bias", "running_mean", "running_var"]
            .into_iter()
            .zip(slices)
        {
            if let Some(values) = values {
                vector(name, values);
            }
        }
        visit(StateTensor {
            name: "num_batches_tracked".to_string(),
            shape: Vec::new(),
            values: StateValues::Count(&mut self.num_batches_tracked),
        });
    }
}
