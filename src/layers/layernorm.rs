//! LayerNorm with the manual backward pass of the report (§3.2).
//! GPU twin: `gpu/shaders/layernorm.wgsl`.
use ndarray::{Array1, Array2, ArrayView2, Ix1};

use super::{Layer, Mode, Param, ParamView};
use crate::kernels;
use crate::Scalar;

/// Layer normalisation over the features of each row (no running statistics).
///
/// Forward, per row of `M` features: `μ = mean(x)`, `σ² = mean((x − μ)²)` (biased),
/// `x̂ = (x − μ)/√(σ² + ε)`, `y = γ ∘ x̂ + β`.
///
/// Backward, with `g = ∂L/∂Y ∘ γ` per row:
/// - `∂L/∂β = 1ᵀ ∂L/∂Y`, `∂L/∂γ = 1ᵀ(∂L/∂Y ∘ X̂)`,
/// - `∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g ∘ x̂))`.
///
/// The same result, chained from the backward passes of its primitive steps, is [`super::LayerNormComposed`].
#[derive(Clone, Debug)]
pub struct LayerNorm<T: Scalar> {
    pub gamma: Param<T, Ix1>,
    pub beta: Param<T, Ix1>,
    pub eps: T,
    x_hat: Array2<T>,
    mean: Array1<T>,
    var: Array1<T>,
    inv_std: Array1<T>,
    grad_x_hat: Array2<T>,
}

impl<T: Scalar> LayerNorm<T> {
    pub fn new(features: usize) -> Self {
        Self {
            gamma: Param::new(Array1::ones(features)),
            beta: Param::new(Array1::zeros(features)),
            eps: T::of(1e-5),
            x_hat: Array2::zeros((0, features)),
            mean: Array1::zeros(0),
            var: Array1::zeros(0),
            inv_std: Array1::zeros(0),
            grad_x_hat: Array2::zeros((0, features)),
        }
    }

    pub fn features(&self) -> usize {
        self.gamma.value.len()
    }
}

/// `g = ∂L/∂Y ∘ γ` (γ broadcast over rows) and the two parameter gradients of an affine `γ ∘ x̂ + β`.
pub(crate) fn affine_backward<T: Scalar>(
    grad_output: ArrayView2<'_, T>,
    x_hat: ArrayView2<'_, T>,
    gamma: &mut Param<T, Ix1>,
    beta: &mut Param<T, Ix1>,
    grad_x_hat: &mut Array2<T>,
) {
    kernels::sum_channels_into(grad_output, beta.grad.view_mut());
    kernels::sum_channels_of_product_into(grad_output, x_hat, gamma.grad.view_mut());
    kernels::affine_channels(grad_output, None, gamma.value.view(), None, grad_x_hat);
}

/// `y = γ ∘ x̂ + β`, γ and β broadcast over rows (and, for channel-major images, over each channel's pixels).
pub(crate) fn affine_forward<T: Scalar>(
    x_hat: ArrayView2<'_, T>,
    gamma: &Array1<T>,
    beta: &Array1<T>,
    output: &mut Array2<T>,
) {
    kernels::affine_channels(x_hat, None, gamma.view(), Some(beta.view()), output);
}

impl<T: Scalar> Layer<T> for LayerNorm<T> {
    fn name(&self) -> String {
        format!("LayerNorm({})", self.features())
    }

    fn forward(&mut self, input: ArrayView2<'_, T>, output: &mut Array2<T>, _mode: Mode) {
        // x: [S, M], statistics per row over M, y: [S, M]
        kernels::standardize_rows(
            input,
            self.eps,
            &mut self.x_hat,
            &mut self.mean,
            &mut self.var,
            &mut self.inv_std,
        );
        affine_forward(self.x_hat.view(), &self.gamma.value, &self.beta.value, output);
    }

    fn backward(
        &mut self,
        _input: ArrayView2<'_, T>,
        _output: ArrayView2<'_, T>,
        grad_output: ArrayView2<'_, T>,
        grad_input: Option<&mut Array2<T>>,
    ) {
        affine_backward(
            grad_output,
            self.x_hat.view(),
            &mut self.gamma,
            &mut self.beta,
            &mut self.grad_x_hat,
        );
        if let Some(grad_input) = grad_input {
            kernels::standardize_rows_backward(
                self.grad_x_hat.view(),
                self.x_hat.view(),
                self.inv_std.view(),
                grad_input,
            );
        }
    }

    fn kind(&self) -> super::LayerKind {
        super::LayerKind::LayerNorm {
            features: self.features(),
            eps: self.eps.to_f64_lossy(),
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(ParamView<'_, T>)) {
        visit(self.gamma.view_mut("gamma"));
        visit(self.beta.view_mut("beta"));
    }
}
